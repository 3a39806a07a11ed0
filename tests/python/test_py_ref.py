"""The binding's deferred release (python_ext/src/py_ref.h): objects the engine drops are
decref'd when the outermost binding call returns, whether one call drops a few (kept in the
thread's inline slots) or many (spilled to a heap block freed afterwards)."""

from __future__ import annotations

import gc
import weakref

from cuckoocache import SmartCache


class Value:
    """A weakref-able value whose __del__ may call back into a cache."""

    def __init__(self, cache: SmartCache[int, Value] | None = None, key: int = 0) -> None:
        self.cache = cache
        self.key = key

    def __del__(self) -> None:
        if self.cache is not None:
            self.cache.put(-1 - self.key, Value())  # re-enters the binding while it releases


def test_evicted_value_is_released_when_put_returns() -> None:
    cache: SmartCache[int, Value] = SmartCache(max_size=1)
    first = Value()
    ref = weakref.ref(first)
    cache.put(1, first)
    del first
    cache.put(2, Value())  # evicts key 1
    assert ref() is None
    assert len(cache) == 1


def test_clear_of_many_entries_releases_every_value_at_once() -> None:
    gc.collect()
    cache: SmartCache[int, Value] = SmartCache(max_size=1_000)
    refs = []
    for i in range(1_000):  # far more than the inline slots: the spill block is used
        v = Value()
        refs.append(weakref.ref(v))
        cache.put(i, v)
    del v
    cache.clear()
    assert all(r() is None for r in refs)
    cache.put(1, Value())  # the release list works again after the spill was freed
    assert len(cache) == 1


def test_release_that_reenters_the_cache_releases_everything() -> None:
    cache: SmartCache[int, Value] = SmartCache(max_size=10_000)
    refs = []
    for i in range(100):
        v = Value(cache, i)
        refs.append(weakref.ref(v))
        cache.put(i, v)
    del v
    for i in range(100):
        cache.remove(i)  # each __del__ stores another entry while its release runs
    assert all(r() is None for r in refs)
    assert len(cache) == 100
    assert sorted(cache.keys()) == sorted(-1 - i for i in range(100))
    cache.clear()  # 100 releases in one call, each __del__ a no-op now
    assert len(cache) == 0
