"""Reference and memory leaks: long mixed workloads leave nothing behind once the cache is
cleared, deallocation frees every entry, and reference cycles through a cache are collected.

Counted with a class-level live counter on key and value classes, len(gc.get_objects()),
sys.gettotalrefcount() on debug builds, and tracemalloc.
"""

from __future__ import annotations

import functools
import gc
import os
import random
import sys
import time
import tracemalloc
import weakref
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from cuckoocache import EvictionPolicy, SmartCache, cached
from support import under_address_sanitizer

pytestmark = pytest.mark.timeout(120, method="thread")

ALL_POLICIES = [
    EvictionPolicy.LRU,
    EvictionPolicy.LFU,
    EvictionPolicy.TTL,
    EvictionPolicy.ADAPTIVE,
]

# Slightly more than the background expiry thread's interval (sweeper.h: 100 ms), so that
# anything it removed has been handed back to a Python thread.
SWEEP_INTERVAL = 0.15


class LiveKey:
    """A key with a Python __eq__ (the binding's slow path); counts its live instances."""

    __slots__ = ("__weakref__", "v")
    live = 0

    def __init__(self, v: int) -> None:
        self.v = v
        LiveKey.live += 1

    def __del__(self) -> None:
        LiveKey.live -= 1

    def __hash__(self) -> int:
        return self.v % 97  # collisions: chains of several keys

    def __eq__(self, other: object) -> bool:
        return isinstance(other, LiveKey) and other.v == self.v


class LiveValue:
    """A value that counts its live instances."""

    __slots__ = ("__weakref__", "v")
    live = 0

    def __init__(self, v: Any) -> None:
        self.v = v
        LiveValue.live += 1

    def __del__(self) -> None:
        LiveValue.live -= 1


def settle(cache: SmartCache | None = None) -> None:
    """Empties `cache`, lets deferred releases (including the background thread's) finish,
    and runs the collector. Waits (a few sweep intervals at most) only while counted objects
    are still alive: a leak still shows as a count above zero."""
    if cache is not None:
        cache.clear()
    deadline = time.monotonic() + 3 * SWEEP_INTERVAL
    while True:
        SmartCache(max_size=1).get(0)  # leaving the binding drains what the sweeper released
        for _ in range(2):
            gc.collect()
        if (LiveKey.live == 0 and LiveValue.live == 0) or time.monotonic() > deadline:
            return
        time.sleep(0.01)


def total_refcount() -> int | None:
    getter: Callable[[], int] | None = getattr(sys, "gettotalrefcount", None)
    return getter() if getter is not None else None


def make_key(r: random.Random) -> Any:
    k = r.randrange(3000)
    kind = k % 8
    if kind < 3:
        return LiveKey(k)
    if kind < 5:
        return k
    if kind < 7:
        return f"key-{k}"
    return ("t", k, float(k))


def make_value(r: random.Random, i: int) -> Any:
    return LiveValue(i) if r.random() < 0.6 else (i, str(i))


def mixed_workload(cache: SmartCache, ops: int, seed: int) -> None:
    """Every kind of operation, with evictions, expirations and user-object keys and values.
    Keeps no reference to anything it made once it returns."""
    r = random.Random(seed)
    for i in range(ops):
        key = make_key(r)
        op = r.random()
        if op < 0.30:
            cache.put(key, make_value(r, i))
        elif op < 0.36:
            cache.put(key, make_value(r, i), ttl_seconds=0.0005)  # expires soon
        elif op < 0.56:
            cache.get(key)
        elif op < 0.62:
            try:
                del cache[key]
            except KeyError:
                pass
        elif op < 0.68:
            cache.pop(key, None)
        elif op < 0.74:
            cache.setdefault(key, make_value(r, i))
        elif op < 0.80:
            _ = key in cache
        elif op < 0.85:
            cache.update({key: make_value(r, i), make_key(r): make_value(r, i)})
        elif op < 0.90:
            cache.get_or_set(key, functools.partial(LiveValue, i))
        elif op < 0.94:
            try:
                _ = cache[key]
            except KeyError:
                pass
        elif op < 0.97:
            cache[key] = make_value(r, i)
        elif op < 0.985:
            cache.remove(key)
        elif op < 0.995:
            cache.contains(key)
        else:
            cache.cleanup()


@pytest.fixture
def clean_counts() -> Iterator[None]:
    settle()
    assert LiveKey.live == 0
    assert LiveValue.live == 0
    yield
    settle()


# ---- a long mixed workload ----------------------------------------------------------------


