"""The TieredCache class: a local SmartCache (L1) in front of a shared Redis (L2).

A local hit is one C lookup with no Python frame (``get``, ``[]`` and ``get_or_set`` are those
of the C base ``_core.TierCore``, python_ext/src/tier_core.cpp) and Redis is not contacted. A
local miss reads Redis and fills the local tier with the entry's remaining TTL; a miss in both
tiers computes once per key (the C single-flight of TierCore, and the cross-instance lock if
enabled). Every write publishes an invalidation
in the same server-side script, and the listener thread drops other instances' copies. The
``Watches`` (watch.py) keep a read that raced with a write or an invalidation from filling
the local tier with a stale value. See docs/scaling.md.
"""

from __future__ import annotations

import atexit
import functools
import itertools
import math
import os
import re
import threading
import weakref
from collections.abc import Callable, Hashable
from typing import Any, cast

from .. import _core
from .._mapping import _MISSING, CacheMapping
from .._smartcache import SmartCache
from .breaker import FAILED, Breaker
from .client import glob_escape, make_client, reclaim
from .clock import ServerClock
from .codec import LocalOnlyKey, UnresolvedKey, decode_key, encode_key
from .counters import (
    COMPUTATIONS,
    FLUSHES,
    INVALIDATIONS,
    L2_ERRORS,
    L2_HITS,
    L2_MISSES,
    L2_REJECTED,
    L2_SKIPPED,
    L2_WRITES,
    L2_WRITES_LOST,
    MESSAGES_REJECTED,
    Counters,
)
from .decorator import tier_cached
from .listener import start_listener
from .lock import load_locked
from .messages import BadMessage, parse, sign
from .options import TierOptions
from .scripts import DEL_SCRIPT, SET_SCRIPT, SETNX_SCRIPT, UNLOCK_SCRIPT, Script
from .serializers import UNSET, Rejected, Serializer, ValueCodec
from .tombstones import Tombstones
from .watch import Watches

__all__ = ["TieredCache"]

# Validates a TTL like SmartCache does (TypeError/ValueError naming ttl_seconds).
check_ttl: Callable[[float], None] = cast(Any, _core)._check_ttl

_MAX_TTL = 3_155_760_000.0  # 100 years: the local tier's limit

_NAMESPACE_RE = re.compile(r"[A-Za-z0-9_.:/@+=#-]{1,200}")


_live: weakref.WeakSet[TieredCache] = weakref.WeakSet()


