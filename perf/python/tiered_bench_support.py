"""What tiered_bench.py and cluster_bench.py share: loopback helpers, and the zipf workload.

The zipf workload: ``--workers`` processes, each making ``--requests`` read-through requests
(``get_or_set``, or ``put`` for ``--write-ratio`` of them) over ``--keys`` keys drawn from
zipf(``--zipf-s``), with a local tier of ``--local-size`` entries. The benchmark script runs
itself as the worker (``script _zipf_worker --seed ... <its own options>``); ``run_workers``
starts them with a common start time and returns each one's JSON result.
"""

from __future__ import annotations

import argparse
import bisect
import itertools
import json
import random
import socket
import subprocess
import sys
import time
from typing import Any

LOOPBACK = "127.0.0.1"
# Redis timeout of the benchmark's tiers: long enough that a loaded machine (workers and Redis
# on few cores) does not trip a circuit breaker mid-measurement. l2_errors is reported.
BENCH_TIMEOUT = 1.0

# The workload's options, as the parent passes them on to each worker.
WORKLOAD_OPTIONS: tuple[tuple[str, type], ...] = (
    ("--requests", int),
    ("--keys", int),
    ("--zipf-s", float),
    ("--local-size", int),
    ("--write-ratio", float),
)


def log(*parts: object) -> None:
    print(*parts, file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return int(s.getsockname()[1])


def ping(port: int) -> bool:
    """Whether a Redis server answers PING on the loopback port (raw RESP, no client)."""
    try:
        with socket.create_connection((LOOPBACK, port), timeout=0.2) as s:
            s.sendall(b"*1\r\n$4\r\nPING\r\n")
            return s.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def add_workload_arguments(parser: argparse.ArgumentParser, requests: int) -> None:
    """The workload's options (``requests``: the default per worker)."""
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--requests", type=int, default=requests, help="per worker")
    parser.add_argument("--keys", type=int, default=10_000)
    parser.add_argument("--zipf-s", type=float, default=1.0)
    parser.add_argument("--local-size", type=int, default=1_000)
    parser.add_argument("--write-ratio", type=float, default=0.01)


def parse_worker_arguments(own: tuple[tuple[str, type], ...]) -> argparse.Namespace:
    """A worker's arguments (after ``_zipf_worker``): ``own`` options, then the workload's."""
    p = argparse.ArgumentParser()
    for name, kind in (("--seed", int), ("--start-at", float), *own, *WORKLOAD_OPTIONS):
        p.add_argument(name, type=kind, required=True)
    return p.parse_args(sys.argv[2:])


def zipf_sequence(n_keys: int, s: float, count: int, seed: int) -> list[int]:
    weights = [1.0 / (i + 1) ** s for i in range(n_keys)]
    cdf = list(itertools.accumulate(weights))
    total = cdf[-1]
    rng = random.Random(seed)
    return [bisect.bisect_left(cdf, rng.random() * total) for _ in range(count)]


def workload(args: argparse.Namespace) -> tuple[list[int], list[bool], str]:
    """A worker's (keys, which requests are writes, the value written)."""
    keys = zipf_sequence(args.keys, args.zipf_s, args.requests, args.seed)
    rng = random.Random(args.seed + 1)
    return keys, [rng.random() < args.write_ratio for _ in keys], "v" * 100


def wait_for_start(args: argparse.Namespace) -> None:
    time.sleep(max(0.0, args.start_at - time.time()))


def run_tier_workload(redis: Any, args: argparse.Namespace) -> dict[str, Any]:
    """The workload on a TieredCache over ``redis`` (a URL or a client); its counters."""
    from cuckoocache import SmartCache
    from cuckoocache.tiered import TieredCache

    keys, writes, value = workload(args)
    tier = TieredCache(
        SmartCache(args.local_size),
        redis,
        namespace=args.namespace,
        serializer="pickle",
        timeout=BENCH_TIMEOUT,
    )
    wait_for_start(args)
    t0 = time.perf_counter()
    for k, w in zip(keys, writes):
        if w:
            tier.put(k, value)
        else:
            tier.get_or_set(k, lambda: value)
    elapsed = time.perf_counter() - t0
    s = tier.stats()
    tier.close()
    return {
        "elapsed": elapsed,
        "local_hits": s["hits"],
        "local_misses": s["misses"],
        "l2_hits": s["l2_hits"],
        "l2_misses": s["l2_misses"],
        "round_trips": s["l2_round_trips"],
        "writes": sum(writes),
        "computations": s["computations"],
        "invalidations": s["invalidations"],
        "l2_errors": s["l2_errors"],
        "l2_skipped": s["l2_skipped"],
    }


def run_workers(
    script: str, own: list[str], args: argparse.Namespace, timeout: float, delay: float = 1.5
) -> dict[str, Any]:
    """Runs ``args.workers`` workers of ``script`` (``own``: its worker options), started
    together ``delay`` s from now; their counters summed (``elapsed``: the slowest's)."""
    start_at = time.time() + delay
    procs = []
    for w in range(args.workers):
        cmd = [sys.executable, script, "_zipf_worker", "--seed", str(1000 + w)]
        cmd += ["--start-at", str(start_at), *own]
        for name, _ in WORKLOAD_OPTIONS:
            cmd += [name, str(getattr(args, name[2:].replace("-", "_")))]
        procs.append(subprocess.Popen(cmd, stdout=subprocess.PIPE))
    results = []
    for p in procs:
        stdout, _ = p.communicate(timeout=timeout)
        if p.returncode != 0:
            sys.exit(f"a zipf worker of {script} failed")
        results.append(json.loads(stdout))
    total = {k: sum(r[k] for r in results) for k in results[0]}
    total["elapsed"] = max(r["elapsed"] for r in results)
    return total
