"""Circuit breaker: whether a tier uses Redis (``ok``), and the wrapper every Redis call of a
caller's thread goes through.

A failed call is counted and returns ``FAILED`` (or raises, with ``raise_on_error``).
``threshold`` consecutive failed reads, or one failed write (its invalidation could not be
published), open the breaker: the tier is local-only until the listener thread has reconnected,
replayed the tombstones and flushed the local tier, and closes it again.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from .counters import L2_ERRORS, L2_RTT, Counters

__all__ = ["FAILED", "Breaker"]

FAILED: Any = object()  # an L2 call that failed (already counted and handled)


def _nothing() -> None:
    pass


class Breaker:
    """One circuit breaker. A cluster tier has one per primary (``cluster.Shard`` is a Breaker
    with its shard's subscription state) and one for calls not tied to a key."""

    __slots__ = (
        "_counters",
        "_raise",
        "errors",
        "lock",
        "ok",
        "on_interrupt",
        "on_trip",
        "streak",
        "threshold",
    )

    def __init__(
        self,
        counters: Counters,
        errors: tuple[type[BaseException], ...],
        threshold: int,
        raise_on_error: bool,
        lock: threading.RLock,
        on_interrupt: Callable[[], Any] = _nothing,
        on_trip: Callable[[], Any] = _nothing,
    ) -> None:
        self._counters = counters
        self.errors = errors
        self.threshold = threshold
        self._raise = raise_on_error
        self.lock = lock  # the tier's lock: ``ok`` changes under it
        self.streak = 0  # consecutive failed reads
        self.ok = False
        # Called when something other than a Redis error (KeyboardInterrupt, ...) escapes a
        # call: returns connections that redis-py may have leaked (client.reclaim).
        self.on_interrupt = on_interrupt
        self.on_trip = on_trip  # called after trip() has opened the breaker

    def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Runs one Redis read (or a write that needs no invalidation); on failure counts it
        and returns FAILED (or raises, with raise_on_error)."""
        return self._call(False, fn, args, kwargs)

    def call_write(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Runs a Redis write that publishes an invalidation; a failure opens the breaker at
        once (the caller remembers the key as a tombstone)."""
        return self._call(True, fn, args, kwargs)

    def _call(
        self, write: bool, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        try:
            result = fn(*args, **kwargs)
        except self.errors:
            self._counters.add(L2_RTT)
            self._counters.add(L2_ERRORS)
            self.streak += 1
            if write or self.streak >= self.threshold:
                self.trip()
            if self._raise:
                raise
            return FAILED
        except BaseException:
            self.on_interrupt()
            raise
        if self.streak:
            self.streak = 0
        self._counters.add(L2_RTT)
        return result

    def ok_for(self, rkey: bytes) -> bool:
        """Whether Redis is used for ``rkey`` (``ok``; per shard on a cluster)."""
        return self.ok

    def trip(self) -> None:
        """Opens the breaker: local-only until the listener has reconnected and flushed."""
        with self.lock:
            self.ok = False
        self.on_trip()
