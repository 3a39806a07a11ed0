"""The tier's statistics counters (what ``TieredCache.stats()`` adds to the local tier's)."""

from __future__ import annotations

import threading

__all__ = ["COUNTERS", "Counters"]

COUNTERS = (
    "l2_hits",  # local misses answered by Redis
    "l2_misses",  # local misses that Redis did not have either
    "l2_errors",  # failed Redis calls (errors, timeouts), and values that did not deserialize
    "l2_writes",  # values and deletions written to Redis
    "l2_round_trips",  # Redis commands (and scripts) sent by callers' threads
    "l2_skipped",  # local misses and writes that skipped Redis (local-only mode)
    "invalidations",  # keys dropped because another instance wrote or deleted them
    "flushes",  # times the local tier was emptied on (re)connection or a remote clear()
    "computations",  # factory / decorated-function calls made on a miss in both tiers
    "lock_waits",  # times a miss waited for another instance's cross-instance lock
    "l2_rejected",  # values read from Redis whose signature failed (secret=): read as misses
    "messages_rejected",  # invalidation messages ignored: malformed, or unsigned/badly signed
    "l2_writes_lost",  # puts that could not reach Redis (their key is deleted there later)
)
L2_HITS, L2_MISSES, L2_ERRORS, L2_WRITES, L2_RTT, L2_SKIPPED = range(6)
INVALIDATIONS, FLUSHES, COMPUTATIONS, LOCK_WAITS = range(6, 10)
L2_REJECTED, MESSAGES_REJECTED, L2_WRITES_LOST = range(10, 13)


class Counters:
    """Thread-safe counters indexed by the constants above. The lock is reentrant: a signal
    handler that uses the tier while its thread is counting must not deadlock."""

    __slots__ = ("_counts", "_lock")

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._counts = [0] * len(COUNTERS)

    def add(self, index: int, n: int = 1) -> None:
        with self._lock:
            self._counts[index] += n

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(zip(COUNTERS, self._counts))

    def reset(self) -> None:
        with self._lock:
            self._counts = [0] * len(COUNTERS)

    def after_fork(self) -> None:
        """In a forked child: a new lock (a parent thread may have held the old one)."""
        self._lock = threading.RLock()
