"""``@cached``: memoize a function in a SmartCache, with the functools.lru_cache interface.

The returned object is a C ``CachedFunction``: the key is built from the arguments, hashed
once, looked up in C++ and, on a miss, loaded through the C single-flight (concurrent misses
on the same arguments call the function once; python_ext/src/single_flight.h). ``async def``
functions get a Python wrapper that caches the awaited result and lets concurrent awaiters
share one computation.

functools compatibility: ``@cached``, ``@cached(128)``, ``@cached(maxsize=128, typed=True)``
(``maxsize`` is an alias of ``max_size``), ``max_size=None`` (unbounded: memory grows with
the entries only, up to the engine's 2**31 entries) and ``max_size=0`` (nothing is cached,
every call is a counted miss); ``cache_parameters()`` returns functools' dict (the policy and
TTL are on ``.cache``); a decorated module-level function pickles by qualified name and
``copy``/``deepcopy`` return it. Keyword-argument order does not split entries (functools
keeps ``f(a=1, b=2)`` and ``f(b=2, a=1)`` apart): a deliberate difference.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import weakref
from collections.abc import Callable, Hashable
from typing import Any, Generic, NamedTuple, ParamSpec, Protocol, TypeVar, overload

from . import _core
from ._mapping import _MISSING
from ._smartcache import SmartCache

F = TypeVar("F", bound=Callable[..., Any])
P = ParamSpec("P")
R = TypeVar("R")
R_co = TypeVar("R_co", covariant=True)

# max_size=None: the largest cache the engine holds (engine/cache_config.h); the engine
# allocates with the entries, not with max_size.
_UNBOUNDED = 1 << 31


class CacheInfo(NamedTuple):
    """What ``cache_info()`` returns, as in functools."""

    hits: int
    misses: int
    maxsize: int | None
    currsize: int


class CachedCallable(Protocol, Generic[P, R_co]):
    """The type of a function decorated with ``@cached``: callable as the function was, with
    functools' ``cache_info()``, ``cache_clear()``, ``cache_parameters()`` and
    ``__wrapped__``, and ``cache_stats()``, ``cache_size()`` and ``.cache``."""

    @property
    def __wrapped__(self) -> Callable[P, R_co]: ...
    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R_co: ...
    def cache_info(self) -> CacheInfo: ...
    def cache_clear(self) -> None: ...
    def cache_parameters(self) -> dict[str, Any]: ...
    def cache_stats(self) -> dict[str, Any]: ...
    def cache_size(self) -> int: ...
    @property
    def cache(self) -> SmartCache[Any, Any] | None: ...


def _attach_api(wrapper: Any, cache: SmartCache[Any, Any], parameters: dict[str, Any]) -> None:
    maxsize = parameters["maxsize"]

    def cache_info() -> CacheInfo:
        """Hits, misses, maxsize and currsize, like functools.lru_cache's cache_info()."""
        s = cache.stats()
        return CacheInfo(s["hits"], s["misses"], maxsize, s["current_size"])

    def cache_clear() -> None:
        """Empties the cache and zeroes its statistics."""
        cache.clear()
        cache.reset_stats()

    def cache_parameters() -> dict[str, Any]:
        """``{"maxsize": ..., "typed": ...}`` as functools returns it (the policy and TTL
        are ``.cache.get_policy()`` and ``.cache.get_ttl()``)."""
        return dict(parameters)

    def cache_stats() -> dict[str, Any]:
        """The cache's full statistics (SmartCache.stats())."""
        return cache.stats()

    def cache_size() -> int:
        """The number of cached results."""
        return cache.size()

    wrapper.cache_info = cache_info
    wrapper.cache_clear = cache_clear
    wrapper.cache_parameters = cache_parameters
    wrapper.cache_stats = cache_stats
    wrapper.cache_size = cache_size


def _retrieve(task: asyncio.Task[Any]) -> None:
    # Marks the shared task's exception as retrieved: when every awaiter was cancelled before
    # it failed, asyncio would otherwise log "Task exception was never retrieved" (13.16).
    if not task.cancelled():
        task.exception()


