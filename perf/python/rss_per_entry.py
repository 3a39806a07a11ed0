#!/usr/bin/env python3
"""Resident memory per int -> int entry of a Python cache, beyond the key and value objects.

Each measurement runs in a fresh child process: it builds ``--n`` distinct int keys and
``--n`` distinct int values (none from CPython's small-int cache), reads its RSS from
/proc/self/statm, stores every pair in the container, reads RSS again, and reports the
difference divided by ``--n``. The objects exist before the first reading and are kept alive
by their lists, so the figure is what the container itself costs per entry: table slots,
per-entry bookkeeping, allocator slack. A ``dict`` holding the same objects is the reference.

    PYTHONPATH=python_ext python perf/python/rss_per_entry.py [--n 5000000]
    ... rss_per_entry.py --n 1000000 --only dict,SmartCache-LRU

The SmartCache columns use ``max_size=n`` (every pair fits, nothing is evicted).
RSS is read in pages, so at n = 5,000,000 the figures are exact to well under a byte per entry.
"""

from __future__ import annotations

import argparse
import gc
import os
import subprocess
import sys
from collections.abc import Callable, Sized

COLUMNS = ("dict", "SmartCache-LRU", "SmartCache-LFU", "SmartCache-ADAPTIVE")


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        resident = int(f.read().split()[1])
    return resident * os.sysconf("SC_PAGE_SIZE")


def child(column: str, n: int) -> None:
    base = 1 << 40
    keys = [base + i for i in range(n)]
    values = [2 * base + i for i in range(n)]
    container: Sized
    store: Callable[[int, int], object]
    if column == "dict":
        plain: dict[int, int] = {}
        container, store = plain, plain.__setitem__
    else:
        import cuckoocache

        policy = getattr(cuckoocache.EvictionPolicy, column.split("-", 1)[1])
        cache: cuckoocache.SmartCache[int, int] = cuckoocache.SmartCache(max_size=n, policy=policy)
        container, store = cache, cache.put
    gc.collect()
    gc.disable()
    before = rss_bytes()
    for k, v in zip(keys, values):
        store(k, v)
    after = rss_bytes()
    assert len(container) == n, (column, len(container))
    print(f"{(after - before) / n:.1f} {before} {after}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=5_000_000, help="entries (5,000,000)")
    parser.add_argument("--only", help="comma-separated columns: " + ", ".join(COLUMNS))
    parser.add_argument("--child", nargs=2, metavar=("COLUMN", "N"))
    args = parser.parse_args()
    if args.child:
        child(args.child[0], int(args.child[1]))
        return
    columns = args.only.split(",") if args.only else list(COLUMNS)
    version = sys.version.split()[0]
    print(f"RSS per int -> int entry beyond the objects, n = {args.n:,}; Python {version}\n")
    print("| container | bytes / entry | RSS before (MiB) | RSS after (MiB) |")
    print("|---|---:|---:|---:|")
    for column in columns:
        if column not in COLUMNS:
            raise SystemExit(f"unknown column {column!r}; known: {', '.join(COLUMNS)}")
        out = subprocess.run(
            [sys.executable, os.path.abspath(__file__), "--child", column, str(args.n)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        per_entry, before, after = float(out[0]), int(out[1]), int(out[2])
        print(f"| {column} | {per_entry:.1f} | {before / 2**20:.1f} | {after / 2**20:.1f} |")


if __name__ == "__main__":
    main()
