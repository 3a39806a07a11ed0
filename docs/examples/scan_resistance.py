"""Which policies keep a hot working set through a scan of one-hit keys (the README's claim).

A 100-entry cache; 50 hot keys, each looked up 20 times (stored on a miss); then 1,000 keys
that are seen once. Prints, per policy with its defaults, how many hot keys survive, over 5
trials. LRU and TTL admit everything, so a long enough scan flushes the hot set; LFU's
frequency counts and ADAPTIVE's (W-TinyLFU) admission sketch keep it.

    python docs/examples/scan_resistance.py
"""

from __future__ import annotations

from cuckoocache import EvictionPolicy, SmartCache


def hot_keys_kept(policy: EvictionPolicy, trial: int) -> int:
    cache: SmartCache[tuple[str, int, int], int] = SmartCache(max_size=100, policy=policy)
    for _ in range(20):
        for h in range(50):
            if cache.get(("hot", 0, h)) is None:
                cache[("hot", 0, h)] = h
    for s in range(1000):
        if cache.get(("scan", trial, s)) is None:
            cache[("scan", trial, s)] = s
    return sum(("hot", 0, h) in cache for h in range(50))


if __name__ == "__main__":
    for policy in EvictionPolicy:
        kept = [hot_keys_kept(policy, trial) for trial in range(5)]
        print(f"{policy.name:<9} hot keys kept (of 50) after a 1,000-key scan, 5 trials: {kept}")
