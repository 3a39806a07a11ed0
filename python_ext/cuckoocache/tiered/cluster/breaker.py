"""The circuit breaker of a cluster tier: one :class:`..breaker.Breaker` per primary (shard).

Same interface as :class:`..breaker.Breaker`; a call goes through its key's shard, which is a
Breaker (plus the shard's subscription state): a call for a key whose shard is open, or whose
primary the listener does not know yet, is skipped without contacting Redis, and failures
open only that key's shard. Calls not tied to a key go through one more Breaker, whose
failed writes open every shard.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import Any, cast

from ..breaker import FAILED, Breaker
from ..counters import L2_SKIPPED
from .layout import key_slot

__all__ = ["Shard", "ShardedBreaker"]


class Shard(Breaker):
    """One primary: its breaker (``ok``: recovered and serving) and its subscription."""

    __slots__ = (
        "attempted",
        "changed",
        "check",
        "delay",
        "last_ping",
        "last_seen",
        "live",
        "name",
        "next_attempt",
        "node",
        "pending",
        "pubsub",
        "subscribed",
        "want",
    )

    def __init__(self, name: str, node: Any, *breaker: Any, **callbacks: Any) -> None:
        """``breaker`` and ``callbacks``: the Breaker's arguments."""
        super().__init__(*breaker, **callbacks)
        self.name = name
        self.node = node
        self.want: set[int] = set()  # buckets this primary owns
        self.pending: set[int] = set()  # SSUBSCRIBE sent, not confirmed
        self.subscribed: set[int] = set()
        self.live: frozenset[int] = frozenset()  # slots served from Redis (when ok)
        self.pubsub: Any = None
        self.next_attempt = 0.0
        self.delay = 0.05
        self.last_seen = 0.0
        self.last_ping = 0.0
        self.attempted = False
        self.changed = True  # want or subscribed changed: subscribe what is missing
        self.check = True  # buckets may be ready to serve


def _first_key(args: tuple[Any, ...], kwargs: dict[str, Any]) -> bytes | None:
    keys = kwargs.get("keys")
    if keys:
        return keys[0]  # type: ignore[no-any-return]
    if args and isinstance(args[0], bytes):
        return args[0]
    return None


class ShardedBreaker:
    """:class:`Breaker`'s interface with one breaker per primary: a call for a key whose shard
    is open (or not subscribed yet) is skipped (counted in ``l2_skipped``, returns FAILED, or
    raises ConnectionError with ``raise_on_error``) without contacting Redis; failures open
    only that key's shard. ``ok`` is true while any shard is serving."""

    __slots__ = (
        "_counters",
        "_keyless",
        "_nodes",
        "_raise",
        "_threshold",
        "_unavailable",
        "dirty",
        "shards",
    )

    def __init__(
        self, single: Breaker, client: Any, unavailable: Callable[[], BaseException]
    ) -> None:
        """``single``: the tier's settings, as the Breaker it would use on one server (this
        object takes it over for the calls not tied to a key)."""
        from redis.exceptions import RedisClusterException

        self._counters = single._counters
        self._threshold = single.threshold
        self._raise = single._raise
        self._nodes = client.nodes_manager
        self._unavailable = unavailable
        self.shards: dict[str, Shard] = {}
        self.dirty = True  # the listener should look at the topology again
        # Calls not tied to a key: a failed read opens nothing, a failed write every shard.
        single.errors = (*single.errors, cast("type[BaseException]", RedisClusterException))
        single.threshold = sys.maxsize
        single.on_trip = self.trip_all
        self._keyless = single

    def new_shard(self, name: str, node: Any) -> Shard:
        """A breaker for the primary ``name`` (the listener adds it to ``shards``)."""
        keyless = self._keyless
        return Shard(
            name,
            node,
            self._counters,
            keyless.errors,
            self._threshold,
            self._raise,
            keyless.lock,
            on_interrupt=keyless.on_interrupt,
            on_trip=self._mark_dirty,
        )

    def _mark_dirty(self) -> None:
        self.dirty = True

    @property
    def errors(self) -> tuple[type[BaseException], ...]:
        return self._keyless.errors

    @property
    def lock(self) -> threading.RLock:
        return self._keyless.lock

    @lock.setter
    def lock(self, lock: threading.RLock) -> None:  # a forked child's new lock
        self._keyless.lock = lock
        for shard in list(self.shards.values()):
            shard.lock = lock

    @property
    def ok(self) -> bool:
        return any(s.ok for s in list(self.shards.values()))

    @ok.setter
    def ok(self, value: bool) -> None:
        if not value:
            self.trip_all()

    def shard_of(self, rkey: bytes) -> Shard | None:
        """The shard serving a key, or None if its primary is unknown to the listener or its
        breaker is open. A slot that just moved to a serving shard is used at once (the
        listener subscribes its channel there and then drops the slot's local copies, so an
        invalidation missed meanwhile cannot leave a stale copy behind)."""
        slot = key_slot(rkey)
        nodes = self._nodes.slots_cache.get(slot)
        shard = self.shards.get(nodes[0].name) if nodes else None
        if shard is None or slot not in shard.live:
            self.dirty = True
        if shard is None or not shard.ok:
            return None
        return shard

    def ok_for(self, rkey: bytes) -> bool:
        """Whether Redis is used for ``rkey``: its shard's breaker is closed."""
        return self.shard_of(rkey) is not None

    def _skip(self) -> Any:
        self._counters.add(L2_SKIPPED)
        if self._raise:
            raise self._unavailable()
        return FAILED

    def _breaker_for(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Breaker | None:
        key = _first_key(args, kwargs)
        return self._keyless if key is None else self.shard_of(key)

    def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        breaker = self._breaker_for(args, kwargs)
        return self._skip() if breaker is None else breaker.call(fn, *args, **kwargs)

    def call_write(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        breaker = self._breaker_for(args, kwargs)
        return self._skip() if breaker is None else breaker.call_write(fn, *args, **kwargs)

    def trip(self) -> None:
        """A failure the caller could not tie to a key (``clear()`` failing on some primaries,
        which it tripped already): the listener re-reads the topology; shards that serve keep
        serving."""
        self.dirty = True

    def trip_all(self) -> None:
        """Opens every shard's breaker (``close()``, a forked child)."""
        with self.lock:
            for shard in list(self.shards.values()):
                shard.ok = False
        self.dirty = True

    def shard_stats(self) -> dict[str, Any]:
        shards = list(self.shards.values())
        return {
            "l2_shards": len(shards),
            "l2_shards_available": sum(1 for s in shards if s.ok),
        }
