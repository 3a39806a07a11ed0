"""TieredCache against real redis-server processes (started here, on loopback ports, with no
persistence; skipped only if redis-server cannot be found or started).

Covers: the mapping API over both tiers; local hits sending nothing to Redis; invalidation
between instances in one process and between two processes; the server killed or hung
mid-run (every call keeps working, local-only, and the tier recovers by itself); TTLs in
both tiers; unserializable values; namespace isolation; single-flight across threads and
the cross-instance lock across processes; ``tier.cached``; redis-py's cluster client.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from cuckoocache import SmartCache
from cuckoocache.tiered import TieredCache, decode_key, encode_key
from tiered_support import (
    LOOPBACK,
    RedisServer,
    Worker,
    hold,
    rkey,
    start_server,
    wait_available,
    wait_until,
)

redis = pytest.importorskip("redis", reason="redis-py is not installed (tools/test installs it)")

pytestmark = pytest.mark.timeout(120, method="thread")
pytest_plugins = ["tiered_support"]  # the fixtures: server, own_server, ns, make_tier, raw

# The bound docs/scaling.md states for invalidation between connected instances, with room
# for a loaded 2-core CI machine (measured delays are well under a millisecond on loopback).
INVALIDATION_BOUND = 2.0


# ---- construction and key encoding ---------------------------------------------------------------


def test_serializer_must_be_chosen_explicitly(server: RedisServer) -> None:
    with pytest.raises(TypeError, match="serializer="):
        TieredCache(SmartCache(), server.url, namespace="x")
    with pytest.raises(ValueError, match="serializer"):
        TieredCache(SmartCache(), server.url, namespace="x", serializer="yaml")
    with pytest.raises(TypeError, match="two callables"):
        TieredCache(SmartCache(), server.url, namespace="x", serializer=(len,))
    with pytest.raises(ValueError, match="namespace"):
        TieredCache(SmartCache(), server.url, namespace="a}b", serializer="json")
    with pytest.raises(ValueError, match="namespace"):
        TieredCache(SmartCache(), server.url, namespace="", serializer="json")
    with pytest.raises(TypeError, match="redis must be"):
        TieredCache(SmartCache(), 42, namespace="x", serializer="json")
    with pytest.raises(TypeError, match="local must be a SmartCache"):
        TieredCache({}, server.url, namespace="x", serializer="json")  # type: ignore[arg-type]


def test_options_object_or_keywords(server: RedisServer, ns: str, make_tier: Any) -> None:
    from cuckoocache.tiered import TierOptions

    opts = TierOptions(timeout=0.5, failure_threshold=5)
    with TieredCache(SmartCache(), server.url, namespace=ns, serializer="json", options=opts) as a:
        assert a.options == TierOptions(timeout=0.5, failure_threshold=5)
    b = make_tier(server.url, ns, options=opts, timeout=0.25)  # a keyword overrides
    assert b.options.timeout == 0.25 and b.options.failure_threshold == 5
    with pytest.raises(TypeError, match="timout"):
        TieredCache(SmartCache(), server.url, namespace=ns, serializer="json", timout=1)
    with pytest.raises(ValueError, match="timeout"):
        TieredCache(SmartCache(), server.url, namespace=ns, serializer="json", timeout=-1)


def test_key_encoding_is_canonical_and_reversible() -> None:
    # dict rules: 1, 1.0 and True are one key; so are tuples of them.
    assert encode_key(1) == encode_key(1.0) == encode_key(True)
    assert encode_key((1, "a")) == encode_key((1.0, "a")) == encode_key((True, "a"))
    assert encode_key(frozenset({1, 2, 3})) == encode_key(frozenset({3, 2, 1.0}))
    assert encode_key("1") != encode_key(1) != encode_key(b"1")
    assert encode_key(("a",)) != encode_key("a")
    assert encode_key(("a,b", "c")) != encode_key(("a", "b,c"))
    assert encode_key(0.0) == encode_key(-0.0) == encode_key(0)
    samples: list[Any] = [
        "plain",
        "",
        "sp\u00e9cial \udcff",
        b"\x00\xff",
        0,
        -(2**100),
        1.5,
        -math.inf,
        None,
        (),
        ((1, 2), ("x", None), b""),
        frozenset({"a", (1, 2)}),
        (int, str, type(None)),
    ]
    for key in samples:
        assert decode_key(encode_key(key)) == key, key
    # @cached's keys (keyword marker, typed=True classes) round-trip too.
    from cuckoocache import _core

    for made in (
        _core.make_key((1, "a"), {"z": 2, "b": (3,)}, False),
        _core.make_key((1.5,), {"k": None}, True),
    ):
        assert decode_key(encode_key(made)) == made
    for bad in (object(), 1j, (1, object())):
        with pytest.raises(TypeError, match="TieredCache keys must be"):
            encode_key(bad)
    with pytest.raises(ValueError):
        decode_key(b"(i1;")


# ---- the two tiers -------------------------------------------------------------------------------


def test_mapping_api(server: RedisServer, ns: str, make_tier: Any, raw: Any) -> None:
    tier = make_tier(server.url, ns)
    assert tier.get("missing") is None
    assert tier.get("missing", 7) == 7
    with pytest.raises(KeyError) as info:
        tier[(1, 2)]
    assert info.value.args == ((1, 2),)
    tier["a"] = 1
    tier.put(("t", 2), {"v": [1, 2]})
    assert tier["a"] == 1 and tier[("t", 2)] == {"v": [1, 2]}
    assert "a" in tier and tier.contains(("t", 2)) and "zz" not in tier
    assert raw.exists(rkey(ns, "a")) and raw.exists(rkey(ns, ("t", 2)))
    assert len(tier) == tier.size() == 2
    assert sorted(map(str, tier.keys())) == sorted(map(str, ["a", ("t", 2)]))
    assert tier.setdefault("a", 5) == 1
    assert tier.setdefault("b", 5) == 5 and tier["b"] == 5
    assert tier.pop("b") == 5 and "b" not in tier
    assert tier.pop("b", "gone") == "gone"
    with pytest.raises(KeyError):
        tier.pop("b")
    del tier["a"]
    assert "a" not in tier and not raw.exists(rkey(ns, "a"))
    with pytest.raises(KeyError):
        del tier["a"]
    assert tier.remove(("t", 2)) is True and tier.remove(("t", 2)) is False
    tier.update({"x": 1}, y=2)
    tier.update([("z", 3)])
    assert (tier["x"], tier["y"], tier["z"]) == (1, 2, 3)
    key, _ = tier.popitem()
    assert key in ("x", "y", "z") and key not in tier
    assert tier.get_or_set("g", lambda: "made") == "made"
    assert tier.get_or_set("g", lambda: "again") == "made"
    # A key only Redis has: in, get, pop and remove see it.
    raw.set(rkey(ns, "only-l2"), raw.get(rkey(ns, "g")))
    assert "only-l2" in tier and tier.pop("only-l2") == "made"
    tier.clear()
    assert len(tier) == 0 and not list(raw.scan_iter(match=b"{" + ns.encode() + b"}:*"))
    assert "TieredCache(namespace=" in repr(tier)
    s = tier.stats()
    for name in ("l2_hits", "l2_misses", "l2_errors", "invalidations", "l2_writes", "hits"):
        assert isinstance(s[name], int)
    assert s["l2_errors"] == 0 and s["l2_available"] is True


def test_mapping_base_views_and_identity(server: RedisServer, ns: str, make_tier: Any) -> None:
    """TieredCache shares SmartCache's mapping base (views over a snapshot of the local tier)
    but keeps identity equality and its hash (a handle on a shared namespace, not a value)."""
    from collections.abc import ItemsView, KeysView, MutableMapping, ValuesView

    tier = make_tier(server.url, ns)
    tier.update({"a": 1, "b": 2})
    assert isinstance(tier, MutableMapping)
    keys, values, items = tier.keys(), tier.values(), tier.items()
    assert isinstance(keys, KeysView) and isinstance(values, ValuesView)
    assert isinstance(items, ItemsView)
    assert sorted(keys) == ["a", "b"] and sorted(values) == [1, 2]
    assert sorted(items) == [("a", 1), ("b", 2)] and ("a", 1) in items
    assert sorted(tier) == ["a", "b"]
    other = make_tier(server.url, ns)
    assert tier == tier and tier != other and tier != {"a": 1, "b": 2}
    assert hash(tier) != hash(other) or tier is other


def _command_calls(client: Any, *names: str) -> int:
    stats = client.info("commandstats")
    return sum(stats.get(f"cmdstat_{n}", {}).get("calls", 0) for n in names)


def test_local_hit_sends_nothing_to_redis(
    server: RedisServer, ns: str, make_tier: Any, raw: Any
) -> None:
    tier = make_tier(server.url, ns)
    tier["k"] = "v"
    keys = ["k"] * 1000
    before = _command_calls(raw, "get", "evalsha", "exists", "set", "eval")
    before_stats = tier.stats()
    for k in keys:
        assert tier.get(k) == "v"
        assert tier[k] == "v"
        assert k in tier
    after = _command_calls(raw, "get", "evalsha", "exists", "set", "eval")
    after_stats = tier.stats()
    assert after == before
    for name in ("l2_hits", "l2_misses", "l2_round_trips"):
        assert after_stats[name] == before_stats[name]
    assert after_stats["hits"] - before_stats["hits"] == 2000


def test_local_miss_reads_redis_and_fills_local(
    server: RedisServer, ns: str, make_tier: Any
) -> None:
    a = make_tier(server.url, ns)
    b = make_tier(server.url, ns)
    a["k"] = [1, 2, 3]
    wait_until(lambda: b.stats()["invalidations"] >= 1, INVALIDATION_BOUND)
    assert not b.local.contains("k")
    assert b["k"] == [1, 2, 3]
    assert b.stats()["l2_hits"] == 1 and b.local.contains("k")
    assert b["k"] == [1, 2, 3]
    assert b.stats()["l2_hits"] == 1  # second read: local
    assert b.get("nope") is None and b.stats()["l2_misses"] == 1


def test_invalidation_between_instances(server: RedisServer, ns: str, make_tier: Any) -> None:
    a = make_tier(server.url, ns)
    b = make_tier(server.url, ns)
    for key in ("k", ("tuple", 1, b"x"), 42):
        a[key] = "v1"
        hold(b, key, "v1")
        a[key] = "v2"
        wait_until(lambda key=key: not b.local.contains(key), INVALIDATION_BOUND)
        assert b[key] == "v2"
        del a[key]
        wait_until(lambda key=key: not b.local.contains(key), INVALIDATION_BOUND)
        assert key not in b
    # clear() empties every instance's local tier.
    a["c"] = 1
    hold(b, "c", 1)
    a.clear()
    wait_until(lambda: not b.local.contains("c"), INVALIDATION_BOUND)
    assert b.get("c") is None
    assert b.stats()["invalidations"] >= 6


def test_two_processes_see_each_others_writes_and_deletes(server: RedisServer, ns: str) -> None:
    w1 = Worker(server.url, ns)
    w2 = Worker(server.url, ns)
    try:
        w1.call("put", "shared", "one")
        assert w2.call("hold", "shared", "one", 10.0)
        hits = w2.call("stats")["hits"]
        assert w2.call("get", "shared") == "one"
        assert w2.call("stats")["hits"] == hits + 1  # served by w2's local tier

        w1.call("put", "shared", "two")
        delay = w2.call("wait_local_gone", "shared", INVALIDATION_BOUND)
        assert delay is not None, "w2 kept its stale copy"
        assert w2.call("get", "shared") == "two"

        w2.call("put", "other", 1)
        assert w1.call("hold", "other", 1, 10.0)
        assert w2.call("delete", "other") is True
        delay = w1.call("wait_local_gone", "other", INVALIDATION_BOUND)
        assert delay is not None, "w1 kept a deleted key"
        assert w1.call("get", "other") is None
    finally:
        w1.close()
        w2.close()


def test_ttl_is_honoured_in_both_tiers(
    server: RedisServer, ns: str, make_tier: Any, raw: Any
) -> None:
    # 2 s: room for hold() on a slow (ASan) machine before the entry expires.
    a = make_tier(server.url, ns, ttl_seconds=2.0)
    b = make_tier(server.url, ns)
    a["k"] = "v"
    pttl = raw.pttl(rkey(ns, "k"))
    assert 0 < pttl <= 2000
    a.put("long", "v", ttl_seconds=30)
    assert 20_000 < raw.pttl(rkey(ns, "long")) <= 30_000
    hold(b, "k", "v")
    # b's local copy expires with the Redis entry (remaining TTL), not after a full TTL.
    wait_until(lambda: not raw.exists(rkey(ns, "k")), 5)
    wait_until(lambda: not b.local.contains("k") and not a.local.contains("k"), 1.0)
    assert a.get("k") is None and b.get("k") is None
    # A per-call TTL on get_or_set.
    assert a.get_or_set("g", lambda: 1, ttl_seconds=0.3) == 1
    assert 0 < raw.pttl(rkey(ns, "g")) <= 300
    wait_until(lambda: a.get("g") is None, 5)
    with pytest.raises(ValueError):
        a.put("bad", 1, ttl_seconds=-1)
    assert not a.local.contains("bad") and not raw.exists(rkey(ns, "bad"))


class Unpicklable:
    def __reduce__(self) -> Any:
        raise TypeError("no pickling")


def test_unserializable_values_raise_typeerror_and_write_nothing(
    server: RedisServer, ns: str, make_tier: Any, raw: Any
) -> None:
    def bad_dumps(value: Any) -> bytes:
        raise RuntimeError("boom")

    cases: list[tuple[Any, Any]] = [
        ("pickle", lambda: None),
        ("pickle", Unpicklable()),
        ("pickle", threading.Lock()),
        ("json", object()),
        ("json", {1, 2}),
        ((bad_dumps, lambda b: b), 1),
        ((lambda v: 12345, lambda b: b), 1),
    ]
    for i, (serializer, value) in enumerate(cases):
        tier = make_tier(server.url, f"{ns}-{i}", serializer=serializer)
        with pytest.raises(TypeError, match=r"TieredCache: (cannot serialize|serializer)"):
            tier["k"] = value
        with pytest.raises(TypeError):
            tier.get_or_set("g", lambda value=value: value)
        with pytest.raises(TypeError):
            tier.setdefault("s", value)
        for key in ("k", "g", "s"):
            assert not tier.local.contains(key)
            assert not raw.exists(rkey(f"{ns}-{i}", key))
    # json: other instances see the JSON round trip; str from dumps is accepted.
    j = make_tier(server.url, ns + "-j", serializer="json")
    j2 = make_tier(server.url, ns + "-j", serializer=(lambda v: repr(v), lambda b: b.decode()))
    j["t"] = (1, "a")
    j.local.remove("t")
    assert j["t"] == [1, "a"]
    j2["r"] = 5
    assert j2.local.pop("r") == 5 and j2["r"] == "5"


def test_namespaces_never_see_each_other(
    server: RedisServer, ns: str, make_tier: Any, raw: Any
) -> None:
    a = make_tier(server.url, ns + "a")
    ab = make_tier(server.url, ns + "ab")
    a2 = make_tier(server.url, ns + "a")
    a["k"] = "in a"
    ab["k"] = "in ab"
    assert ab.local.pop("k") == "in ab"
    assert ab["k"] == "in ab"
    hold(a2, "k", "in a")
    ab["k"] = "changed"
    time.sleep(0.2)  # give a stray invalidation every chance to arrive
    assert a2.local.contains("k") and a2["k"] == "in a"
    ab.clear()
    time.sleep(0.2)
    assert a2.local.contains("k") and a["k"] == "in a" and raw.exists(rkey(ns + "a", "k"))
    assert ab.get("k") is None
    # Every key a tier wrote lives under its namespace's hash tag.
    for key in raw.scan_iter(match=b"*" + ns.encode() + b"*"):
        assert key.startswith((b"{" + ns.encode() + b"a}:", b"{" + ns.encode() + b"ab}:"))


# ---- failures ------------------------------------------------------------------------------------


def _exercise(tier: TieredCache, tag: str) -> None:
    """Every kind of call, which must work (local-only) while Redis is unavailable."""
    tier[f"{tag}-w"] = 1
    assert tier[f"{tag}-w"] == 1
    assert tier.get(f"{tag}-absent") is None
    assert f"{tag}-absent" not in tier
    assert tier.get_or_set(f"{tag}-g", lambda: "computed") == "computed"
    assert tier.setdefault(f"{tag}-s", 2) == 2
    assert tier.pop(f"{tag}-w") == 1
    assert tier.remove(f"{tag}-s") is True
    tier.update({f"{tag}-u": 3})
    assert tier[f"{tag}-u"] == 3


def test_server_killed_mid_run_then_restarted(
    own_server: RedisServer, ns: str, make_tier: Any
) -> None:
    a = make_tier(own_server.url, ns)
    b = make_tier(own_server.url, ns)
    a["before"] = "x"
    assert b["before"] == "x"
    own_server.kill()
    start = time.monotonic()
    for i in range(20):
        _exercise(a, f"a{i}")
        _exercise(b, f"b{i}")
    assert time.monotonic() - start < 10  # fail fast: no per-call waiting on a dead server
    assert a["before"] == "x"  # the local tier keeps serving
    wait_until(lambda: not a.stats()["l2_available"] and not b.stats()["l2_available"], 10)
    s = a.stats()
    assert s["l2_errors"] >= 1 and s["l2_skipped"] >= 1
    own_server.start(same_port=True)
    wait_available(a)
    wait_available(b)
    # Reconnection flushed the local tiers: nothing from before or during the outage is
    # served without asking Redis (which restarted empty).
    assert len(a) == 0 and len(b) == 0
    assert a.get("before") is None
    a["after"] = "y"
    hold(b, "after", "y")
    a["after"] = "z"
    wait_until(lambda: not b.local.contains("after"), INVALIDATION_BOUND)
    assert b["after"] == "z"


def test_hung_server_degrades_fast_and_outage_writes_invalidate_on_recovery(
    own_server: RedisServer, ns: str, make_tier: Any
) -> None:
    a = make_tier(own_server.url, ns, health_check_interval=0.2, timeout=0.05)
    b = make_tier(own_server.url, ns, health_check_interval=0.2, timeout=0.05)
    a["k"] = "old"
    hold(b, "k", "old")
    own_server.pause()
    try:
        start = time.monotonic()
        a["k"] = "new"  # times out (50 ms): local-only, remembered for recovery
        assert time.monotonic() - start < 2.0
        for i in range(50):
            t0 = time.monotonic()
            assert a.get(f"miss-{i}") is None
            assert time.monotonic() - t0 < 1.0
        assert a["k"] == "new"
        assert a.stats()["l2_errors"] >= 1
        wait_until(lambda: not b.stats()["l2_available"], 10)  # b's subscription went silent
    finally:
        own_server.resume()
    wait_available(a)
    wait_available(b)
    # The write made during the outage was replayed as a delete + invalidation: nobody
    # serves "old" any more (b flushed on reconnection; Redis lost the key).
    # (b may have re-read "old" between its own recovery and a's replay; a's invalidation
    # then reaches it within the usual bound.)
    wait_until(lambda: b.get("k") is None and a.get("k") is None, INVALIDATION_BOUND)
    a["k"] = "fresh"
    assert b["k"] == "fresh"


def test_raise_on_error(own_server: RedisServer, ns: str, make_tier: Any) -> None:
    tier = make_tier(own_server.url, ns, raise_on_error=True)
    tier["k"] = 1
    own_server.kill()
    tier.local.clear()
    with pytest.raises(redis.RedisError):
        tier.get("k")
    with pytest.raises(redis.RedisError):
        tier["k"] = 2
    with pytest.raises(redis.ConnectionError):
        tier.get_or_set("g", lambda: 1)
    quiet = make_tier(own_server.url, ns + "q")  # made while the server is down
    assert quiet.stats()["l2_available"] is False
    quiet["k"] = 1
    assert quiet["k"] == 1


# ---- single flight and the cross-instance lock ---------------------------------------------------


def test_threads_compute_once(server: RedisServer, ns: str, make_tier: Any) -> None:
    tier = make_tier(server.url, ns)
    calls = []
    barrier = threading.Barrier(8)

    def factory() -> str:
        calls.append(1)
        time.sleep(0.3)
        return "value"

    results: list[Any] = []

    def worker() -> None:
        barrier.wait()
        results.append(tier.get_or_set("k", factory))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert results == ["value"] * 8 and len(calls) == 1
    assert tier.stats()["computations"] == 1


def test_two_processes_compute_once_with_the_lock(server: RedisServer, ns: str, raw: Any) -> None:
    workers = [Worker(server.url, ns, lock=True) for _ in range(2)]
    try:
        results: list[Any] = [None, None]
        at = time.time() + 0.5

        def run(i: int) -> None:
            results[i] = workers[i].call("get_or_set_at", "hot", at, 0.5)

        threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert results == ["computed-hot", "computed-hot"]
        assert int(raw.get(f"computations:{ns}:hot")) == 1
        waits = sum(w.call("stats")["lock_waits"] for w in workers)
        assert waits >= 1
    finally:
        for w in workers:
            w.close()


def _child_uses_forked_tier(tier: TieredCache, parent_id: str, queue: Any) -> None:
    try:
        # The parent's listener thread did not fork: the first call that needs Redis starts
        # the child's own; the child has a new instance id from the fork on.
        assert tier.instance_id != parent_id
        tier.get("absent")
        wait_available(tier, 20)
        assert tier.instance_id != parent_id
        tier["from-child"] = "c"
        queue.put("ok")
    except BaseException as e:  # pragma: no cover - reported to the parent
        queue.put(repr(e))


def test_forked_child_gets_its_own_listener(server: RedisServer, ns: str, make_tier: Any) -> None:
    import multiprocessing

    tier = make_tier(server.url, ns)
    observer = make_tier(server.url, ns)
    tier["before-fork"] = 1
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_child_uses_forked_tier, args=(tier, tier.instance_id, queue))
    child.start()
    try:
        assert queue.get(timeout=60) == "ok"
    finally:
        child.join(30)
    assert child.exitcode == 0
    assert observer["from-child"] == "c"
    assert tier.stats()["l2_available"]  # the parent is unaffected
    tier["after-fork"] = 2
    assert observer["after-fork"] == 2


# ---- the decorator -------------------------------------------------------------------------------


def test_tier_cached_decorator(server: RedisServer, ns: str, make_tier: Any) -> None:
    a = make_tier(server.url, ns)
    b = make_tier(server.url, ns)
    calls: list[tuple[Any, ...]] = []

    def compute(x: int, y: int = 0) -> int:
        calls.append((x, y))
        return x * 10 + y

    fa = a.cached(compute)
    fb = b.cached(typed=False)(compute)
    assert fa(1) == 10 and fa(1) == 10 and calls == [(1, 0)]
    assert fb(1) == 10 and calls == [(1, 0)]  # from Redis
    assert fa(2, y=3) == 23 and fb(2, y=3) == 23 and len(calls) == 2
    assert fa.cache_info().hits >= 1 and fa.tier is a and fa.cache is a.local
    assert fa.__wrapped__ is compute and fa.cache_parameters()["namespace"] == ns
    with pytest.raises(ValueError, match="already backs a function"):
        a.cached(compute)
    with pytest.raises(TypeError, match="async"):

        @make_tier(server.url, ns + "-async").cached  # type: ignore[untyped-decorator]
        async def coro() -> None:
            pass

    # cache_clear on one instance flushes the other's local tier (keyword-marker keys too).
    # (A read right after another instance's write may be dropped again by that write's
    # invalidation, still in flight: read until the copy stays.)
    hold(b, 1, 10)
    assert fb(1) == 10 and fb(2, y=3) == 23 and len(b) == 2
    assert len(calls) == 2
    fa.cache_clear()
    wait_until(lambda: len(b) == 0, INVALIDATION_BOUND)
    assert fb(1) == 10 and len(calls) == 3
    with pytest.raises(TypeError, match="TieredCache keys must be"):
        fa(object())


# ---- Redis Cluster -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cluster_server(redis_server_exe: str) -> Iterator[RedisServer]:
    """A one-node Redis Cluster (all 16384 slots on one cluster-enabled server)."""
    s = start_server(redis_server_exe, cluster=True)
    yield s
    s.stop()


def test_cluster_client(cluster_server: RedisServer, ns: str, make_tier: Any) -> None:
    from redis.backoff import NoBackoff
    from redis.cluster import RedisCluster
    from redis.retry import Retry

    def client() -> Any:
        return RedisCluster(
            host=LOOPBACK,
            port=cluster_server.port,
            socket_timeout=0.5,
            socket_connect_timeout=0.5,
            retry=Retry(NoBackoff(), 0),
        )

    ca, cb = client(), client()
    try:
        a = make_tier(ca, ns)
        b = make_tier(cb, ns)
        assert a.is_cluster and a.stats()["l2_available"]
        a["k"] = {"x": 1}
        a[(1, "t")] = 2
        assert b["k"] == {"x": 1} and b[(1, "t")] == 2
        hold(b, "k", {"x": 1})
        a["k"] = {"x": 2}
        wait_until(lambda: not b.local.contains("k"), INVALIDATION_BOUND)
        assert b["k"] == {"x": 2}
        assert b.get_or_set("g", lambda: "c") == "c" and a["g"] == "c"
        # Keys spread over the slots (test_tiered_cluster.py covers a multi-node cluster).
        slots = {ca.keyslot(a._rkey(k)) for k in ("k", (1, "t"), "g")}
        assert len(slots) == 3 and all(ca.get(a._rkey(k)) for k in ("k", (1, "t"), "g"))
        b.clear()
        wait_until(lambda: len(a) == 0, INVALIDATION_BOUND)
        assert a.get("k") is None
    finally:
        ca.close()
        cb.close()


def test_client_forms(server: RedisServer, ns: str, make_tier: Any) -> None:
    user = redis.Redis(host=LOOPBACK, port=server.port)  # redis-py defaults: 5 s timeout
    try:
        derived = make_tier(user, ns)
        kwargs = derived.redis.connection_pool.connection_kwargs
        assert kwargs["socket_timeout"] == 1.0 and derived.redis is not user
        as_is = make_tier(user, ns, timeout=None)
        assert as_is.redis is user
        derived["k"] = 1
        assert as_is["k"] == 1
    finally:
        user.close()


def test_a_decoding_client_still_gets_bytes(server: RedisServer, ns: str, make_tier: Any) -> None:
    user = redis.Redis(host=LOOPBACK, port=server.port, decode_responses=True)
    try:
        a = make_tier(user, ns)
        b = make_tier(user, ns)
        a["k"] = "v"
        assert b["k"] == "v"
        hold(b, "k", "v")
        a["k"] = "w"  # the invalidation is understood, too
        wait_until(lambda: b.get("k") == "w", INVALIDATION_BOUND)
        assert a.stats()["l2_errors"] == b.stats()["l2_errors"] == 0
    finally:
        user.close()


def test_cached_backend_option_uses_the_tier(server: RedisServer, ns: str, make_tier: Any) -> None:
    from cuckoocache import cached

    a = make_tier(server.url, ns)
    b = make_tier(server.url, ns)
    calls: list[int] = []

    @cached(backend=a)
    def square(x: int) -> int:
        calls.append(x)
        return x * x

    @cached(backend=b)
    def square_b(x: int) -> int:
        calls.append(-x)
        return x * x

    assert square(4) == 16 and square(4) == 16 and calls == [4]
    assert square_b(4) == 16 and calls == [4]  # b finds a's result in Redis
    assert square.cache is a.local
    with pytest.raises(TypeError, match="backend must be a TieredCache"):
        cached(backend="redis://localhost")
