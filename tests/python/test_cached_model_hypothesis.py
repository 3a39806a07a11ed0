"""Stateful model test for @cached, one state machine per policy, and two scale tests.

The state machine calls a decorated function with arguments drawn from a small pool (positional
and keyword forms, equal numbers of different types) and checks it against a model of what the
function returns: every result equals the function's own answer for those arguments; the
function runs only on a miss (calls == misses, since nothing here is concurrent); hits + misses
is the number of calls; currsize <= maxsize; cache_clear() empties the cache and zeroes the
counts. Then the two scale cases of the reliability issue: a million keys that all share one
hash value, and huge values.
"""

from __future__ import annotations

import gc
import sys
from typing import Any

import hypothesis.strategies as st
import pytest
from cuckoocache import EvictionPolicy, SmartCache, cached
from hypothesis import HealthCheck, settings
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

MAX_SIZE = 6
ARGS: list[Any] = [0, 1, 1.0, True, 2, "2", (1, 2), None, -1, -2]


def make_machine(policy: Any) -> type[RuleBasedStateMachine]:
    class CachedMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.runs = 0

            @cached(max_size=MAX_SIZE, policy=policy)
            def f(x: Any, scale: int = 1) -> tuple[str, Any, int]:
                self.runs += 1
                return (type(x).__name__, x, scale)

            self.f = f
            self.calls = 0

        def expected(self, x: Any, scale: int) -> tuple[str, Any, int]:
            return (type(x).__name__, x, scale)

        @rule(x=st.sampled_from(ARGS), scale=st.sampled_from([1, 2]), keyword=st.booleans())
        def call(self, x: Any, scale: int, keyword: bool) -> None:
            result = self.f(x, scale=scale) if keyword else self.f(x, scale)
            self.calls += 1
            kind, value, got_scale = result
            # typed=False: an equal argument of another type may answer (1, 1.0 and True).
            assert value == x and got_scale == scale, (result, x, scale)
            if kind != type(x).__name__:
                assert hash(value) == hash(x)

        @rule()
        def clear(self) -> None:
            self.f.cache_clear()
            self.calls = 0
            self.runs = 0

        @invariant()
        def counts_add_up(self) -> None:
            info = self.f.cache_info()
            assert info.hits + info.misses == self.calls
            assert info.misses == self.runs
            assert 0 <= info.currsize <= MAX_SIZE == info.maxsize

    CachedMachine.__name__ = f"Cached{policy.name}"
    return CachedMachine


_SETTINGS = settings(
    max_examples=40,
    stateful_step_count=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)

TestCachedLRU = make_machine(EvictionPolicy.LRU).TestCase
TestCachedLFU = make_machine(EvictionPolicy.LFU).TestCase
TestCachedTTL = make_machine(EvictionPolicy.TTL).TestCase
TestCachedADAPTIVE = make_machine(EvictionPolicy.ADAPTIVE).TestCase
for _case in (TestCachedLRU, TestCachedLFU, TestCachedTTL, TestCachedADAPTIVE):
    _case.settings = _SETTINGS


# ---- scale -------------------------------------------------------------------------------

# Ints equal modulo 2**61 - 1 have equal hashes (sys.hash_info.modulus), so these keys all
# share one chain: each operation compares against the chain (linear, like a dict under hash
# flooding) but the bounded cache keeps the chain short.
_MODULUS = sys.hash_info.modulus


@pytest.mark.timeout(300)
@pytest.mark.parametrize(
    "policy", [EvictionPolicy.LRU, EvictionPolicy.ADAPTIVE], ids=["LRU", "ADAPTIVE"]
)
def test_a_million_keys_with_one_hash_value(policy: Any) -> None:
    n = 1_000_000 if "asan" not in sys.modules.get("cuckoocache._core").__file__ else 100_000  # type: ignore[union-attr]
    keys = [7 + i * _MODULUS for i in range(n)]
    assert len({hash(k) for k in keys[:1000]}) == 1
    cache = SmartCache(max_size=64, policy=policy)
    for i, key in enumerate(keys):
        cache[key] = i
    assert len(cache) <= 64
    # What is left is the recent tail, each with its own value.
    for key, value in cache.items():
        assert keys[value] == key
    assert cache[keys[-1]] == n - 1
    stats = cache.stats()
    assert stats["inserts"] == n and stats["evictions"] + len(cache) == n


@pytest.mark.timeout(120)
def test_huge_values_are_stored_and_released() -> None:
    cache = SmartCache(max_size=2)
    blobs = [bytes([i]) * (64 << 20) for i in range(3)]  # 3 x 64 MiB
    refs = [sys.getrefcount(b) for b in blobs]
    for i in range(3):
        cache[i] = blobs[i]
    assert len(cache) == 2 and cache[2] is blobs[2]
    assert 0 not in cache  # the first was evicted (LRU) ...
    cache.clear()
    gc.collect()
    assert [sys.getrefcount(b) for b in blobs] == refs  # ... and nothing kept a reference