@pytest.mark.timeout(180, method="thread")
def test_million_mixed_operations_leave_nothing_behind(clean_counts: None) -> None:
    # One million operations over the four policies (about 6 s here); the first 20k warm up
    # free lists, interned strings and the engine's tables before the baseline is taken.
    caches = [
        SmartCache(
            max_size=500, policy=policy, ttl_seconds=0.02 if policy == EvictionPolicy.TTL else None
        )
        for policy in ALL_POLICIES
    ]
    for n, cache in enumerate(caches):
        mixed_workload(cache, 5_000, seed=n)
        settle(cache)
    objects_before = len(gc.get_objects())
    refs_before = total_refcount()

    for n, cache in enumerate(caches):
        mixed_workload(cache, 250_000, seed=100 + n)
        stats = cache.stats()
        assert stats["evictions"] + stats["rejections"] > 0
        if cache.get_policy() == EvictionPolicy.TTL:
            assert stats["expirations"] > 0
        assert LiveKey.live > 0  # the cache held some
        settle(cache)
        assert len(cache) == 0
        assert LiveKey.live == 0, f"{LiveKey.live} keys still alive after clear()"
        assert LiveValue.live == 0, f"{LiveValue.live} values still alive after clear()"

    objects_after = len(gc.get_objects())
    assert objects_after - objects_before < 100, (objects_before, objects_after)
    refs_after = total_refcount()
    if refs_before is not None and refs_after is not None:
        assert refs_after - refs_before < 1000, (refs_before, refs_after)


@pytest.mark.timeout(180, method="thread")
def test_mixed_operations_tracemalloc_returns_to_baseline(clean_counts: None) -> None:
    # tracemalloc slows every allocation, so this run is 200k operations.
    cache = SmartCache(max_size=500, policy=EvictionPolicy.ADAPTIVE)
    ttl_cache = SmartCache(max_size=500, ttl_seconds=0.01)
    tracemalloc.start()
    try:
        mixed_workload(cache, 10_000, seed=1)
        mixed_workload(ttl_cache, 10_000, seed=2)
        settle(cache)
        settle(ttl_cache)
        before, _ = tracemalloc.get_traced_memory()

        mixed_workload(cache, 100_000, seed=3)
        mixed_workload(ttl_cache, 100_000, seed=4)
        during, _ = tracemalloc.get_traced_memory()
        settle(cache)
        settle(ttl_cache)
        after, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert LiveKey.live == 0
    assert LiveValue.live == 0
    assert during > before  # the caches held something
    assert after - before < 32 * 1024, (before, during, after)


@pytest.mark.timeout(120, method="thread")
def test_cached_function_leaves_nothing_behind(clean_counts: None) -> None:
    @cached(max_size=300, policy=EvictionPolicy.LFU)
    def compute(key: Any, extra: int = 0) -> LiveValue:
        return LiveValue((key, extra))

    @cached(max_size=300, ttl_seconds=0.001)
    def expiring(key: Any) -> LiveValue:
        return LiveValue(key)

    r = random.Random(5)
    objects_before = len(gc.get_objects())
    for i in range(30_000):
        key = make_key(r)
        compute(key)
        compute(key, extra=i % 3)
        expiring(key)
    del key
    assert LiveValue.live > 0
    compute.cache_clear()  # type: ignore[attr-defined]
    expiring.cache_clear()  # type: ignore[attr-defined]
    settle()
    assert LiveKey.live == 0
    assert LiveValue.live == 0
    assert len(gc.get_objects()) - objects_before < 100


@pytest.mark.timeout(120, method="thread")
@pytest.mark.parametrize("policy", ALL_POLICIES, ids=str)
def test_deallocating_a_full_cache_frees_every_entry(policy: Any, clean_counts: None) -> None:
    cache = SmartCache(max_size=2000, policy=policy, ttl_seconds=30.0)
    for i in range(3000):
        cache.put(LiveKey(i), LiveValue(i))
        cache.put(i, LiveValue(i), ttl_seconds=0.0005)
    assert LiveKey.live > 0
    assert LiveValue.live > 0
    ref = weakref.ref(cache)
    del cache
    settle()
    assert ref() is None
    assert LiveKey.live == 0
    assert LiveValue.live == 0


def resident_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs /proc")
@pytest.mark.skipif(
    under_address_sanitizer(),
    reason="ASan's quarantine of freed memory makes the resident set grow whatever the code does",
)
@pytest.mark.timeout(120, method="thread")
@pytest.mark.parametrize("policy", [EvictionPolicy.LFU, EvictionPolicy.ADAPTIVE], ids=str)
def test_engine_memory_is_flat_over_fill_and_clear_cycles(policy: Any, clean_counts: None) -> None:
    # tracemalloc does not see the engine's C++ allocations: the resident set size does.
    # 200k puts (evictions, expirations, user keys) after warm-up; a leak of even 16 bytes per
    # put would add 3 MB.
    cache = SmartCache(max_size=5000, policy=policy)

    def cycle() -> None:
        for i in range(20_000):
            key: Any = i if i % 3 else LiveKey(i)
            value: Any = LiveValue(i) if i % 2 else (i,)
            cache.put(key, value, ttl_seconds=0.0005 if i % 5 == 0 else None)
            cache.get(i - 7)
        cache.clear()

    for _ in range(3):
        cycle()
    settle(cache)
    before = resident_bytes()
    for _ in range(10):
        cycle()
    settle(cache)
    grown = resident_bytes() - before
    assert LiveKey.live == 0
    assert LiveValue.live == 0
    assert grown < 2 << 20, f"resident memory grew by {grown} bytes"


