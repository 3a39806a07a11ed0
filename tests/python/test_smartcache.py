"""SmartCache: the seed document's examples, the mapping protocol, statistics, the context
manager, TTLs, run-time reconfiguration and documentation."""

from __future__ import annotations

import collections.abc
import functools
import inspect
import pydoc
import time
from collections.abc import ItemsView, KeysView, ValuesView
from typing import Any

import pytest
from cuckoocache import EvictionPolicy, SmartCache, cached

ALL_POLICIES = [
    EvictionPolicy.LRU,
    EvictionPolicy.LFU,
    EvictionPolicy.TTL,
    EvictionPolicy.ADAPTIVE,
]
POLICY_IDS = [str(p) for p in ALL_POLICIES]

# TTLs in these tests are short and the sleeps generous: only "long after" is asserted.
SHORT_TTL = 0.05
WELL_AFTER = 0.3


def wait_until_gone(cache: SmartCache, key: Any, limit: float = 5.0) -> bool:
    """Polls contains() (not counted in stats) until key is gone or `limit` seconds pass."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if not cache.contains(key):
            return True
        time.sleep(0.02)
    return False


# ---- the seed document's examples ----------------------------------------------------------


def test_seed_basic_caching(capsys: pytest.CaptureFixture[str]) -> None:
    cache = SmartCache(max_size=1000, policy=EvictionPolicy.LRU)

    cache.put("user:123", {"name": "Alice", "age": 30})
    user = cache.get("user:123")
    assert user == {"name": "Alice", "age": 30}

    stats = cache.stats()
    print(f"Hit rate: {stats['hit_rate']:.2%}")
    assert capsys.readouterr().out == "Hit rate: 100.00%\n"


def test_seed_function_caching_decorator(capsys: pytest.CaptureFixture[str]) -> None:
    calls: list[int] = []

    @cached(max_size=100, policy=EvictionPolicy.ADAPTIVE)
    def expensive_computation(n: int) -> int:
        calls.append(n)
        return n * n * n

    result1 = expensive_computation(10)
    result2 = expensive_computation(10)
    assert result1 == result2 == 1000
    assert calls == [10]

    stats = expensive_computation.cache_stats()  # type: ignore[attr-defined]
    print(f"Cache hits: {stats['hits']}, misses: {stats['misses']}")
    assert capsys.readouterr().out == "Cache hits: 1, misses: 1\n"
    assert stats["policy"] == EvictionPolicy.ADAPTIVE
    assert stats["max_size"] == 100


def test_seed_ttl_caching() -> None:
    user_session = {"user": "alice", "token": "t0k3n"}
    ttl_cache = SmartCache(max_size=500, policy=EvictionPolicy.TTL, ttl_seconds=300)

    ttl_cache.put("session:abc123", user_session)
    assert ttl_cache.get("session:abc123") is user_session
    assert ttl_cache.get_ttl() == 300.0
    assert ttl_cache.get_policy() == EvictionPolicy.TTL
    assert ttl_cache.get_max_size() == 500


def test_seed_ttl_caching_entry_expires() -> None:
    # The seed's example with a TTL short enough to watch the entry expire.
    ttl_cache = SmartCache(max_size=500, policy=EvictionPolicy.TTL, ttl_seconds=SHORT_TTL)
    ttl_cache.put("session:abc123", {"user": "alice"})
    time.sleep(WELL_AFTER)
    assert ttl_cache.get("session:abc123") is None


def test_seed_adaptive_caching() -> None:
    adaptive_cache = SmartCache(
        max_size=1000,
        policy=EvictionPolicy.ADAPTIVE,
        adaptive_threshold=0.7,
    )
    assert adaptive_cache.get_policy() == EvictionPolicy.ADAPTIVE
    for i in range(3000):
        adaptive_cache.put(i, i * 2)
        adaptive_cache.get(i % 50)
    assert len(adaptive_cache) <= 1000
    for k, v in adaptive_cache.items():
        assert v == k * 2


def test_seed_migration_from_lru_cache() -> None:
    @functools.lru_cache(maxsize=128)
    def before(x: int) -> int:
        return x * x

    @cached(max_size=128)
    def my_function(x: int) -> int:
        return x * x

    for x in [*range(200), *range(50)]:
        assert my_function(x) == before(x)
    info = my_function.cache_info()  # type: ignore[attr-defined]
    assert info.maxsize == 128
    assert info.currsize <= 128
    assert info.hits + info.misses == 250


def test_seed_migration_from_manual_caching() -> None:
    computed: list[int] = []

    def expensive_computation(key: int) -> int:
        computed.append(key)
        return key + 1000

    cache = SmartCache(max_size=1000)

    def get_or_compute(key: int) -> int:
        result = cache.get(key)
        if result is None:
            result = expensive_computation(key)
            cache.put(key, result)
        return result  # type: ignore[no-any-return]

    assert [get_or_compute(k) for k in [1, 2, 1, 2, 3]] == [1001, 1002, 1001, 1002, 1003]
    assert computed == [1, 2, 3]


def test_seed_dictionary_style_access() -> None:
    cache = SmartCache()
    cache["key"] = "value"
    assert cache["key"] == "value"


def test_seed_basic_operations() -> None:
    # put, get, contains, remove, clear: the seed's "Basic Operations".
    cache = SmartCache(max_size=10)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1
    assert cache.get("zzz") is None
    assert cache.get("zzz", "dflt") == "dflt"
    assert cache.contains("a")
    assert not cache.contains("zzz")
    assert cache.remove("a") is True
    assert cache.remove("a") is False
    assert not cache.contains("a")
    assert cache.size() == 1
    cache.clear()
    assert cache.size() == 0
    assert cache.get("b") is None


def test_default_configuration() -> None:
    cache = SmartCache()
    assert cache.get_max_size() == 1000
    assert cache.get_policy() == EvictionPolicy.LRU
    assert cache.get_ttl() is None
    assert cache.stats()["max_size"] == 1000


def test_positional_constructor_arguments() -> None:
    cache = SmartCache(10, EvictionPolicy.LFU, 60, 0.5)
    assert cache.get_max_size() == 10
    assert cache.get_policy() == EvictionPolicy.LFU
    assert cache.get_ttl() == 60.0


def test_eviction_policy_members() -> None:
    names = {"LRU", "LFU", "TTL", "ADAPTIVE"}
    for name in names:
        assert isinstance(getattr(EvictionPolicy, name), EvictionPolicy)
    assert (
        len({EvictionPolicy.LRU, EvictionPolicy.LFU, EvictionPolicy.TTL, EvictionPolicy.ADAPTIVE})
        == 4
    )
    assert str(EvictionPolicy.ADAPTIVE).endswith("ADAPTIVE")


# ---- mapping protocol -----------------------------------------------------------------------


def test_is_a_mutable_mapping() -> None:
    cache = SmartCache()
    assert isinstance(cache, collections.abc.MutableMapping)
    assert isinstance(cache, collections.abc.Mapping)
    assert isinstance(cache, collections.abc.Sized)
    assert isinstance(cache, collections.abc.Iterable)
    assert isinstance(cache, collections.abc.Container)


def test_getitem_setitem_delitem() -> None:
    cache = SmartCache(max_size=10)
    cache["a"] = 1
    assert cache["a"] == 1
    cache["a"] = 2
    assert cache["a"] == 2
    assert len(cache) == 1
    del cache["a"]
    assert "a" not in cache
    assert len(cache) == 0


def _getitem(cache: Any, key: Any) -> None:
    cache[key]


def _pop(cache: Any, key: Any) -> None:
    cache.pop(key)


def _delitem(cache: Any, key: Any) -> None:
    del cache[key]


@pytest.mark.parametrize("operation", [_getitem, _pop, _delitem], ids=["getitem", "pop", "del"])
@pytest.mark.parametrize("key", ["missing", ("missing", 1), (), None, 0], ids=repr)
def test_missing_key_raises_keyerror_carrying_the_key(operation: Any, key: Any) -> None:
    # As dict does: KeyError(key).args == (key,), even for a tuple or None key.
    cache = SmartCache()
    cache["other"] = 1
    with pytest.raises(KeyError) as info:
        operation(cache, key)
    with pytest.raises(KeyError) as expected:
        operation({"other": 1}, key)
    assert info.value.args == expected.value.args == (key,)


def test_delitem_missing_raises_keyerror() -> None:
    cache = SmartCache()
    cache["present"] = 1
    with pytest.raises(KeyError) as info:
        del cache["absent"]
    assert info.value.args == ("absent",)
    assert list(cache.items()) == [("present", 1)]


def test_none_is_a_value_like_any_other() -> None:
    cache = SmartCache()
    cache["k"] = None
    assert "k" in cache
    assert cache["k"] is None
    assert cache.get("k", "dflt") is None
    assert cache.pop("k", "dflt") is None


def test_none_is_a_key_like_any_other() -> None:
    cache = SmartCache()
    cache[None] = "none"
    assert cache[None] == "none"
    assert None in cache
    assert list(cache.keys()) == [None]


def test_get_keyword_arguments() -> None:
    cache = SmartCache()
    cache.put(key="k", value="v", ttl_seconds=None)
    assert cache.get(key="k") == "v"
    assert cache.get("missing", default=5) == 5
    assert cache.get(key="missing", default=6) == 6


def test_contains_and_in() -> None:
    cache = SmartCache()
    cache.put("a", 1)
    assert "a" in cache
    assert "b" not in cache
    assert cache.contains("a") is True
    assert cache.contains("b") is False


def test_len_and_size_agree() -> None:
    cache = SmartCache(max_size=50)
    for i in range(30):
        cache[i] = i
        assert len(cache) == cache.size() == i + 1


def test_iteration_is_a_snapshot() -> None:
    cache = SmartCache(max_size=100)
    for i in range(10):
        cache[i] = str(i)
    seen = []
    for key in cache:  # mutating while iterating is allowed: the iteration is a snapshot
        seen.append(key)
        del cache[key]
        cache[key + 100] = "new"
    assert sorted(seen) == list(range(10))
    assert sorted(cache) == list(range(100, 110))


def test_keys_values_items_are_views_iterating_snapshots() -> None:
    cache = SmartCache(max_size=100)
    expected = {f"k{i}": i for i in range(20)}
    for k, v in expected.items():
        cache[k] = v
    keys, values, items = cache.keys(), cache.values(), cache.items()
    assert isinstance(keys, KeysView)
    assert isinstance(values, ValuesView)
    assert isinstance(items, ItemsView)
    assert sorted(keys) == sorted(expected)
    assert sorted(values) == sorted(expected.values())
    assert dict(items) == expected
    assert keys == expected.keys() and items == expected.items()  # set-like, as for dict
    assert "k3" in keys and ("k3", 3) in items and 3 in values and ("k3", 4) not in items
    assert len(items) == 20
    assert all(isinstance(item, tuple) and len(item) == 2 for item in items)
    it = iter(keys)
    cache["new"] = -1  # mutating while iterating: the iterator walks its snapshot
    assert sorted(it) == sorted(expected)
    cache.clear()
    assert len(keys) == len(values) == len(items) == 0  # views are live
    assert list(keys) == list(values) == list(items) == []


def test_equality_compares_contents_like_dict() -> None:
    cache: SmartCache[str, int] = SmartCache(max_size=10)
    assert cache == {} and cache == SmartCache(max_size=3)
    cache.update(a=1, b=2)
    assert cache == {"a": 1, "b": 2} and {"b": 2, "a": 1} == cache
    assert cache != {"a": 1} and cache != [("a", 1), ("b", 2)]
    other: SmartCache[str, int] = SmartCache(max_size=5, policy=EvictionPolicy.LFU)
    other.update({"a": 1, "b": 2})
    assert cache == other and cache is not other
    with pytest.raises(TypeError, match="unhashable"):
        hash(cache)


def test_generic_at_run_time_and_subclass_repr() -> None:
    typed = SmartCache[str, int](max_size=4)
    typed["x"] = 1
    assert type(typed) is SmartCache and typed["x"] == 1

    class Mine(SmartCache[str, int]):
        pass

    assert repr(Mine(max_size=3)).startswith("Mine(max_size=3, policy=EvictionPolicy.LRU")


def test_dict_of_cache() -> None:
    cache = SmartCache()
    cache.update({"a": 1, "b": 2})
    assert dict(cache.items()) == {"a": 1, "b": 2}
    assert dict(cache) == {"a": 1, "b": 2}


def test_pop() -> None:
    cache = SmartCache()
    cache["a"] = 1
    assert cache.pop("a") == 1
    assert "a" not in cache
    assert cache.pop("a", "dflt") == "dflt"
    assert cache.pop("a", None) is None
    with pytest.raises(KeyError) as info:
        cache.pop("a")
    assert info.value.args == ("a",)


def test_setdefault() -> None:
    cache = SmartCache()
    assert cache.setdefault("a", 1) == 1
    assert cache.setdefault("a", 2) == 1
    assert cache["a"] == 1
    assert cache.setdefault("b") is None
    assert "b" in cache
    assert cache["b"] is None


def test_setdefault_returns_the_stored_object() -> None:
    cache = SmartCache()
    first: list[int] = []
    assert cache.setdefault("k", first) is first
    assert cache.setdefault("k", []) is first


def test_update_from_mapping_pairs_and_kwargs() -> None:
    cache = SmartCache()
    cache.update({"a": 1, "b": 2})
    cache.update([("c", 3), ("a", 10)])
    cache.update(d=4, e=5)
    cache.update({"f": 6}, g=7)
    cache.update()
    assert dict(cache.items()) == {"a": 10, "b": 2, "c": 3, "d": 4, "e": 5, "f": 6, "g": 7}


def test_update_from_object_with_keys() -> None:
    class KeysOnly:
        def keys(self) -> list[str]:
            return ["x", "y"]

        def __getitem__(self, key: str) -> str:
            return key.upper()

    cache = SmartCache()
    cache.update(KeysOnly())
    assert dict(cache.items()) == {"x": "X", "y": "Y"}


def test_update_from_another_cache() -> None:
    source = SmartCache()
    source.update({"a": 1, "b": 2})
    target = SmartCache()
    target.update(source)
    assert dict(target.items()) == {"a": 1, "b": 2}


def test_popitem_until_empty() -> None:
    cache = SmartCache()
    expected = {i: i * i for i in range(5)}
    cache.update(expected)
    popped = {}
    for _ in range(5):
        key, value = cache.popitem()
        popped[key] = value
    assert popped == expected
    assert len(cache) == 0
    with pytest.raises(KeyError):
        cache.popitem()


def test_get_or_set() -> None:
    cache = SmartCache()
    calls: list[str] = []

    def factory() -> str:
        calls.append("called")
        return "made"

    assert cache.get_or_set("k", factory) == "made"
    assert cache.get_or_set("k", factory) == "made"
    assert calls == ["called"]
    assert cache["k"] == "made"


def test_get_or_set_caches_none() -> None:
    cache = SmartCache()
    calls: list[int] = []

    def factory() -> None:
        calls.append(1)

    assert cache.get_or_set("k", factory) is None
    assert cache.get_or_set("k", factory) is None
    assert calls == [1]


def test_get_or_set_factory_exception_stores_nothing() -> None:
    cache = SmartCache()

    def factory() -> int:
        raise ZeroDivisionError("nope")

    with pytest.raises(ZeroDivisionError, match="nope"):
        cache.get_or_set("k", factory)
    assert "k" not in cache
    assert len(cache) == 0
    assert cache.get_or_set("k", lambda: 5) == 5


def test_get_or_set_recursive_same_key() -> None:
    # A factory that asks for its own key computes directly instead of waiting for itself.
    cache = SmartCache()

    def factory() -> int:
        return cache.get_or_set("k", lambda: 1) + 1

    assert cache.get_or_set("k", factory) == 2
    assert cache["k"] == 2


@pytest.mark.timeout(10)
def test_get_or_set_with_ttl() -> None:
    cache = SmartCache()
    assert cache.get_or_set("k", lambda: "v", ttl_seconds=SHORT_TTL) == "v"
    assert wait_until_gone(cache, "k")
    assert cache.get_or_set("k", lambda: "w") == "w"


def test_repr() -> None:
    cache = SmartCache(max_size=7, policy=EvictionPolicy.LFU, ttl_seconds=2.5)
    cache["a"] = 1
    text = repr(cache)
    assert "SmartCache" in text
    assert "7" in text
    assert "LFU" in text
    assert "2.5" in text


def test_values_are_stored_by_reference() -> None:
    cache = SmartCache()
    value: dict[str, list[int]] = {"list": []}
    cache["k"] = value
    assert cache["k"] is value
    value["list"].append(1)
    assert cache["k"] == {"list": [1]}


def test_weakref_to_cache() -> None:
    import weakref

    cache = SmartCache()
    ref = weakref.ref(cache)
    assert ref() is cache


def test_subclass_of_smartcache() -> None:
    class Named(SmartCache):
        def describe(self) -> str:
            return f"{len(self)} entries"

    cache = Named(max_size=5)
    cache["a"] = 1
    assert cache.describe() == "1 entries"
    assert cache["a"] == 1


# ---- statistics ---------------------------------------------------------------------------

STATS_KEYS = {
    "hits",
    "misses",
    "evictions",
    "expirations",
    "inserts",
    "updates",
    "rejections",
    "current_size",
    "max_size",
    "hit_rate",
    "miss_rate",
    "utilization",
    "policy",
}
COUNTERS = ["hits", "misses", "evictions", "expirations", "inserts", "updates", "rejections"]


def test_stats_of_a_new_cache(policy: EvictionPolicy) -> None:
    stats = SmartCache(max_size=10, policy=policy).stats()
    assert set(stats) == STATS_KEYS
    for name in COUNTERS:
        assert stats[name] == 0, name
        assert isinstance(stats[name], int), name
    assert stats["current_size"] == 0
    assert stats["max_size"] == 10
    assert stats["hit_rate"] == 0.0
    assert stats["miss_rate"] == 0.0
    assert stats["utilization"] == 0.0
    assert stats["policy"] == policy


def test_stats_hits_misses_and_rates() -> None:
    cache = SmartCache(max_size=10)
    cache["a"] = 1
    cache.get("a")
    cache.get("a")
    cache.get("b")
    _ = cache["a"]
    with pytest.raises(KeyError):
        cache["b"]
    stats = cache.stats()
    assert stats["hits"] == 3
    assert stats["misses"] == 2
    assert stats["hit_rate"] == pytest.approx(0.6)
    assert stats["miss_rate"] == pytest.approx(0.4)
    assert 0.0 <= stats["hit_rate"] <= 1.0
    assert 0.0 <= stats["miss_rate"] <= 1.0


def test_contains_and_in_are_not_counted() -> None:
    cache = SmartCache(max_size=10)
    cache["a"] = 1
    for key in ["a", "b"]:
        cache.contains(key)
        _ = key in cache
    stats = cache.stats()
    assert stats["hits"] == 0
    assert stats["misses"] == 0
    assert stats["hit_rate"] == 0.0
    assert stats["miss_rate"] == 0.0


def test_only_misses_give_zero_hit_rate() -> None:
    cache = SmartCache()
    cache.get("x")
    stats = cache.stats()
    assert stats["hit_rate"] == 0.0
    assert stats["miss_rate"] == 1.0


def test_stats_inserts_and_updates() -> None:
    cache = SmartCache(max_size=10)
    cache.put("a", 1)
    cache.put("b", 1)
    cache.put("a", 2)
    cache["a"] = 3
    stats = cache.stats()
    assert stats["inserts"] == 2
    assert stats["updates"] == 2
    assert stats["current_size"] == 2


def test_stats_evictions_and_utilization(policy: EvictionPolicy) -> None:
    cache = SmartCache(max_size=10, policy=policy)
    for i in range(25):
        cache[i] = i
    stats = cache.stats()
    assert stats["current_size"] == len(cache) == 10
    assert stats["utilization"] == pytest.approx(1.0)
    # Each insert past capacity either evicted an entry or was refused admission.
    assert stats["evictions"] + stats["rejections"] == 15
    assert stats["inserts"] - stats["evictions"] == 10


def test_utilization_is_size_over_max_size() -> None:
    cache = SmartCache(max_size=8)
    for i in range(3):
        cache[i] = i
    assert cache.stats()["utilization"] == pytest.approx(3 / 8)


def test_reset_stats_keeps_entries() -> None:
    cache = SmartCache(max_size=10)
    cache.update({"a": 1, "b": 2})
    cache.get("a")
    cache.get("zz")
    cache.reset_stats()
    stats = cache.stats()
    for name in COUNTERS:
        assert stats[name] == 0, name
    assert stats["hit_rate"] == 0.0
    assert stats["current_size"] == 2
    assert dict(cache.items()) == {"a": 1, "b": 2}


def test_clear_keeps_counters() -> None:
    cache = SmartCache(max_size=10)
    cache.update({"a": 1, "b": 2})
    cache.get("a")
    cache.clear()
    stats = cache.stats()
    assert stats["hits"] == 1
    assert stats["inserts"] == 2
    assert stats["current_size"] == 0
    assert len(cache) == 0


def test_stats_returns_a_fresh_dict() -> None:
    cache = SmartCache()
    stats = cache.stats()
    stats["hits"] = 99
    assert cache.stats()["hits"] == 0
    assert cache.stats() is not cache.stats()


def test_stats_policy_follows_set_policy() -> None:
    cache = SmartCache()
    cache.set_policy(EvictionPolicy.TTL)
    assert cache.stats()["policy"] == EvictionPolicy.TTL


# ---- context manager ----------------------------------------------------------------------


def test_context_manager_returns_the_cache_and_clears_it() -> None:
    outer = SmartCache(max_size=10)
    with outer as cache:
        assert cache is outer
        cache["a"] = 1
        assert cache["a"] == 1
    assert len(outer) == 0
    assert "a" not in outer


def test_context_manager_seed_style() -> None:
    with SmartCache(max_size=10, policy=EvictionPolicy.LFU, ttl_seconds=60) as cache:
        assert isinstance(cache, SmartCache)
        cache.put("k", "v")
        assert cache.get("k") == "v"
    assert cache.size() == 0


def test_context_manager_exception_propagates_and_clears() -> None:
    cache = SmartCache()
    with pytest.raises(RuntimeError, match="inside"), cache:
        cache["a"] = 1
        raise RuntimeError("inside")
    assert len(cache) == 0


def test_cache_usable_after_context_exit() -> None:
    with SmartCache(max_size=10, ttl_seconds=60) as cache:
        cache["a"] = 1
    cache["b"] = 2
    assert cache["b"] == 2
    assert len(cache) == 1


@pytest.mark.timeout(10)
def test_ttl_still_honoured_after_context_exit() -> None:
    # Background expiry stops on exit; reads still never return an expired entry.
    with SmartCache(max_size=10, ttl_seconds=SHORT_TTL) as cache:
        pass
    cache["a"] = 1
    time.sleep(WELL_AFTER)
    assert cache.get("a") is None
    assert "a" not in cache


# ---- TTL -----------------------------------------------------------------------------------


@pytest.mark.timeout(10)
def test_default_ttl_expires_entries(policy: EvictionPolicy) -> None:
    cache = SmartCache(max_size=100, policy=policy, ttl_seconds=SHORT_TTL)
    for i in range(10):
        cache[i] = i
    assert cache.get(0) == 0
    time.sleep(WELL_AFTER)
    for i in range(10):
        assert cache.get(i) is None
        assert i not in cache
        assert not cache.contains(i)
        with pytest.raises(KeyError):
            cache[i]
    cache.cleanup()
    assert len(cache) == 0
    assert list(cache.items()) == []
    assert cache.stats()["expirations"] == 10


@pytest.mark.timeout(10)
def test_expired_entries_are_not_in_snapshots() -> None:
    cache = SmartCache(max_size=100)
    cache.put("short", 1, ttl_seconds=SHORT_TTL)
    cache.put("long", 2)
    time.sleep(WELL_AFTER)
    assert list(cache.items()) == [("long", 2)]
    assert list(cache.keys()) == ["long"]
    assert list(cache) == ["long"]


@pytest.mark.timeout(10)
def test_per_entry_ttl_without_default() -> None:
    cache = SmartCache(max_size=100)
    cache.put("short", 1, ttl_seconds=SHORT_TTL)
    cache.put("forever", 2)
    time.sleep(WELL_AFTER)
    assert cache.get("short") is None
    assert cache.get("forever") == 2


@pytest.mark.timeout(10)
def test_per_entry_ttl_overrides_a_short_default() -> None:
    cache = SmartCache(max_size=100, ttl_seconds=SHORT_TTL)
    cache.put("long", 1, ttl_seconds=60)
    cache.put("default", 2)
    time.sleep(WELL_AFTER)
    assert cache.get("long") == 1
    assert cache.get("default") is None


@pytest.mark.timeout(10)
def test_per_entry_ttl_overrides_a_long_default() -> None:
    cache = SmartCache(max_size=100, ttl_seconds=60)
    cache.put("short", 1, ttl_seconds=SHORT_TTL)
    cache.put("default", 2)
    time.sleep(WELL_AFTER)
    assert cache.get("short") is None
    assert cache.get("default") == 2


@pytest.mark.timeout(10)
def test_put_renews_the_ttl() -> None:
    cache = SmartCache(max_size=100)
    cache.put("k", 1, ttl_seconds=SHORT_TTL)
    cache.put("k", 2, ttl_seconds=60)
    time.sleep(WELL_AFTER)
    assert cache.get("k") == 2


@pytest.mark.timeout(10)
def test_put_without_ttl_after_a_ttl_put_never_expires() -> None:
    cache = SmartCache(max_size=100)
    cache.put("k", 1, ttl_seconds=SHORT_TTL)
    cache.put("k", 2)
    time.sleep(WELL_AFTER)
    assert cache.get("k") == 2


@pytest.mark.timeout(10)
def test_setitem_uses_the_default_ttl() -> None:
    cache = SmartCache(max_size=100, ttl_seconds=SHORT_TTL)
    cache["k"] = 1
    cache.setdefault("s", 2)
    time.sleep(WELL_AFTER)
    assert "k" not in cache
    assert "s" not in cache


@pytest.mark.timeout(10)
def test_background_expiry_removes_entries_without_reads() -> None:
    cache = SmartCache(max_size=100, ttl_seconds=SHORT_TTL)
    for i in range(20):
        cache[i] = i
    deadline = time.monotonic() + 5.0
    while len(cache) > 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(cache) == 0
    assert cache.stats()["expirations"] == 20


@pytest.mark.timeout(10)
def test_cleanup_removes_expired_entries() -> None:
    cache = SmartCache(max_size=100)
    for i in range(5):
        cache.put(i, i, ttl_seconds=SHORT_TTL)
    cache.put("keep", 1)
    time.sleep(WELL_AFTER)
    removed = cache.cleanup()
    assert isinstance(removed, int)
    assert 0 <= removed <= 5  # the background sweeper may have removed some already
    assert len(cache) == 1
    assert cache.cleanup() == 0
    assert list(cache.items()) == [("keep", 1)]


def test_cleanup_without_ttls_removes_nothing() -> None:
    cache = SmartCache(max_size=100)
    cache.update({i: i for i in range(10)})
    assert cache.cleanup() == 0
    assert len(cache) == 10


def test_get_ttl_set_ttl_round_trip() -> None:
    cache = SmartCache()
    assert cache.get_ttl() is None
    cache.set_ttl(2.5)
    assert cache.get_ttl() == 2.5
    cache.set_ttl(3)
    assert cache.get_ttl() == 3.0
    assert isinstance(cache.get_ttl(), float)
    cache.set_ttl(None)
    assert cache.get_ttl() is None
    assert SmartCache(ttl_seconds=0.25).get_ttl() == 0.25


@pytest.mark.timeout(10)
def test_set_ttl_applies_to_new_entries_only() -> None:
    cache = SmartCache(max_size=100)
    cache["before"] = 1
    cache.set_ttl(SHORT_TTL)
    cache["after"] = 2
    time.sleep(WELL_AFTER)
    assert cache.get("before") == 1
    assert cache.get("after") is None


@pytest.mark.timeout(10)
def test_set_ttl_none_stops_expiry_of_new_entries() -> None:
    cache = SmartCache(max_size=100, ttl_seconds=SHORT_TTL)
    cache["before"] = 1
    cache.set_ttl(None)
    cache["after"] = 2
    time.sleep(WELL_AFTER)
    assert cache.get("before") is None
    assert cache.get("after") == 2


# ---- eviction, capacity, policy -----------------------------------------------------------


def test_size_never_exceeds_max_size(policy: EvictionPolicy) -> None:
    cache = SmartCache(max_size=100, policy=policy)
    for i in range(1000):
        cache.put(i, -i)
        assert len(cache) <= 100
        if i % 3 == 0:
            cache.get(i // 2)
    assert len(cache) == 100
    for k, v in cache.items():
        assert v == -k


def test_size_never_exceeds_max_size_with_setitem_and_setdefault(policy: EvictionPolicy) -> None:
    cache = SmartCache(max_size=8, policy=policy)
    for i in range(200):
        if i % 2:
            cache[i] = i
        else:
            cache.setdefault(i, i)
        assert len(cache) <= 8


def test_max_size_one() -> None:
    cache = SmartCache(max_size=1)
    cache["a"] = 1
    cache["b"] = 2
    assert len(cache) == 1
    assert list(cache.items()) == [("b", 2)]


@pytest.mark.parametrize(
    "policy",
    [EvictionPolicy.LRU, EvictionPolicy.LFU, EvictionPolicy.ADAPTIVE],
    ids=["LRU", "LFU", "ADAPTIVE"],
)
def test_hot_key_survives(policy: EvictionPolicy) -> None:
    cache = SmartCache(max_size=100, policy=policy)
    cache["hot"] = "value"
    for i in range(1000):
        cache[i] = i
        assert cache.get("hot") == "value", f"hot key evicted after {i} inserts"


def test_lru_recently_used_keys_survive() -> None:
    cache = SmartCache(max_size=100, policy=EvictionPolicy.LRU)
    for i in range(100):
        cache[i] = i
    for i in range(10):
        cache.get(i)
    for i in range(100, 150):
        cache[i] = i
    for i in range(10):
        assert i in cache


@pytest.mark.parametrize("old", ALL_POLICIES, ids=POLICY_IDS)
@pytest.mark.parametrize("new", ALL_POLICIES, ids=POLICY_IDS)
def test_set_policy_keeps_contents(old: EvictionPolicy, new: EvictionPolicy) -> None:
    cache = SmartCache(max_size=50, policy=old)
    expected = {i: f"v{i}" for i in range(40)}
    cache.update(expected)
    for i in range(0, 40, 3):
        cache.get(i)
    cache.set_policy(new)
    assert cache.get_policy() == new
    assert cache.stats()["policy"] == new
    assert dict(cache.items()) == expected
    # and the new policy evicts from here on
    for i in range(40, 200):
        cache[i] = f"v{i}"
        assert len(cache) <= 50
    for k, v in cache.items():
        assert v == f"v{k}"


def test_set_policy_cycle() -> None:
    cache = SmartCache(max_size=20)
    for round_ in range(3):
        for policy in ALL_POLICIES:
            cache.set_policy(policy)
            assert cache.get_policy() == policy
            for i in range(30):
                cache[(round_, i)] = i
            assert len(cache) <= 20


def test_set_max_size_shrinking_evicts_down(policy: EvictionPolicy) -> None:
    cache = SmartCache(max_size=100, policy=policy)
    cache.update({i: i * 3 for i in range(100)})
    cache.set_max_size(10)
    assert cache.get_max_size() == 10
    assert len(cache) == 10
    assert cache.stats()["current_size"] == 10
    assert cache.stats()["max_size"] == 10
    assert cache.stats()["evictions"] == 90
    for k, v in cache.items():
        assert v == k * 3
    for i in range(100, 150):
        cache[i] = i * 3
        assert len(cache) <= 10


def test_set_max_size_growing_keeps_everything(policy: EvictionPolicy) -> None:
    cache = SmartCache(max_size=10, policy=policy)
    cache.update({i: i for i in range(10)})
    cache.set_max_size(500)
    assert cache.get_max_size() == 500
    assert dict(cache.items()) == {i: i for i in range(10)}
    for i in range(10, 500):
        cache[i] = i
    assert len(cache) == 500
    assert cache.stats()["evictions"] == 0
    cache[500] = 500
    assert len(cache) == 500


def test_set_max_size_to_the_same_value() -> None:
    cache = SmartCache(max_size=10)
    cache.update({i: i for i in range(10)})
    cache.set_max_size(10)
    assert len(cache) == 10


# ---- documentation ------------------------------------------------------------------------


def _public_methods() -> list[str]:
    return [
        name
        for name in dir(SmartCache)
        if not name.startswith("_") and callable(getattr(SmartCache, name))
    ]


def test_expected_public_methods_exist() -> None:
    expected = {
        "put",
        "get",
        "contains",
        "remove",
        "clear",
        "size",
        "stats",
        "cleanup",
        "get_policy",
        "set_policy",
        "get_max_size",
        "set_max_size",
        "get_ttl",
        "set_ttl",
        "reset_stats",
        "keys",
        "values",
        "items",
        "pop",
        "setdefault",
        "update",
        "popitem",
        "get_or_set",
    }
    assert expected <= set(_public_methods())


@pytest.mark.parametrize("name", _public_methods())
def test_public_method_has_a_docstring(name: str) -> None:
    doc = inspect.getdoc(getattr(SmartCache, name))
    assert doc is not None
    assert len(doc.strip()) > 10, f"SmartCache.{name} has no real docstring: {doc!r}"


def test_class_and_module_docstrings() -> None:
    import cuckoocache

    for obj in [cuckoocache, SmartCache, EvictionPolicy, cached]:
        assert (inspect.getdoc(obj) or "").strip(), obj


def test_help_renders() -> None:
    text = pydoc.render_doc(SmartCache, renderer=pydoc.plaintext)
    assert "SmartCache" in text
    for name in ["get", "put", "stats", "get_or_set", "set_policy", "max_size", "ttl_seconds"]:
        assert name in text, name


def test_help_prints(capsys: pytest.CaptureFixture[str]) -> None:
    help(SmartCache)
    assert "SmartCache" in capsys.readouterr().out
