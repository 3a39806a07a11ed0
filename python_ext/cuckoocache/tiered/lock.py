"""Cross-instance lock: on a miss in both tiers, one instance computes and the others wait.

``SET NX PX`` takes the lock (it expires after ``lock_ttl_seconds`` whatever happens to its
holder); the holder computes and stores, then releases the lock only if it still holds it. The
others poll Redis with backoff for at most ``lock_wait_seconds`` and then compute themselves.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING, Any

from .._mapping import _MISSING
from .breaker import FAILED
from .counters import LOCK_WAITS

if TYPE_CHECKING:
    from .tier import TieredCache

__all__ = ["load_locked"]


def load_locked(
    tier: TieredCache, key: Hashable, rkey: bytes, factory: Callable[[], Any], ttl: float | None
) -> Any:
    """The value of ``key``: Redis's if another instance stored it meanwhile, else computed
    (and stored) by this instance under the lock, or without it once the wait is over."""
    breaker = tier._breaker
    lock_key = tier._prefix + b"!lock:" + rkey[len(tier._prefix) :]
    token = tier._iid + b":%d" % next(tier._lock_counter)
    deadline = time.monotonic() + tier._lock_wait
    delay = 0.002
    while breaker.ok:
        got = breaker.call(tier._redis.set, lock_key, token, nx=True, px=tier._lock_ttl_ms)
        if got is FAILED:
            break
        if got:
            try:
                # Another instance may have stored it between our read and our lock.
                value = tier._l2_read(key, rkey, count=False)
                if value is not _MISSING:
                    return value
                return tier._compute_and_store(key, rkey, factory, ttl)
            finally:
                breaker.call(tier._unlock_script, keys=[lock_key], args=[token])
        tier._counters.add(LOCK_WAITS)
        now = time.monotonic()
        if now >= deadline:
            break
        time.sleep(min(delay, deadline - now))
        delay = min(delay * 2, 0.05)
        value = tier._l2_read(key, rkey, count=False)
        if value is not _MISSING:
            return value
    return tier._compute_and_store(key, rkey, factory, ttl)
