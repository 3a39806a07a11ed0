"""Redis Cluster support for TieredCache: where a namespace's keys live, invalidation over
sharded pub/sub, and a circuit breaker per shard.

Why: one namespace must use every shard of a cluster (memory and traffic), a write's
invalidation must go to the shard that owns the key rather than to every node, and a lost node
must degrade only the keys it owns.

- **Keys**: ``<namespace>{<tag>}<encoded key>``. The namespace is a plain prefix (no braces are
  allowed in it, so the first ``{`` ends it); ``<tag>`` is one of ``BUCKETS`` (1,024) hash tags
  chosen by the CRC16 of the encoded key, each one a different slot, spaced ``STRIDE`` (16)
  slots apart and offset by the namespace's own CRC16. Any slot layout (contiguous ranges, as
  ``redis-cli --cluster create`` makes, or scattered after resharding) gives each shard a share
  of the namespace proportional to its slots, within 16 slots. Why 1,024 buckets and not the
  whole key hashed over all 16,384 slots: every instance subscribes to one channel per slot the
  namespace uses, and a sharded subscription costs the server about 300 bytes (measured:
  16,384 subscriptions of one instance took 4.9 MB across 3 primaries and 0.5 s to subscribe),
  so 1,024 keeps it at 300 KB and 30 ms per instance and namespace while still spreading the
  namespace evenly over clusters of up to hundreds of shards.
- **Invalidation**: the channel of a bucket is ``<namespace>!inv{<tag>}``, in the same slot as
  the bucket's keys, so the write scripts' ``SPUBLISH`` runs on the primary that owns the key
  and reaches only the instances subscribed on that shard (Redis 7.0+). One listener thread per
  tier holds one connection per primary, subscribed to the channels of the buckets that primary
  owns, and follows topology changes (a primary lost, a failover, slots moved: Redis sends
  ``sunsubscribe`` for the channels of a slot that leaves a node).
- **Breaker per shard**: a key is served by Redis while the breaker of its slot's primary is
  closed; otherwise that key is local-only (writes remembered as tombstones) while every other
  shard keeps working. A shard's breaker opens on its failures (``failure_threshold`` reads in
  a row, one write, its subscription lost or silent) and closes once the listener has
  subscribed all of the shard's channels, replayed the tombstones of its slots and dropped the
  local copies of its keys, as a single Redis recovers. After a failover the new primary is a
  new shard (closed breaker only after that recovery). A slot that moves to a serving shard is
  used at once; once its channel is subscribed there, the local copies of its keys are dropped
  (invalidations published on the new owner before that are not lost for long).
"""

from __future__ import annotations

import itertools
import select
import threading
import time
import weakref
from binascii import crc_hqx
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from .breaker import FAILED
from .client import glob_escape
from .codec import decode_key
from .counters import FLUSHES, L2_ERRORS, L2_RTT, L2_SKIPPED, L2_WRITES, Counters

if TYPE_CHECKING:
    from .tier import TieredCache

__all__ = [
    "BUCKETS",
    "STRIDE",
    "ClusterLayout",
    "ShardedBreaker",
    "clear_cluster",
    "sharded_script",
    "start_cluster_listener",
]

SLOTS = 16384
BUCKETS = 1024
STRIDE = SLOTS // BUCKETS

_ALPHABET = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_tags: list[bytes] | None = None


def slot_tags() -> list[bytes]:
    """For each slot, a 3-character hash tag that hashes to it (computed once: ~0.1 s)."""
    global _tags
    if _tags is None:
        tags = [b""] * SLOTS
        left = SLOTS
        for chars in itertools.product(_ALPHABET, repeat=3):
            tag = bytes(chars)
            slot = crc_hqx(tag, 0) & (SLOTS - 1)
            if not tags[slot]:
                tags[slot] = tag
                left -= 1
                if not left:
                    break
        assert not left
        _tags = tags
    return _tags


def key_slot(key: bytes) -> int:
    """The Redis Cluster slot of ``key`` (hash tags included)."""
    start = key.find(b"{")
    if start > -1:
        end = key.find(b"}", start + 1)
        if end > start + 1:
            key = key[start + 1 : end]
    return crc_hqx(key, 0) & (SLOTS - 1)


class ClusterLayout:
    """Where a namespace's keys and invalidation channels live in a cluster."""

    __slots__ = ("bucket_of_slot", "channels", "prefix", "slots", "tags")

    def __init__(self, namespace: bytes) -> None:
        offset = crc_hqx(namespace, 0) % STRIDE
        all_tags = slot_tags()
        self.prefix = namespace
        self.slots = [b * STRIDE + offset for b in range(BUCKETS)]
        self.tags = [all_tags[s] for s in self.slots]
        self.channels = [namespace + b"!inv{" + t + b"}" for t in self.tags]
        self.bucket_of_slot = {s: b for b, s in enumerate(self.slots)}

    def rkey(self, encoded: bytes) -> bytes:
        """The Redis key of an encoded key."""
        return b"%s{%s}%s" % (self.prefix, self.tags[crc_hqx(encoded, 0) % BUCKETS], encoded)

    def channel(self, rkey: bytes) -> bytes:
        """The invalidation channel of a Redis key (same slot)."""
        n = len(self.prefix)
        return self.prefix + b"!inv" + rkey[n : rkey.index(b"}", n) + 1]

    def encoded(self, rkey: bytes) -> bytes:
        """The encoded key inside a Redis key (what invalidation messages carry)."""
        return rkey[rkey.index(b"}", len(self.prefix)) + 1 :]

    def scan_pattern(self) -> bytes:
        return glob_escape(self.prefix) + b"\\{*"


