"""The listener thread of a cluster tier: one subscription connection per primary, recovery
per shard, and the topology followed.

Each primary's connection is subscribed (``SSUBSCRIBE``, one command per channel: each is in
its own slot) to the channels of the buckets it owns. The slot map is re-read when something
changes (a connection lost or silent, a ``sunsubscribe`` pushed by a node that lost a slot, a
MOVED reply to a subscription, a key whose primary is unknown) and periodically. A shard
serves once all its channels are subscribed and the tier has replayed the tombstones of its
slots and dropped its local copies of their keys.
"""

from __future__ import annotations

import select
import threading
import time
import weakref
from typing import TYPE_CHECKING, Any, cast

from ..codec import decode_key
from ..counters import FLUSHES, L2_ERRORS
from ..listener import start_listener
from .breaker import Shard, ShardedBreaker
from .clear import clear_cluster, clear_primaries
from .layout import ClusterLayout, key_slot

if TYPE_CHECKING:
    from ..tier import TieredCache

__all__ = ["start_cluster_listener"]


def start_cluster_listener(tier: TieredCache) -> None:
    """Starts (or restarts, after fork) the tier's cluster listener thread."""
    start_listener(tier, _listen)


def _pubsub_client(redis_mod: Any, node_client: Any) -> Any:
    """A client of its own for a node's subscription: the node's address, credentials and
    timeouts, and no retries (a failed connection is replaced, not retried in place)."""
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    pool = node_client.connection_pool
    kwargs = dict(pool.connection_kwargs)
    for k in ("orig_host_address", "orig_socket_timeout", "orig_socket_connect_timeout"):
        kwargs.pop(k, None)
    kwargs["retry"] = Retry(NoBackoff(), 0)
    kwargs["decode_responses"] = False  # channels and messages are bytes
    own = redis_mod.ConnectionPool(connection_class=pool.connection_class, **kwargs)
    return redis_mod.Redis(connection_pool=own)


