"""cuckoocache.tiered.watch alone: when a read from Redis may fill the local tier."""

from __future__ import annotations

import threading
from collections.abc import Hashable
from typing import Any

from cuckoocache.tiered.watch import Watches


def read(watches: Watches, key: str, during: Any = None) -> list[tuple[Hashable, Any, Any]]:
    """A read of ``key`` (with ``during()`` racing it); what it filled."""
    filled: list[tuple[Hashable, Any, Any]] = []
    slot: list[Any] = []
    watches.enter(key, False, slot)
    if during is not None:
        during()
    watches.leave_read(key, slot, ("v", 1.0), lambda *a: filled.append(a))
    return filled


def test_a_quiet_read_fills_and_leaves_nothing_registered() -> None:
    watches = Watches(threading.RLock())
    assert read(watches, "k") == [("k", "v", 1.0)]
    assert len(watches) == 0 and watches._by_key == {}


def test_a_racing_write_invalidation_or_flush_prevents_the_fill() -> None:
    watches = Watches(threading.RLock())
    dropped: list[Hashable] = []

    def write() -> None:
        slot: list[Any] = []
        watches.enter("k", True, slot)
        watches.leave_write("k", slot, dropped.append)

    def flush() -> None:
        watches.epoch += 1

    assert read(watches, "k", write) == []
    assert read(watches, "k", lambda: watches.invalidate("k")) == []
    assert read(watches, "k", flush) == []
    assert dropped == [] and len(watches) == 0


def test_a_read_during_a_write_does_not_fill_and_overlapping_writes_drop() -> None:
    watches = Watches(threading.RLock())
    dropped: list[Hashable] = []
    first: list[Any] = []
    watches.enter("k", True, first)
    assert read(watches, "k") == []  # a write in flight
    second: list[Any] = []
    watches.enter("k", True, second)
    watches.leave_write("k", second, dropped.append)
    watches.leave_write("k", first, dropped.append)  # overlapped by the second
    assert dropped == ["k"] and len(watches) == 0