class _Shard:
    """One primary: its subscription connection and its breaker."""

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
        "ok",
        "pending",
        "pubsub",
        "streak",
        "subscribed",
        "want",
    )

    def __init__(self, name: str, node: Any) -> None:
        self.name = name
        self.node = node
        self.ok = False  # recovered and serving
        self.streak = 0  # consecutive failed reads
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


def _nothing() -> None:
    pass


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
        "_nodes",
        "_raise",
        "_unavailable",
        "dirty",
        "errors",
        "lock",
        "on_interrupt",
        "shards",
        "threshold",
    )

    def __init__(
        self,
        counters: Counters,
        errors: tuple[type[BaseException], ...],
        threshold: int,
        raise_on_error: bool,
        lock: threading.RLock,
        client: Any,
        unavailable: Callable[[], BaseException],
    ) -> None:
        from redis.exceptions import RedisClusterException

        self._counters = counters
        self.errors: tuple[type[BaseException], ...] = (
            *errors,
            cast("type[BaseException]", RedisClusterException),
        )
        self.threshold = threshold
        self._raise = raise_on_error
        self.lock = lock
        self._nodes = client.nodes_manager
        self._unavailable = unavailable
        self.shards: dict[str, _Shard] = {}
        self.dirty = True  # the listener should look at the topology again
        # Called when something other than a Redis error (KeyboardInterrupt, ...) escapes a
        # call (see Breaker.on_interrupt).
        self.on_interrupt: Callable[[], Any] = _nothing

    @property
    def ok(self) -> bool:
        return any(s.ok for s in list(self.shards.values()))

    @ok.setter
    def ok(self, value: bool) -> None:
        if not value:
            self.trip()

    def shard_of(self, rkey: bytes) -> _Shard | None:
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

    def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        key = _first_key(args, kwargs)
        shard = None
        if key is not None:
            shard = self.shard_of(key)
            if shard is None:
                return self._skip()
        try:
            result = fn(*args, **kwargs)
        except self.errors:
            self._counters.add(L2_RTT)
            self._counters.add(L2_ERRORS)
            if shard is not None:
                shard.streak += 1
                if shard.streak >= self.threshold:
                    self.trip_shard(shard)
            if self._raise:
                raise
            return FAILED
        except BaseException:
            self.on_interrupt()
            raise
        if shard is not None and shard.streak:
            shard.streak = 0
        self._counters.add(L2_RTT)
        return result

    def call_write(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        key = _first_key(args, kwargs)
        shard = None
        if key is not None:
            shard = self.shard_of(key)
            if shard is None:
                return self._skip()
        try:
            result = fn(*args, **kwargs)
        except self.errors:
            self._counters.add(L2_RTT)
            self._counters.add(L2_ERRORS)
            if shard is None:
                self.trip()
            else:
                self.trip_shard(shard)
            if self._raise:
                raise
            return FAILED
        except BaseException:
            self.on_interrupt()
            raise
        self._counters.add(L2_RTT)
        return result

    def trip_shard(self, shard: _Shard) -> None:
        with self.lock:
            shard.ok = False
        self.dirty = True

    def trip(self) -> None:
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


# ---- clearing the namespace on every primary ---------------------------------------------------


def clear_cluster(tier: TieredCache, publish: bool = True) -> None:
    """Deletes the namespace's keys on every primary (SCAN + UNLINK on each), then publishes a
    clear on one bucket channel (every instance subscribes to all of them). Primaries that
    fail are tripped and the clear is redone on recovery; raises the first error after trying
    every primary."""
    client = tier._redis
    layout: ClusterLayout = tier._cluster
    breaker = cast(ShardedBreaker, tier._breaker)
    pattern = layout.scan_pattern()
    first_error: BaseException | None = None
    cleared: list[Any] = []
    for node in client.get_primaries():
        conn = client.get_redis_connection(node)
        try:
            batch: list[bytes] = []
            for rkey in conn.scan_iter(match=pattern, count=1000):
                batch.append(rkey)
                if len(batch) >= 500:
                    _unlink(conn, batch)
            _unlink(conn, batch)
            cleared.append(node)
        except breaker.errors as e:
            first_error = first_error or e
            shard = breaker.shards.get(node.name)
            if shard is not None:
                breaker.trip_shard(shard)
    if publish and cleared:
        for b, slot in enumerate(layout.slots):
            nodes = client.nodes_manager.slots_cache.get(slot)
            if nodes and nodes[0] in cleared:
                try:
                    client.get_redis_connection(nodes[0]).execute_command(
                        "SPUBLISH", layout.channels[b], tier._message(b"c")
                    )
                    break
                except breaker.errors as e:
                    first_error = first_error or e
    tier._counters.add(L2_WRITES)
    if first_error is not None:
        raise first_error


def _unlink(conn: Any, batch: list[bytes]) -> None:
    if batch:
        pipe = conn.pipeline(transaction=False)
        for rkey in batch:
            pipe.unlink(rkey)
        pipe.execute(raise_on_error=False)
        batch.clear()


# ---- the listener --------------------------------------------------------------------------------


def start_cluster_listener(tier: TieredCache) -> None:
    """Starts (or restarts, after fork) the tier's cluster listener thread."""
    tier._stop = threading.Event()
    tier._subscribed = threading.Event()
    thread = threading.Thread(
        target=_listen,
        args=(weakref.ref(tier), tier._stop),
        name=f"cuckoocache-tier-{tier._namespace}",
        daemon=True,
    )
    tier._listener = thread
    weakref.finalize(tier, tier._stop.set)
    thread.start()


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
                    shard = breaker.shards[name] = _Shard(name, node)
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

    def drop_pubsub(self, shard: _Shard) -> None:
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

    def fail(self, tier: TieredCache, shard: _Shard, now: float) -> None:
        tier._counters.add(L2_ERRORS)
        self.breaker.trip_shard(shard)
        with tier._lock:
            self.drop_pubsub(shard)
        shard.attempted = True
        shard.next_attempt = now + shard.delay
        shard.delay = min(shard.delay * 2, 1.0)

    def connect(self, shard: _Shard, now: float) -> None:
        own = _pubsub_client(self.redis_mod, self.client.get_redis_connection(shard.node))
        self.owned_clients[shard.name] = own
        shard.pubsub = own.pubsub()
        shard.last_seen = shard.last_ping = now
        shard.pubsub.ping()  # connects (raises now if the node is down)

    def subscribe_missing(self, shard: _Shard) -> None:
        missing = shard.want - shard.subscribed - shard.pending
        for b in sorted(missing):
            # One command per channel: each is in its own slot.
            shard.pubsub.ssubscribe(self.layout.channels[b])
            shard.pending.add(b)

    def handle(self, tier: TieredCache, shard: _Shard, msg: dict[str, Any], now: float) -> None:
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

    def refused(self, shard: _Shard, error: BaseException) -> None:
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

    def activate(self, tier: TieredCache, shard: _Shard) -> None:
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
        # Drop the local copies of the new slots' keys. The epoch bump first: a read in flight
        # (it may have read before the subscription) does not fill; reads that start later are
        # covered by the subscription. The scan runs without the tier's lock (a large local
        # tier takes a while), and only then does the shard serve.
        with tier._lock:
            tier._epoch += 1
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

    def service(self, tier: TieredCache, shard: _Shard, now: float) -> None:
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
                    self.client.get_redis_connection(shard.node).ping()
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
            if tomb.overflow:
                if not all(s.ok for s in breaker.shards.values()):
                    return  # cleared when the last shard recovers
                mine = set(tomb.keys)
                overflow = True
            else:
                mine = {k for k in tomb.keys if breaker.shard_of(k) is not None}
                overflow = False
            tomb.keys -= mine
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


def sharded_script(script: str) -> str:
    """A write script publishing its invalidation with SPUBLISH (to the key's shard)."""
    return script.replace("redis.call('PUBLISH'", "redis.call('SPUBLISH'")


def derive_cluster_client(spec: Any, timeout: float) -> Any:
    """A RedisCluster client of TieredCache's own for the cluster ``spec`` talks to: the same
    nodes, credentials and TLS settings, with ``timeout`` for connecting and for every
    command, and no retries. (redis-py's defaults, 10 retries with exponential backoff, can
    hold a call for seconds when a primary dies; the tier must degrade to the local tier
    instead and let the listener follow the failover.)"""
    from redis.backoff import NoBackoff
    from redis.cluster import ClusterNode, RedisCluster
    from redis.retry import Retry

    nodes = spec.get_nodes() or spec.nodes_manager.startup_nodes.values()
    kwargs: dict[str, Any] = {}
    first = next(iter(nodes), None)
    conn = getattr(first, "redis_connection", None)
    if conn is not None:
        pool = conn.connection_pool
        kwargs = dict(pool.connection_kwargs)
        ssl = "ssl" in pool.connection_class.__name__.lower()
        if ssl:
            kwargs["ssl"] = True
    for k in (
        "host",
        "port",
        "retry",
        "redis_connect_func",
        "orig_host_address",
        "orig_socket_timeout",
        "orig_socket_connect_timeout",
        "oss_cluster_maint_notifications_handler",
        "maint_notifications_pool_handler",
        "maint_notifications_config",
        "connection_pool",
        "connection_class",
    ):
        kwargs.pop(k, None)
    kwargs.update(
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        retry=Retry(NoBackoff(), 0),
        decode_responses=False,  # values, keys and messages are bytes
    )
    startup = [ClusterNode(n.host, n.port) for n in nodes]
    return RedisCluster(startup_nodes=startup, **kwargs)
