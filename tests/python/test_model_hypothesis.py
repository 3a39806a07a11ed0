"""Stateful model test: SmartCache against a dict model, one state machine per policy.

A cache may evict, so the model tracks, for every key, whether it is certainly present (put
with room to spare, or seen since), possibly present (some insert since then may have evicted
it) or certainly absent (removed, cleared, or seen missing). It checks that:
 - a lookup never returns a value other than the last one put for that key;
 - a certainly-present key is found, a certainly-absent key is not;
 - len(cache) <= max_size, len() == size() == stats()["current_size"] == len(items());
 - items() holds only known keys with their last values, each key once;
 - stats() hits and misses are exactly the counted lookups (get, [], get_or_set) that hit or
   missed; contains, in, pop, setdefault and the rest count nothing.
"""

from __future__ import annotations

from typing import Any

import hypothesis.strategies as st
import pytest
from cuckoocache import EvictionPolicy, SmartCache
from hypothesis import HealthCheck, settings
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

MAX_SIZE = 8


class EqualsOne:
    """A user key equal to 1 (hash(1)): exercises the Python-comparison path."""

    def __hash__(self) -> int:
        return hash(1)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, EqualsOne) or other == 1

    def __repr__(self) -> str:
        return "EqualsOne()"


class Token:
    """Identity-equality key."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"Token({self.name!r})"


TOKEN_A = Token("a")
EQUALS_ONE = EqualsOne()

KEY_POOL: list[Any] = [
    0,
    1,
    2,
    3,
    -1,
    -2,
    0.0,
    -0.0,
    1.0,
    2.0,
    2.5,
    True,
    False,
    None,
    "",
    "a",
    "b",
    "1",
    b"a",
    (1, "a"),
    (1.0, "a"),
    (True, "a"),
    ("a", (2, None)),
    frozenset({1}),
    frozenset({1.0}),
    TOKEN_A,
    EQUALS_ONE,
]
keys = st.sampled_from(KEY_POOL)
policies = st.sampled_from(
    [EvictionPolicy.LRU, EvictionPolicy.LFU, EvictionPolicy.TTL, EvictionPolicy.ADAPTIVE]
)

_MISS: Any = object()


class Value:
    """A unique value: identity tells which put a lookup returned."""

    __slots__ = ("n",)

    def __init__(self, n: int) -> None:
        self.n = n

    def __repr__(self) -> str:
        return f"Value({self.n})"


class CacheModel(RuleBasedStateMachine):
    policy: EvictionPolicy = EvictionPolicy.LRU

    def __init__(self) -> None:
        super().__init__()
        self.max_size = MAX_SIZE
        self.cache = SmartCache(max_size=self.max_size, policy=self.policy)
        self.present: dict[Any, Value] = {}  # certainly in the cache, with this value
        self.maybe: dict[Any, Value] = {}  # possibly evicted; if there, with this value
        self.hits = 0
        self.misses = 0
        self.counter = 0

    # ---- model helpers ----------------------------------------------------------------------

    def new_value(self) -> Value:
        self.counter += 1
        return Value(self.counter)

    def known(self, key: Any) -> Value | None:
        if key in self.present:
            return self.present[key]
        return self.maybe.get(key)

    def forget(self, key: Any) -> None:
        self.present.pop(key, None)
        self.maybe.pop(key, None)

    def everything_may_be_evicted(self) -> None:
        self.maybe.update(self.present)
        self.present.clear()

    def observed(self, key: Any, got: Any) -> None:
        """Checks a lookup's result (`_MISS` for a miss) against the model and learns from it."""
        expected = self.known(key)
        if got is _MISS:
            assert key not in self.present, f"{key!r} is certainly present but was missed"
            self.forget(key)
            return
        assert expected is not None, f"{key!r} is certainly absent but returned {got!r}"
        assert got is expected, f"{key!r}: got {got!r}, last put {expected!r}"
        self.maybe.pop(key, None)
        self.present[key] = expected

    def observed_presence(self, key: Any, present: bool) -> None:
        if present:
            assert self.known(key) is not None, f"{key!r} is certainly absent but present"
            if key in self.maybe:
                self.present[key] = self.maybe.pop(key)
        else:
            assert key not in self.present, f"{key!r} is certainly present but absent"
            self.forget(key)

    def store(self, key: Any, value: Value, action: Any) -> None:
        """Runs action() (which stores key -> value) and updates the model."""
        already = self.cache.contains(key)
        self.observed_presence(key, already)
        full = len(self.cache) >= self.max_size
        action()
        self.forget(key)
        if already or not full:
            # an update, or an insert with room to spare: nothing can be evicted
            self.present[key] = value
        else:
            # an insert into a full cache evicts something (maybe the newcomer itself)
            self.everything_may_be_evicted()
            self.maybe[key] = value

    # ---- writes -----------------------------------------------------------------------------

    @rule(key=keys)
    def put(self, key: Any) -> None:
        value = self.new_value()
        self.store(key, value, lambda: self.cache.put(key, value))

    @rule(key=keys)
    def put_with_long_ttl(self, key: Any) -> None:
        value = self.new_value()
        self.store(key, value, lambda: self.cache.put(key, value, ttl_seconds=3600))

    @rule(key=keys)
    def setitem(self, key: Any) -> None:
        value = self.new_value()

        def action() -> None:
            self.cache[key] = value

        self.store(key, value, action)

    @rule(key=keys)
    def update(self, key: Any) -> None:
        value = self.new_value()
        self.store(key, value, lambda: self.cache.update({key: value}))

    @rule(key=keys)
    def setdefault(self, key: Any) -> None:
        value = self.new_value()
        already = self.cache.contains(key)
        self.observed_presence(key, already)
        full = len(self.cache) >= self.max_size
        got = self.cache.setdefault(key, value)
        if already:
            # present a moment ago and nothing ran in between: the stored value comes back
            self.observed(key, got)
        else:
            assert got is value
            if full:
                self.everything_may_be_evicted()
                self.maybe[key] = value
            else:
                self.present[key] = value

    # ---- removals ---------------------------------------------------------------------------

    @rule(key=keys)
    def remove(self, key: Any) -> None:
        removed = self.cache.remove(key)
        self.observed_presence(key, removed)
        self.forget(key)

    @rule(key=keys)
    def delitem(self, key: Any) -> None:
        try:
            del self.cache[key]
        except KeyError:
            self.observed_presence(key, False)
        else:
            self.observed_presence(key, True)
        self.forget(key)

    @rule(key=keys)
    def pop(self, key: Any) -> None:
        try:
            got = self.cache.pop(key)
        except KeyError:
            got = _MISS
        self.observed(key, got)
        self.forget(key)

    @rule(key=keys)
    def pop_default(self, key: Any) -> None:
        self.observed(key, self.cache.pop(key, _MISS))
        self.forget(key)

    @rule()
    def popitem(self) -> None:
        try:
            key, value = self.cache.popitem()
        except KeyError:
            assert not self.present
            self.maybe.clear()
            return
        assert self.known(key) is value
        self.forget(key)

    @rule()
    def clear(self) -> None:
        self.cache.clear()
        self.present.clear()
        self.maybe.clear()

    # ---- lookups ----------------------------------------------------------------------------

    @rule(key=keys)
    def get(self, key: Any) -> None:
        got = self.cache.get(key, _MISS)
        self.count(got)
        self.observed(key, got)

    @rule(key=keys)
    def get_none_default(self, key: Any) -> None:
        got = self.cache.get(key)
        self.count(_MISS if got is None else got)
        self.observed(key, _MISS if got is None else got)

    @rule(key=keys)
    def getitem(self, key: Any) -> None:
        try:
            got = self.cache[key]
        except KeyError:
            got = _MISS
        self.count(got)
        self.observed(key, got)

    @rule(key=keys)
    def get_or_set(self, key: Any) -> None:
        value = self.new_value()
        was_there = self.cache.contains(key)
        self.observed_presence(key, was_there)
        full = len(self.cache) >= self.max_size
        got = self.cache.get_or_set(key, lambda: value)
        self.count(got if was_there else _MISS)
        if was_there:
            self.observed(key, got)
        else:
            assert got is value
            if full:
                self.everything_may_be_evicted()
                self.maybe[key] = value
            else:
                self.present[key] = value

    @rule(key=keys)
    def contains(self, key: Any) -> None:
        self.observed_presence(key, self.cache.contains(key))

    @rule(key=keys)
    def in_operator(self, key: Any) -> None:
        self.observed_presence(key, key in self.cache)

    def count(self, got: Any) -> None:
        if got is _MISS:
            self.misses += 1
        else:
            self.hits += 1

    # ---- administration ---------------------------------------------------------------------

    @rule(policy=policies)
    def set_policy(self, policy: EvictionPolicy) -> None:
        self.cache.set_policy(policy)
        assert self.cache.get_policy() == policy

    @rule(new_max=st.integers(min_value=1, max_value=MAX_SIZE + 4))
    def set_max_size(self, new_max: int) -> None:
        size = len(self.cache)
        self.cache.set_max_size(new_max)
        self.max_size = new_max
        if size > new_max:
            self.everything_may_be_evicted()

    @rule()
    def reset_stats(self) -> None:
        self.cache.reset_stats()
        self.hits = self.misses = 0

    # ---- invariants -------------------------------------------------------------------------

    @invariant()
    def size_is_bounded_and_consistent(self) -> None:
        n = len(self.cache)
        assert n <= self.max_size
        assert n == self.cache.size()
        stats = self.cache.stats()
        assert stats["current_size"] == n
        assert stats["max_size"] == self.max_size == self.cache.get_max_size()
        assert len(self.present) <= n <= len(self.present) + len(self.maybe)

    @invariant()
    def stats_count_exactly_the_counted_lookups(self) -> None:
        stats = self.cache.stats()
        assert stats["hits"] == self.hits
        assert stats["misses"] == self.misses
        lookups = self.hits + self.misses
        if lookups:
            assert stats["hit_rate"] == pytest.approx(self.hits / lookups)
            assert stats["miss_rate"] == pytest.approx(self.misses / lookups)
        else:
            assert stats["hit_rate"] == stats["miss_rate"] == 0.0

    @invariant()
    def snapshot_matches_the_model(self) -> None:
        items = self.cache.items()
        assert len(items) == len(self.cache)
        seen: dict[Any, Value] = {}
        for key, value in items:
            assert key not in seen, f"{key!r} appears twice in items()"
            seen[key] = value
            assert self.known(key) is value, f"items() has {key!r}: {value!r}"
        for key, value in self.present.items():
            assert key in seen, f"{key!r} certainly present but not in items()"
            assert seen[key] is value


def machine_for(policy: EvictionPolicy) -> type[CacheModel]:
    return type(f"CacheModel{policy}", (CacheModel,), {"policy": policy})


MODEL_SETTINGS = settings(
    max_examples=60,
    stateful_step_count=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)

TestLRU = machine_for(EvictionPolicy.LRU).TestCase
TestLRU.settings = MODEL_SETTINGS
TestLFU = machine_for(EvictionPolicy.LFU).TestCase
TestLFU.settings = MODEL_SETTINGS
TestTTL = machine_for(EvictionPolicy.TTL).TestCase
TestTTL.settings = MODEL_SETTINGS
TestADAPTIVE = machine_for(EvictionPolicy.ADAPTIVE).TestCase
TestADAPTIVE.settings = MODEL_SETTINGS
