#!/usr/bin/env python3
"""TieredCache benchmark: local-hit cost, L2-hit cost, and a multi-process zipf workload.

Three measurements (Markdown on stdout, progress on stderr):

  local-hit   ns per ``get`` hit of TieredCache against SmartCache (and ``tier[k]`` against
              ``cache[k]``, ``get_or_set``, ``tier.cached`` against ``@cached``), in one
              process: 1,000 str keys all present, loops compiled from one template,
              interleaved repeats, median, net of the empty loop. No Redis traffic happens on
              these paths.
  instructions  the same loops under ``valgrind --tool=callgrind`` (PYTHONHASHSEED=0, net of
              the empty loop, 20,000 operations): instructions per local hit, a figure a busy
              machine does not disturb. Not in the default set (about 2 minutes).
  l2-hit      µs per TieredCache ``get`` that misses the local tier and hits Redis (value:
              a 100-byte str, pickled; the local tier is refilled and evicts on every call)
              against a plain redis-py ``GET`` of the same key (and ``GET`` + ``pickle.loads``).
  invalidation  ms from a write in one process to the copy in another process's local tier
              being dropped (median, p99, max over 200 writes).
  zipf        4 worker processes, each making ``--requests`` read-through requests over
              ``--keys`` keys drawn from zipf(``--zipf-s``), 1 % of them writes; each with a
              TieredCache (local tier of ``--local-size`` entries) against the same workload
              on plain redis-py with no local tier (GET, and SET on a miss or a write).
              Reports hit ratios and Redis round trips per 1,000 requests.

Redis: a redis-server started here on a free loopback port with no persistence (or
``--redis-url``). Run from the repository root with the venv that has cuckoocache and redis:

  build/py-venv/bin/python perf/python/tiered_bench.py            # everything, ~1 minute
  build/py-venv/bin/python perf/python/tiered_bench.py --quick    # smoke test
  build/py-venv/bin/python perf/python/tiered_bench.py --only local-hit
  build/py-venv/bin/python perf/python/tiered_bench.py --only local-hit,instructions
"""

from __future__ import annotations

import argparse
import gc
import glob
import json
import os
import pickle
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
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
    run_tier_workload,
    run_workers,
    wait_for_start,
    workload,
)

# ---- a throwaway redis-server --------------------------------------------------------------------


@contextmanager
def redis_server(url: str | None) -> Iterator[str]:
    """Yields a Redis URL: ``url`` if given, else a redis-server started for the run."""
    if url:
        yield url
        return
    exe = shutil.which("redis-server") or "/usr/bin/redis-server"
    if not os.access(exe, os.X_OK):
        sys.exit("redis-server not found: apt-get install redis-server, or pass --redis-url")
    workdir = tempfile.mkdtemp(prefix="tiered-bench-")
    port = free_port()
    proc = subprocess.Popen(
        [exe, "--port", str(port), "--bind", LOOPBACK, "--save", "", "--appendonly", "no",
         "--dir", workdir, "--loglevel", "warning"],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        import redis

        client = redis.Redis(host=LOOPBACK, port=port)
        deadline = time.monotonic() + 15
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    sys.exit("redis-server did not start")
                time.sleep(0.02)
        client.close()
        yield f"redis://{LOOPBACK}:{port}/0"
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)
        shutil.rmtree(workdir, ignore_errors=True)


# ---- local-hit -----------------------------------------------------------------------------------

_LOOP_TEMPLATE = """
def loop(seq, op, perf_counter_ns):
    t0 = perf_counter_ns()
    for k in seq:
        {body}
    return perf_counter_ns() - t0
"""


def _compile(body: str) -> Callable[[Sequence[Any], Any, Any], int]:
    ns: dict[str, Any] = {}
    exec(_LOOP_TEMPLATE.format(body=body), ns)  # each loop its own code object
    return ns["loop"]  # type: ignore[no-any-return]


