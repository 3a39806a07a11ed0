"""Small caches are exact (engine/eviction.h, kExactMaxSize = 64).

cachetools' LRUCache/LFUCache order tests and CPython's test_lru_method, written against
SmartCache, each run on 2,000 fresh caches (every one with its own sampling seed): they must
pass every time, not most of the time.
"""

from __future__ import annotations

import functools

from cuckoocache import EvictionPolicy, SmartCache, cached

ROUNDS = 2000


def lru(maxsize: int) -> SmartCache:
    return SmartCache(max_size=maxsize, policy=EvictionPolicy.LRU)


def lfu(maxsize: int) -> SmartCache:
    return SmartCache(max_size=maxsize, policy=EvictionPolicy.LFU)


def test_lru_inserts_evict_the_oldest() -> None:
    for _ in range(ROUNDS):
        c = lru(2)
        c[1] = 1
        c[2] = 2
        c[3] = 3
        assert 1 not in c and 2 in c and 3 in c


def test_lru_update_existing() -> None:
    for _ in range(ROUNDS):
        c = lru(2)
        c[1] = 1
        c[2] = 2
        c[1] = 10  # an update is a use
        c[3] = 3
        assert c[1] == 10 and 2 not in c and c[3] == 3


def test_lru_reads_count_and_clear() -> None:
    for _ in range(ROUNDS):
        c = lru(2)
        c[1] = 1
        c[2] = 2
        assert c[1] == 1  # a read is a use
        c[3] = 3
        assert 1 in c and 2 not in c and 3 in c
        c.clear()
        c[4] = 4
        c[5] = 5
        assert c[4] == 4
        c[6] = 6
        assert 4 in c and 5 not in c and 6 in c


def test_lfu() -> None:
    for _ in range(ROUNDS):
        c = lfu(2)
        c[1] = 1
        assert c[1] == 1
        c[2] = 2
        c[3] = 3
        assert len(c) == 2 and c[1] == 1
        assert (2 in c) != (3 in c)
        c[4] = 4
        assert len(c) == 2 and c[4] == 4 and c[1] == 1


def test_lfu_tie() -> None:
    for _ in range(ROUNDS):
        c = lfu(2)
        c[1] = 1
        c[2] = 2
        assert c[1] == 1
        assert c[2] == 2
        c[3] = 3  # 1 and 2 were used twice each; 1 less recently
        assert 1 not in c and 2 in c and 3 in c


def test_cached_method_matches_functools() -> None:
    """CPython's test_lru_method pattern: hits and misses equal lru_cache's."""

    def run(decorate: object) -> tuple[int, int]:
        calls = 0

        @decorate  # type: ignore[misc]
        def f(x: int) -> int:
            nonlocal calls
            calls += 1
            return x

        keys = [1, 2, 3, 4, 1, 2, 5, 1, 2, 3, 4, 5, 6, 1, 6, 5, 4, 3]
        for k in keys:
            f(k)
        return calls, len(keys) - calls

    expected = run(functools.lru_cache(maxsize=4))
    for _ in range(200):
        assert run(cached(max_size=4, policy=EvictionPolicy.LRU)) == expected
