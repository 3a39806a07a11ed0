"""ServerClock: this process's estimate of the Redis server's clock, for TTL deadlines.

Redis expires entries on its own clock (``PX``). The local tier needs the remaining time of a
value it fills from Redis, so the value's header carries its deadline on the server's clock,
and every instance reads that clock the same way: its own monotonic clock plus an offset to
the server's, measured with ``TIME`` (midpoint of the round trip) whenever the listener
connects and at every health check. A client whose wall clock is off by an hour therefore
keeps and drops entries at the same moments as everyone else; the error is half a round trip
plus drift between two measurements. Until the first measurement, the wall clock stands in.
"""

from __future__ import annotations

import time
from typing import Any

__all__ = ["ServerClock"]


class ServerClock:
    __slots__ = ("offset_ms", "synced")

    def __init__(self) -> None:
        self.offset_ms = time.time() * 1000 - time.monotonic() * 1000
        self.synced = False

    def now_ms(self) -> float:
        """The server's current time, in ms since the epoch (estimated)."""
        return time.monotonic() * 1000 + self.offset_ms

    def sync(self, client: Any) -> None:
        """Measures the offset with one ``TIME`` round trip (raises redis-py's errors)."""
        before = time.monotonic()
        reply = client.time()
        after = time.monotonic()
        if isinstance(reply, dict):  # a cluster client: one reply per node
            reply = next(iter(reply.values()))
        seconds, micros = reply
        self.offset_ms = seconds * 1000 + micros / 1000 - (before + after) * 500
        self.synced = True
