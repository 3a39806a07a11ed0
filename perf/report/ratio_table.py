#!/usr/bin/env python3
"""The 46-cell hit-ratio table: ADAPTIVE (and any engine policy) against the better exact policy.

Runs `cuckoocache-perf ratio` on every shared trace at its size and at 2x and 4x (the cells of
docs/benchmarks.md), plus a few synthetic workloads that are not traces (shifting popularity,
loops a little larger than the cache, scans mixed into Zipf, recency phases), and prints each
cell with `policy - max(exact LRU, exact LFU)`; a cell more than 1 point below is flagged.

    perf/report/ratio_table.py --bin build/release/perf/harness/cuckoocache-perf \
        --traces ../shared/traces [--policies adaptive] [--synthetic] [--only zigzag,gli]
"""

from __future__ import annotations

import argparse
import csv
import io
import subprocess
import sys

# trace file -> base size (README sizes; the others hold about a tenth to a quarter of the keys)
CELLS: dict[str, tuple[str, list[int]]] = {
    "oltp": ("oltp.lis.gz", [1000, 2000, 4000, 8000]),
    "gli": ("gli.lirs.gz", [1000, 2000, 4000]),
    "multi2": ("multi2.lirs.gz", [1000, 2000, 4000]),
    "sprite": ("sprite.lirs.gz", [200, 400, 800]),
    "loop": ("loop.lirs.gz", [500, 1000, 2000]),
    "multi1": ("multi1.lirs.gz", [1000, 2000, 4000]),
    "multi3": ("multi3.lirs.gz", [1000, 2000, 4000]),
    "2_pools": ("2_pools.lirs.gz", [1000, 2000, 4000]),
    "cpp": ("cpp.lirs.gz", [200, 400, 800]),
    "cs": ("cs.lirs.gz", [200, 400, 800]),
    "ps": ("ps.lirs.gz", [500, 1000, 2000]),
    "scan": ("scan.lirs.gz", [500, 1000, 2000]),
    "zigzag": ("zigzag.lirs.gz", [500, 1000, 2000]),
    "web07": ("web07.keys.gz", [2000, 4000, 8000]),
    "web12": ("web12.keys.gz", [2000, 4000, 8000]),
}

# Synthetic workloads (name, cuckoocache-perf arguments, sizes): none of them is a shared trace.
SYNTHETIC: list[tuple[str, list[str], list[int]]] = [
    ("zipf0.8", ["--workload", "zipf:0.8", "--keys", "100000", "--requests", "300000"], [1000]),
    (
        "shift",  # popularity moves: the same zipf over keys shifted by the seed of each phase
        [
            "--workload",
            "mix:zipf:0.9@50000,uniform@5000,zipf:0.7@50000",
            "--keys",
            "20000",
            "--requests",
            "300000",
        ],
        [500, 2000],
    ),
    ("loop1100", ["--workload", "loop:1100", "--requests", "200000"], [1000]),
    ("loop1050", ["--workload", "loop:1050", "--requests", "200000"], [1000]),
    (
        "scanzipf",
        ["--workload", "scan:2000:8000", "--keys", "50000", "--requests", "300000"],
        [1000],
    ),
    (
        "recency",  # a uniform working set smaller than the cache, then a loop, then zipf
        [
            "--workload",
            "mix:uniform@20000,loop:900@20000,zipf:0.6@20000",
            "--keys",
            "3000",
            "--requests",
            "300000",
        ],
        [1000],
    ),
]


def run(binary: str, args: list[str], sizes: list[int], policies: list[str]) -> dict:
    cmd = [
        binary,
        "ratio",
        *args,
        "--sizes",
        ",".join(map(str, sizes)),
        "--policies",
        ",".join([*policies, "exact-lru", "exact-lfu"]),
        "--csv",
    ]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    table: dict = {}
    for row in csv.DictReader(io.StringIO(out)):
        table[(int(row["size"]), row["policy"])] = float(row["hit_ratio"])
    return table


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bin", default="build/release/perf/harness/cuckoocache-perf")
    ap.add_argument("--traces", default="../shared/traces")
    ap.add_argument("--policies", default="adaptive")
    ap.add_argument("--only", default="", help="comma-separated trace names")
    ap.add_argument("--synthetic", action="store_true", help="also the synthetic workloads")
    ap.add_argument("--no-traces", action="store_true")
    opts = ap.parse_args()
    policies = opts.policies.split(",")
    only = set(filter(None, opts.only.split(",")))
    jobs: list[tuple[str, list[str], list[int]]] = []
    if not opts.no_traces:
        for name, (file, sizes) in CELLS.items():
            if not only or name in only:
                jobs.append((name, ["--trace", f"{opts.traces}/{file}"], sizes))
    if opts.synthetic:
        jobs += [j for j in SYNTHETIC if not only or j[0] in only]
    head = f"{'cell':<16}{'exLRU':>8}{'exLFU':>8}" + "".join(
        f"{p:>10}{'delta':>8}" for p in policies
    )
    print(head)
    worst: dict[str, float] = {p: 1e9 for p in policies}
    sums: dict[str, float] = {p: 0.0 for p in policies}
    misses: dict[str, int] = {p: 0 for p in policies}
    cells = 0
    for name, args, sizes in jobs:
        t = run(opts.bin, args, sizes, policies)
        for s in sizes:
            lru, lfu = t[(s, "exact-lru")], t[(s, "exact-lfu")]
            best = max(lru, lfu)
            line = f"{name + '@' + str(s):<16}{lru:8.2f}{lfu:8.2f}"
            for p in policies:
                v = t[(s, p)]
                d = v - best
                worst[p] = min(worst[p], d)
                sums[p] += d
                misses[p] += d < -1.0
                line += f"{v:10.2f}{d:+8.2f}" + ("!" if d < -1.0 else " ")
            print(line, flush=True)
            cells += 1
    for p in policies:
        print(
            f"{p}: {cells} cells, {misses[p]} below max(exact)-1, worst {worst[p]:+.2f}, "
            f"mean delta {sums[p] / max(cells, 1):+.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
