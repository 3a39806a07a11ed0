"""Tombstones: the Redis keys an instance wrote or deleted while it could not reach Redis.

On reconnection the instance deletes each of them in Redis and publishes its invalidation, so
no instance keeps a value that a write made during the outage replaced. Past ``LIMIT`` keys, or
after a ``clear()`` made while cut off, the whole namespace is cleared instead (``overflow``).
Not thread-safe by itself: the tier guards it with its lock.
"""

from __future__ import annotations

__all__ = ["LIMIT", "Tombstones"]

LIMIT = 100_000


class Tombstones:
    __slots__ = ("keys", "overflow")

    def __init__(self) -> None:
        self.keys: set[bytes] = set()
        self.overflow = False

    def add(self, rkey: bytes) -> None:
        if len(self.keys) < LIMIT:
            self.keys.add(rkey)
        else:
            self.overflow = True

    def __bool__(self) -> bool:
        return bool(self.keys) or self.overflow

    def take(self) -> tuple[set[bytes], bool]:
        """Removes and returns (keys, overflow)."""
        keys, overflow = self.keys, self.overflow
        self.keys = set()
        self.overflow = False
        return keys, overflow

    def restore(self, keys: set[bytes], overflow: bool) -> None:
        """Puts back what ``take`` returned (the replay failed)."""
        self.keys |= keys
        self.overflow = self.overflow or overflow