class _Listener:
    """State of one tier's cluster listener thread (runs in that thread only)."""

    def __init__(self, tier: TieredCache) -> None:
        self.client = tier._redis
        self.redis_mod = tier._redis_mod
        self.layout: ClusterLayout = tier._cluster
        self.breaker = cast(ShardedBreaker, tier._breaker)
        self.interval = tier._health_interval
        self.errors = self.breaker.errors
        self.channel_bucket = {c: b for b, c in enumerate(self.layout.channels)}
        self.next_refresh = 0.0
        self.next_check = 0.0
        self.next_full_refresh = 0.0
        self.next_orphans = 0.0
        self.next_clock_sync = 0.0
        self.owned_clients: dict[str, Any] = {}

    # -- topology

    def reconcile(self, tier: TieredCache, now: float) -> None:
        """Reads the slot owners (refreshing them from the cluster when something changed)
        and assigns each bucket to its primary's shard."""
        breaker = self.breaker
        nm = self.client.nodes_manager
        if now < self.next_refresh or not (breaker.dirty or now >= self.next_check):
            return
        # Something changed (a shard failed, a slot moved, the data path met an unknown
        # owner): ask the cluster, at most every 0.2 s; else re-read the client's map (which
        # MOVED redirections update) every health interval, and ask the cluster every 5.
        self.next_refresh = now + 0.2
        self.next_check = now + self.interval
        if breaker.dirty or now >= self.next_full_refresh:
            breaker.dirty = False
            self.next_full_refresh = now + 5 * self.interval
            try:
                nm.initialize()
            except Exception:  # every startup node down: keep the old map
                tier._counters.add(L2_ERRORS)
        owners: dict[str, tuple[Any, set[int]]] = {}
        for b, slot in enumerate(self.layout.slots):
            nodes = nm.slots_cache.get(slot)
            if nodes:
                owners.setdefault(nodes[0].name, (nodes[0], set()))[1].add(b)
        with tier._lock:
            for name, gone in list(breaker.shards.items()):
                if name not in owners:
                    del breaker.shards[name]
                    gone.ok = False
                    self.drop_pubsub(gone)
            for name, (node, buckets) in owners.items():
                shard = breaker.shards.get(name)
                if shard is None:
                    shard = breaker.shards[name] = breaker.new_shard(name, node)
                shard.node = node
                lost = shard.want - buckets
                if buckets != shard.want:
                    shard.changed = True
                shard.want = buckets
                if lost:
                    lost_slots = {self.layout.slots[b] for b in lost}
                    shard.live = frozenset(shard.live - lost_slots)
                    shard.subscribed -= lost
                    shard.pending -= lost

    # -- one shard's connection

    def drop_pubsub(self, shard: Shard) -> None:
        pubsub, shard.pubsub = shard.pubsub, None
        shard.changed = True
        shard.pending = set()
        shard.subscribed = set()
        shard.live = frozenset()
        if pubsub is not None:
            try:
                pubsub.close()
            except Exception:
                pass
        own = self.owned_clients.pop(shard.name, None)
        if own is not None:
            try:
                own.close()
            except Exception:
                pass

    def fail(self, tier: TieredCache, shard: Shard, now: float) -> None:
        tier._counters.add(L2_ERRORS)
        shard.trip()
        with tier._lock:
            self.drop_pubsub(shard)
        shard.attempted = True
        shard.next_attempt = now + shard.delay
        shard.delay = min(shard.delay * 2, 1.0)

    def connect(self, shard: Shard, now: float) -> None:
        own = _pubsub_client(self.redis_mod, self.client.get_redis_connection(shard.node))
        self.owned_clients[shard.name] = own
        shard.pubsub = own.pubsub()
        shard.last_seen = shard.last_ping = now
        shard.pubsub.ping()  # connects (raises now if the node is down)

    def subscribe_missing(self, shard: Shard) -> None:
        missing = shard.want - shard.subscribed - shard.pending
        for b in sorted(missing):
            # One command per channel: each is in its own slot.
            shard.pubsub.ssubscribe(self.layout.channels[b])
            shard.pending.add(b)

    def handle(self, tier: TieredCache, shard: Shard, msg: dict[str, Any], now: float) -> None:
        shard.last_seen = now
        kind = msg["type"]
        if kind == "smessage":
            tier._on_message(msg["data"])
        elif kind == "ssubscribe":
            b = self.channel_bucket.get(msg["channel"])
            if b is not None:
                shard.pending.discard(b)
                if b in shard.want:
                    shard.subscribed.add(b)
                    shard.changed = True
        elif kind == "sunsubscribe":
            # The node no longer owns the channel's slot (resharding, failover).
            b = self.channel_bucket.get(msg["channel"])
            if b is not None:
                with tier._lock:
                    shard.subscribed.discard(b)
                    shard.live = frozenset(shard.live - {self.layout.slots[b]})
                shard.changed = True
            self.breaker.dirty = True

    def refused(self, shard: Shard, error: BaseException) -> None:
        """Handles an error reply to an SSUBSCRIBE: MOVED names the slot, which is dropped
        from this shard until the topology is read again; anything else (CLUSTERDOWN during a
        failover, ...) makes the shard resubscribe what is missing on a later pass."""
        self.breaker.dirty = True
        b = self.layout.bucket_of_slot.get(getattr(error, "slot_id", -1))
        if b is not None:
            shard.pending.discard(b)
            shard.want.discard(b)
        else:
            shard.pending.clear()
            shard.changed = True
        shard.next_attempt = time.monotonic() + 0.1

    def activate(self, tier: TieredCache, shard: Shard) -> None:
        """Serves the shard's subscribed buckets from Redis: replays the tombstones of their
        slots, drops the local copies of their keys (messages may have been missed before
        the subscription), then marks them live (and the shard ok)."""
        layout = self.layout
        slots = frozenset(layout.slots[b] for b in shard.subscribed & shard.want)
        new = slots if not shard.ok else slots - shard.live
        if shard.ok and not new:
            shard.live = slots
            return
        with tier._lock:
            tomb = tier._tomb
            mine = {k for k in tomb.keys if key_slot(k) in new}
            tomb.keys -= mine
            overflow = tomb.overflow
        try:
            if overflow:
                # Writes were not all remembered (or clear() could not reach Redis): clear the
                # namespace on every primary that answers, this shard's at least. The flag
                # stays until every primary has been cleared (replay_orphans).
                failed, error = clear_primaries(tier)
                if shard.name in failed and error is not None:
                    raise error
                if not failed:
                    with tier._lock:
                        tomb.overflow = False
            for rkey in mine:
                tier._del_script(keys=[rkey], args=[*tier._invalidation(rkey)])
        except BaseException:
            with tier._lock:
                tomb.restore(mine, False)
            raise
        # Drop the local copies of the new slots' keys. The epoch bump first: a read in flight
        # (it may have read before the subscription) does not fill; reads that start later are
        # covered by the subscription. The scan runs without the tier's lock (a large local
        # tier takes a while), and only then does the shard serve.
        with tier._lock:
            tier._watches.epoch += 1
        for key in tier.local.keys():
            try:
                found = tier._rkey(key)
                slot = -1 if found is None else key_slot(found)
            except Exception:
                slot = -2
            if slot == -2 or slot in new:
                tier._lremove(key)
        with tier._lock:
            shard.live = slots
            shard.ok = True
            shard.streak = 0
        tier._counters.add(FLUSHES)

    def service(self, tier: TieredCache, shard: Shard, now: float) -> None:
        if shard.pubsub is None:
            if now < shard.next_attempt:
                return
            self.connect(shard, now)
        if shard.changed:
            shard.changed = False
            shard.check = True
            self.subscribe_missing(shard)
        pubsub = shard.pubsub
        for _ in range(1000):
            try:
                msg = pubsub.get_message(timeout=0.0)
            except self.redis_mod.ResponseError as e:
                # An error reply to an SSUBSCRIBE (the connection is fine): the slot is not
                # (or no longer, or not yet) served by this node.
                self.refused(shard, e)
                continue
            if msg is None:
                break
            self.handle(tier, shard, msg, now)
        if shard.pubsub is None:
            return
        if (not shard.ok or shard.check) and not shard.changed:
            complete = not shard.pending and shard.subscribed >= shard.want
            if complete and now >= shard.next_attempt:
                try:
                    node_client = self.client.get_redis_connection(shard.node)
                    tier._clock.sync(node_client)  # TTL deadlines on the server's clock
                    self.activate(tier, shard)
                    shard.check = False
                    shard.delay = 0.05
                    shard.attempted = True
                except self.errors:
                    tier._counters.add(L2_ERRORS)
                    shard.next_attempt = now + shard.delay
                    shard.delay = min(shard.delay * 2, 1.0)
        if now - shard.last_ping >= self.interval:
            pubsub.ping()
            shard.last_ping = now
            if shard.ok and now >= self.next_clock_sync:
                # Follow the server's clock (one shard's; the nodes' clocks agree as far as
                # NTP keeps them).
                self.next_clock_sync = now + self.interval
                tier._clock.sync(self.client.get_redis_connection(shard.node))
        if now - shard.last_seen > 3 * self.interval:
            raise self.redis_mod.TimeoutError("the invalidation subscription went silent")

    def replay_orphans(self, tier: TieredCache, now: float) -> None:
        """Replays the tombstones of keys whose shard is serving. A shard's recovery replays
        those of its slots, but a write can fail on a primary that then leaves the topology
        (a failover) after its successor has recovered: its tombstone would otherwise wait
        for that shard's next recovery while Redis keeps the value the write replaced."""
        if now < self.next_orphans or not (tier._tomb.keys or tier._tomb.overflow):
            return
        self.next_orphans = now + 0.2
        breaker = self.breaker
        with tier._lock:
            tomb = tier._tomb
            # A pending full clear waits until every shard serves.
            overflow = tomb.overflow and all(s.ok for s in breaker.shards.values())
            mine = {k for k in tomb.keys if breaker.shard_of(k) is not None}
            tomb.keys -= mine
            if overflow:
                tomb.overflow = False
        try:
            if overflow:
                clear_cluster(tier)
            for rkey in mine:
                tier._del_script(keys=[rkey], args=[*tier._invalidation(rkey)])
        except BaseException:
            with tier._lock:
                tomb.restore(mine, overflow)
            raise
        # Our own copies too (a later write may have stored one): the other instances drop
        # theirs on the message, which this instance ignores as its own.
        for rkey in mine:
            try:
                key = decode_key(self.layout.encoded(rkey))
            except ValueError:
                tier._flush_local()
                return
            tier._invalidate_local(key)

    def wait(self, timeout: float) -> None:
        socks = []
        for shard in list(self.breaker.shards.values()):
            conn = getattr(shard.pubsub, "connection", None)
            sock = getattr(conn, "_sock", None)
            if sock is not None:
                socks.append(sock)
        if socks:
            try:
                select.select(socks, [], [], timeout)
                return
            except (OSError, ValueError):
                pass
        time.sleep(timeout)

    def close(self) -> None:
        for shard in list(self.breaker.shards.values()):
            self.drop_pubsub(shard)