def _wrap_coroutine(
    function: Callable[..., Any],
    cache: SmartCache[Any, Any],
    typed: bool,
    key: Callable[..., Hashable] | None,
    single_flight: bool,
) -> Any:
    # One in-flight task per (event loop, key): awaiters on the same loop share it.
    in_flight: weakref.WeakKeyDictionary[
        asyncio.AbstractEventLoop, dict[Hashable, asyncio.Task[Any]]
    ]
    in_flight = weakref.WeakKeyDictionary()

    async def compute_directly(k: Hashable, args: Any, kwargs: Any) -> Any:
        result = await function(*args, **kwargs)
        cache.put(k, result)
        return result

    @functools.wraps(function)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        k = key(*args, **kwargs) if key is not None else _core.make_key(args, kwargs, typed)
        value = cache.get(k, _MISSING)
        if value is not _MISSING:
            return value
        if not single_flight:
            return await compute_directly(k, args, kwargs)
        loop = asyncio.get_running_loop()
        tasks = in_flight.setdefault(loop, {})
        task = tasks.get(k)
        if task is not None and task is asyncio.current_task():
            # The shared computation awaits itself with the same arguments: waiting for its
            # own task would never end, so compute directly as the sync version does (13.2).
            return await compute_directly(k, args, kwargs)
        if task is None:

            async def compute() -> Any:
                try:
                    return await compute_directly(k, args, kwargs)
                finally:
                    if tasks.get(k) is task:
                        del tasks[k]

            task = loop.create_task(compute())
            task.add_done_callback(_retrieve)
            tasks[k] = task
        # shield: one awaiter being cancelled does not cancel the others' computation.
        return await asyncio.shield(task)

    wrapper.cache = cache  # type: ignore[attr-defined]
    return wrapper


def _wrap_uncached(function: Callable[..., Any]) -> Any:
    """max_size=0, as functools: nothing is stored, every call is a counted miss."""
    misses = 0

    if inspect.iscoroutinefunction(function):

        @functools.wraps(function)
        async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
            nonlocal misses
            misses += 1
            return await function(*args, **kwargs)

        wrapper: Any = async_wrapper
    else:

        @functools.wraps(function)
        def sync_wrapper(*args: Any, **kwargs: Any) -> Any:
            nonlocal misses
            misses += 1
            return function(*args, **kwargs)

        wrapper = sync_wrapper

    def cache_info() -> CacheInfo:
        """Hits (always 0), misses, maxsize (0) and currsize (0)."""
        return CacheInfo(0, misses, 0, 0)

    def cache_clear() -> None:
        """Zeroes the statistics."""
        nonlocal misses
        misses = 0

    wrapper.cache_info = cache_info
    wrapper.cache_clear = cache_clear
    wrapper.cache_stats = lambda: {"hits": 0, "misses": misses, "current_size": 0, "max_size": 0}
    wrapper.cache_size = lambda: 0
    wrapper.cache = None
    return wrapper


@overload
def cached(function: Callable[P, R], /) -> CachedCallable[P, R]: ...
@overload
def cached(
    max_size: int | None = 128,
    typed: bool = False,
    /,
    *,
    policy: Any = ...,
    ttl_seconds: float | None = None,
    key: Callable[..., Hashable] | None = None,
    backend: Any = None,
    single_flight: bool = True,
) -> Callable[[Callable[P, R]], CachedCallable[P, R]]: ...
@overload
def cached(
    *,
    max_size: int | None = 128,
    maxsize: int | None = 128,
    policy: Any = ...,
    ttl_seconds: float | None = None,
    typed: bool = False,
    key: Callable[..., Hashable] | None = None,
    backend: Any = None,
    single_flight: bool = True,
) -> Callable[[Callable[P, R]], CachedCallable[P, R]]: ...


