"""Decorator API: ``tier.cached`` memoizes a function in a TieredCache.

A local hit runs entirely in C (the same ``CachedFunction`` as ``@cached``); a miss goes to the
tier's loader (Redis, then one computation per key with single-flight and, if enabled, the
cross-instance lock). ``@cached(backend=tier)`` delegates here.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING, Any

from .. import _core
from .._cached import CacheInfo

if TYPE_CHECKING:
    from .tier import TieredCache

__all__ = ["tier_cached"]


def tier_cached(
    tier: TieredCache,
    function: Callable[..., Any] | None,
    typed: bool,
    key: Callable[..., Hashable] | None,
) -> Any:
    """``tier.cached(function, typed=..., key=...)`` (see ``TieredCache.cached``)."""
    if key is not None and not callable(key):
        raise TypeError(f"key must be callable or None, not {type(key).__name__}")
    if not isinstance(typed, bool):
        raise TypeError(f"typed must be a bool, not {type(typed).__name__}")

    def decorate(func: Callable[..., Any]) -> Any:
        if not callable(func):
            raise TypeError(f"tier.cached needs a callable, not {type(func).__name__}")
        if inspect.iscoroutinefunction(func):
            raise TypeError("tier.cached does not support async def functions")
        with tier._lock:
            if tier._decorated:
                raise ValueError(
                    f"TieredCache(namespace={tier._namespace!r}) already backs a function: "
                    "use one TieredCache (namespace) per decorated function"
                )
            tier._decorated = True
        loader = functools.partial(tier._cached_load, func)
        wrapper = _core.CachedFunction(func, tier.local, typed, key, loader)
        functools.update_wrapper(wrapper, func)
        _attach_api(wrapper, tier, {"typed": typed, "namespace": tier._namespace})
        return wrapper

    if function is not None:
        return decorate(function)
    return decorate


def _attach_api(wrapper: Any, tier: TieredCache, parameters: dict[str, Any]) -> None:
    def cache_info() -> CacheInfo:
        """Local-tier hits and misses, maxsize and currsize, like functools.lru_cache."""
        s = tier.local.stats()
        return CacheInfo(s["hits"], s["misses"], s["max_size"], s["current_size"])

    def cache_clear() -> None:
        """Clears the namespace in both tiers (and other instances' local tiers) and zeroes
        the statistics."""
        tier.clear()
        tier.reset_stats()

    def cache_parameters() -> dict[str, Any]:
        """The decorator's arguments (typed) and the tier's namespace."""
        return dict(parameters)

    wrapper.cache_info = cache_info
    wrapper.cache_clear = cache_clear
    wrapper.cache_parameters = cache_parameters
    wrapper.cache_stats = tier.stats
    wrapper.cache_size = tier.local.size
    wrapper.tier = tier
