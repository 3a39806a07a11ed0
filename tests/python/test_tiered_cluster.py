"""TieredCache over a real multi-node Redis Cluster: 3 primaries and 3 replicas of redis-server
on loopback, started once for the module (``cluster_support``), skipped only if redis-server or
redis-cli cannot be found or the cluster cannot be created.

Covers: the namespace's keys spread over every shard; invalidation over sharded pub/sub
(signed with ``secret=`` too); the tier's own cluster client; two processes sharing a
namespace see each other's writes and deletes within the invalidation bound, with keys on all
three shards; ``clear()`` empties the namespace on every shard; slots migrated during traffic
(``redis-cli --cluster reshard``) lose no write; a manual failover under traffic leaves no
stale value; a primary SIGKILLed mid-run: every call returns within the timeout, only that
shard's keys go local-only, the replica takes over and the tier recovers by itself; a shard
lost with no replica degrades only its keys. The tests that change the topology run last.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from cluster_support import (
    ClusterWorker,
    RedisClusterProcesses,
    cluster_client,
    find_redis_cli,
)
from cuckoocache import SmartCache
from cuckoocache.tiered import TieredCache
from cuckoocache.tiered.cluster import BUCKETS, key_slot
from support.tiers import traffic, wait_recovered
from tiered_support import find_redis_server, wait_until

redis = pytest.importorskip("redis", reason="redis-py is not installed (tools/test installs it)")

pytestmark = pytest.mark.timeout(120, method="thread")

# docs/scaling.md's bound for invalidation between connected instances (measured delays are a
# few milliseconds), with room for a loaded 2-core CI machine.
INVALIDATION_BOUND = 2.0
# The tiers' Redis timeout in these tests (the default 50 ms can trip on a loaded machine).
TIMEOUT = 0.5


@pytest.fixture(scope="module")
def cluster() -> Iterator[RedisClusterProcesses]:
    server = find_redis_server()
    cli = find_redis_cli()
    if server is None or cli is None:
        pytest.skip("redis-server or redis-cli not found (./tools/test installs redis-server)")
    c = RedisClusterProcesses(server, cli, primaries=3, replicas=1, node_timeout_ms=1000)
    try:
        c.start()
    except (OSError, RuntimeError, AssertionError) as e:
        pytest.skip(f"a Redis Cluster could not be created: {e}")
    yield c
    c.stop()


@pytest.fixture
def ns() -> str:
    return "c-" + uuid.uuid4().hex[:12]


@pytest.fixture
def make_tier(cluster: RedisClusterProcesses) -> Iterator[Callable[..., TieredCache]]:
    """Makes TieredCaches over the cluster (each with its own RedisCluster client) and closes
    them and their clients."""
    made: list[tuple[TieredCache, Any]] = []

    def make(namespace: str, **kwargs: Any) -> TieredCache:
        client = cluster_client(*cluster.startup_address, timeout=TIMEOUT)
        kwargs.setdefault("serializer", "pickle")
        kwargs.setdefault("timeout", TIMEOUT)
        kwargs.setdefault("health_check_interval", 0.5)
        tier = TieredCache(SmartCache(10_000), client, namespace=namespace, **kwargs)
        made.append((tier, client))
        wait_recovered(tier, timeout=10)
        return tier

    yield make
    for tier, client in made:
        tier.close()
        client.close()


def shard_port(cluster: RedisClusterProcesses, tier: TieredCache, key: Any) -> int:
    """The port of the primary that holds key's Redis key."""
    return cluster.primary_of_slot(key_slot(tier._rkey(key))).port


def keys_by_port(
    cluster: RedisClusterProcesses, tier: TieredCache, keys: list[Any]
) -> dict[int, list[Any]]:
    owners = cluster.slot_owners()
    starts = sorted(owners)
    out: dict[int, list[Any]] = {}
    for k in keys:
        slot = key_slot(tier._rkey(k))
        start = max(s for s in starts if s <= slot)
        out.setdefault(owners[start], []).append(k)
    return out


# ---- layout -------------------------------------------------------------------------------------