def cached(
    function: Any = _MISSING,
    typed_positional: Any = _MISSING,
    /,
    *,
    max_size: Any = _MISSING,
    maxsize: Any = _MISSING,
    policy: Any = _core.EvictionPolicy.LRU,
    ttl_seconds: float | None = None,
    typed: Any = _MISSING,
    key: Callable[..., Hashable] | None = None,
    backend: Any = None,
    single_flight: bool = True,
) -> Any:
    """Memoizes a function in a SmartCache.

    Usable bare (``@cached``), as functools' decorators are (``@cached(128)``,
    ``@cached(maxsize=None)``, ``@cached(128, True)``), or with arguments
    (``@cached(max_size=256, ttl_seconds=60)``). ``max_size`` (alias ``maxsize``): most
    results kept; None for no bound; 0 to cache nothing (calls are counted as misses).
    ``typed=True`` keeps ``f(1)`` and ``f(1.0)`` apart; ``key=`` replaces the key built from
    the arguments with ``key(*args, **kwargs)``. Keyword-argument order does not matter.
    Exceptions are not cached; ``None`` results are. Concurrent calls that miss the same
    arguments compute once (``single_flight=False``: each computes); when that computation
    raises, the waiting callers retry once between them and then get its exception.
    ``async def`` functions cache the awaited result.

    ``backend=tier`` memoizes in that TieredCache instead (a local SmartCache in front of
    Redis); its local cache and TTL apply, so ``max_size``, ``policy`` and ``ttl_seconds`` are
    ignored then.

    The wrapper offers functools' ``cache_info()``, ``cache_clear()``, ``cache_parameters()``
    and ``__wrapped__``, and the seed API's ``cache_stats()``, ``cache_size()`` and ``.cache``.
    """
    size: Any = 128
    if function is not _MISSING and (function is None or isinstance(function, int)):
        size = function  # @cached(128) / @cached(None), as lru_cache(maxsize)
        function = _MISSING
        if typed_positional is not _MISSING:
            if typed is not _MISSING:
                raise TypeError("cached() got typed both positionally and by keyword")
            typed = typed_positional
    elif typed_positional is not _MISSING:
        raise TypeError("cached(function, /) takes no other positional argument")
    if max_size is not _MISSING and maxsize is not _MISSING:
        raise TypeError("cached() got both max_size and its alias maxsize")
    if max_size is not _MISSING:
        size = max_size
    elif maxsize is not _MISSING:
        size = maxsize
    if typed is _MISSING:
        typed = False
    if size is not None and (not isinstance(size, int) or isinstance(size, bool)):
        raise TypeError(f"max_size must be an int or None, not {type(size).__name__}")
    if size is not None and size < 0:
        size = 0  # as functools: a negative maxsize caches nothing
    if key is not None and not callable(key):
        raise TypeError(f"key must be callable or None, not {type(key).__name__}")
    if not isinstance(typed, bool):
        raise TypeError(f"typed must be a bool, not {type(typed).__name__}")
    if not isinstance(single_flight, bool):
        raise TypeError(f"single_flight must be a bool, not {type(single_flight).__name__}")
    if backend is not None:  # delegate to TieredCache.cached (no import of .tiered: no cycle)
        if getattr(type(backend), "_is_tiered_cache", False) is not True:
            raise TypeError(f"backend must be a TieredCache, not {type(backend).__name__}")
        return backend.cached(None if function is _MISSING else function, typed=typed, key=key)

    def decorate(func: Callable[..., Any]) -> Any:
        if not callable(func):
            raise TypeError(f"@cached needs a callable, not {type(func).__name__}")
        parameters = {"maxsize": size, "typed": typed}
        if size == 0:
            wrapper = _wrap_uncached(func)
            wrapper.cache_parameters = lambda: dict(parameters)
            return wrapper
        cache: SmartCache[Any, Any] = SmartCache(
            max_size=_UNBOUNDED if size is None else size, policy=policy, ttl_seconds=ttl_seconds
        )
        if inspect.iscoroutinefunction(func):
            wrapper = _wrap_coroutine(func, cache, typed, key, single_flight)
        else:
            wrapper = _core.CachedFunction(func, cache, typed, key, None, single_flight)
            functools.update_wrapper(wrapper, func)
        _attach_api(wrapper, cache, parameters)
        return wrapper

    if function is not _MISSING:
        return decorate(function)
    return decorate
