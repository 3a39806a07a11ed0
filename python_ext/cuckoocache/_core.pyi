"""Type stub for ``cuckoocache._core``, the C++ extension module (Boost.Python + CPython API).

Sources: python_ext/src/module.cpp (the administrative CacheCore methods, the
``_sweeper_*`` functions), cache_object.cpp (CacheCore's hot methods and slots),
cached_function.cpp (CachedFunction, make_key). Parameters are positional-only where the C
code accepts no keywords (METH_FASTCALL without METH_KEYWORDS, and every Boost.Python method).
"""

from collections.abc import Callable, Hashable
from types import MethodType
from typing import Any, final, overload

from typing_extensions import Self

# ---- EvictionPolicy (the enum.IntEnum of cuckoocache._policy, set on the module at load) ----
from ._policy import EvictionPolicy as EvictionPolicy
from ._smartcache import SmartCache

# ---- CacheCore ---------------------------------------------------------------------------------

class CacheCore:
    """The engine under SmartCache: a bounded concurrent cache over libcuckoo.

    Keys must be hashable (TypeError otherwise) and follow dict's equality rules. Keys and
    values are typed Any here: SmartCache, generic in both, gives them their types. Every method
    raises RuntimeError if ``__init__`` has not run, and TypeError when called on an object
    that is not a CacheCore.
    """

    def __init__(
        self,
        max_size: int = 1000,
        policy: EvictionPolicy = ...,
        ttl_seconds: float | None = None,
        adaptive_threshold: float = 0.7,
    ) -> None:
        """``policy`` defaults to ``EvictionPolicy.LRU``.

        Raises TypeError/ValueError naming a bad argument (max_size: int in [1, 2**31], no
        bool; ttl_seconds: None or a positive finite number of seconds up to 100 years;
        adaptive_threshold: a number in (0, 1]), RuntimeError if called a second time.
        """

    # -- hot methods (cache_object.cpp) --
    @overload
    def get(self, key: Any) -> Any:
        """The value for key, or ``default`` if absent or expired. Counts a hit or a miss."""
    @overload
    def get(self, key: Any, default: Any) -> Any: ...
    def put(self, key: Any, value: Any, ttl_seconds: float | None = None) -> None:
        """Stores value under key (replacing any); ``ttl_seconds`` overrides the default TTL."""

    def contains(self, key: Any, /) -> bool:
        """Whether key is present and not expired. Not counted in stats."""

    def remove(self, key: Any, /) -> bool:
        """Removes key; True if it was present (and not expired)."""

    @overload
    def pop(self, key: Any, /) -> Any:
        """Removes key and returns its value; ``default`` if absent, else KeyError(key)."""
    @overload
    def pop(self, key: Any, default: Any, /) -> Any: ...
    def setdefault(self, key: Any, default: Any = None, /) -> Any:
        """The value of key if present, else stores ``default`` and returns it (atomically)."""

    def get_or_set(
        self, key: Hashable, factory: Callable[[], Any], ttl_seconds: float | None = None
    ) -> Any:
        """The value of key; on a miss, stores and returns ``factory()``. Concurrent misses of
        one key share one call; if it raises an Exception, the waiters retry once between them
        and then get it. Nothing is stored when it raises."""

    def popitem(self) -> tuple[Any, Any]:
        """Removes and returns some (key, value) pair; KeyError if the cache is empty."""

    def size(self) -> int:
        """The number of entries (same as ``len()``)."""

    def _peek(self, key: Any, default: Any, /) -> Any:
        """Like ``get`` but not counted in stats and not marking the entry used."""

    def __getitem__(self, key: Any, /) -> Any: ...
    def __setitem__(self, key: Any, value: Any, /) -> None: ...
    def __delitem__(self, key: Any, /) -> None: ...
    def __contains__(self, key: Any, /) -> bool: ...
    def __len__(self) -> int: ...

    # -- administrative methods (module.cpp, CPython METH_NOARGS/METH_O: positional arguments
    #    only; a wrong number of arguments or a keyword raises TypeError) --
    def stats(self) -> dict[str, Any]:
        """hits, misses, evictions, expirations, inserts, updates, rejections, current_size,
        max_size (int); hit_rate, miss_rate, utilization (float); policy (EvictionPolicy)."""

    def reset_stats(self) -> None: ...
    def clear(self) -> None:
        """Removes every entry; counters are kept."""

    def cleanup(self) -> int:
        """Removes every expired entry now; returns how many."""

    def get_policy(self) -> EvictionPolicy: ...
    def set_policy(self, policy: EvictionPolicy, /) -> None: ...
    def get_max_size(self) -> int: ...
    def set_max_size(self, max_size: int, /) -> None:
        """Changes the capacity; shrinking evicts before returning."""

    def get_ttl(self) -> float | None: ...
    def set_ttl(self, ttl_seconds: float | None, /) -> None:
        """Default TTL for entries stored from now on (None: no expiry)."""

    def _items(self) -> list[tuple[Any, Any]]:
        """A snapshot of the live, unexpired (key, value) pairs."""

    def _stop_background(self) -> None:
        """Unregisters this cache from the background expiry thread."""