def _listen(ref: weakref.ReferenceType[TieredCache], stop: threading.Event) -> None:
    """The cluster listener thread: one subscription per primary, recovery per shard, and the
    topology followed. Holds the tier only through ``ref``."""
    tier = ref()
    if tier is None:
        return
    listener = _Listener(tier)
    with tier._lock:
        listener.breaker.shards.clear()  # a forked child starts afresh
        listener.breaker.dirty = True
    del tier
    try:
        while not stop.is_set():
            tier = ref()
            if tier is None:
                return
            now = time.monotonic()
            try:
                listener.reconcile(tier, now)
            except Exception:  # pragma: no cover - a bug must not kill invalidation silently
                import traceback

                traceback.print_exc()
            for shard in list(listener.breaker.shards.values()):
                if stop.is_set():
                    break
                try:
                    listener.service(tier, shard, now)
                except listener.errors:
                    listener.fail(tier, shard, now)
                except Exception:  # pragma: no cover - a bug must not kill invalidation
                    import traceback

                    traceback.print_exc()
                    listener.fail(tier, shard, now)
            try:
                listener.replay_orphans(tier, now)
            except listener.errors:
                tier._counters.add(L2_ERRORS)  # kept; retried on a later pass
            shards = list(listener.breaker.shards.values())
            if shards and all(s.attempted for s in shards):
                tier._subscribed.set()
            del tier
            listener.wait(0.1)
    finally:
        listener.close()