def local_hit_cells(
    url: str, n_ops: int
) -> tuple[dict[str, tuple[Callable[..., int], Sequence[Any], Any]], list[Any]]:
    """The local-hit loops: {name: (loop, keys, op)}, and the tiers to close afterwards."""
    from cuckoocache import SmartCache, cached
    from cuckoocache.tiered import TieredCache

    keys = [f"key-{i}" for i in range(1000)]
    smart = SmartCache(4096)
    tier = TieredCache(SmartCache(4096), url, namespace="bench-local", serializer="pickle")
    deadline = time.monotonic() + 60  # a slow start (under valgrind, on a loaded machine)
    while not tier.stats()["l2_available"] and time.monotonic() < deadline:
        time.sleep(0.05)
    for k in keys:
        smart[k] = k
        tier[k] = k

    @cached(max_size=4096)
    def f_plain(x: int) -> int:
        return x

    tier_fn = TieredCache(SmartCache(4096), url, namespace="bench-local-fn", serializer="pickle")

    @tier_fn.cached
    def f_tier(x: int) -> int:
        return x

    ints = list(range(1000))
    for i in ints:
        f_plain(i)
        f_tier(i)
    assert tier.stats()["l2_available"], "TieredCache is not connected"
    reps = max(1, n_ops // len(keys))
    seq = keys * reps
    iseq = ints * reps
    cells: dict[str, tuple[Callable[..., int], Sequence[Any], Any]] = {
        "empty": (_compile("pass"), seq, None),
        "SmartCache.get": (_compile("op(k)"), seq, smart.get),
        "TieredCache.get": (_compile("op(k)"), seq, tier.get),
        "SmartCache[k]": (_compile("op[k]"), seq, smart),
        "TieredCache[k]": (_compile("op[k]"), seq, tier),
        "SmartCache.get_or_set": (_compile("op(k, int)"), seq, smart.get_or_set),
        "TieredCache.get_or_set": (_compile("op(k, int)"), seq, tier.get_or_set),
        "@cached hit": (_compile("op(k)"), iseq, f_plain),
        "tier.cached hit": (_compile("op(k)"), iseq, f_tier),
    }
    return cells, [tier, tier_fn]


def bench_local_hit(url: str, repeats: int, n_ops: int) -> dict[str, Any]:
    cells, tiers = local_hit_cells(url, n_ops)
    tier = tiers[0]
    rounds: dict[str, list[float]] = {name: [] for name in cells}
    before = tier.stats()["l2_round_trips"]
    gc.disable()
    try:
        for loop, s, op in cells.values():
            loop(s, op, time.perf_counter_ns)  # warm up
        for _ in range(repeats):
            for name, (loop, s, op) in cells.items():
                rounds[name].append(loop(s, op, time.perf_counter_ns) / len(s))
    finally:
        gc.enable()
    assert tier.stats()["l2_round_trips"] == before, "a local hit went to Redis"
    empty = statistics.median(rounds["empty"])
    net = {name: statistics.median(v) - empty for name, v in rounds.items() if name != "empty"}
    for t in tiers:
        t.close()
    return {
        "empty_ns": empty,
        "net_ns": net,
        "repeats": repeats,
        "ops_per_sample": len(cells["empty"][1]),
    }


# ---- instructions: the local-hit loops under callgrind ------------------------------------------

INSTRUCTION_CELLS = (
    "SmartCache.get",
    "TieredCache.get",
    "SmartCache[k]",
    "TieredCache[k]",
    "SmartCache.get_or_set",
    "TieredCache.get_or_set",
    "@cached hit",
    "tier.cached hit",
)


def instructions_child(url: str, cell: str, n_ops: int, empty: bool) -> None:
    """Runs one local-hit loop (``pass`` instead of the operation if ``empty``) after a warm-up
    of both, so the two runs differ only in the last loop."""
    cells, tiers = local_hit_cells(url, n_ops)
    # Stop the listener threads first: under valgrind their work grows with the run's length,
    # which would count in the difference. A closed tier's local hits run the same code.
    for t in tiers:
        t.close()
    for thread in threading.enumerate():  # a listener slow to stop under valgrind
        if thread is not threading.main_thread():
            thread.join(60)
    loop, seq, op = cells[cell]
    empty_loop = cells["empty"][0]
    loop(seq, op, time.perf_counter_ns)
    empty_loop(seq, op, time.perf_counter_ns)
    (empty_loop if empty else loop)(seq, op, time.perf_counter_ns)


def bench_instructions(url: str, n_ops: int, cells: Sequence[str]) -> dict[str, float]:
    """Instructions per local hit (callgrind, PYTHONHASHSEED=0, what ran between the two clock
    reads of the measured loop, net of the empty loop's): the same count for the same code
    and input however busy the machine is."""
    import re

    if shutil.which("valgrind") is None:
        sys.exit("valgrind not found: apt-get install valgrind")
    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="tiered-cg-") as workdir:

        def count(cell: str, empty: bool) -> int:
            # A dump at each perf_counter_ns() call: the last one holds what ran between the
            # two calls of the measured loop (the start-up's count depends on timing).
            path = os.path.join(workdir, "cg.out")
            cmd = ["valgrind", "--tool=callgrind", "--dump-before=time_perf_counter_ns"]
            cmd += ["--separate-threads=yes"]  # and the main thread's count only
            cmd += [f"--callgrind-out-file={path}", sys.executable]
            cmd += [
                os.path.abspath(__file__),
                "_instr_child",
                url,
                cell,
                str(n_ops),
                str(int(empty)),
            ]
            env = {**os.environ, "PYTHONHASHSEED": "0"}
            subprocess.run(cmd, env=env, check=True, capture_output=True, timeout=600)
            parts = glob.glob(path + ".*-01")
            assert parts, "no dump: is time_perf_counter_ns a symbol of this Python?"
            last = max(parts, key=lambda p: int(p[len(path) + 1 : -3]))
            with open(last) as f:
                text = f.read()
            for p in glob.glob(path + "*"):
                os.unlink(p)
            match = re.search(r"^(?:summary|totals):\s+(\d+)", text, re.MULTILINE)
            assert match is not None, "no summary line in the callgrind output"
            return int(match.group(1))

        for cell in cells:
            out[cell] = (count(cell, False) - count(cell, True)) / n_ops
            log(f"  {cell}: {out[cell]:.0f} instructions/op")
    return out


