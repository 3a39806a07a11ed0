"""EvictionPolicy: how a full cache chooses what to evict.

A plain :class:`enum.IntEnum` defined in Python (not a Boost.Python enum), so ``list()``,
pickling, ``copy``, ``help()`` and ``EvictionPolicy(0)`` behave as for any enum. The values are
those of the engine's ``cuckoocache::Policy`` (engine/cache_config.h); the extension module
imports this class at load time and uses it for every policy it accepts or returns.
"""

from __future__ import annotations

import enum


class EvictionPolicy(enum.IntEnum):
    """How a full cache chooses what to evict.

    - ``LRU``: least recently used (exact up to 64 entries, sampled beyond).
    - ``LFU``: least frequently used, ties to the least recent (exact up to 64 entries; beyond,
      sampled, with approximate counts that age).
    - ``TTL``: soonest to expire first.
    - ``ADAPTIVE``: W-TinyLFU, a recency window plus a frequency-guarded main region, the
      window sized by simulating small caches.
    """

    LRU = 0
    LFU = 1
    TTL = 2
    ADAPTIVE = 3

    def __repr__(self) -> str:
        return f"EvictionPolicy.{self.name}"

    def __str__(self) -> str:
        return f"EvictionPolicy.{self.name}"
