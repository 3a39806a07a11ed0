#!/usr/bin/env python3
"""TieredCache on Redis Cluster: a 1-node against a 3-node cluster.

Measurements (Markdown on stdout, progress on stderr):

  zipf          ``--workers`` (4) worker processes, each making ``--requests`` read-through
                requests (``get_or_set``; ``--write-ratio`` of them ``put``) over ``--keys`` keys
                drawn from zipf(``--zipf-s``), each with a TieredCache (local tier of
                ``--local-size`` entries) over a RedisCluster client: Redis round trips per
                1,000 requests, hit ratios, requests/s, and the cluster bus messages that
                pub/sub cost (``cluster_stats_messages_publish*_sent`` summed over the nodes).
  spread        keys of the namespace per primary after the zipf run (SCAN on each primary).
  bus           cluster bus messages per published message, classic PUBLISH against
                SPUBLISH, on 1 node, 3 primaries, and 3 primaries + 3 replicas.
  invalidation  ms from a put in one tier to the copy leaving another tier's local tier.
  l2-hit        µs per TieredCache ``get`` that misses the local tier and hits Redis, against
                redis-py's RedisCluster ``GET`` of the same key (median of ``--repeats``).
  subscriptions what one instance's sharded subscriptions cost the servers: used_memory
                growth and time to subscribe 1,024 channels (one per bucket, what TieredCache
                does) and 16,384 (one per slot, what hashing whole keys would need).

Clusters: started here on free loopback ports with no persistence and no replicas: one
cluster-enabled redis-server owning all 16,384 slots, and three primaries made with
``redis-cli --cluster create`` (plus 3 primaries + 3 replicas for the bus messages). Run
from the repository root with a venv that has cuckoocache and redis-py:

  build/py-venv/bin/python perf/python/cluster_bench.py            # everything, ~2-3 minutes
  build/py-venv/bin/python perf/python/cluster_bench.py --quick    # smoke test
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from tiered_bench_support import (
    BENCH_TIMEOUT,
    LOOPBACK,
    add_workload_arguments,
    free_port,
    log,
    parse_worker_arguments,
    ping,
    run_tier_workload,
    run_workers,
)

# ---- throwaway clusters --------------------------------------------------------------------------


@contextmanager
def cluster(n_nodes: int, replicas: int = 0) -> Iterator[list[int]]:
    """Yields the ports of an ``n_nodes``-node cluster started for the run (``replicas``
    replicas per primary)."""
    import redis

    exe = shutil.which("redis-server") or "/usr/bin/redis-server"
    cli = shutil.which("redis-cli") or "/usr/bin/redis-cli"
    if not (os.access(exe, os.X_OK) and os.access(cli, os.X_OK)):
        sys.exit("redis-server and redis-cli are needed: apt-get install redis-server")
    workdir = tempfile.mkdtemp(prefix="cluster-bench-")
    procs: list[subprocess.Popen[bytes]] = []
    ports: list[int] = []
    try:
        for i in range(n_nodes):
            port, bus = free_port(), free_port()
            d = os.path.join(workdir, str(i))
            os.mkdir(d)
            procs.append(
                subprocess.Popen(
                    [exe, "--port", str(port), "--bind", LOOPBACK, "--save", "",
                     "--appendonly", "no", "--dir", d, "--loglevel", "warning",
                     "--cluster-enabled", "yes", "--cluster-port", str(bus),
                     "--cluster-config-file", os.path.join(d, "nodes.conf")],
                    stdout=subprocess.DEVNULL,
                )
            )  # fmt: skip
            ports.append(port)
        deadline = time.monotonic() + 15
        while not all(ping(p) for p in ports):
            if time.monotonic() > deadline:
                sys.exit("redis-server did not start")
            time.sleep(0.02)
        if n_nodes == 1:
            redis.Redis(port=ports[0]).execute_command("CLUSTER", "ADDSLOTSRANGE", 0, 16383)
        else:
            addresses = [f"{LOOPBACK}:{p}" for p in ports]
            subprocess.run(
                [
                    cli,
                    "--cluster",
                    "create",
                    *addresses,
                    "--cluster-replicas",
                    str(replicas),
                    "--cluster-yes",
                ],
                check=True,
                capture_output=True,
                timeout=60,
            )
        deadline = time.monotonic() + 30
        while True:
            infos = [redis.Redis(port=p).execute_command("CLUSTER", "INFO").decode() for p in ports]
            if all("cluster_state:ok" in i for i in infos) and _replicas_known(ports, replicas):
                break
            if time.monotonic() > deadline:
                sys.exit("the cluster did not reach cluster_state:ok")
            time.sleep(0.05)
        yield ports
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            p.wait(30)
        shutil.rmtree(workdir, ignore_errors=True)


def _replicas_known(ports: list[int], replicas: int) -> bool:
    """Whether every primary lists its replicas in CLUSTER NODES (what SPUBLISH forwards to)."""
    import redis

    if not replicas:
        return True
    for p in ports:
        nodes = redis.Redis(port=p).execute_command("CLUSTER", "NODES").decode().splitlines()
        primaries = [n.split()[0] for n in nodes if "master" in n.split()[2]]
        following = [n.split()[3] for n in nodes if "slave" in n.split()[2]]
        if any(following.count(pid) < replicas for pid in primaries):
            return False
    return True


def cluster_client(port: int) -> Any:
    from redis.backoff import NoBackoff
    from redis.cluster import RedisCluster
    from redis.retry import Retry

    return RedisCluster(
        host=LOOPBACK,
        port=port,
        socket_timeout=BENCH_TIMEOUT,
        socket_connect_timeout=BENCH_TIMEOUT,
        retry=Retry(NoBackoff(), 0),
    )


def bus_publish_messages(ports: list[int]) -> dict[str, int]:
    """Cluster bus messages sent for PUBLISH and SPUBLISH, summed over the nodes."""
    import redis

    out = {"publish": 0, "publishshard": 0}
    for p in ports:
        info = redis.Redis(port=p).execute_command("CLUSTER", "INFO").decode()
        for line in info.splitlines():
            for kind in out:
                if line.startswith(f"cluster_stats_messages_{kind}_sent:"):
                    out[kind] += int(line.split(":")[1])
    return out


# ---- zipf, N processes ---------------------------------------------------------------------------


def zipf_worker(args: argparse.Namespace) -> None:
    """One worker process: runs the workload from the start time, prints its counters."""
    client = cluster_client(args.port)
    print(json.dumps(run_tier_workload(client, args)))
    client.close()


def keys_per_primary(ports: list[int], namespace: str) -> dict[str, int]:
    import redis
    from redis.cluster import RedisCluster

    rc: Any = RedisCluster(host=LOOPBACK, port=ports[0])
    out: dict[str, int] = {}
    try:
        for node in rc.get_primaries():
            conn: Any = redis.Redis(host=node.host, port=node.port)
            pattern = namespace.encode() + b"\\{*"
            out[f"{node.host}:{node.port}"] = sum(
                1 for _ in conn.scan_iter(match=pattern, count=1000)
            )
            conn.close()
    finally:
        rc.close()
    return out


def bench_zipf(ports: list[int], args: argparse.Namespace) -> dict[str, Any]:
    namespace = f"bench-zipf-{len(ports)}-{os.getpid()}"
    bus0 = bus_publish_messages(ports)
    own = ["--port", str(ports[0]), "--namespace", namespace]
    total = run_workers(__file__, own, args, timeout=900, delay=2.0)
    bus1 = bus_publish_messages(ports)
    requests = args.workers * args.requests
    reads = total["local_hits"] + total["local_misses"]
    return {
        **total,
        "requests": requests,
        "round_trips_per_1000": 1000 * total["round_trips"] / requests,
        "requests_per_s": requests / total["elapsed"],
        "local_hit_ratio": total["local_hits"] / reads,
        "overall_hit_ratio": (total["local_hits"] + total["l2_hits"]) / reads,
        "bus_publish_sent": {k: bus1[k] - bus0[k] for k in bus0},
        "keys_per_primary": keys_per_primary(ports, namespace),
    }


def bench_bus(ports: list[int], n: int = 1000) -> dict[str, float]:
    """Cluster bus messages per message published, for classic PUBLISH (what TieredCache used
    before sharded pub/sub) and for SPUBLISH, each on ``n`` channels spread over the slots."""
    from cuckoocache.tiered.cluster import slot_tags

    rc = cluster_client(ports[0])
    tags = slot_tags()
    out: dict[str, float] = {}
    for command, kind in (("PUBLISH", "publish"), ("SPUBLISH", "publishshard")):
        before = bus_publish_messages(ports)[kind]
        for i in range(n):
            channel = b"bench-bus!inv{" + tags[(i * 16) % 16384] + b"}"
            if command == "PUBLISH":
                rc.publish(channel, b"m")
            else:
                rc.spublish(channel, b"m")
        out[command] = (bus_publish_messages(ports)[kind] - before) / n
    rc.close()
    return out


# ---- L2 hit --------------------------------------------------------------------------------------


def bench_l2_hit(ports: list[int], repeats: int, n_ops: int) -> dict[str, Any]:
    import pickle

    from cuckoocache import SmartCache
    from cuckoocache.tiered import TieredCache

    client = cluster_client(ports[0])
    plain = cluster_client(ports[0])
    tier = TieredCache(
        SmartCache(16), client, namespace="bench-l2", serializer="pickle", timeout=BENCH_TIMEOUT
    )
    keys = [f"key-{i}" for i in range(n_ops)]
    value = "x" * 100
    for k in keys:
        tier[k] = value
    tier.local.clear()
    rkeys = [tier._rkey(k) for k in keys]

    def run_tier() -> float:
        t0 = time.perf_counter_ns()
        get = tier.get
        for k in keys:
            get(k)
        return (time.perf_counter_ns() - t0) / len(keys) / 1000

    def run_get_loads() -> float:
        t0 = time.perf_counter_ns()
        get = plain.get
        loads = pickle.loads
        for k in rkeys:
            raw = get(k)
            loads(raw[9:]) if raw else None
        return (time.perf_counter_ns() - t0) / len(keys) / 1000

    runs = {"TieredCache.get (L2 hit)": run_tier, "RedisCluster GET + pickle.loads": run_get_loads}
    samples: dict[str, list[float]] = {name: [] for name in runs}
    hits0 = tier.stats()["l2_hits"]
    for fn in runs.values():
        fn()
    for _ in range(repeats):
        for name, fn in runs.items():
            samples[name].append(fn())
    s = tier.stats()
    if s["l2_hits"] - hits0 != len(keys) * (repeats + 1):
        log(f"warning: not every get was an L2 hit (l2_errors: {s['l2_errors']})")
    tier.close()
    client.close()
    plain.close()
    return {name: statistics.median(v) for name, v in samples.items()}


# ---- invalidation delay --------------------------------------------------------------------------


def bench_invalidation(ports: list[int], rounds: int) -> dict[str, float]:
    """ms from a ``put`` in one tier to the copy leaving another tier's local tier (two tiers
    in this process, each with its own client and listener thread; the waiting loop sleeps
    0.2 ms between checks so that the listener gets the GIL). Keys spread over the shards."""
    from cuckoocache import SmartCache
    from cuckoocache.tiered import TieredCache

    ca, cb = cluster_client(ports[0]), cluster_client(ports[0])
    a = TieredCache(SmartCache(1000), ca, namespace="bench-inv", serializer="pickle",
                    timeout=BENCH_TIMEOUT)  # fmt: skip
    b = TieredCache(SmartCache(1000), cb, namespace="bench-inv", serializer="pickle",
                    timeout=BENCH_TIMEOUT)  # fmt: skip
    delays: list[float] = []
    for i in range(rounds):
        key = f"r{i}"
        a[key] = 0
        deadline = time.monotonic() + 5
        while not (b.get(key) == 0 and b.local.contains(key)):
            if time.monotonic() > deadline:
                sys.exit("the reader never held the key")
            time.sleep(0.001)
        t0 = time.perf_counter()
        a[key] = 1
        while b.local.contains(key):
            time.sleep(0.0002)
        delays.append((time.perf_counter() - t0) * 1000)
    a.close()
    b.close()
    ca.close()
    cb.close()
    delays.sort()
    return {
        "median_ms": statistics.median(delays),
        "p99_ms": delays[min(len(delays) - 1, int(len(delays) * 0.99))],
        "max_ms": delays[-1],
    }


# ---- subscription cost ---------------------------------------------------------------------------


def bench_subscriptions(ports: list[int], counts: tuple[int, ...]) -> dict[int, dict[str, float]]:
    """Memory and time for one client to SSUBSCRIBE ``n`` channels spread over the slots."""
    import redis
    from cuckoocache.tiered.cluster import slot_tags
    from redis.cluster import RedisCluster

    rc: Any = RedisCluster(host=LOOPBACK, port=ports[0])
    owner = {slot: rc.nodes_manager.slots_cache[slot][0].port for slot in range(16384)}
    rc.close()
    tags = slot_tags()
    out: dict[int, dict[str, float]] = {}
    for n in counts:
        stride = 16384 // n
        slots = [i * stride for i in range(n)]
        mem0 = {p: redis.Redis(port=p).info("memory")["used_memory"] for p in ports}
        t0 = time.perf_counter()
        subs = {p: redis.Redis(port=p).pubsub() for p in ports}
        expected = {p: 0 for p in ports}
        for slot in slots:
            p = owner[slot]
            subs[p].ssubscribe(b"bench-sub!inv{" + tags[slot] + b"}")
            expected[p] += 1
        for p, ps in subs.items():
            got = 0
            while got < expected[p]:
                msg = ps.get_message(timeout=5.0)
                if msg is None:
                    sys.exit("subscription confirmations missing")
                if msg["type"] == "ssubscribe":
                    got += 1
        elapsed = time.perf_counter() - t0
        mem1 = {p: redis.Redis(port=p).info("memory")["used_memory"] for p in ports}
        for ps in subs.values():
            ps.close()
        out[n] = {
            "seconds": elapsed,
            "bytes": float(sum(mem1[p] - mem0[p] for p in ports)),
        }
        time.sleep(0.2)
    return out


# ---- report --------------------------------------------------------------------------------------


def report(results: dict[str, Any], args: argparse.Namespace) -> str:
    lines = [
        f"Python {platform.python_version()}, {platform.platform()}, "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the end",
        "",
    ]
    if "zipf" in results:
        lines += [
            f"### zipf({args.zipf_s}) over {args.keys} keys, {args.workers} processes x "
            f"{args.requests} requests, {args.write_ratio:.0%} writes, local tier "
            f"{args.local_size}",
            "",
            "| cluster | L1 hit ratio | hit ratio (both tiers) | Redis round trips / 1,000 "
            "requests | requests/s | bus messages for PUBLISH / SPUBLISH | l2_errors |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for name, z in results["zipf"].items():
            bus = z["bus_publish_sent"]
            lines.append(
                f"| {name} | {z['local_hit_ratio']:.3f} | {z['overall_hit_ratio']:.3f} | "
                f"{z['round_trips_per_1000']:.0f} | {z['requests_per_s']:,.0f} | "
                f"{bus['publish']} / {bus['publishshard']} | {z['l2_errors']} |"
            )
        lines += ["", "Keys of the namespace per primary after the run:", ""]
        lines += ["| cluster | primary | keys | share |", "| --- | --- | ---: | ---: |"]
        for name, z in results["zipf"].items():
            total = sum(z["keys_per_primary"].values()) or 1
            for node, n in sorted(z["keys_per_primary"].items()):
                lines.append(f"| {name} | {node} | {n:,} | {n / total:.1%} |")
        lines.append("")
    if "bus" in results:
        lines += [
            "Cluster bus messages per published message (1,000 messages on channels spread "
            "over the slots):",
            "",
            "| cluster | classic PUBLISH | SPUBLISH |",
            "| --- | ---: | ---: |",
        ]
        for name, b in results["bus"].items():
            lines.append(f"| {name} | {b['PUBLISH']:.2f} | {b['SPUBLISH']:.2f} |")
        lines.append("")
    if "invalidation" in results:
        lines += [
            "### Invalidation delay (ms from a put to the other tier's copy leaving its L1; "
            "two tiers in one process)",
            "",
            "| cluster | median | p99 | max |",
            "| --- | ---: | ---: | ---: |",
        ]
        for name, r in results["invalidation"].items():
            lines.append(
                f"| {name} | {r['median_ms']:.2f} | {r['p99_ms']:.2f} | {r['max_ms']:.2f} |"
            )
        lines.append("")
    if "l2-hit" in results:
        lines += [
            "### L2 hit (µs per get, median)",
            "",
            "| operation | " + " | ".join(results["l2-hit"]) + " |",
            "| --- |" + " ---: |" * len(results["l2-hit"]),
        ]
        names = next(iter(results["l2-hit"].values())).keys()
        for op in names:
            lines.append(
                f"| {op} | " + " | ".join(f"{r[op]:.1f}" for r in results["l2-hit"].values()) + " |"
            )
        lines.append("")
    if "subscriptions" in results:
        lines += [
            "### Sharded subscriptions of one instance (3-node cluster)",
            "",
            "| channels | server memory | per channel | time to subscribe |",
            "| ---: | ---: | ---: | ---: |",
        ]
        for n, r in results["subscriptions"].items():
            lines.append(
                f"| {n:,} | {r['bytes'] / 1e6:.2f} MB | {r['bytes'] / n:.0f} B | "
                f"{r['seconds'] * 1000:.0f} ms |"
            )
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (smoke test)")
    parser.add_argument("--only", default="zipf,bus,invalidation,l2-hit,subscriptions")
    add_workload_arguments(parser, requests=25_000)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()
    # SIGTERM (a killed run) still stops the clusters started here.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    n_l2 = 2000
    if args.quick:
        args.requests, args.keys, args.repeats, n_l2 = 2000, 1000, 2, 200
    parts = set(args.only.split(","))
    results: dict[str, Any] = {}
    for n in (1, 3):
        name = f"{n} node" + ("s" if n > 1 else "")
        with cluster(n) as ports:
            if "zipf" in parts:
                log(f"zipf, {name} ...")
                results.setdefault("zipf", {})[name] = bench_zipf(ports, args)
            if "bus" in parts:
                results.setdefault("bus", {})[name] = bench_bus(ports)
            if "invalidation" in parts:
                log(f"invalidation, {name} ...")
                results.setdefault("invalidation", {})[name] = bench_invalidation(
                    ports, 40 if args.quick else 200
                )
            if "l2-hit" in parts:
                log(f"l2-hit, {name} ...")
                results.setdefault("l2-hit", {})[name] = bench_l2_hit(ports, args.repeats, n_l2)
            if "subscriptions" in parts and n == 3:
                log("subscriptions ...")
                results["subscriptions"] = bench_subscriptions(ports, (1024, 16384))
    if "bus" in parts:
        log("bus, 3 primaries + 3 replicas ...")
        with cluster(6, replicas=1) as ports:
            results.setdefault("bus", {})["3 primaries + 3 replicas"] = bench_bus(ports)
    print(report(results, args))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1, default=str)


def _worker_entry() -> None:
    zipf_worker(parse_worker_arguments((("--port", int), ("--namespace", str))))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_zipf_worker":
        _worker_entry()
    else:
        main()
