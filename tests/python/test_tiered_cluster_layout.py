"""The building blocks of ``cuckoocache.tiered.cluster``, without Redis: slot tags, the key
layout (keys and their invalidation channels in one slot, namespaces apart), the per-shard
breaker (against a fake slot map) and the sharded scripts."""

from __future__ import annotations

import threading
from typing import Any

import pytest

redis = pytest.importorskip("redis", reason="redis-py is not installed (tools/test installs it)")

from cuckoocache.tiered import encode_key  # noqa: E402
from cuckoocache.tiered.breaker import FAILED, Breaker  # noqa: E402
from cuckoocache.tiered.cluster import (  # noqa: E402
    BUCKETS,
    STRIDE,
    ClusterLayout,
    ShardedBreaker,
    key_slot,
    sharded_script,
    slot_tags,
)
from cuckoocache.tiered.counters import Counters  # noqa: E402
from cuckoocache.tiered.scripts import DEL_SCRIPT, SET_SCRIPT, SETNX_SCRIPT  # noqa: E402
from redis.crc import key_slot as redis_key_slot  # noqa: E402


def test_every_slot_has_a_tag_that_hashes_to_it() -> None:
    tags = slot_tags()
    assert len(tags) == 16384
    assert all(len(t) == 3 and t.isalnum() for t in tags)
    assert all(redis_key_slot(b"x{" + t + b"}y") == slot for slot, t in enumerate(tags))


@pytest.mark.parametrize(
    "key", [b"plain", b"a{tag}b", b"{}x", b"{x", b"x}{y}", b"ns{AB1}s:{user}", b""]
)
def test_key_slot_matches_redis_py(key: bytes) -> None:
    assert key_slot(key) == redis_key_slot(key)


def test_layout_keys_and_channels_share_a_slot_and_spread() -> None:
    layout = ClusterLayout(b"users")
    assert len(set(layout.slots)) == BUCKETS
    assert all(b - a == STRIDE for a, b in zip(layout.slots, layout.slots[1:]))
    keys: list[Any] = [f"k{i}" for i in range(2000)] + [(i, "x") for i in range(500)]
    keys += ["with {braces}", frozenset({1, 2}), "}{"]
    slots = set()
    for k in keys:
        encoded = encode_key(k)
        rkey = layout.rkey(encoded)
        assert rkey.startswith(b"users{")
        assert layout.encoded(rkey) == encoded
        slot = key_slot(rkey)
        assert slot in layout.bucket_of_slot  # one of the namespace's buckets
        assert key_slot(layout.channel(rkey)) == slot  # SPUBLISH from the key's script is local
        slots.add(slot)
    assert len(slots) > BUCKETS * 0.85  # 2,500 keys reach nearly every bucket


def test_namespaces_do_not_overlap() -> None:
    import fnmatch

    a, ab = ClusterLayout(b"a"), ClusterLayout(b"a:b")
    rkey_ab = ab.rkey(encode_key("k"))
    pattern = a.scan_pattern().replace(b"\\{", b"[{]").decode()
    assert not fnmatch.fnmatchcase(rkey_ab.decode(), pattern)  # a's clear() spares a:b
    assert fnmatch.fnmatchcase(a.rkey(encode_key("k")).decode(), pattern)
    # Different namespaces use different slots (offset by the namespace).
    offsets = {ClusterLayout(f"ns{i}".encode()).slots[0] for i in range(64)}
    assert len(offsets) > 8


def test_sharded_scripts_publish_with_spublish() -> None:
    for script in (SET_SCRIPT, DEL_SCRIPT, SETNX_SCRIPT):
        sharded = sharded_script(script)
        assert "'SPUBLISH'" in sharded and "'PUBLISH'" not in sharded


# ---- the per-shard breaker against a fake slot map ---------------------------------------------


class _Node:
    def __init__(self, name: str) -> None:
        self.name = name