class TieredCache(_core.TierCore, CacheMapping[Any, Any]):
    """A local :class:`SmartCache` in front of a shared Redis, kept coherent across processes.

    ``TieredCache(local=SmartCache(...), redis="redis://127.0.0.1:6379/0",
    namespace="users", serializer="pickle", ttl_seconds=None, ...)``

    - ``local``: the L1 SmartCache (default ``SmartCache()``). It is flushed whenever the tier
      (re)connects to Redis; use one SmartCache per TieredCache.
    - ``redis``: a URL (``redis://``, ``rediss://``, ``unix://``), a ``redis.Redis`` client or
      a ``redis.cluster.RedisCluster`` client.
    - ``namespace``: the key space shared by cooperating instances (letters, digits and
      ``_.:/@+=#-``). Keys are stored as ``{namespace}:<encoded key>`` (on a Redis Cluster
      as ``namespace{<bucket>}<encoded key>``, spread over every shard); two namespaces never
      see each other's keys or invalidations.
    - ``serializer`` (required): ``"pickle"`` (any picklable value; **without** ``secret``,
      **unpickling data from a Redis that someone else can write runs their code**: every
      client that can write the namespace is trusted), ``"json"`` (JSON types only; other
      instances see the JSON round trip, e.g. tuples come back as lists), or a ``(dumps,
      loads)`` pair (or any object with ``dumps`` and ``loads``), ``dumps`` returning bytes or
      str.
    - ``ttl_seconds``: default time-to-live in both tiers (default: the local cache's TTL;
      None: entries do not expire in Redis). Expiry follows Redis's clock (``PX``, ``PTTL``).
    - ``secret`` (recommended): bytes shared by the cooperating instances. Values carry an
      HMAC-SHA256 over the Redis key and the value, and invalidation messages one over the
      message: a value that fails verification reads as a miss (``l2_rejected``) and is never
      deserialized; an unsigned or forged message is ignored (``messages_rejected``).
    - ``options`` (:class:`TierOptions`), or its fields as keyword arguments: ``timeout``
      (default 0.05 s; for a URL or a ``redis.Redis`` client TieredCache uses a pool of its
      own with this timeout and no retries, for a ``RedisCluster`` client a ``RedisCluster`` of
      its own for the same nodes, likewise; ``timeout=None`` uses a passed client as it is; a
      Sentinel client is always used as it is: give it a short ``socket_timeout`` and no
      retries), ``raise_on_error`` (raise Redis errors, and
      ``redis.ConnectionError`` while disconnected, instead of degrading to the local tier),
      ``cross_instance_lock`` with ``lock_ttl_seconds`` and ``lock_wait_seconds``,
      ``health_check_interval``, ``failure_threshold`` (consecutive failed reads that open
      the breaker; a failed write opens it at once) and ``connect_wait_seconds``.

    A key containing a NaN stays in the local tier only (NaN != NaN: no other process can
    look it up). A write that cannot reach Redis is kept locally, counted
    (``l2_writes_lost``; raised with ``raise_on_error``) and its key is deleted in Redis on
    reconnection, so no instance serves the value it replaced. A forked child is a new
    instance: empty local tier, new id, its own listener from its first call that needs Redis.

    The mapping API is SmartCache's: ``get``, ``put``, ``[]``, ``in``, ``del``, ``pop``,
    ``setdefault``, ``update``, ``get_or_set``, ``remove``, ``contains``, ``clear``,
    ``stats``, ``reset_stats``; ``len``, iteration, ``keys``, ``values``, ``items``,
    ``popitem`` and ``size`` see the local tier only. ``tier.cached()`` decorates a function.
    Every method is thread-safe. Use ``close()`` (or ``with``) to stop the listener thread.
    """

    _is_tiered_cache = True  # what @cached(backend=...) checks (it does not import this module)

    __slots__ = (
        "__weakref__",
        "_breaker",
        "_channel",
        "_clock",
        "_closed",
        "_cluster",
        "_codec",
        "_connect_wait",
        "_counters",
        "_decorated",
        "_del_script",
        "_forked",
        "_health_interval",
        "_iid",
        "_lclear",
        "_lcontains",
        "_listener",
        "_lock",
        "_lock_counter",
        "_lock_ttl_ms",
        "_lock_wait",
        "_lpeek",
        "_lput",
        "_lremove",
        "_max_reconnect_delay",
        "_namespace",
        "_ok",
        "_owns_client",
        "_prefix",
        "_raise",
        "_redis",
        "_redis_get",
        "_redis_mod",
        "_set_script",
        "_setnx_script",
        "_stop",
        "_subscribed",
        "_tomb",
        "_ttl",
        "_unlock_script",
        "_use_lock",
        "_watches",
        "is_cluster",
        "options",
    )

    def __init__(
        self,
        local: SmartCache[Any, Any] | None = None,
        redis: Any = None,
        *,
        namespace: str,
        serializer: Serializer = UNSET,
        ttl_seconds: float | None = UNSET,
        secret: bytes | None = None,
        options: TierOptions | None = None,
        **option_overrides: Any,
    ) -> None:
        codec = ValueCodec(serializer, secret)
        opts = TierOptions.resolve(options, option_overrides)
        if local is None:
            local = SmartCache()
        if not isinstance(local, SmartCache):
            raise TypeError(f"local must be a SmartCache, not {type(local).__qualname__}")
        if not isinstance(namespace, str) or not _NAMESPACE_RE.fullmatch(namespace):
            raise ValueError(
                "namespace must be 1 to 200 characters among letters, digits and _.:/@+=#-, "
                f"not {namespace!r}"
            )
        if ttl_seconds is UNSET:
            ttl_seconds = local.get_ttl()
        elif ttl_seconds is not None:
            check_ttl(ttl_seconds)

        import redis as redis_mod  # deferred: cuckoocache does not need redis-py otherwise

        self._redis_mod = redis_mod
        errors: tuple[type[BaseException], ...] = (redis_mod.RedisError, OSError)
        client, owns = make_client(redis_mod, redis, opts.timeout)
        self._redis = client
        self._owns_client = owns
        from redis.cluster import RedisCluster

        self.is_cluster = isinstance(client, RedisCluster)

        self.local = local  # TierCore's: set once
        self._lpeek = local._peek
        self._lput = local.put
        self._lremove = local.remove
        self._lcontains = local.contains
        self._lclear = local.clear

        self._namespace = namespace
        self._prefix = b"{" + namespace.encode() + b"}:"
        self._channel = self._prefix + b"!invalidate"
        self._cluster: Any = None  # a ClusterLayout: keys spread over every shard
        publish_with: Callable[[str], str] = str  # the scripts as they are: PUBLISH
        if self.is_cluster:
            from .cluster import ClusterLayout, sharded_script

            self._cluster = ClusterLayout(namespace.encode())
            self._prefix = namespace.encode()
            publish_with = sharded_script  # SPUBLISH, to the key's shard
        self._codec = codec
        self._ttl: float | None = ttl_seconds
        self.options = opts
        self._raise = opts.raise_on_error
        self._use_lock = opts.cross_instance_lock
        self._lock_ttl_ms = max(1, math.ceil(opts.lock_ttl_seconds * 1000))
        self._lock_wait = float(opts.lock_wait_seconds)
        self._health_interval = float(opts.health_check_interval)
        self._max_reconnect_delay = 1.0

        self._redis_get = client.get
        self._clock = ServerClock()
        self._set_script = Script(client, publish_with(SET_SCRIPT))
        self._del_script = Script(client, publish_with(DEL_SCRIPT))
        self._setnx_script = Script(client, publish_with(SETNX_SCRIPT))
        self._unlock_script = Script(client, UNLOCK_SCRIPT)

        self._lock = threading.RLock()
        self._counters = Counters()
        self._watches = Watches(self._lock)
        self._tomb = Tombstones()
        reclaim_client = functools.partial(reclaim, client)
        self._breaker = Breaker(
            self._counters, errors, opts.failure_threshold, self._raise, self._lock, reclaim_client
        )
        self._connect_wait = float(opts.connect_wait_seconds)
        if self._cluster is not None:
            from .cluster import ShardedBreaker

            sharded = ShardedBreaker(self._breaker, client, self._unavailable)
            self._breaker = cast(Breaker, sharded)  # the same interface: one Breaker per shard
        self._closed = False
        self._forked = False
        self._decorated = False
        self._lock_counter = itertools.count()
        self._iid = os.urandom(8).hex().encode()
        self._subscribed = threading.Event()
        self._stop = threading.Event()
        self._listener: threading.Thread | None = None
        _live.add(self)
        self._start_listener()
        # Wait (briefly) for the first subscription, so that a tier made while Redis is up
        # starts connected rather than local-only.
        self._subscribed.wait(self._connect_wait)

    # ---- hot path: get, [] and get_or_set are TierCore's (C): a local hit, else the methods
    # _get_miss, _getitem_miss and (under single-flight) _load below -------------------------

    def __contains__(self, key: object) -> bool:
        """Whether ``key`` is in the local tier or in Redis (does not fill the local tier)."""
        if self._lcontains(key):
            return True
        return self._l2_exists(key)

    contains = __contains__

    def put(self, key: Hashable, value: Any, ttl_seconds: float | None = None) -> None:
        """Stores ``value`` under ``key`` in both tiers (TTL: ``ttl_seconds``, else the tier's)
        and invalidates other instances' copies. TypeError, with nothing written, if ``value``
        cannot be serialized or ``key`` has no canonical encoding."""
        rkey = self._rkey(key)
        ttl = self._ttl_for(ttl_seconds)
        data = self._pack(value, ttl, rkey)
        if rkey is None:
            self._lput(key, value, ttl)
            return
        self._write(key, rkey, value, data, ttl, explicit=True)

    __setitem__ = put

    # ---- other mapping methods ---------------------------------------------------------------

    def __delitem__(self, key: Hashable) -> None:
        if self._delete(key) is _MISSING:
            raise KeyError(key)

    def remove(self, key: Hashable) -> bool:
        """Removes ``key`` from both tiers (and other instances' local tiers); True if either
        tier had it."""
        return self._delete(key) is not _MISSING

    def pop(self, key: Hashable, default: Any = UNSET) -> Any:
        """Removes ``key`` from both tiers and returns its value; ``default`` if neither tier
        had it, else KeyError."""
        value = self._delete(key, want_value=True)
        if value is _MISSING:
            if default is UNSET:
                raise KeyError(key)
            return default
        return value

    def setdefault(self, key: Hashable, default: Any = None) -> Any:
        """The value of ``key`` (either tier); if absent, stores ``default`` in both tiers
        (atomically in Redis: the first instance to store it wins) and returns it."""
        value = self.get(key, _MISSING)
        if value is not _MISSING:
            return value
        rkey = self._rkey(key)
        ttl = self._ttl
        data = self._pack(default, ttl, rkey)
        if rkey is None:
            return self.local.setdefault(key, default)
        if not self._breaker.ok:
            return self._local_only_write(key, rkey, lambda: self.local.setdefault(key, default))
        old = self._breaker.call_write(
            self._setnx_script, keys=[rkey], args=self._write_args(data, ttl, rkey)
        )
        if old is FAILED:
            return self._local_only_write(key, rkey, lambda: self.local.setdefault(key, default))
        if old is None:  # stored by us
            self._counters.add(L2_WRITES)
            self._write(key, rkey, default, data, ttl, explicit=True, l2=False)
            return default
        existing = self._unpack(old, rkey)
        if existing is not _MISSING:
            return existing[0]
        # Redis holds an unreadable value (corrupt, unsigned, foreign format): it reads as a
        # miss everywhere, so replace it like a missing entry.
        self._write(key, rkey, default, data, ttl, explicit=True)
        return default

    def popitem(self) -> tuple[Any, Any]:
        """Removes (from both tiers) and returns some (key, value) pair of the local tier."""
        for key, _ in self.local._items():
            value = self._delete(key, want_value=True)
            if value is not _MISSING:
                return key, value
        raise KeyError("popitem(): local tier is empty")

    def clear(self) -> None:
        """Empties the namespace: this instance's local tier, the Redis keys, and (through the
        invalidation channel) every other instance's local tier."""
        if self._forked:
            self._after_fork()
        with self._lock:
            self._watches.epoch += 1
            self._lclear()
            if not self._breaker.ok:
                self._tomb.overflow = True  # clear the namespace in Redis on reconnection
                self._counters.add(L2_SKIPPED)
                if self._raise:
                    raise self._unavailable()
                return
        try:
            self._clear_l2()
        except self._breaker.errors:
            self._counters.add(L2_ERRORS)
            with self._lock:
                self._tomb.overflow = True
            self._breaker.trip()
            if self._raise:
                raise

    def __len__(self) -> int:
        """The number of entries in the local tier."""
        return self.local.size()

    def size(self) -> int:
        """The number of entries in the local tier."""
        return self.local.size()

    def _items(self) -> list[tuple[Any, Any]]:
        """A snapshot of the local tier's (key, value) pairs (the mapping base's iteration,
        ``keys()``, ``values()`` and ``items()`` views walk it)."""
        return self.local._items()

    # A TieredCache is a handle on a namespace that other processes share, and its local tier
    # holds whatever this process happened to read: content equality would compare accidents.
    # It keeps identity equality and stays hashable (instances live in a WeakSet for fork).
    __eq__ = object.__eq__
    __hash__ = object.__hash__

    # ---- decorator ----------------------------------------------------------------------------

    def cached(
        self,
        function: Callable[..., Any] | None = None,
        /,
        *,
        typed: bool = False,
        key: Callable[..., Hashable] | None = None,
    ) -> Any:
        """Memoizes a function in this tier: ``@tier.cached`` or ``@tier.cached(typed=True)``.

        The key is built from the arguments as ``@cached`` builds it (or is ``key(*args,
        **kwargs)``), so argument values must be str, bytes, numbers, None, or tuples and
        frozensets of them. A local hit runs entirely in C (the same path as ``@cached``); a
        miss reads Redis, then computes once per key (single-flight, and the cross-instance
        lock if enabled) and stores the result in both tiers. A tier backs one function (the
        key space is the function's arguments): make one TieredCache (namespace) per function.
        The wrapper has ``cache_info()``, ``cache_clear()`` (clears the namespace),
        ``cache_parameters()``, ``cache_stats()``, ``cache_size()``, ``cache`` (the local
        SmartCache) and ``tier``. ``async def`` functions are not supported.
        """
        return tier_cached(self, function, typed, key)

    def _cached_load(
        self,
        function: Callable[..., Any],
        key: Hashable,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> Any:
        call = functools.partial(function, *args, **kwargs)
        return self._load_once(key, call, None)

    # ---- stats and lifecycle -----------------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        """The local tier's stats (``hits``, ``misses``, ... of SmartCache.stats()) and the
        tier's: ``l2_hits``, ``l2_misses``, ``l2_errors``, ``l2_writes``, ``l2_round_trips``,
        ``l2_skipped``, ``invalidations``, ``flushes``, ``computations``, ``lock_waits``,
        ``l2_available`` (bool: connected and subscribed) and ``namespace``."""
        s = self.local.stats()
        s.update(self._counters.snapshot())
        s["l2_available"] = self._breaker.ok
        if self._cluster is not None:
            s.update(self._breaker.shard_stats())  # type: ignore[attr-defined]
        s["namespace"] = self._namespace
        return s

    def reset_stats(self) -> None:
        """Zeroes the local tier's and the tier's counters."""
        self.local.reset_stats()
        self._counters.reset()

    def cleanup(self) -> int:
        """Removes expired entries from the local tier now; returns how many."""
        return self.local.cleanup()

    @property
    def namespace(self) -> str:
        """The namespace."""
        return self._namespace

    @property
    def instance_id(self) -> str:
        """This instance's id, as carried in its invalidation messages."""
        return self._iid.decode()

    @property
    def redis(self) -> Any:
        """The redis-py client used for data (a pool of TieredCache's own unless
        ``timeout=None`` or a cluster client was given)."""
        return self._redis

    def close(self) -> None:
        """Stops the listener thread and closes the connections TieredCache opened. The tier
        keeps working as a local-only cache afterwards. Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._breaker.ok = False
        self._stop.set()
        listener = self._listener
        if listener is not None and listener is not threading.current_thread():
            listener.join(5.0)
        if self._owns_client:
            try:
                self._redis.close()
            except Exception:  # pragma: no cover - closing a broken pool
                pass

    def __enter__(self) -> TieredCache:
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Closes the tier (see ``close``) and clears its local tier."""
        self.close()
        self._lclear()

    def __repr__(self) -> str:
        state = "closed" if self._closed else ("connected" if self._breaker.ok else "local-only")
        return (
            f"TieredCache(namespace={self._namespace!r}, {state}, "
            f"serializer={self._codec.name!r}, local={self.local!r})"
        )

    # ---- internals: L2 calls and the breaker --------------------------------------------------

    def _unavailable(self) -> BaseException:
        return self._redis_mod.ConnectionError(
            f"TieredCache(namespace={self._namespace!r}): Redis is unavailable "
            "(local-only until the listener reconnects)"
        )

    def _skip(self) -> None:
        """Notes an operation that could not use Redis (raises with raise_on_error)."""
        self._counters.add(L2_SKIPPED)
        if self._raise:
            raise self._unavailable()

    def _ttl_for(self, ttl_seconds: float | None) -> float | None:
        if ttl_seconds is None:
            return self._ttl
        check_ttl(ttl_seconds)
        return ttl_seconds

    def _rkey(self, key: Hashable) -> bytes | None:
        """The Redis key of ``key``, or None for a key kept in the local tier only (one that
        contains a NaN). TypeError for a key that has no encoding. In a forked child, first
        makes this tier a new instance (see ``_after_fork``)."""
        if self._forked:
            self._after_fork()
        try:
            encoded = encode_key(key)
        except LocalOnlyKey:
            return None
        if self._cluster is None:
            return self._prefix + encoded
        return self._cluster.rkey(encoded)  # type: ignore[no-any-return]

    def _pack(self, value: Any, ttl: float | None, rkey: bytes | None) -> bytes:
        return self._codec.pack(value, ttl, rkey or b"", self._clock.now_ms())

    def _unpack(self, raw: bytes, rkey: bytes) -> Any:
        """(value, remaining TTL or None), or _MISSING if expired or unreadable: a bad
        signature counts as ``l2_rejected`` (and is never deserialized), anything else as
        ``l2_errors``. The remaining time is on the server's clock (see clock.py)."""
        now = self._clock.now_ms()
        try:
            value, deadline = self._codec.unpack(raw, rkey, now)
        except Rejected:
            self._counters.add(L2_REJECTED)
            return _MISSING
        except Exception:
            self._counters.add(L2_ERRORS)
            return _MISSING
        if not deadline:
            return value, None
        remaining = (deadline - now) / 1000
        if remaining <= 0:
            return _MISSING
        return value, min(remaining, _MAX_TTL)

    def _message(self, op: bytes, payload: bytes = b"") -> bytes:
        return sign(self._codec.secret, self._channel, self._iid + op + payload)

    def _write_args(self, data: bytes, ttl: float | None, rkey: bytes) -> list[Any]:
        px = 0 if ttl is None else max(1, math.ceil(ttl * 1000))
        return [data, px, *self._invalidation(rkey)]

    def _invalidation(self, rkey: bytes) -> tuple[bytes, bytes]:
        """(channel, message) announcing a write or delete of ``rkey``. On a cluster the
        channel is the key's bucket channel; messages are signed for the namespace's channel
        name either way (the one ``_on_message`` checks)."""
        if self._cluster is None:
            return self._channel, self._message(b"k", rkey[len(self._prefix) :])
        return self._cluster.channel(rkey), self._message(b"k", self._cluster.encoded(rkey))

    def _start_listener(self) -> None:
        if self._cluster is None:
            start_listener(self)
        else:
            from .cluster import start_cluster_listener

            start_cluster_listener(self)

    # ---- internals: reads ------------------------------------------------------------------------

    def _getitem_miss(self, key: Hashable) -> Any:
        value = self._get_miss(key, _MISSING)
        if value is _MISSING:
            raise KeyError(key)
        return value

    def _get_miss(self, key: Hashable, default: Any) -> Any:
        rkey = self._rkey(key)
        if rkey is None:
            return default
        if not self._breaker.ok:
            self._skip()
            return default
        value = self._l2_read(key, rkey)
        return default if value is _MISSING else value

    def _l2_read(self, key: Hashable, rkey: bytes, count: bool = True, fill: bool = True) -> Any:
        """The value in Redis (filling the local tier unless an invalidation or a write of the
        key raced with the read), or _MISSING."""
        slot: list[Any] = []
        found: Any = _MISSING
        try:
            self._watches.enter(key, False, slot)
            raw = self._breaker.call(self._redis_get, rkey)
            if raw is None:
                if count:
                    self._counters.add(L2_MISSES)
            elif raw is not FAILED:
                found = self._unpack(raw, rkey)
                if count:
                    self._counters.add(L2_HITS if found is not _MISSING else L2_MISSES)
        finally:
            if slot:
                filler = self._lput if fill and found is not _MISSING else None
                self._watches.leave_read(key, slot, found, filler)
        return _MISSING if found is _MISSING else found[0]

    def _l2_exists(self, key: object) -> bool:
        rkey = self._rkey(key)
        if rkey is None:
            return False
        if not self._breaker.ok:
            self._skip()
            return False
        # A read, not EXISTS: an unreadable value must not be "in" while get misses it.
        found = self._l2_read(key, rkey, count=False, fill=False)
        return found is not _MISSING

    def _load(self, key: Hashable, factory: Callable[[], Any], ttl_seconds: float | None) -> Any:
        """The load of a key that missed the local tier (TierCore runs it under single-flight,
        python_ext/src/tier_core.cpp): Redis, else compute (with the cross-instance
        lock if enabled) and store in both tiers."""
        rkey = self._rkey(key)
        ttl = self._ttl if ttl_seconds is None else ttl_seconds
        if rkey is None:
            self._counters.add(COMPUTATIONS)
            value = factory()
            self._lput(key, value, ttl)
            return value
        if self._breaker.ok:
            value = self._l2_read(key, rkey)
            if value is not _MISSING:
                return value
            if self._use_lock and self._breaker.ok:
                return load_locked(self, key, rkey, factory, ttl)
        else:
            self._skip()
        return self._compute_and_store(key, rkey, factory, ttl)

    def _compute_and_store(
        self, key: Hashable, rkey: bytes, factory: Callable[[], Any], ttl: float | None
    ) -> Any:
        self._counters.add(COMPUTATIONS)
        value = factory()
        data = self._pack(value, ttl, rkey)
        return self._write(key, rkey, value, data, ttl, explicit=False)

    # ---- internals: writes -------------------------------------------------------------------

    def _write(
        self,
        key: Hashable,
        rkey: bytes,
        value: Any,
        data: bytes,
        ttl: float | None,
        explicit: bool,
        l2: bool = True,
    ) -> Any:
        """Stores in the local tier and (l2) in Redis with the invalidation message. An
        explicit write replaces; a computed value (not explicit) only fills a missing entry
        (SET NX in the script): if another instance stored one first, that one is kept in
        both tiers. Returns the value now cached."""
        slot: list[Any] = []
        try:
            self._watches.enter(key, True, slot)
            if explicit or not l2:
                self._lput(key, value, ttl)
            if not l2:
                return value
            done = skipped = False
            try:
                if self._breaker.ok:
                    args = self._write_args(data, ttl, rkey)
                    script = self._set_script if explicit else self._setnx_script
                    r = self._breaker.call_write(script, keys=[rkey], args=args)
                    done = r is not FAILED
                    if done and not explicit and r is not None:
                        found = self._unpack(r, rkey)
                        if found is _MISSING:  # unreadable: replace it, as if it were missing
                            r = self._breaker.call_write(self._set_script, keys=[rkey], args=args)
                            done = r is not FAILED
                        else:
                            value, ttl = found  # keep the other instance's value and expiry
                    if done:
                        self._counters.add(L2_WRITES)
                        if not explicit:
                            self._lput(key, value, ttl)
                else:
                    skipped = True
                    self._skip()
            finally:
                if not done:
                    if explicit and (skipped or not self._breaker.ok_for(rkey)):
                        # Delete it from Redis (and other instances) once reconnected: the
                        # write is lost from Redis, and counted.
                        self._add_tombstone(rkey)
                        self._counters.add(L2_WRITES_LOST)
                    elif explicit:
                        # Interrupted (e.g. KeyboardInterrupt) with Redis up: whether Redis
                        # took the write is unknown, so read it back next time.
                        self._lremove(key)
                    elif skipped or not self._breaker.ok_for(rkey):
                        self._lput(key, value, ttl)  # local-only mode: keep it locally
            return value
        finally:
            if slot:
                self._watches.leave_write(key, slot, self._lremove)

    def _add_tombstone(self, rkey: bytes) -> None:
        with self._lock:
            self._tomb.add(rkey)

    def _local_only_write(self, key: Hashable, rkey: bytes, action: Callable[[], Any]) -> Any:
        self._counters.add(L2_SKIPPED)
        self._counters.add(L2_WRITES_LOST)
        with self._lock:
            result = action()
            self._add_tombstone(rkey)
        if self._raise:
            raise self._unavailable()
        return result

    def _delete(self, key: Hashable, want_value: bool = False) -> Any:
        """Removes key from both tiers and invalidates other instances. Returns the old value
        (local copy preferred; with want_value, Redis's if only Redis had it), True if only
        Redis had it and not want_value, or _MISSING if neither had it."""
        rkey = self._rkey(key)
        if rkey is None:
            return self.local.pop(key, _MISSING)
        slot: list[Any] = []
        try:
            self._watches.enter(key, True, slot)
            old = self.local.pop(key, _MISSING)
            raw: Any = FAILED
            try:
                if self._breaker.ok:
                    raw = self._breaker.call_write(
                        self._del_script, keys=[rkey], args=[*self._invalidation(rkey)]
                    )
                else:
                    self._skip()
            finally:
                if raw is FAILED:
                    self._add_tombstone(rkey)  # delete it from Redis once reconnected
            if raw is FAILED:
                return old
            self._counters.add(L2_WRITES)
            if old is _MISSING and raw is not None:
                # An unreadable value reads as absent here too (its bytes are gone anyway).
                found = self._unpack(raw, rkey)
                if found is _MISSING:
                    return _MISSING
                return found[0] if want_value else True
            return old
        finally:
            if slot:
                self._watches.leave_write(key, slot, self._lremove)

    def _clear_l2(self) -> None:
        if self._cluster is not None:
            from .cluster import clear_cluster

            return clear_cluster(self)
        pattern = glob_escape(self._prefix) + b"*"
        batch: list[bytes] = []
        for rkey in self._redis.scan_iter(match=pattern, count=1000):
            batch.append(rkey)
            if len(batch) >= 500:
                self._redis.unlink(*batch)
                batch.clear()
        if batch:
            self._redis.unlink(*batch)
        self._redis.publish(self._channel, self._message(b"c"))
        self._counters.add(L2_WRITES)

    # ---- internals: the listener thread --------------------------------------------------------

    def _after_fork(self) -> None:
        """In a forked child, at its first call that needs Redis: start a listener (the
        parent's did not fork) and wait for it like ``__init__`` does, so that the child
        behaves like a new instance (its first write reaches Redis)."""
        with self._lock:
            if not self._forked:
                return
            self._forked = False
            if self._closed:
                return
            self._start_listener()
            subscribed = self._subscribed
        subscribed.wait(self._connect_wait)

    def _invalidate_local(self, key: Hashable) -> None:
        with self._lock:
            self._watches.invalidate(key)
            self._lremove(key)
        self._counters.add(INVALIDATIONS)

    def _flush_local(self) -> None:
        with self._lock:
            self._watches.epoch += 1
            self._lclear()
        self._counters.add(FLUSHES)

    def _on_message(self, data: Any) -> None:
        """Applies one invalidation message. Malformed ones, and with ``secret=`` unsigned
        or badly signed ones, are ignored and counted (``messages_rejected``)."""
        try:
            iid, op, payload = parse(self._codec.secret, self._channel, data)
        except BadMessage:
            self._counters.add(MESSAGES_REJECTED)
            return
        if iid == self._iid:
            return  # our own write: already applied locally
        if op == b"c":
            self._flush_local()
            return
        try:
            key = decode_key(payload)
        except UnresolvedKey:
            # A key naming a class this process has not imported: it cannot tell which entry
            # that is, so it drops everything rather than keep a stale one.
            self._flush_local()
            return
        except ValueError:  # malformed (or nested too deep): no writer of ours sent it
            self._counters.add(MESSAGES_REJECTED)
            return
        try:
            self._invalidate_local(key)
        except Exception:  # e.g. a key whose hash fails: it cannot be in the local tier
            self._counters.add(MESSAGES_REJECTED)


def _after_fork_in_child() -> None:
    # The child is a new instance: new locks (a parent thread may have held them), a new
    # identity, none of the parent's tombstones (the parent replays them), and an empty local
    # tier (its entries would otherwise be served without ever hearing an invalidation). It
    # connects at its first call that needs Redis (``_after_fork``).
    for tier in list(_live):
        tier._lock = threading.RLock()
        tier._breaker.lock = tier._lock
        tier._counters.after_fork()
        tier._watches = Watches(tier._lock)
        tier._tomb = Tombstones()
        tier._iid = os.urandom(8).hex().encode()
        tier._breaker.ok = False
        tier._forked = True
        try:
            tier._lclear()
        except Exception:  # pragma: no cover - best effort: a value's __del__ raised
            pass


def _close_all() -> None:
    # At exit: stop and join the listener threads, so that none is inside the extension
    # while the interpreter finalizes.
    for tier in list(_live):
        try:
            tier.close()
        except Exception:  # pragma: no cover - best effort at exit
            pass


os.register_at_fork(after_in_child=_after_fork_in_child)
atexit.register(_close_all)