def test_failed_operations_leak_nothing(clean_counts: None) -> None:
    class BadHash:
        def __hash__(self) -> int:
            raise ValueError("no hash")

    class BadEq(LiveKey):
        __slots__ = ()

        def __eq__(self, other: object) -> bool:
            raise ArithmeticError("no eq")

        __hash__ = LiveKey.__hash__

    cache = SmartCache(max_size=50)
    cache.put(BadEq(0), LiveValue(0))
    objects_before = len(gc.get_objects())
    for i in range(20_000):
        with pytest.raises(ValueError):
            cache.put(BadHash(), LiveValue(i))
        with pytest.raises(ArithmeticError):
            cache.put(BadEq(97), LiveValue(i))  # same hash as BadEq(0): compared, raises
        with pytest.raises(ArithmeticError):
            cache.setdefault(BadEq(97), LiveValue(i))
        with pytest.raises(ArithmeticError):
            cache.get_or_set(BadEq(97), lambda: LiveValue(-1))
        with pytest.raises(KeyError):
            cache.pop(i + 1000)

        def failing() -> LiveValue:
            raise LookupError("factory")

        with pytest.raises(LookupError):
            cache.get_or_set(("k", i), failing)
    assert len(cache) == 1
    assert LiveValue.live == 1
    assert LiveKey.live == 1
    settle(cache)
    assert LiveValue.live == 0
    assert LiveKey.live == 0
    assert len(gc.get_objects()) - objects_before < 100


# ---- reference cycles through a cache -----------------------------------------------------


class Holder:
    def __init__(self, cache: Any) -> None:
        self.cache = cache


@pytest.mark.parametrize(
    "build",
    [
        pytest.param(lambda c: c.put("self", c), id="cache-as-own-value"),
        pytest.param(lambda c: c.put("holder", Holder(c)), id="value-references-cache"),
        pytest.param(lambda c: c.put(Holder(c), 1), id="key-references-cache"),
        pytest.param(lambda c: c.put("ttl", Holder(c), ttl_seconds=60.0), id="entry-with-ttl"),
        pytest.param(lambda c: c.setdefault("sd", [c]), id="setdefault-list"),
    ],
)
@pytest.mark.parametrize("ttl", [None, 60.0], ids=["no-ttl", "ttl-cache"])
def test_reference_cycle_through_cache_is_collected(
    build: Callable[[SmartCache], Any], ttl: float | None, clean_counts: None
) -> None:
    cache = SmartCache(max_size=10, ttl_seconds=ttl)
    cache.put("payload", LiveValue("payload"))
    build(cache)
    ref = weakref.ref(cache)
    del cache
    gc.collect()
    assert ref() is None, "the cycle through the cache was not collected"
    settle()
    assert LiveValue.live == 0


def test_cycle_through_cached_function_is_collected(clean_counts: None) -> None:
    def make() -> Any:
        @cached(max_size=8)
        def f(x: int) -> Any:
            return (f, LiveValue(x))  # the result references the function: a cycle

        f(1)
        f(2)
        return f

    f = make()
    ref_function = weakref.ref(f)
    ref_cache = weakref.ref(f.cache)
    del f
    gc.collect()
    assert ref_function() is None
    assert ref_cache() is None
    settle()
    assert LiveValue.live == 0


def test_cycle_through_get_or_set_factory_is_collected(clean_counts: None) -> None:
    def build() -> weakref.ref[SmartCache]:
        cache = SmartCache(max_size=8)

        def factory() -> Any:
            return [cache, LiveValue("x")]  # the stored value references the cache

        cache.get_or_set("k", factory)
        return weakref.ref(cache)

    ref = build()
    gc.collect()
    assert ref() is None
    settle()
    assert LiveValue.live == 0


def test_evicted_entries_held_elsewhere_keep_exact_counts(clean_counts: None) -> None:
    """An evicted key or value the program still holds loses exactly the cache's reference,
    dropped at once (py_ref.h's release_later), and one only the cache held is freed by the
    time the put that evicted it returns, for SmartCache and @cached alike."""
    keys = [f"held-key-{i}" for i in range(200)]
    values = [LiveValue(i) for i in range(200)]
    before = [(sys.getrefcount(k), sys.getrefcount(v)) for k, v in zip(keys, values)]
    c = SmartCache(max_size=100)
    for k, v in zip(keys, values):
        c.put(k, v)
    del k, v
    c.put("lonely", LiveValue("lonely"))  # only the cache holds this value
    lonely_value = weakref.ref(c.get("lonely"))
    for i in range(1000):
        c.put(i, i)  # evicts every entry above
    assert all(k not in c for k in keys) and "lonely" not in c
    assert lonely_value() is None  # freed by then, not left in a release list
    after = [(sys.getrefcount(k), sys.getrefcount(v)) for k, v in zip(keys, values)]
    assert after == before

    @cached(max_size=100)
    def identity(x: object) -> object:
        return x

    held = [LiveValue(i) for i in range(300)]
    counts = [sys.getrefcount(h) for h in held]
    for h in held:
        identity(h)  # the key is the tuple (h,); the value is h itself
    del h
    identity.cache_clear()  # type: ignore[attr-defined]
    assert [sys.getrefcount(h) for h in held] == counts