class _NodesManager:
    def __init__(self, owners: dict[int, str]) -> None:
        self.slots_cache = {slot: [_Node(name)] for slot, name in owners.items()}


class _Client:
    def __init__(self, owners: dict[int, str]) -> None:
        self.nodes_manager = _NodesManager(owners)


def _breaker(raise_on_error: bool = False) -> tuple[ShardedBreaker, Counters, list[bytes]]:
    layout = ClusterLayout(b"ns")
    # Buckets alternate between two primaries.
    owners = {slot: ("p1" if b % 2 else "p0") for b, slot in enumerate(layout.slots)}
    counters = Counters()
    single = Breaker(counters, (redis.RedisError, OSError), 2, raise_on_error, threading.RLock())
    breaker = ShardedBreaker(single, _Client(owners), lambda: redis.ConnectionError("unavailable"))
    for name in ("p0", "p1"):
        shard = breaker.shards[name] = breaker.new_shard(name, _Node(name))
        shard.live = frozenset(s for s, n in owners.items() if n == name)
        shard.ok = True
    keys = [layout.rkey(encode_key(f"k{i}")) for i in range(200)]
    return breaker, counters, keys


def _owner(breaker: ShardedBreaker, rkey: bytes) -> str:
    shard = breaker.shard_of(rkey)
    assert shard is not None
    return shard.name


def test_breaker_trips_only_the_failing_shard() -> None:
    breaker, counters, keys = _breaker()
    on_p0 = [k for k in keys if _owner(breaker, k) == "p0"]
    on_p1 = [k for k in keys if _owner(breaker, k) == "p1"]
    assert on_p0 and on_p1

    def fail(key: bytes) -> Any:
        raise redis.ConnectionError("down")

    # Reads: failure_threshold (2) in a row open that shard only.
    assert breaker.call(fail, on_p0[0]) is FAILED
    assert breaker.shards["p0"].ok
    assert breaker.call(fail, on_p0[1]) is FAILED
    assert not breaker.shards["p0"].ok and breaker.shards["p1"].ok and breaker.ok
    # Calls for p0's keys are skipped without running; p1's run.
    ran: list[bytes] = []
    assert breaker.call(ran.append, on_p0[2]) is FAILED and ran == []
    wrote = breaker.call_write(lambda keys, args: ran.append(keys[0]), keys=[on_p1[0]], args=[])
    assert wrote is not FAILED
    assert ran == [on_p1[0]]
    assert breaker.ok_for(on_p1[0]) and not breaker.ok_for(on_p0[0])
    stats = counters.snapshot()
    assert stats["l2_skipped"] == 1 and stats["l2_errors"] == 2
    # A failed write opens its shard at once.
    assert breaker.call_write(fail, on_p1[1]) is FAILED
    assert not breaker.shards["p1"].ok and not breaker.ok
    assert breaker.shard_stats() == {"l2_shards": 2, "l2_shards_available": 0}


def test_breaker_skip_raises_with_raise_on_error_and_closing_opens_all() -> None:
    breaker, _, keys = _breaker(raise_on_error=True)
    breaker.shards["p0"].trip()
    key = next(k for k in keys if breaker.shard_of(k) is None)
    with pytest.raises(redis.ConnectionError, match="unavailable"):
        breaker.call(lambda k: None, key)
    # A failure not tied to a key (clear() failing on a primary it tripped itself) leaves the
    # serving shards serving.
    breaker.dirty = False
    breaker.trip()
    assert breaker.shards["p1"].ok and breaker.dirty
    breaker.ok = False  # what close() and fork do
    assert not any(s.ok for s in breaker.shards.values())


def test_breaker_unknown_primary_is_skipped_and_marks_the_topology_dirty() -> None:
    breaker, _, keys = _breaker()
    breaker.dirty = False
    del breaker.shards["p1"]  # e.g. a new primary the listener has not subscribed yet
    key = next(k for k in keys if breaker.shard_of(k) is None)
    assert breaker.dirty
    assert breaker.call(lambda k: "ran", key) is FAILED