# ---- l2-hit --------------------------------------------------------------------------------------


def bench_l2_hit(url: str, repeats: int, n_ops: int) -> dict[str, Any]:
    import redis
    from cuckoocache import SmartCache
    from cuckoocache.tiered import TieredCache, encode_key

    tier = TieredCache(
        SmartCache(16), url, namespace="bench-l2", serializer="pickle", timeout=BENCH_TIMEOUT
    )
    plain: Any = redis.Redis.from_url(url)
    keys = [f"key-{i}" for i in range(2000)]
    value = "x" * 100
    for k in keys:
        tier[k] = value
    tier.local.clear()
    rkeys = [b"{bench-l2}:" + encode_key(k) for k in keys]
    raw_len = len(plain.get(rkeys[0]))
    n = min(n_ops, len(keys))

    def run_tier() -> float:
        t0 = time.perf_counter_ns()
        get = tier.get
        for k in keys[:n]:
            get(k)
        return (time.perf_counter_ns() - t0) / n / 1000

    def run_get() -> float:
        t0 = time.perf_counter_ns()
        get = plain.get
        for k in rkeys[:n]:
            get(k)
        return (time.perf_counter_ns() - t0) / n / 1000

    def run_get_loads() -> float:
        t0 = time.perf_counter_ns()
        get = plain.get
        loads = pickle.loads
        for k in rkeys[:n]:
            loads(get(k)[9:])
        return (time.perf_counter_ns() - t0) / n / 1000

    runs = {
        "TieredCache.get (L2 hit)": run_tier,
        "redis-py GET": run_get,
        "redis-py GET + pickle.loads": run_get_loads,
    }
    samples: dict[str, list[float]] = {name: [] for name in runs}
    hits0 = tier.stats()["l2_hits"]
    for fn in runs.values():
        fn()  # warm up
    for _ in range(repeats):
        for name, fn in runs.items():
            samples[name].append(fn())
    stats = tier.stats()
    if stats["l2_hits"] - hits0 != n * (repeats + 1):
        log(f"warning: not every get was an L2 hit (l2_errors: {stats['l2_errors']})")
    tier.close()
    plain.close()
    return {
        "median_us": {name: statistics.median(v) for name, v in samples.items()},
        "stored_bytes": raw_len,
        "repeats": repeats,
        "ops_per_sample": n,
    }


