"""Background expiry in the Python binding (engine/expiry_sweeper.h, python_ext/src/sweeper.h).

Expired entries nobody reads must leave within about a second of expiring, at any occupancy
(issue 12.4: 5,000 entries with a 0.1 s TTL took 195.6 s to leave a 5,000-slot cache, and 2,069
were still in a max_size=100,000 cache after 300 s), and the objects the sweeper frees must be
released without waiting for the next call of some cache method (issue 13.10).
"""

from __future__ import annotations

import gc
import time
import weakref

import pytest
from cuckoocache import SmartCache

TTL = 0.1
# The target is "within about one second of expiring"; the sweeper's interval is 0.1 s.
LIMIT = 1.0


class Value:
    """A weak-referenceable value, to see when the cache lets go of it."""

    __slots__ = ("__weakref__", "v")

    def __init__(self, v: int) -> None:
        self.v = v


def seconds_until(cache: SmartCache, left: int, expired_at: float, limit: float) -> float:
    while len(cache) > left and time.monotonic() < expired_at + limit + 2.0:
        time.sleep(0.01)
    return time.monotonic() - expired_at


@pytest.mark.timeout(20)
@pytest.mark.parametrize("max_size", [10_000, 100_000])
def test_expired_entries_leave_within_a_second_without_reads(max_size: int) -> None:
    cache = SmartCache(max_size=max_size)
    for i in range(5_000):
        cache.put(i, i, ttl_seconds=TTL)
    expired_at = time.monotonic() + TTL
    cache.put("lasting", 1)  # an occasional write without a TTL
    took = seconds_until(cache, 1, expired_at, LIMIT)
    assert len(cache) == 1, f"{len(cache) - 1} expired entries left after {took:.2f} s"
    assert took <= LIMIT
    assert cache.stats()["expirations"] == 5_000
    assert cache.stats()["hits"] + cache.stats()["misses"] == 0
    assert cache.get("lasting") == 1


@pytest.mark.timeout(20)
def test_objects_freed_by_the_sweeper_are_released_without_further_calls() -> None:
    gc.disable()  # the references must go by refcount, not by a collection
    try:
        cache = SmartCache(max_size=1_000)
        values = [Value(i) for i in range(200)]
        refs = [weakref.ref(v) for v in values]
        for i, v in enumerate(values):
            cache.put(i, v, ttl_seconds=TTL)
        del values, v
        expired_at = time.monotonic() + TTL
        # No call on the cache at all from here on: the sweeper must free them by itself.
        while any(r() is not None for r in refs) and time.monotonic() < expired_at + 5.0:
            time.sleep(0.02)
        alive = sum(r() is not None for r in refs)
        late = time.monotonic() - expired_at
        assert alive == 0, f"{alive} values still held {late:.2f} s after expiry"
        assert time.monotonic() - expired_at <= LIMIT
        assert len(cache) == 0
    finally:
        gc.enable()


@pytest.mark.timeout(20)
def test_entries_without_due_deadlines_are_kept() -> None:
    cache = SmartCache(max_size=1_000, ttl_seconds=60.0)
    for i in range(500):
        cache[i] = Value(i)
    time.sleep(0.35)  # several sweeper rounds
    assert len(cache) == 500
    assert cache.stats()["expirations"] == 0
