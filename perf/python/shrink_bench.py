#!/usr/bin/env python3
"""The shrink cliff from Python (issue 13.18): SmartCache.set_max_size(1M -> 1k).

Fills a SmartCache to ``--full`` int keys, times ``set_max_size(--small)`` as the caller sees
it (the engine's evictions and compaction, then the decrefs of the evicted objects), and how
long another Python thread was kept from running meanwhile (the longest gap between its loop
iterations). Then compares a fresh cache of ``--small`` with the shrunk one: microseconds per
put of a new key plus get of a hot key (every put evicts), and the hit ratio of a get-or-put
replay of zipf(0.99) over 100k keys (fixed seed). RSS before and after the shrink is read
from /proc/self/statm.

    PYTHONPATH=python_ext python perf/python/shrink_bench.py [--full N] [--small N] [--ops N]
"""

from __future__ import annotations

import argparse
import os
import random
import threading
import time
from collections.abc import Callable

from cuckoocache import SmartCache


def rss_mib() -> float:
    with open("/proc/self/statm") as f:
        resident = int(f.read().split()[1])
    return resident * os.sysconf("SC_PAGE_SIZE") / (1 << 20)


def zipf_keys(n: int, universe: int, seed: int) -> list[int]:
    rng = random.Random(seed)
    weights = [1.0 / (r + 1) ** 0.99 for r in range(universe)]
    return rng.choices(range(universe), weights=weights, k=n)


def hit_ratio(cache: SmartCache[int, int], keys: list[int]) -> float:
    get, put = cache.get, cache.put
    half = len(keys) // 2
    hits = 0
    for i, k in enumerate(keys):
        if get(k) is not None:
            hits += i >= half
        else:
            put(k, k)
    return hits / (len(keys) - half)


def put_get_us(cache: SmartCache[int, int], hot: list[int], first: int) -> float:
    get, put = cache.get, cache.put
    start = time.perf_counter()
    for i, k in enumerate(hot):
        put(first + i, i)
        get(k)
    return (time.perf_counter() - start) * 1e6 / len(hot)


def longest_gap_during(call: Callable[[], None]) -> tuple[float, float]:
    """Runs call() while a second thread spins; returns (call seconds, longest gap seconds).

    The spinner records only gaps over 1 ms between its iterations (not every timestamp), so it
    allocates next to nothing that would show in the RSS figures."""
    gaps: list[tuple[float, float]] = []
    stop = threading.Event()

    def spin() -> None:
        now = time.perf_counter
        last = now()
        while not stop.is_set():
            t = now()
            if t - last > 0.001:
                gaps.append((last, t))
            last = t

    thread = threading.Thread(target=spin)
    thread.start()
    time.sleep(0.05)
    start = time.perf_counter()
    call()
    end = time.perf_counter()
    time.sleep(0.01)
    stop.set()
    thread.join()
    overlaps = [min(b, end) - max(a, start) for a, b in gaps]
    return end - start, max([0.0, *overlaps])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument("--ops", type=int, default=200_000, help="replay lookups (half warm-up)")
    args = parser.parse_args()

    replay = [(1 << 40) + k for k in zipf_keys(args.ops, 100_000, 42)]
    hot = [(1 << 40) + k for k in zipf_keys(20_000, 100_000, 7)]
    fresh: SmartCache[int, int] = SmartCache(max_size=args.small)
    fresh_us = put_get_us(fresh, hot, 1 << 41)
    fresh_ratio = hit_ratio(fresh, replay)

    cache: SmartCache[int, int] = SmartCache(max_size=args.full)
    for k in range(args.full):
        cache.put(k, k)
    rss_before = rss_mib()
    call_s, gap_s = longest_gap_during(lambda: cache.set_max_size(args.small))
    rss_after = rss_mib()
    shrunk_us = put_get_us(cache, hot[:2_000], 1 << 41)
    shrunk_ratio = hit_ratio(cache, replay)

    print(
        f"set_max_size({args.full:,} -> {args.small:,}): {call_s:.3f} s, "
        f"other thread blocked for at most {gap_s:.3f} s"
    )
    print(f"RSS: {rss_before:.1f} MiB before, {rss_after:.1f} MiB after the shrink")
    print(f"put+get: fresh {fresh_us:.2f} us, shrunk {shrunk_us:.2f} us")
    print(f"hit ratio: fresh {100 * fresh_ratio:.2f}%, shrunk {100 * shrunk_ratio:.2f}%")


if __name__ == "__main__":
    main()
