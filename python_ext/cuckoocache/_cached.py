"""``@cached``: memoize a function in a SmartCache, with the functools.lru_cache interface.

The returned object is a C ``CachedFunction``: the key is built from the arguments and looked
up in C++; only a miss runs Python code here (single-flight: concurrent misses on the same
arguments call the function once). ``async def`` functions get a Python wrapper that caches
the awaited result and lets concurrent awaiters share one computation.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import weakref
from collections.abc import Callable, Hashable
from typing import Any, NamedTuple, TypeVar, overload

from . import _core
from ._single_flight import _MISSING
from ._smartcache import SmartCache

F = TypeVar("F", bound=Callable[..., Any])


class CacheInfo(NamedTuple):
    """What ``cache_info()`` returns, as in functools."""

    hits: int
    misses: int
    maxsize: int
    currsize: int


def _make_loader(function: Callable[..., Any], cache: SmartCache) -> Callable[..., Any]:
    # CachedFunction calls loader(key, args, kwargs) on a miss; a partial adds no frame.
    return functools.partial(cache._flight.load, cache, function)


def _attach_api(wrapper: Any, cache: SmartCache, parameters: dict[str, Any]) -> None:
    def cache_info() -> CacheInfo:
        """Hits, misses, maxsize and currsize, like functools.lru_cache's cache_info()."""
        s = cache.stats()
        return CacheInfo(s["hits"], s["misses"], s["max_size"], s["current_size"])

    def cache_clear() -> None:
        """Empties the cache and zeroes its statistics."""
        cache.clear()
        cache.reset_stats()

    def cache_parameters() -> dict[str, Any]:
        """The decorator's arguments: maxsize, typed, policy, ttl_seconds."""
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


def _wrap_coroutine(
    function: Callable[..., Any],
    cache: SmartCache,
    typed: bool,
    key: Callable[..., Hashable] | None,
) -> Any:
    # One in-flight task per (event loop, key): awaiters on the same loop share it.
    in_flight: weakref.WeakKeyDictionary[
        asyncio.AbstractEventLoop, dict[Hashable, asyncio.Task[Any]]
    ]
    in_flight = weakref.WeakKeyDictionary()

    @functools.wraps(function)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        k = key(*args, **kwargs) if key is not None else _core.make_key(args, kwargs, typed)
        value = cache.get(k, _MISSING)
        if value is not _MISSING:
            return value
        loop = asyncio.get_running_loop()
        tasks = in_flight.setdefault(loop, {})
        task = tasks.get(k)
        if task is None:

            async def compute() -> Any:
                try:
                    result = await function(*args, **kwargs)
                    cache.put(k, result)
                    return result
                finally:
                    if tasks.get(k) is task:
                        del tasks[k]

            task = loop.create_task(compute())
            tasks[k] = task
        # shield: one awaiter being cancelled does not cancel the others' computation.
        return await asyncio.shield(task)

    wrapper.cache = cache  # type: ignore[attr-defined]
    return wrapper


@overload
def cached(function: F, /) -> F: ...
@overload
def cached(
    *,
    max_size: int | None = 128,
    policy: Any = ...,
    ttl_seconds: float | None = None,
    typed: bool = False,
    key: Callable[..., Hashable] | None = None,
    backend: Any = None,
) -> Callable[[F], F]: ...


def cached(
    function: Callable[..., Any] | None = None,
    /,
    *,
    max_size: int | None = 128,
    policy: Any = _core.EvictionPolicy.LRU,
    ttl_seconds: float | None = None,
    typed: bool = False,
    key: Callable[..., Hashable] | None = None,
    backend: Any = None,
) -> Any:
    """Memoizes a function in a SmartCache.

    Usable bare (``@cached``) or with arguments (``@cached(max_size=256, ttl_seconds=60)``).
    ``typed=True`` keeps ``f(1)`` and ``f(1.0)`` apart; ``key=`` replaces the key built from
    the arguments with ``key(*args, **kwargs)``. Keyword-argument order does not matter.
    Exceptions are not cached; ``None`` results are. Concurrent calls that miss the same
    arguments compute once. ``async def`` functions cache the awaited result.

    ``backend=tier`` memoizes in that TieredCache instead (a local SmartCache in front of
    Redis); its local cache and TTL apply, so ``max_size``, ``policy`` and ``ttl_seconds`` are
    ignored then.

    The wrapper offers functools' ``cache_info()``, ``cache_clear()``, ``cache_parameters()``
    and ``__wrapped__``, and the seed API's ``cache_stats()``, ``cache_size()`` and ``.cache``.
    """
    if max_size is None:
        raise ValueError("max_size must be a positive integer (an unbounded cache is not offered)")
    if key is not None and not callable(key):
        raise TypeError(f"key must be callable or None, not {type(key).__name__}")
    if not isinstance(typed, bool):
        raise TypeError(f"typed must be a bool, not {type(typed).__name__}")
    if backend is not None:  # delegate to TieredCache.cached (no import of .tiered: no cycle)
        if getattr(type(backend), "_is_tiered_cache", False) is not True:
            raise TypeError(f"backend must be a TieredCache, not {type(backend).__name__}")
        return backend.cached(function, typed=typed, key=key)

    def decorate(func: Callable[..., Any]) -> Any:
        if not callable(func):
            raise TypeError(f"@cached needs a callable, not {type(func).__name__}")
        cache = SmartCache(max_size=max_size, policy=policy, ttl_seconds=ttl_seconds)
        parameters = {
            "maxsize": max_size,
            "typed": typed,
            "policy": policy,
            "ttl_seconds": ttl_seconds,
        }
        if inspect.iscoroutinefunction(func):
            wrapper = _wrap_coroutine(func, cache, typed, key)
        else:
            wrapper = _core.CachedFunction(func, cache, typed, key, _make_loader(func, cache))
            functools.update_wrapper(wrapper, func)
        _attach_api(wrapper, cache, parameters)
        return wrapper

    if function is not None:
        return decorate(function)
    return decorate