def test_namespace_spreads_over_every_shard(
    cluster: RedisClusterProcesses, ns: str, make_tier: Any
) -> None:
    a = make_tier(ns)
    keys = [f"k{i}" for i in range(600)] + [(i, "t") for i in range(300)] + list(range(300))
    for k in keys:
        a[k] = 1
    counts = cluster.key_counts(ns.encode() + b"{*")
    assert sorted(counts) == sorted(n.port for n in cluster.primaries())
    assert sum(counts.values()) == len(keys)
    for n in counts.values():  # 1,200 keys over 3 equal shards: each near 400
        assert 300 <= n <= 500, counts
    slots = {key_slot(a._rkey(k)) for k in keys}
    assert len(slots) > BUCKETS // 2  # hundreds of slots, not one hash tag
    # Another namespace's keys and clear() are separate.
    other = make_tier(ns + "-other")
    other["k0"] = 2
    a.clear()
    assert other["k0"] == 2 and a.get("k0") is None


def test_invalidation_uses_sharded_pub_sub(
    cluster: RedisClusterProcesses, ns: str, make_tier: Any
) -> None:
    a = make_tier(ns)
    b = make_tier(ns)
    layout = a._cluster
    # Every instance listens on every bucket's channel, on the primary that owns its slot.
    for bucket in (0, BUCKETS // 2, BUCKETS - 1):
        channel = layout.channels[bucket]
        owner = cluster.primary_of_slot(key_slot(channel))
        reply = cluster.command(owner, "PUBSUB", "SHARDNUMSUB", channel)
        assert int(reply[1]) == 2, reply

    def bus_publish() -> int:
        total = 0
        for node in cluster.running():
            info = cluster.command(node, "CLUSTER", "INFO").decode()
            for line in info.splitlines():
                if line.startswith("cluster_stats_messages_publish_sent:"):
                    total += int(line.split(":")[1])
        return total

    before = bus_publish()
    for i in range(50):
        b[i] = 0
        a[i] = i  # b's copy is invalidated through SPUBLISH, not a cluster-wide PUBLISH
    wait_until(lambda: all(b.get(i) == i for i in range(50)), INVALIDATION_BOUND)
    assert bus_publish() == before  # no classic PUBLISH crossed the cluster bus


def test_signed_invalidation_on_bucket_channels(
    cluster: RedisClusterProcesses, ns: str, make_tier: Any
) -> None:
    a = make_tier(ns, secret=b"s3cret")
    b = make_tier(ns, secret=b"s3cret")
    keys = [f"s{i}" for i in range(30)]  # on all three shards
    for k in keys:
        a[k] = 1
    assert all(b[k] == 1 for k in keys)
    for k in keys:
        a[k] = 2
    wait_until(lambda: not any(b.local.contains(k) for k in keys), INVALIDATION_BOUND)
    assert all(b[k] == 2 for k in keys)
    # A forged (unsigned) message on a bucket channel is ignored and counted.
    channel = a._cluster.channel(a._rkey(keys[0]))
    owner = cluster.primary_of_slot(key_slot(channel))
    forged = b"0" * 16 + b"k" + a._cluster.encoded(a._rkey(keys[0]))
    rejected = b.stats()["messages_rejected"]
    cluster.command(owner, "SPUBLISH", channel, forged)
    wait_until(lambda: b.stats()["messages_rejected"] > rejected, INVALIDATION_BOUND)
    assert b.local.contains(keys[0])


def test_ttls_follow_the_servers_clock_on_a_cluster(
    cluster: RedisClusterProcesses, ns: str, make_tier: Any
) -> None:
    a = make_tier(ns, ttl_seconds=1.0)
    b = make_tier(ns, ttl_seconds=1.0)
    assert a._clock.synced and b._clock.synced  # measured against a primary (TIME)
    keys = [f"t{i}" for i in range(30)]  # on all three shards
    for k in keys:
        a[k] = 1
    assert all(b[k] == 1 for k in keys) and all(b.local.contains(k) for k in keys)
    time.sleep(1.3)
    assert all(b.get(k) is None for k in keys)  # expired in both tiers


def test_cluster_client_gets_the_tier_timeout(
    cluster: RedisClusterProcesses, ns: str, make_tier: Any
) -> None:
    from redis.cluster import RedisCluster

    user = RedisCluster(host=cluster.startup_address[0], port=cluster.startup_address[1])
    try:
        tier = TieredCache(SmartCache(10), user, namespace=ns, serializer="json", timeout=0.25)
        try:
            assert tier.redis is not user  # redis-py's defaults: 5 s, 10 retries
            node = tier.redis.get_nodes()[0]
            kwargs = tier.redis.get_redis_connection(node).connection_pool.connection_kwargs
            assert kwargs["socket_timeout"] == 0.25
            tier["k"] = 1
            assert user.get(tier._rkey("k")) is not None
        finally:
            tier.close()
        as_is = TieredCache(SmartCache(10), user, namespace=ns, serializer="json", timeout=None)
        assert as_is.redis is user and as_is["k"] == 1
        as_is.close()
    finally:
        user.close()


# ---- two processes ------------------------------------------------------------------------------


def test_two_processes_see_writes_and_deletes_on_every_shard(
    cluster: RedisClusterProcesses, ns: str, make_tier: Any
) -> None:
    probe = make_tier(ns)
    keys = [f"user:{i}" for i in range(60)]
    by_port = keys_by_port(cluster, probe, keys)
    assert len(by_port) == 3  # keys on all three shards
    a = ClusterWorker(cluster.startup_address, ns)
    b = ClusterWorker(cluster.startup_address, ns)
    try:
        a.call("put_many", [[k, f"a1-{k}"] for k in keys])
        assert b.call("get_many", keys) == [f"a1-{k}" for k in keys]
        assert b.call("local_many", keys) == [f"a1-{k}" for k in keys]  # b holds copies

        # a overwrites: b's copies leave its local tier within the bound, on every shard.
        a.call("put_many", [[k, f"a2-{k}"] for k in keys])
        wait_until(lambda: b.call("local_many", keys) == [None] * len(keys), INVALIDATION_BOUND)
        assert b.call("get_many", keys) == [f"a2-{k}" for k in keys]

        # b deletes half: a sees the deletes; then b writes the rest: a sees the writes.
        gone, kept = keys[::2], keys[1::2]
        assert a.call("get_many", keys) == [f"a2-{k}" for k in keys]
        b.call("delete_many", gone)
        wait_until(lambda: a.call("local_many", gone) == [None] * len(gone), INVALIDATION_BOUND)
        assert a.call("get_many", gone) == [None] * len(gone)
        b.call("put_many", [[k, f"b3-{k}"] for k in kept])
        wait_until(lambda: a.call("local_many", kept) == [None] * len(kept), INVALIDATION_BOUND)
        assert a.call("get_many", kept) == [f"b3-{k}" for k in kept]
        for w in (a, b):
            stats = w.call("stats")
            assert stats["l2_errors"] == 0 and stats["l2_skipped"] == 0, stats
            assert stats["l2_shards_available"] == 3
    finally:
        a.close()
        b.close()


# ---- clear --------------------------------------------------------------------------------------


def test_clear_empties_every_shard(cluster: RedisClusterProcesses, ns: str, make_tier: Any) -> None:
    a = make_tier(ns)
    b = make_tier(ns)
    for i in range(300):
        a[i] = i
    assert all(b[i] == i for i in range(300)) and len(b) == 300
    counts = cluster.key_counts(ns.encode() + b"{*")
    assert len(counts) == 3 and all(n > 0 for n in counts.values()), counts
    a.clear()
    assert cluster.key_counts(ns.encode() + b"{*") == {p: 0 for p in counts}
    wait_until(lambda: len(b) == 0, INVALIDATION_BOUND)  # b's local tier flushed
    assert b.get(5) is None and a.get(5) is None


# ---- slot migration -----------------------------------------------------------------------------


def test_slots_migrated_during_traffic_lose_nothing(
    cluster: RedisClusterProcesses, ns: str, make_tier: Any
) -> None:
    a = make_tier(ns)
    b = make_tier(ns)
    keys = [f"m{i}" for i in range(400)]
    last: dict[str, int] = {}
    for k in keys:
        a[k] = last[k] = 0
    primaries = cluster.primaries()
    source, target = primaries[0], primaries[1]
    moved_before = {
        k for k in keys if cluster.primary_of_slot(key_slot(a._rkey(k))).port == source.port
    }
    worst = [0.0]

    def step(k: str, version: int, rng: random.Random) -> None:
        t0 = time.monotonic()
        a[k] = version
        last[k] = version
        b.get(rng.choice(keys))
        worst[0] = max(worst[0], time.monotonic() - t0)

    with traffic(step, keys, seed=7):
        cluster.reshard(source, target, 300)  # slots move with their keys, under traffic
        time.sleep(0.3)
    cluster.wait_ok()
    moved = {
        k for k in moved_before if cluster.primary_of_slot(key_slot(a._rkey(k))).port == target.port
    }
    assert moved, "no key of the namespace was in the migrated slots"
    # Nothing lost: Redis holds every key's last write, and both tiers serve it.
    fresh = make_tier(ns)
    got = {k: fresh.get(k) for k in keys}
    wrong = {k: (got[k], last[k]) for k in keys if got[k] != last[k]}

    def l2(t: TieredCache) -> dict[str, Any]:
        return {k: v for k, v in t.stats().items() if k.startswith("l2") or k == "flushes"}

    raw = fresh.redis.get(fresh._rkey(sorted(wrong)[0])) if wrong else None
    assert not wrong, (len(wrong), sorted(wrong.items())[:5], l2(a), l2(fresh), raw)
    wait_until(lambda: all(b.get(k) == last[k] for k in keys), INVALIDATION_BOUND)
    assert all(a[k] == last[k] for k in keys)
    s = a.stats()
    assert s["l2_skipped"] == 0 and s["l2_errors"] == 0, s
    assert worst[0] < 5 * TIMEOUT


# ---- manual failover ------------------------------------------------------------------------


def test_manual_failover_leaves_no_stale_value(
    cluster: RedisClusterProcesses, ns: str, make_tier: Any
) -> None:
    from redis.cluster import RedisCluster

    # A user's client with decode_responses=True: the tier's own client reads bytes anyway.
    user = RedisCluster(
        host=cluster.startup_address[0], port=cluster.startup_address[1], decode_responses=True
    )
    a = TieredCache(
        SmartCache(10_000), user, namespace=ns, serializer="pickle", timeout=TIMEOUT,
        health_check_interval=0.5,
    )  # fmt: skip
    try:
        wait_recovered(a, timeout=10)
        b = make_tier(ns)
        keys = [f"g{i}" for i in range(300)]
        last: dict[str, Any] = {}
        for k in keys:
            a[k] = last[k] = 0
        assert all(b[k] == 0 for k in keys)
        victim = cluster.primary_of_slot(key_slot(a._rkey(keys[0])))
        replica = cluster.replica_of(victim)

        def step(k: str, version: int, rng: random.Random) -> None:
            a[k] = last[k] = version
            b.get(rng.choice(keys))
            time.sleep(0.001)

        with traffic(step, keys, seed=5):
            time.sleep(0.3)
            assert cluster.command(replica, "CLUSTER", "FAILOVER") in (b"OK", "OK")
            wait_until(lambda: cluster.command(replica, "ROLE")[0] in (b"master", "master"), 20)
            time.sleep(0.5)
        wait_recovered(a, b, timeout=10)
        # Redis holds each key's last write or nothing (a write lost during the switch is
        # deleted everywhere), never an older value; both instances agree with it.
        fresh = make_tier(ns)

        def consistent() -> bool:
            redis_values = {k: fresh.get(k) for k in keys}
            fresh.local.clear()
            return all(redis_values[k] in (None, last[k]) for k in keys) and all(
                b.get(k) == redis_values[k] and a.get(k) == redis_values[k] for k in keys
            )

        wait_until(consistent, 5, interval=0.1)
    finally:
        a.close()
        user.close()


# ---- failover (last: it changes the topology) ---------------------------------------------------


def test_primary_killed_replica_takes_over_other_shards_unaffected(
    cluster: RedisClusterProcesses, ns: str, make_tier: Any
) -> None:
    a = make_tier(ns)
    b = make_tier(ns)
    keys = [f"f{i}" for i in range(300)]
    by_port = keys_by_port(cluster, a, keys)
    victim = cluster.node_of_port(sorted(by_port)[0])
    replica = cluster.replica_of(victim)
    lost = set(by_port[victim.port])
    others = [k for k in keys if k not in lost]
    for k in keys:
        a[k] = 0
    assert all(b[k] == 0 for k in keys)
    # A key of the victim's shard that only the test writes.
    special = next(
        k for k in (f"x{i}" for i in range(1000)) if shard_port(cluster, a, k) == victim.port
    )
    a[special] = "old"
    assert b[special] == "old"

    durations: list[float] = []
    other_skips = [0]
    sampling = threading.Lock()

    def step(k: str, version: int, rng: random.Random) -> None:
        with sampling:  # the test's own writes do not count in a sample
            before = a.stats()["l2_skipped"]
            t0 = time.monotonic()
            a[k] = version
            b.remove(rng.choice(keys))
            b.get(k)
            durations.append(time.monotonic() - t0)
            if k not in lost and a.stats()["l2_skipped"] != before:
                other_skips[0] += 1
        time.sleep(0.001)

    with traffic(step, keys, seed=11):
        time.sleep(0.3)
        cluster.kill(victim)
        # The killed shard's keys go local-only at once; the others keep using Redis.
        noticed = wait_until(lambda: a.stats()["l2_shards_available"] < 3, 5)
        # A write to the lost shard's key while it is down: local-only, counted as lost to
        # Redis, and the key is deleted everywhere once the shard is back.
        with sampling:
            lost_before = a.stats()["l2_writes_lost"]
            a[special] = "during"
            assert a.local.get(special) == "during"
            assert a.stats()["l2_writes_lost"] == lost_before + 1
        # The replica takes over (cluster-node-timeout 1 s), and the tier recovers by itself.
        promoted = wait_until(
            lambda: cluster.command(replica, "ROLE")[0] in (b"master", "master"), 30
        )
        recovered = wait_recovered(a, timeout=30)
        wait_recovered(b, timeout=30)
        print(
            f"failover: shard open after {noticed * 1000:.0f} ms, replica promoted "
            f"{promoted:.2f} s later, tier recovered {recovered:.2f} s after that"
        )
        time.sleep(0.3)
    # Every call returned within the timeout (three calls per sample, with slack for a loaded
    # machine: a dead node refuses connections at once).
    print(f"calls: {len(durations)}, slowest {max(durations) * 1000:.1f} ms")
    assert max(durations) < 3 * TIMEOUT + 0.5, max(durations)
    assert other_skips[0] == 0  # other shards never degraded
    # Recovered: the replica serves the lost shard's keys from Redis again, and writes reach
    # the other instance.
    k = sorted(lost)[0]
    assert cluster.primary_of_slot(key_slot(a._rkey(k))).port == replica.port
    a[k] = "after"
    wait_until(lambda: b.get(k) == "after", INVALIDATION_BOUND)
    assert a.get(special) is None  # not "old": deleted on recovery
    wait_until(lambda: b.get(special) is None, INVALIDATION_BOUND)
    for key in (k, others[0]):  # both shards' keys are served from Redis
        a[key] = "again"
        wait_until(lambda: not b.local.contains(key), INVALIDATION_BOUND)  # noqa: B023
        before = b.stats()["l2_hits"]
        assert b.get(key) == "again" and b.stats()["l2_hits"] == before + 1
    cluster.restart(victim)  # back as a replica of its successor


def test_shard_without_replica_lost_only_its_keys_degrade(
    cluster: RedisClusterProcesses, ns: str, make_tier: Any
) -> None:
    a = make_tier(ns)
    keys = [f"n{i}" for i in range(150)]
    by_port = keys_by_port(cluster, a, keys)
    victim = cluster.node_of_port(sorted(by_port)[-1])
    replica = cluster.replica_of(victim)
    lost = set(by_port[victim.port])
    for k in keys:
        a[k] = 1
    cluster.kill(replica)  # no one can take over
    cluster.kill(victim)
    wait_until(lambda: a.stats()["l2_shards_available"] == 2, 5)
    before = a.stats()
    slowest = 0.0
    for k in keys:
        a.local.remove(k)
        t0 = time.monotonic()
        value = a.get(k)
        a[k] = 2
        slowest = max(slowest, time.monotonic() - t0)
        assert value == (None if k in lost else 1)  # lost shard: a local miss; others: Redis
    after = a.stats()
    assert after["l2_hits"] - before["l2_hits"] == len(keys) - len(lost)
    assert after["l2_skipped"] - before["l2_skipped"] == 2 * len(lost)
    assert after["l2_writes_lost"] - before["l2_writes_lost"] == len(lost)
    assert slowest < 2 * TIMEOUT
    # clear() with the shard down empties the others and degrades none of them.
    a.clear()
    assert a.stats()["l2_shards_available"] == 2
    running = [n.port for n in cluster.primaries() if n.port != victim.port]
    assert all(cluster.key_counts(ns.encode() + b"{*")[p] == 0 for p in running)
    others = [k for k in keys if k not in lost]
    a[others[0]] = 4
    assert a.stats()["l2_writes_lost"] == after["l2_writes_lost"]  # reached Redis
    # The node comes back (empty, no persistence) as the primary of its slots: the tier
    # recovers that shard by itself, and its outage writes are deleted, not served stale.
    victim.start(same_port=True)
    wait_recovered(a, timeout=30)
    k = sorted(lost)[0]
    a.local.remove(k)
    assert a.get(k) is None
    a[k] = 3
    a.local.remove(k)
    assert a.get(k) == 3