# ---- CachedFunction ----------------------------------------------------------------------------

@final
class CachedFunction:
    """A function wrapped by ``@cached``: builds the key and looks it up in C (vectorcall);
    on a miss computes through the C single-flight (or calls ``loader(key, args, kwargs)``
    when one is given). Binds like a function when used as a method; pickles by qualified
    name and copies as itself, as functools' wrapper does.
    Has a ``__dict__`` (``functools.update_wrapper`` and the package add attributes to it)."""

    __dict__: dict[str, Any]
    def __new__(
        cls,
        function: Callable[..., Any],
        cache: CacheCore,
        typed: bool,
        key: Callable[..., Hashable] | None,
        loader: Callable[[Hashable, tuple[Any, ...], dict[str, Any]], Any] | None = None,
        single_flight: bool = True,
    ) -> Self:
        """TypeError if function, or loader or key (unless None), is not callable, or if cache
        is not a CacheCore; RuntimeError if cache's ``__init__`` has not run."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any: ...
    @overload
    def __get__(self, instance: None, owner: type[Any] | None = None, /) -> Self: ...
    @overload
    def __get__(self, instance: object, owner: type[Any] | None = None, /) -> MethodType: ...
    @property
    def cache(self) -> CacheCore:
        """The cache holding the results (None only while the object is being torn down)."""

    @property
    def typed(self) -> bool:
        """Whether argument types are part of the key."""

    @property
    def single_flight(self) -> bool:
        """Whether concurrent misses of one key share one call."""

# ---- TierCore (tier_core.cpp) ------------------------------------------------------------------

class TierCore:
    """The C base of ``cuckoocache.tiered.TieredCache``: a local hit of ``get``, ``[]`` and
    ``get_or_set`` is one lookup in ``local`` with no Python frame; a miss calls the subclass's
    ``_get_miss(key, default)``, ``_getitem_miss(key)`` or, under a C single-flight,
    ``_load(key, factory, ttl_seconds)``."""

    @property
    def local(self) -> SmartCache[Any, Any]:
        """The local tier (L1). Set once, by ``TieredCache.__init__``."""

    @local.setter
    def local(self, value: SmartCache[Any, Any]) -> None: ...
    @overload
    def get(self, key: Any) -> Any:
        """The value of key from the local tier, else from Redis (filling the local tier),
        else default."""
    @overload
    def get(self, key: Any, default: Any) -> Any: ...
    def __getitem__(self, key: Any) -> Any: ...
    def get_or_set(
        self, key: Any, factory: Callable[[], Any], ttl_seconds: float | None = None
    ) -> Any:
        """The value of key (local tier, else Redis); on a miss in both, stores and returns
        ``factory()``, computed once per key in this process at a time."""

    def _load_once(self, key: Any, factory: Callable[[], Any], ttl_seconds: float | None, /) -> Any:
        """The local tier's value of key (not counted), else ``_load`` under single-flight."""

# ---- module functions --------------------------------------------------------------------------

def make_key(args: tuple[Any, ...], kwargs: dict[str, Any], typed: bool, /) -> Hashable:
    """The cache key ``@cached`` builds for a call ``f(*args, **kwargs)``: a lone positional
    str or int (typed False, no kwargs) is its own key; otherwise a tuple of the positional
    arguments, then a marker and the keyword (name, value) pairs sorted by name, then with
    typed=True the argument types. TypeError if args is not a tuple or kwargs not a dict with
    str keys."""

def _check_ttl(ttl_seconds: object, /) -> None:
    """Raises TypeError/ValueError as put() would for this ttl_seconds."""

def _sweeper_pause() -> None:
    """Stops the shared background expiry thread and waits for it (before ``os.fork()``)."""

def _sweeper_resume() -> None:
    """Restarts it if any cache is registered (after ``os.fork()``, in parent and child)."""

def _sweeper_shutdown() -> None:
    """Stops it for good (registered with ``atexit``)."""
