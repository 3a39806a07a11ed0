"""Watches: what keeps a read from Redis from filling the local tier with a stale value.

Every key with an L2 read or a write in flight has a ``Watch``: a generation and the number of
readers and writers. A write or an invalidation bumps the generation; every flush of the local
tier bumps the tier's ``epoch``. A read fills the local tier only if, when it ends, neither
changed since it began and no write of the key is in flight. Registration is interrupt-proof:
the count and the caller's record of it change in one statement with no point where CPython
delivers an interrupt in between, and leaving decrements before any call, so a
``KeyboardInterrupt`` never leaves a key blocked from filling. Guarded by the tier's lock.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Any

__all__ = ["Watch", "Watches"]


class Watch:
    """Per-key bookkeeping while an L2 read or a write of the key is in flight."""

    __slots__ = ("gen", "readers", "writers")

    def __init__(self) -> None:
        self.gen = 0
        self.readers = 0
        self.writers = 0


class Watches:
    __slots__ = ("_by_key", "epoch", "lock")

    def __init__(self, lock: threading.RLock) -> None:
        self.lock = lock
        self._by_key: dict[Hashable, Watch] = {}
        self.epoch = 0

    def __len__(self) -> int:
        """Keys with a read or a write registered (for tests)."""
        return sum(1 for w in self._by_key.values() if w.readers or w.writers)

    def enter(self, key: Hashable, writer: bool, slot: list[Any]) -> None:
        """Registers a reader or a writer of ``key``; ``slot`` receives (watch, generation,
        epoch) in the same statement as the count: the caller's ``finally`` leaves exactly
        when ``slot`` is filled."""
        with self.lock:
            watch = self._by_key.get(key)
            if watch is None:
                watch = self._by_key[key] = Watch()
            if writer:
                watch.writers, watch.gen, slot[:] = (
                    watch.writers + 1,
                    watch.gen + 1,
                    (watch, watch.gen + 1, self.epoch),
                )
            else:
                watch.readers, slot[:] = watch.readers + 1, (watch, watch.gen, self.epoch)

    def leave_read(
        self,
        key: Hashable,
        slot: list[Any],
        found: Any,
        fill: Callable[[Hashable, Any, Any], Any] | None,
    ) -> None:
        """Unregisters a reader; calls ``fill(key, value, ttl)`` with ``found`` (a (value,
        ttl) pair) unless a write, an invalidation or a flush raced with the read."""
        watch, gen, epoch = slot
        watch.readers -= 1  # before any call: see the module docstring
        with self.lock:
            if fill is not None and watch.gen == gen and watch.writers == 0 and epoch == self.epoch:
                fill(key, found[0], found[1])
            self._forget(key, watch)

    def leave_write(self, key: Hashable, slot: list[Any], drop: Callable[[Hashable], Any]) -> None:
        """Unregisters a writer. If another write or an invalidation of the key overlapped
        this one, which value Redis kept is unknown here: ``drop(key)`` removes the local
        copy so that the next read fetches it."""
        watch = slot[0]
        overlapped: bool = watch.gen != slot[1]
        # Decrement before any call; bump so that readers that started during the write
        # do not fill.
        watch.gen, watch.writers = watch.gen + 1, watch.writers - 1
        with self.lock:
            if overlapped:
                drop(key)
            self._forget(key, watch)

    def invalidate(self, key: Hashable) -> None:
        """Another instance changed ``key``: reads in flight must not fill (caller holds the
        lock and drops the local copy)."""
        watch = self._by_key.get(key)
        if watch is not None:
            watch.gen += 1

    def _forget(self, key: Hashable, watch: Watch) -> None:
        if watch.readers == 0 and watch.writers == 0 and self._by_key.get(key) is watch:
            del self._by_key[key]
