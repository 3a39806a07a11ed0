"""Summarises perf/peers/run.sh's raw rows into one table and the issue-11 engine targets.

Input: CSV rows impl,policy,threads,read_ratio,rep,ops_per_sec,p50_ns,p99_ns,p999_ns,
read_hit_pct (a header row allowed), from `cuckoocache-perf throughput --csv` and the peer
harnesses, several repetitions each. Output (stdout): the median over repetitions of M ops/s
per implementation x read ratio x threads, the slowest and fastest repetition of each cell,
the engine's ratios to each other implementation cell by cell and each engine target with its
figures and met / not met (ratios: the median over repetitions of the ratio within one).

Usage: python3 perf/peers/table.py RESULTS.csv
"""

from __future__ import annotations

import csv
import statistics
import sys
from collections import defaultdict

# Row label per (impl, policy) as the harnesses print them.
LABELS = {
    ("engine", "lru"): "engine LRU",
    ("engine", "lfu"): "engine LFU",
    ("engine", "ttl"): "engine TTL",
    ("engine", "adaptive"): "engine ADAPTIVE",
    ("libcuckoo", "none"): "raw libcuckoo",
    ("mutex-lru", "exact-lru"): "mutex LRU",
    ("caffeine", "w-tinylfu"): "Caffeine 2.6.2",
    ("ristretto", "tinylfu"): "Ristretto 0.0.3",
}
ENGINE = "engine LRU"
PEERS = ("Caffeine 2.6.2", "Ristretto 0.0.3")
PEER_RATIOS = ("1", "0.9", "0.5")  # the cells for the peer target

Cell = tuple[str, str, int]  # label, read ratio (as text), threads


def ratio_key(text: str) -> str:
    """Normalises a read ratio ("1.0", "1", "0.90") to one spelling."""
    return f"{float(text):g}"


def load(path: str) -> dict[Cell, dict[str, float]]:
    """M ops/s per cell and repetition."""
    runs: dict[Cell, dict[str, float]] = defaultdict(dict)
    with open(path, newline="") as f:
        for row in csv.reader(f):
            if not row or row[0] == "impl":
                continue
            impl, policy, threads, read_ratio, rep, ops = row[:6]
            label = LABELS.get((impl, policy), f"{impl} {policy}")
            runs[(label, ratio_key(read_ratio), int(threads))][rep] = float(ops) / 1e6
    return runs


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    runs = load(argv[1])
    if not runs:
        print(f"table.py: no rows in {argv[1]}", file=sys.stderr)
        return 1
    median = {cell: statistics.median(v.values()) for cell, v in runs.items()}
    order = list(LABELS.values())
    labels = sorted({c[0] for c in median}, key=lambda x: order.index(x) if x in order else 99)
    ratios = sorted({c[1] for c in median}, key=float, reverse=True)
    threads = sorted({c[2] for c in median})
    cols = [(r, t) for r in ratios for t in threads]
    reps = max(len(v) for v in runs.values())

    def get(label: str, r: str, t: int) -> float | None:
        return median.get((label, r, t))

    header = "| impl | " + " | ".join(f"R={r} T={t}" for r, t in cols) + " |"
    rule = "|---|" + "---:|" * len(cols)
    print(f"M ops/s, median of {reps} (R = read ratio, T = threads)\n")
    print(header)
    print(rule)
    for label in labels:
        vals = [get(label, r, t) for r, t in cols]
        print(f"| {label} | " + " | ".join("" if v is None else f"{v:.2f}" for v in vals) + " |")

    if reps > 1:
        print("\nspread: slowest - fastest repetition, M ops/s\n")
        print(header)
        print(rule)
        for label in labels:
            spans = [list(runs.get((label, r, t), {}).values()) for r, t in cols]
            text = ["" if not v else f"{min(v):.2f}-{max(v):.2f}" for v in spans]
            print(f"| {label} | " + " | ".join(text) + " |")

    if any(c[0] == ENGINE for c in median):
        print(f"\n{ENGINE} / other, cell by cell (median of the per-repetition ratios)\n")
        print(header.replace("| impl |", "| engine LRU / |"))
        print(rule)
        for label in labels:
            if label == ENGINE:
                continue
            out = []
            for r, t in cols:
                q = rep_ratio(runs, (ENGINE, r, t), (label, r, t))
                out.append("" if q is None else f"{q:.2f}x")
            print(f"| {label} | " + " | ".join(out) + " |")
        print_targets(runs, threads)
    return 0


def rep_ratio(runs: dict[Cell, dict[str, float]], a: Cell, b: Cell) -> float | None:
    """Median over repetitions of a / b, each ratio within one repetition (measured seconds
    apart, so a change of the machine's load between repetitions cancels out)."""
    x, y = runs.get(a, {}), runs.get(b, {})
    both = [x[rep] / y[rep] for rep in x if rep in y and y[rep] > 0]
    return statistics.median(both) if both else None


def print_targets(runs: dict[Cell, dict[str, float]], threads: list[int]) -> None:
    """The issue-11 engine targets, each with its figures (- : not measured in this run)."""

    def ratio(a: Cell, b: Cell) -> float | None:
        return rep_ratio(runs, a, b)

    rows: list[tuple[str, list[float | None], float]] = [
        (
            "put at capacity (R=0), 2 threads: engine LRU / mutex LRU",
            [ratio((ENGINE, "0", 2), ("mutex LRU", "0", 2))],
            3.0,
        ),
        (
            "2-thread scaling, read-mostly (R=0.9): engine LRU T=2 / T=1",
            [ratio((ENGINE, "0.9", 2), (ENGINE, "0.9", 1))],
            1.9,
        ),
        (
            "1 thread, R=1/0.9/0.5: engine LRU / mutex LRU",
            [ratio((ENGINE, r, 1), ("mutex LRU", r, 1)) for r in PEER_RATIOS],
            1.0,
        ),
        (
            "get hit (R=1), T=1/2: engine LRU / raw libcuckoo find",
            [ratio((ENGINE, "1", t), ("raw libcuckoo", "1", t)) for t in threads],
            0.75,
        ),
    ]
    for peer in PEERS:
        rows.append(
            (
                f"R=1/0.9/0.5 x T={'/'.join(map(str, threads))}: engine LRU / {peer}",
                [ratio((ENGINE, r, t), (peer, r, t)) for r in PEER_RATIOS for t in threads],
                1.3,
            )
        )
    rows.append(
        (
            "R=1/0.9/0.5 x T: engine ADAPTIVE / engine LRU",
            [
                ratio(("engine ADAPTIVE", r, t), (ENGINE, r, t))
                for r in PEER_RATIOS
                for t in threads
            ],
            0.9,
        )
    )
    print("\nissue 11 engine targets (median of the per-repetition ratios)\n")
    print("| target | figures | wanted | met |")
    print("|---|---|---:|---|")
    for name, figures, want in rows:
        known = [f for f in figures if f is not None]
        if not known:
            verdict = "not measured"
        elif len(known) < len(figures):
            verdict = "partly measured"
        else:
            verdict = "met" if min(known) >= want else "NOT met"
        text = ", ".join("-" if f is None else f"{f:.2f}" for f in figures)
        print(f"| {name} | {text} | >= {want:g} | {verdict} |")


if __name__ == "__main__":
    sys.exit(main(sys.argv))
