"""A user's module exercising cuckoocache's public API, checked with ``mypy --strict`` (run by
tests/packaging/mypy_user.sh; never executed). Every line must type-check with no error and
no ``type: ignore``; ``assert_type`` pins what the stubs promise.

Extend it when the public API grows (``@cached`` functions' ``cache_info()`` and friends, once
they are typed; TieredCache's generic parameters).
"""

from __future__ import annotations

import pickle
from collections.abc import ItemsView, KeysView, MutableMapping, ValuesView
from typing import assert_type

import cuckoocache
from cuckoocache import EvictionPolicy, SmartCache, TieredCache, cached

# ---- SmartCache: generic in key and value -------------------------------------------------
cache: SmartCache[str, int] = SmartCache(max_size=100, policy=EvictionPolicy.ADAPTIVE)
cache["a"] = 1
cache.put("b", 2, ttl_seconds=30.0)
assert_type(cache["a"], int)
assert_type(cache.get("a"), int | None)
assert_type(cache.get("a", 0), int)
assert_type(cache.get("a", None), int | None)
assert_type(cache.get("a", "none"), int | str)
assert_type(cache.pop("a"), int)
assert_type(cache.pop("a", None), int | None)
assert_type(cache.setdefault("c", 3), int)
assert_type(cache.get_or_set("d", lambda: 4), int)
keys: KeysView[str] = cache.keys()
values: ValuesView[int] = cache.values()
items: ItemsView[str, int] = cache.items()
assert_type("a" in cache, bool)
assert_type(len(cache), int)
assert_type(cache == {"a": 1}, bool)
cache.update({"e": 5}, f=6)
cache.update([("g", 7)])
del cache["b"]
first_keys: list[str] = [key for key in cache]
mapping: MutableMapping[str, int] = cache
runtime_alias = SmartCache[str, bytes](max_size=10)
assert_type(runtime_alias, SmartCache[str, bytes])

with SmartCache[int, list[str]](max_size=8, ttl_seconds=5.0) as scoped:
    scoped[1] = ["x"]
    assert_type(scoped.get(1), list[str] | None)

# ---- administration ------------------------------------------------------------------------
cache.set_policy(EvictionPolicy.LFU)
assert_type(cache.get_policy(), EvictionPolicy)
cache.set_max_size(50)
assert_type(cache.get_max_size(), int)
cache.set_ttl(None)
assert_type(cache.get_ttl(), float | None)
assert_type(cache.cleanup(), int)
hit_rate = cache.stats()["hit_rate"]
cache.reset_stats()
cache.clear()

# ---- EvictionPolicy: an IntEnum ------------------------------------------------------------
policies: list[EvictionPolicy] = list(EvictionPolicy)
policy_name: str = EvictionPolicy.LRU.name
assert_type(EvictionPolicy(3), EvictionPolicy)
restored: EvictionPolicy = pickle.loads(pickle.dumps(EvictionPolicy.TTL))
as_int: int = EvictionPolicy.LFU


# ---- @cached ------------------------------------------------------------------------------
@cached(max_size=128, ttl_seconds=60.0)
def square(x: int) -> int:
    return x * x


@cached
def shout(text: str) -> str:
    return text.upper()


squared = square(3)
shouted = shout("a")

# ---- TieredCache (type-checked only: constructing one needs a Redis) -----------------------


def make_tier(url: str) -> TieredCache:
    tier = TieredCache(local=SmartCache(max_size=1000), redis=url, namespace="app")
    tier.put("k", b"v", ttl_seconds=10.0)
    tier["k2"] = 1
    value = tier.get("k")
    present: bool = "k" in tier
    tier.close()
    print(value, present)
    return tier


version: str = cuckoocache.__version__
names: list[str] = cuckoocache.__all__
