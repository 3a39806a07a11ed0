"""SmartCache: the Python face of the cuckoocache engine.

The hot methods (``get``, ``put``, ``[]``, ``in``, ``del``, ``len``, ``pop``, ``setdefault``)
and the administrative ones (``stats``, ``set_policy``, ...) are implemented in C++ by the
``CacheCore`` base class; this module adds what is naturally Python: the mapping helpers,
the context manager and ``repr``. ``get_or_set`` (single-flight loading) and ``popitem`` are
CacheCore's, in C.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, overload

from . import _core
from ._mapping import CacheMapping, K, V
from ._policy import EvictionPolicy

__all__ = ["EvictionPolicy", "SmartCache"]

T = TypeVar("T")


class SmartCache(_core.CacheCore, CacheMapping[K, V]):
    """A bounded, thread-safe cache with LRU, LFU, TTL and ADAPTIVE eviction.

    ``SmartCache(max_size=1000, policy=EvictionPolicy.LRU, ttl_seconds=None,
    adaptive_threshold=0.7)``

    - ``max_size``: most entries kept (a positive int, at most 2**31).
    - ``policy``: an :class:`EvictionPolicy`; can be changed later with ``set_policy``.
    - ``ttl_seconds``: default time-to-live of entries (positive, finite), or None.
    - ``adaptive_threshold``: for ADAPTIVE, the initial share of the cache given to the
      frequency-protected main region, in (0, 1]; the rest is the recency window, until the
      policy's window simulation resizes both (after about ``max_size`` lookups).

    Generic in key and value for type checkers (``SmartCache[str, bytes](max_size=100)``,
    also valid at run time). Keys follow dict rules (``1``, ``1.0`` and ``True`` are one key).
    It is a ``MutableMapping``: ``keys()``, ``values()`` and ``items()`` are views whose
    iteration walks a snapshot, ``==`` compares contents with any mapping (so a cache is
    unhashable, like ``dict``). Every method is safe to call from many threads; see
    docs/python.md for the guarantees.
    """

    __slots__ = ()

    def __init__(
        self,
        max_size: int = 1000,
        policy: EvictionPolicy = EvictionPolicy.LRU,
        ttl_seconds: float | None = None,
        adaptive_threshold: float = 0.7,
    ) -> None:
        """Makes an empty cache (arguments: see the class docstring). Raises TypeError or
        ValueError naming the argument that is wrong."""
        super().__init__(max_size, policy, ttl_seconds, adaptive_threshold)

    if TYPE_CHECKING:
        # The C extension implements these (CacheCore); here they get K/V types.
        @overload
        def get(self, key: K) -> V | None: ...
        @overload
        def get(self, key: K, default: V | T) -> V | T: ...
        def get(self, key: K, default: Any = None) -> Any: ...
        def put(self, key: K, value: V, ttl_seconds: float | None = None) -> None: ...
        @overload
        def pop(self, key: K, /) -> V: ...
        @overload
        def pop(self, key: K, default: V | T, /) -> V | T: ...
        def pop(self, key: K, default: Any = ..., /) -> Any: ...
        def setdefault(self, key: K, default: V, /) -> V: ...  # type: ignore[override]
        def contains(self, key: K, /) -> bool: ...
        def remove(self, key: K, /) -> bool: ...
        def __getitem__(self, key: K, /) -> V: ...
        def __setitem__(self, key: K, value: V, /) -> None: ...
        def __delitem__(self, key: K, /) -> None: ...
        def __contains__(self, key: object, /) -> bool: ...
        def __len__(self) -> int: ...
        def clear(self) -> None: ...
        def _items(self) -> list[tuple[K, V]]: ...
        def get_or_set(  # type: ignore[override]
            self, key: K, factory: Callable[[], V], ttl_seconds: float | None = None
        ) -> V: ...

    # ---- loading: get_or_set is CacheCore's (C single-flight, python_ext/src/single_flight.h)

    # ---- context manager ---------------------------------------------------------------

    def __enter__(self) -> SmartCache[K, V]:
        """Returns the cache itself."""
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Stops background expiry for this cache and clears it."""
        self._stop_background()
        self.clear()

    def _repr_fields(self) -> str:
        return (
            f"max_size={self.get_max_size()}, policy={self.get_policy()!s}, "
            f"ttl_seconds={self.get_ttl()!r}, size={self.size()}"
        )