# ---- zipf, 4 processes ---------------------------------------------------------------------------


def zipf_worker(args: argparse.Namespace) -> None:
    """One worker process: runs the workload from the start time, prints its counters."""
    if args.mode == "tiered":
        print(json.dumps(run_tier_workload(args.url, args)))
        return
    import redis

    keys, writes, value = workload(args)
    client: Any = redis.Redis.from_url(args.url)
    prefix = args.namespace.encode() + b":"
    hits = misses = trips = 0
    data = pickle.dumps(value)
    wait_for_start(args)
    t0 = time.perf_counter()
    for k, w in zip(keys, writes):
        rk = prefix + b"%d" % k
        if w:
            client.set(rk, data)
            trips += 1
            continue
        raw = client.get(rk)
        trips += 1
        if raw is None:
            misses += 1
            client.set(rk, data)
            trips += 1
        else:
            hits += 1
            pickle.loads(raw)
    elapsed = time.perf_counter() - t0
    client.close()
    print(
        json.dumps({"elapsed": elapsed, "l2_hits": hits, "l2_misses": misses, "round_trips": trips})
    )


def bench_zipf(url: str, args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for mode in ("redis-only", "tiered"):
        namespace = f"bench-zipf-{mode}-{os.getpid()}"
        own = ["--url", url, "--mode", mode, "--namespace", namespace]
        out[mode] = run_workers(__file__, own, args, timeout=600)
    requests = args.workers * args.requests
    summary: dict[str, Any] = {"requests": requests}
    for mode, t in out.items():
        reads = (t.get("local_hits", 0) + t.get("local_misses", 0)) or (
            t["l2_hits"] + t["l2_misses"]
        )
        summary[mode] = {
            **t,
            "round_trips_per_1000": 1000 * t["round_trips"] / requests,
            "requests_per_s": requests / t["elapsed"],
            "local_hit_ratio": t.get("local_hits", 0) / reads if reads else 0.0,
            "overall_hit_ratio": (
                (t.get("local_hits", 0) + t["l2_hits"]) / reads if reads else 0.0
            ),
        }
    saved = (
        summary["redis-only"]["round_trips_per_1000"] - summary["tiered"]["round_trips_per_1000"]
    )
    summary["round_trips_saved_per_1000"] = saved
    return summary


# ---- invalidation delay --------------------------------------------------------------------------


def inval_reader(url: str, namespace: str, rounds: int) -> None:
    """Reader process: for each round, hold key r<i> locally, say so, then spin until the
    writer's invalidation drops it; print the delays (s) as JSON. The new value is the
    writer's time.time() just before its write call."""
    import redis
    from cuckoocache import SmartCache
    from cuckoocache.tiered import TieredCache

    tier = TieredCache(SmartCache(1000), url, namespace=namespace, serializer="pickle", timeout=1.0)
    control: Any = redis.Redis.from_url(url)
    delays = []
    for i in range(rounds):
        key = f"r{i}"
        while not (tier.get(key) == "init" and tier.local.contains(key)):
            time.sleep(0.001)
        time.sleep(0.01)
        if not tier.local.contains(key):
            continue  # dropped by the init write's own invalidation: skip this round
        control.set(f"{namespace}:ready", i)
        while tier.local.contains(key):
            time.sleep(0.00005)  # lets the listener thread take the GIL (a busy loop would not)
        dropped = time.time()
        written = tier.get(key)
        delays.append(dropped - written)
    print(json.dumps(delays))
    tier.close()
    control.close()


def bench_invalidation(url: str, rounds: int) -> dict[str, Any]:
    import redis
    from cuckoocache import SmartCache
    from cuckoocache.tiered import TieredCache

    namespace = f"bench-inval-{os.getpid()}"
    writer = TieredCache(SmartCache(1000), url, namespace=namespace, serializer="pickle")
    control: Any = redis.Redis.from_url(url)
    for i in range(rounds):
        writer[f"r{i}"] = "init"
    reader = subprocess.Popen(
        [sys.executable, __file__, "_inval_reader", url, namespace, str(rounds)],
        stdout=subprocess.PIPE,
    )
    last = -1
    deadline = time.monotonic() + 120
    while reader.poll() is None and time.monotonic() < deadline:
        ready = control.get(f"{namespace}:ready")
        if ready is not None and int(ready) > last:
            last = int(ready)
            time.sleep(0.002)
            writer[f"r{last}"] = time.time()
        else:
            time.sleep(0.0005)
    stdout, _ = reader.communicate(timeout=60)
    delays = sorted(json.loads(stdout))
    writer.close()
    control.close()
    ms = [d * 1000 for d in delays]
    return {
        "rounds": len(ms),
        "median_ms": statistics.median(ms),
        "p99_ms": ms[min(len(ms) - 1, int(len(ms) * 0.99))],
        "max_ms": ms[-1],
    }


# ---- report --------------------------------------------------------------------------------------


_PAIRS = (
    ("get(k)", "SmartCache.get", "TieredCache.get"),
    ("[k]", "SmartCache[k]", "TieredCache[k]"),
    ("get_or_set(k, f)", "SmartCache.get_or_set", "TieredCache.get_or_set"),
    ("decorated call", "@cached hit", "tier.cached hit"),
)


def report(results: dict[str, Any], args: argparse.Namespace) -> str:
    lines = [
        f"Python {platform.python_version()}, {platform.platform()}, {os.cpu_count()} CPUs",
        "",
    ]
    if "local-hit" in results:
        r = results["local-hit"]["net_ns"]
        lines += [
            f"### Local hit (ns/op, net of the empty loop, median of {args.repeats})",
            "",
            "| operation | SmartCache | TieredCache | ratio |",
            "| --- | ---: | ---: | ---: |",
        ]
        for label, a, b in _PAIRS:
            lines.append(f"| {label} | {r[a]:.1f} | {r[b]:.1f} | {r[b] / r[a]:.2f} |")
        lines.append("")
    if "instructions" in results:
        r = results["instructions"]
        lines += [
            "### Local hit (instructions/op: callgrind, PYTHONHASHSEED=0, net of the empty loop)",
            "",
            "| operation | SmartCache | TieredCache | ratio |",
            "| --- | ---: | ---: | ---: |",
        ]
        for label, a, b in _PAIRS:
            if a in r and b in r:
                lines.append(f"| {label} | {r[a]:.0f} | {r[b]:.0f} | {r[b] / r[a]:.2f} |")
        lines.append("")
    if "l2-hit" in results:
        r = results["l2-hit"]
        lines += [
            f"### L2 hit (µs/op, median of {r['repeats']} rounds of {r['ops_per_sample']} gets; "
            f"{r['stored_bytes']} bytes stored per value)",
            "",
            "| operation | µs/op |",
            "| --- | ---: |",
        ]
        for name, us in r["median_us"].items():
            lines.append(f"| {name} | {us:.1f} |")
        lines.append("")
    if "invalidation" in results:
        r = results["invalidation"]
        lines += [
            f"### Invalidation delay between two processes ({r['rounds']} writes)",
            "",
            "From the writer's call to the reader's local copy being dropped: median "
            f"{r['median_ms']:.2f} ms, p99 {r['p99_ms']:.2f} ms, max {r['max_ms']:.2f} ms.",
            "",
        ]
    if "zipf" in results:
        z = results["zipf"]
        lines += [
            f"### zipf({args.zipf_s}) over {args.keys} keys, {args.workers} processes x "
            f"{args.requests} requests, {args.write_ratio:.0%} writes, local tier "
            f"{args.local_size} entries",
            "",
            "| setup | local hit ratio | hit ratio (both tiers) | Redis round trips / 1,000 "
            "requests | requests/s (all processes) |",
            "| --- | ---: | ---: | ---: | ---: |",
        ]
        for mode, label in (("redis-only", "redis-py, no local tier"), ("tiered", "TieredCache")):
            t = z[mode]
            lines.append(
                f"| {label} | {t['local_hit_ratio']:.3f} | {t['overall_hit_ratio']:.3f} | "
                f"{t['round_trips_per_1000']:.0f} | {t['requests_per_s']:.0f} |"
            )
        lines += [
            "",
            f"Round trips saved per 1,000 requests: {z['round_trips_saved_per_1000']:.0f}. "
            f"Invalidations received (all processes): {z['tiered'].get('invalidations', 0)}; "
            f"computations: {z['tiered'].get('computations', 0)}; "
            f"Redis errors: {z['tiered'].get('l2_errors', 0)}.",
            "",
        ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--redis-url", help="use this Redis instead of starting one")
    parser.add_argument(
        "--only", default="local-hit,l2-hit,invalidation,zipf", help="comma-separated parts"
    )
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke test")
    parser.add_argument("--repeats", type=int, default=9)
    add_workload_arguments(parser, requests=50_000)
    parser.add_argument("--json", help="also write the raw results here")
    parser.add_argument("--cells", help="instructions: only these rows (comma-separated)")
    args = parser.parse_args()
    if args.quick:
        args.repeats = 3
        args.requests = 5_000
    parts = args.only.split(",")
    results: dict[str, Any] = {}
    with redis_server(args.redis_url) as url:
        if "local-hit" in parts:
            log("local-hit ...")
            results["local-hit"] = bench_local_hit(
                url, args.repeats, 20_000 if args.quick else 200_000
            )
        if "instructions" in parts:
            log("instructions (callgrind) ...")
            cells = args.cells.split(",") if args.cells else INSTRUCTION_CELLS
            results["instructions"] = bench_instructions(
                url, 2_000 if args.quick else 20_000, cells
            )
        if "l2-hit" in parts:
            log("l2-hit ...")
            results["l2-hit"] = bench_l2_hit(url, args.repeats, 500 if args.quick else 2000)
        if "invalidation" in parts:
            log("invalidation ...")
            results["invalidation"] = bench_invalidation(url, 30 if args.quick else 200)
        if "zipf" in parts:
            log("zipf ...")
            results["zipf"] = bench_zipf(url, args)
    print(report(results, args))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"args": vars(args), "results": results}, f, indent=2)


def _worker_entry() -> None:
    own = (("--url", str), ("--mode", str), ("--namespace", str))
    zipf_worker(parse_worker_arguments(own))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_zipf_worker":
        _worker_entry()
    elif len(sys.argv) > 1 and sys.argv[1] == "_instr_child":
        instructions_child(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5] == "1")
    elif len(sys.argv) > 1 and sys.argv[1] == "_inval_reader":
        inval_reader(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    else:
        main()
