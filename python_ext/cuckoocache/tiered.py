"""TieredCache: a SmartCache in front of a shared Redis, with cross-instance invalidation.

Layout (see docs/scaling.md for the consistency it gives, the failure modes and the costs):

- **L1** is a local :class:`SmartCache`. A local hit is one C lookup; Redis is not contacted.
- **L2** is Redis (standalone, or redis-py's ``RedisCluster``). A local miss reads L2 and
  fills L1 with the entry's remaining TTL. A miss in both tiers, in ``get_or_set`` and in
  ``tier.cached``, computes once per key across the process's threads (single-flight) and,
  with ``cross_instance_lock=True``, once across instances (``SET NX PX`` lock, bounded wait).
- **Invalidation**: every write and delete publishes the key on the namespace's pub/sub
  channel in the same server-side script as the write; every instance runs a listener thread
  that drops its local copy. Messages carry the writer's instance id, so an instance ignores
  its own.
- **Failures**: a Redis error or timeout (50 ms by default) switches the instance to
  local-only mode (a circuit breaker: L2 is not tried again until it is back). The listener
  thread reconnects by itself; on reconnection the instance deletes from L2 every key it
  wrote or deleted while it was cut off, publishes those invalidations, and flushes its local
  tier before using L2 again. Calls never raise Redis errors unless ``raise_on_error=True``.

Keys: str, bytes, int, float, bool, None, and tuples and frozensets of those (what ``@cached``
builds from such arguments, typed or not, included) are encoded into Redis keys canonically,
following dict equality (``1``, ``1.0`` and ``True`` are one key); any other key type raises
TypeError. Keys live under ``{namespace}:`` (a Redis Cluster hash tag: one namespace is one
slot). Values are serialized with the ``serializer`` the caller chose explicitly.

redis-py is imported when the first TieredCache is made, so ``import cuckoocache`` does not
need it.
"""

from __future__ import annotations

import atexit
import functools
import inspect
import itertools
import json
import math
import os
import pickle
import re
import struct
import sys
import threading
import time
import weakref
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, MutableMapping
from typing import TYPE_CHECKING, Any, Union, cast

from . import _core
from ._cached import CacheInfo
from ._single_flight import _MISSING, SingleFlight
from ._smartcache import SmartCache

if TYPE_CHECKING:
    import redis as _redis_mod

    RedisClient = Union[_redis_mod.Redis, Any]

__all__ = ["TieredCache", "decode_key", "encode_key"]

# "pickle", "json", a (dumps, loads) pair, or an object with dumps and loads methods.
Serializer = Any

_UNSET: Any = object()
_FAILED: Any = object()  # an L2 call that failed (already counted and handled)

# ---- key encoding -------------------------------------------------------------------------------
#
# A Redis key is  b"{" + namespace + b"}:" + encode_key(key).  encode_key is canonical (equal keys
# give equal bytes, following dict rules) and decode_key inverts it, so an invalidation message
# that carries the encoded key lets every instance find the key in its local tier.
#
#   top level str       b"s:" + UTF-8 (the common case, kept readable)
#   None                b"N"
#   int, bool, and a float with an integral value      b"i" + decimal + b";"
#   other float         b"f" + repr + b";"   (nan, inf, -inf included)
#   str inside a tuple  b"s" + byte length + b":" + UTF-8
#   bytes               b"b" + length + b":" + bytes
#   tuple               b"(" + items + b")"
#   frozenset           b"{" + sorted encoded items + b"}"
#   @cached's keyword marker   b"K"
#   a class (typed=True keys)  b"T" + length + b":" + module + b":" + qualname
#
# Nothing at the top level other than a str starts with b"s:", and lock keys use b"!lock:",
# which no encoded key starts with.

# The marker object @cached puts between positional and keyword arguments.
_KW_MARK: Any = cast(tuple[Any, ...], _core.make_key((), {"_": 0}, False))[0]

# Validates a TTL like SmartCache does (TypeError/ValueError naming ttl_seconds).
_check_ttl: Callable[[float], None] = cast(Any, _core)._check_ttl


def _encode_into(key: Any, out: list[bytes]) -> None:
    t = type(key)
    if t is str or isinstance(key, str):
        b = str.encode(key, "utf-8", "surrogatepass")
        out.append(b"s%d:" % len(b))
        out.append(b)
    elif t is int or t is bool or (isinstance(key, int) and t is not float):
        out.append(b"i%d;" % int(key))
    elif key is None:
        out.append(b"N")
    elif t is tuple or isinstance(key, tuple):
        out.append(b"(")
        for item in key:
            _encode_into(item, out)
        out.append(b")")
    elif isinstance(key, float):
        if key.is_integer():
            out.append(b"i%d;" % int(key))
        else:
            out.append(b"f" + float.__repr__(key).encode("ascii") + b";")
    elif isinstance(key, bytes):
        out.append(b"b%d:" % len(key))
        out.append(bytes(key))
    elif key is _KW_MARK:
        out.append(b"K")
    elif isinstance(key, frozenset):
        items = []
        for item in key:
            sub: list[bytes] = []
            _encode_into(item, sub)
            items.append(b"".join(sub))
        out.append(b"{" + b"".join(sorted(items)) + b"}")
    elif isinstance(key, type):
        name = f"{key.__module__}:{key.__qualname__}".encode("utf-8", "surrogatepass")
        out.append(b"T%d:" % len(name))
        out.append(name)
    else:
        raise TypeError(
            "TieredCache keys must be str, bytes, int, float, bool, None, or tuples or "
            f"frozensets of those (what @cached builds from such arguments); got "
            f"{type(key).__qualname__}"
        )


def encode_key(key: Hashable) -> bytes:
    """The canonical bytes TieredCache uses for ``key`` in Redis (after the namespace prefix).

    Equal keys (dict rules: ``1 == 1.0 == True``) give equal bytes. TypeError for a key of a
    type that has no canonical encoding (see the module docstring).
    """
    if isinstance(key, str):
        return b"s:" + str.encode(key, "utf-8", "surrogatepass")
    out: list[bytes] = []
    _encode_into(key, out)
    return b"".join(out)


class _KeyDecodeError(ValueError):
    pass


# Classes that are not reachable by their module and name.
_UNNAMED_TYPES = {
    f"builtins:{t.__qualname__}": t for t in (type(None), type(...), type(NotImplemented))
}


def _resolve_type(name: str) -> type:
    if name in _UNNAMED_TYPES:
        return _UNNAMED_TYPES[name]
    module_name, _, qualname = name.partition(":")
    obj: Any = sys.modules.get(module_name)
    if obj is None:
        raise _KeyDecodeError(f"module {module_name!r} is not imported")
    for part in qualname.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            raise _KeyDecodeError(f"cannot resolve {name!r}")
    if not isinstance(obj, type):
        raise _KeyDecodeError(f"{name!r} is not a class")
    return obj


def _decode_at(data: bytes, i: int) -> tuple[Any, int]:
    tag = data[i : i + 1]
    if tag == b"N":
        return None, i + 1
    if tag == b"K":
        return _KW_MARK, i + 1
    if tag == b"i" or tag == b"f":
        end = data.index(b";", i)
        text = data[i + 1 : end].decode("ascii")
        return (int(text) if tag == b"i" else float(text)), end + 1
    if tag in (b"s", b"b", b"T"):
        colon = data.index(b":", i)
        n = int(data[i + 1 : colon])
        start = colon + 1
        raw = data[start : start + n]
        if len(raw) != n:
            raise _KeyDecodeError("truncated")
        if tag == b"b":
            return raw, start + n
        text = raw.decode("utf-8", "surrogatepass")
        return (text if tag == b"s" else _resolve_type(text)), start + n
    if tag == b"(" or tag == b"{":
        close = b")" if tag == b"(" else b"}"
        items = []
        i += 1
        while data[i : i + 1] != close:
            if i >= len(data):
                raise _KeyDecodeError("truncated")
            item, i = _decode_at(data, i)
            items.append(item)
        return (tuple(items) if tag == b"(" else frozenset(items)), i + 1
    raise _KeyDecodeError(f"bad tag {tag!r} at {i}")


def decode_key(data: bytes) -> Hashable:
    """Inverse of :func:`encode_key`. ValueError if ``data`` is not an encoded key (or names a
    class that is not importable by that name in this process)."""
    if data[:2] == b"s:":
        return data[2:].decode("utf-8", "surrogatepass")
    try:
        key, end = _decode_at(data, 0)
    except (IndexError, ValueError) as e:
        raise ValueError(f"not an encoded TieredCache key: {data[:80]!r} ({e})") from e
    if end != len(data):
        raise ValueError(f"not an encoded TieredCache key: {data[:80]!r} (trailing bytes)")
    return key  # type: ignore[no-any-return]


# ---- serialization -----------------------------------------------------------------------------

_HEADER = struct.Struct(">BQ")  # format version 1, absolute expiry in ms since the epoch (0: none)
_FORMAT = 1


def _json_dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _resolve_serializer(serializer: Any) -> tuple[str, Callable[[Any], Any], Callable[[Any], Any]]:
    if serializer is _UNSET:
        raise TypeError(
            "TieredCache() needs serializer=: 'pickle' (any picklable value; values are "
            "unpickled from Redis, so only with a Redis that only trusted clients can write), "
            "'json' (JSON values only), or a (dumps, loads) pair of functions"
        )
    if isinstance(serializer, str):
        if serializer == "pickle":
            dumps = functools.partial(pickle.dumps, protocol=pickle.HIGHEST_PROTOCOL)
            return "pickle", dumps, pickle.loads
        if serializer == "json":
            return "json", _json_dumps, json.loads
        raise ValueError(
            f"serializer must be 'pickle', 'json' or a (dumps, loads) pair, not {serializer!r}"
        )
    if isinstance(serializer, tuple):
        if len(serializer) == 2 and callable(serializer[0]) and callable(serializer[1]):
            name = getattr(serializer[0], "__qualname__", type(serializer[0]).__qualname__)
            return f"custom ({name})", serializer[0], serializer[1]
        raise TypeError("serializer=(dumps, loads) needs two callables")
    dumps_attr = getattr(serializer, "dumps", None)
    loads_attr = getattr(serializer, "loads", None)
    if callable(dumps_attr) and callable(loads_attr):
        name = getattr(serializer, "__name__", type(serializer).__qualname__)
        return f"custom ({name})", dumps_attr, loads_attr
    raise TypeError(
        "serializer must be 'pickle', 'json', a (dumps, loads) pair, or an object with dumps "
        f"and loads methods, not {type(serializer).__qualname__}"
    )


# ---- server-side scripts (one round trip each; they work on Redis Cluster because each
#      touches one key, and PUBLISH from a script reaches subscribers on every node) ----------

# KEYS[1] value key; ARGV: payload, px (0: no expiry), channel, message
_SET_SCRIPT = """
if ARGV[2] == '0' then redis.call('SET', KEYS[1], ARGV[1])
else redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) end
redis.call('PUBLISH', ARGV[3], ARGV[4])
return 1
"""
# KEYS[1] value key; ARGV: channel, message. Returns the old payload (or nil).
_DEL_SCRIPT = """
local old = redis.call('GETDEL', KEYS[1])
redis.call('PUBLISH', ARGV[1], ARGV[2])
return old
"""
# KEYS[1] value key; ARGV: payload, px, channel, message. Returns the existing payload, or nil
# if it stored ARGV[1].
_SETNX_SCRIPT = """
local old = redis.call('GET', KEYS[1])
if old then return old end
if ARGV[2] == '0' then redis.call('SET', KEYS[1], ARGV[1])
else redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) end
redis.call('PUBLISH', ARGV[3], ARGV[4])
return false
"""
# KEYS[1] lock key; ARGV[1] token. Deletes the lock only if this instance still holds it.
_UNLOCK_SCRIPT = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""

_NAMESPACE_RE = re.compile(r"[A-Za-z0-9_.:/@+=#-]{1,200}")

# Stats counters (indexes into TieredCache._counts).
_COUNTERS = (
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
)
_L2_HITS, _L2_MISSES, _L2_ERRORS, _L2_WRITES, _L2_RTT, _L2_SKIPPED = range(6)
_INVALIDATIONS, _FLUSHES, _COMPUTATIONS, _LOCK_WAITS = range(6, 10)

_TOMBSTONE_LIMIT = 100_000


class _Watch:
    """Per-key bookkeeping while an L2 read or a write of the key is in flight."""

    __slots__ = ("gen", "readers", "writers")

    def __init__(self) -> None:
        self.gen = 0
        self.readers = 0
        self.writers = 0


class _FlightStore:
    """What SingleFlight needs from a cache: ``_peek`` (the local tier's) and a ``put`` that
    does nothing (the tier's loader stores values itself, in both tiers)."""

    __slots__ = ("_peek",)

    def __init__(self, peek: Callable[[Hashable, Any], Any]) -> None:
        self._peek = peek

    def put(self, key: Hashable, value: Any, ttl_seconds: float | None = None) -> None:
        pass


_live: weakref.WeakSet[TieredCache] = weakref.WeakSet()


class TieredCache:
    """A local :class:`SmartCache` in front of a shared Redis, kept coherent across processes.

    ``TieredCache(local=SmartCache(...), redis="redis://127.0.0.1:6379/0",
    namespace="users", serializer="pickle", ttl_seconds=None, ...)``

    - ``local``: the L1 SmartCache (default ``SmartCache()``). It is flushed whenever the tier
      (re)connects to Redis; use one SmartCache per TieredCache.
    - ``redis``: a URL (``redis://``, ``rediss://``, ``unix://``), a ``redis.Redis`` client or
      a ``redis.cluster.RedisCluster`` client.
    - ``namespace``: the key space shared by cooperating instances (letters, digits and
      ``_.:/@+=#-``). Keys are stored as ``{namespace}:<encoded key>``; two namespaces never
      see each other's keys or invalidations.
    - ``serializer`` (required): ``"pickle"`` (any picklable value; **unpickling data from a
      Redis that someone else can write runs their code**: use it only with a Redis that only
      trusted clients can write), ``"json"`` (JSON types only; other instances see the JSON
      round trip, e.g. tuples come back as lists), or a ``(dumps, loads)`` pair (or any object
      with ``dumps`` and ``loads``), ``dumps`` returning bytes or str.
    - ``ttl_seconds``: default time-to-live in both tiers (default: the local cache's TTL;
      None: entries do not expire in Redis).
    - ``timeout``: seconds before a Redis call counts as failed (default 0.05). For a URL or a
      ``redis.Redis`` client, TieredCache uses its own connection pool with this timeout and
      no retries (same address and credentials as the client); ``timeout=None`` uses a passed
      client exactly as it is. A ``RedisCluster`` client, and a client with a special pool
      (Sentinel), are always used as they are: give them a short ``socket_timeout`` and no
      retries yourself.
    - ``cross_instance_lock``: on a miss in both tiers, take a Redis lock (``SET NX PX``,
      held at most ``lock_ttl_seconds``) so that one instance computes and the others wait
      (at most ``lock_wait_seconds``, then they compute themselves).
    - ``raise_on_error``: raise Redis errors (``redis.RedisError``) into the caller instead of
      degrading to the local tier. While the tier is disconnected, calls that need Redis raise
      ``redis.ConnectionError``.
    - ``health_check_interval``: how often the listener pings Redis (seconds); a subscription
      that does not answer for three intervals counts as lost.
    - ``failure_threshold``: consecutive failed reads that open the breaker (default 3). A
      failed write or delete opens it at once (its invalidation could not be published).

    The mapping API is SmartCache's: ``get``, ``put``, ``[]``, ``in``, ``del``, ``pop``,
    ``setdefault``, ``update``, ``get_or_set``, ``remove``, ``contains``, ``clear``,
    ``stats``, ``reset_stats``; ``len``, iteration, ``keys``, ``values``, ``items``,
    ``popitem`` and ``size`` see the local tier only. ``tier.cached()`` decorates a function.
    Every method is thread-safe. Use ``close()`` (or ``with``) to stop the listener thread.
    """

    __slots__ = (
        "__weakref__",
        "_channel",
        "_closed",
        "_counts",
        "_counts_lock",
        "_decorated",
        "_del_script",
        "_dumps",
        "_epoch",
        "_errors",
        "_fail_streak",
        "_failure_threshold",
        "_flight",
        "_flight_store",
        "_forked",
        "_health_interval",
        "_iid",
        "_lclear",
        "_lcontains",
        "_lget",
        "_listener",
        "_loads",
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
        "_serializer_name",
        "_set_script",
        "_setnx_script",
        "_stop",
        "_subscribed",
        "_tomb",
        "_tomb_overflow",
        "_ttl",
        "_unlock_script",
        "_use_lock",
        "_watch",
        "is_cluster",
        "local",
    )

    def __init__(
        self,
        local: SmartCache | None = None,
        redis: Any = None,
        *,
        namespace: str,
        serializer: Serializer = _UNSET,
        ttl_seconds: float | None = _UNSET,
        timeout: float | None = 0.05,
        cross_instance_lock: bool = False,
        lock_ttl_seconds: float = 10.0,
        lock_wait_seconds: float = 10.0,
        raise_on_error: bool = False,
        health_check_interval: float = 1.0,
        failure_threshold: int = 3,
        connect_wait_seconds: float = 2.0,
    ) -> None:
        name, dumps, loads = _resolve_serializer(serializer)
        if local is None:
            local = SmartCache()
        if not isinstance(local, SmartCache):
            raise TypeError(f"local must be a SmartCache, not {type(local).__qualname__}")
        if not isinstance(namespace, str) or not _NAMESPACE_RE.fullmatch(namespace):
            raise ValueError(
                "namespace must be 1 to 200 characters among letters, digits and _.:/@+=#-, "
                f"not {namespace!r}"
            )
        if ttl_seconds is _UNSET:
            ttl_seconds = local.get_ttl()
        elif ttl_seconds is not None:
            _check_ttl(ttl_seconds)
        if timeout is not None and not (isinstance(timeout, (int, float)) and timeout > 0):
            raise ValueError(
                f"timeout must be a positive number of seconds or None, not {timeout!r}"
            )
        if not isinstance(failure_threshold, int) or failure_threshold < 1:
            raise ValueError(f"failure_threshold must be a positive int, not {failure_threshold!r}")
        for arg, v in (
            ("lock_ttl_seconds", lock_ttl_seconds),
            ("lock_wait_seconds", lock_wait_seconds),
            ("health_check_interval", health_check_interval),
        ):
            if not isinstance(v, (int, float)) or isinstance(v, bool) or not 0 < v < math.inf:
                raise ValueError(f"{arg} must be a positive number of seconds, not {v!r}")

        import redis as redis_mod  # deferred: cuckoocache does not need redis-py otherwise

        self._redis_mod = redis_mod
        self._errors: tuple[type[BaseException], ...] = (redis_mod.RedisError, OSError)
        client, owns = _make_client(redis_mod, redis, timeout)
        self._redis = client
        self._owns_client = owns
        from redis.cluster import RedisCluster

        self.is_cluster = isinstance(client, RedisCluster)

        self.local = local
        self._lget = local.get
        self._lpeek = local._peek
        self._lput = local.put
        self._lremove = local.remove
        self._lcontains = local.contains
        self._lclear = local.clear
        self._redis_get = client.get

        self._namespace = namespace
        self._prefix = b"{" + namespace.encode() + b"}:"
        self._channel = self._prefix + b"!invalidate"
        self._serializer_name = name
        self._dumps = dumps
        self._loads = loads
        self._ttl: float | None = ttl_seconds
        self._raise = bool(raise_on_error)
        self._use_lock = bool(cross_instance_lock)
        self._lock_ttl_ms = max(1, math.ceil(lock_ttl_seconds * 1000))
        self._lock_wait = float(lock_wait_seconds)
        self._health_interval = float(health_check_interval)
        self._max_reconnect_delay = 1.0

        self._set_script = client.register_script(_SET_SCRIPT)
        self._del_script = client.register_script(_DEL_SCRIPT)
        self._setnx_script = client.register_script(_SETNX_SCRIPT)
        self._unlock_script = client.register_script(_UNLOCK_SCRIPT)

        self._lock = threading.RLock()
        self._counts_lock = threading.Lock()
        self._counts = [0] * len(_COUNTERS)
        self._watch: dict[Hashable, _Watch] = {}
        self._epoch = 0
        self._tomb: set[bytes] = set()
        self._tomb_overflow = False
        self._ok = False
        self._fail_streak = 0
        self._failure_threshold = int(failure_threshold)
        self._closed = False
        self._forked = False
        self._decorated = False
        self._lock_counter = itertools.count()
        self._flight = SingleFlight()
        self._flight_store = _FlightStore(local._peek)
        self._iid = os.urandom(8).hex().encode()
        self._subscribed = threading.Event()
        self._stop = threading.Event()
        self._listener: threading.Thread | None = None
        _live.add(self)
        self._start_listener()
        # Wait (briefly) for the first subscription, so that a tier made while Redis is up
        # starts connected rather than local-only.
        self._subscribed.wait(connect_wait_seconds)

    # ---- hot path --------------------------------------------------------------------------

    def get(self, key: Hashable, default: Any = None) -> Any:
        """The value of ``key`` from the local tier, else from Redis (filling the local tier),
        else ``default``."""
        value = self._lget(key, _MISSING)
        if value is _MISSING:
            return self._get_miss(key, default)
        return value

    def __getitem__(self, key: Hashable) -> Any:
        value = self._lget(key, _MISSING)
        if value is _MISSING:
            value = self._get_miss(key, _MISSING)
            if value is _MISSING:
                raise KeyError(key)
        return value

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
        rkey = self._prefix + encode_key(key)
        ttl = self._ttl_for(ttl_seconds)
        data = self._pack(value, ttl)
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

    def pop(self, key: Hashable, default: Any = _UNSET) -> Any:
        """Removes ``key`` from both tiers and returns its value; ``default`` if neither tier
        had it, else KeyError."""
        value = self._delete(key, want_value=True)
        if value is _MISSING:
            if default is _UNSET:
                raise KeyError(key)
            return default
        return value

    def setdefault(self, key: Hashable, default: Any = None) -> Any:
        """The value of ``key`` (either tier); if absent, stores ``default`` in both tiers
        (atomically in Redis: the first instance to store it wins) and returns it."""
        value = self.get(key, _MISSING)
        if value is not _MISSING:
            return value
        rkey = self._prefix + encode_key(key)
        ttl = self._ttl
        data = self._pack(default, ttl)
        if not self._ok:
            return self._local_only_write(key, rkey, lambda: self.local.setdefault(key, default))
        old = self._call_write(
            self._setnx_script, keys=[rkey], args=self._write_args(data, ttl, rkey)
        )
        if old is _FAILED:
            return self._local_only_write(key, rkey, lambda: self.local.setdefault(key, default))
        if old is None:  # stored by us
            self._count(_L2_WRITES)
            self._write(key, rkey, default, data, ttl, explicit=True, l2=False)
            return default
        existing = self._unpack(old)
        return default if existing is _MISSING else existing[0]

    def update(
        self, other: Mapping[Any, Any] | Iterable[tuple[Any, Any]] = (), /, **kwargs: Any
    ) -> None:
        """``put`` for every pair of ``other`` and ``kwargs``, like ``dict.update``."""
        if isinstance(other, Mapping):
            pairs: Iterable[tuple[Any, Any]] = ((k, other[k]) for k in other)
        elif hasattr(other, "keys"):
            mapping: Any = other
            pairs = ((k, mapping[k]) for k in mapping.keys())
        else:
            pairs = other
        for key, value in pairs:
            self.put(key, value)
        for key, value in kwargs.items():
            self.put(key, value)

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
        with self._lock:
            self._epoch += 1
            self._lclear()
            if not self._ok:
                self._tomb_overflow = True  # clear the namespace in Redis on reconnection
                self._count(_L2_SKIPPED)
                if self._raise:
                    raise self._unavailable()
                return
        try:
            self._clear_l2()
        except self._errors as e:
            self._count(_L2_ERRORS)
            with self._lock:
                self._tomb_overflow = True
            self._l2_failed(e)
            if self._raise:
                raise

    def __len__(self) -> int:
        """The number of entries in the local tier."""
        return self.local.size()

    def size(self) -> int:
        """The number of entries in the local tier."""
        return self.local.size()

    def __iter__(self) -> Iterator[Any]:
        """A snapshot of the local tier's keys."""
        return iter(self.local.keys())

    def keys(self) -> list[Any]:
        """A snapshot of the local tier's keys."""
        return self.local.keys()

    def values(self) -> list[Any]:
        """A snapshot of the local tier's values."""
        return self.local.values()

    def items(self) -> list[tuple[Any, Any]]:
        """A snapshot of the local tier's (key, value) pairs."""
        return self.local.items()

    def get_or_set(
        self, key: Hashable, factory: Callable[[], Any], ttl_seconds: float | None = None
    ) -> Any:
        """The value of ``key`` (local tier, else Redis); on a miss in both, stores and returns
        ``factory()``. Concurrent misses of one key compute once per process, and once across
        instances with ``cross_instance_lock=True``. If ``factory`` raises, nothing is stored
        and the exception propagates; if its result cannot be serialized, TypeError."""
        if ttl_seconds is not None:
            _check_ttl(ttl_seconds)
        value = self._lget(key, _MISSING)
        if value is not _MISSING:
            return value
        return self._flight.load(
            self._flight_store, self._load, key, (key, factory, ttl_seconds), None
        )

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
        if key is not None and not callable(key):
            raise TypeError(f"key must be callable or None, not {type(key).__name__}")
        if not isinstance(typed, bool):
            raise TypeError(f"typed must be a bool, not {type(typed).__name__}")

        def decorate(func: Callable[..., Any]) -> Any:
            if not callable(func):
                raise TypeError(f"tier.cached needs a callable, not {type(func).__name__}")
            if inspect.iscoroutinefunction(func):
                raise TypeError("tier.cached does not support async def functions")
            with self._lock:
                if self._decorated:
                    raise ValueError(
                        f"TieredCache(namespace={self._namespace!r}) already backs a function: "
                        "use one TieredCache (namespace) per decorated function"
                    )
                self._decorated = True
            loader = functools.partial(self._cached_load, func)
            wrapper = _core.CachedFunction(func, self.local, typed, key, loader)
            functools.update_wrapper(wrapper, func)
            _attach_api(wrapper, self, {"typed": typed, "namespace": self._namespace})
            return wrapper

        if function is not None:
            return decorate(function)
        return decorate

    def _cached_load(
        self,
        function: Callable[..., Any],
        key: Hashable,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> Any:
        call = functools.partial(function, *args, **kwargs)
        return self._flight.load(self._flight_store, self._load, key, (key, call, None), None)

    # ---- stats and lifecycle -----------------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        """The local tier's stats (``hits``, ``misses``, ... of SmartCache.stats()) and the
        tier's: ``l2_hits``, ``l2_misses``, ``l2_errors``, ``l2_writes``, ``l2_round_trips``,
        ``l2_skipped``, ``invalidations``, ``flushes``, ``computations``, ``lock_waits``,
        ``l2_available`` (bool: connected and subscribed) and ``namespace``."""
        s = self.local.stats()
        with self._counts_lock:
            s.update(zip(_COUNTERS, self._counts))
        s["l2_available"] = self._ok
        s["namespace"] = self._namespace
        return s

    def reset_stats(self) -> None:
        """Zeroes the local tier's and the tier's counters."""
        self.local.reset_stats()
        with self._counts_lock:
            self._counts = [0] * len(_COUNTERS)

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
            self._ok = False
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
        state = "closed" if self._closed else ("connected" if self._ok else "local-only")
        return (
            f"TieredCache(namespace={self._namespace!r}, {state}, "
            f"serializer={self._serializer_name!r}, local={self.local!r})"
        )

    # ---- internals: L2 calls and the breaker --------------------------------------------------

    def _count(self, index: int, n: int = 1) -> None:
        with self._counts_lock:
            self._counts[index] += n

    def _unavailable(self) -> BaseException:
        return self._redis_mod.ConnectionError(
            f"TieredCache(namespace={self._namespace!r}): Redis is unavailable "
            "(local-only until the listener reconnects)"
        )

    def _call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Runs one Redis read (or a write that needs no invalidation); on failure counts it
        and returns _FAILED (or raises, with raise_on_error). ``_failure_threshold``
        consecutive failures open the breaker (local-only until the listener recovers)."""
        try:
            result = fn(*args, **kwargs)
        except self._errors as e:
            self._count(_L2_RTT)
            self._count(_L2_ERRORS)
            self._fail_streak += 1
            if self._fail_streak >= self._failure_threshold:
                self._l2_failed(e)
            if self._raise:
                raise
            return _FAILED
        if self._fail_streak:
            self._fail_streak = 0
        with self._counts_lock:
            self._counts[_L2_RTT] += 1
        return result

    def _call_write(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Runs a Redis write that publishes an invalidation. A failure opens the breaker at
        once: the key is remembered and deleted everywhere on recovery."""
        try:
            result = fn(*args, **kwargs)
        except self._errors as e:
            self._count(_L2_RTT)
            self._count(_L2_ERRORS)
            self._l2_failed(e)
            if self._raise:
                raise
            return _FAILED
        with self._counts_lock:
            self._counts[_L2_RTT] += 1
        return result

    def _l2_failed(self, error: BaseException) -> None:
        """Opens the breaker: local-only until the listener has reconnected and flushed."""
        with self._lock:
            self._ok = False

    def _skip(self) -> None:
        """Notes an operation that could not use Redis (raises with raise_on_error)."""
        if self._forked:
            self._after_fork()
        self._count(_L2_SKIPPED)
        if self._raise:
            raise self._unavailable()

    def _ttl_for(self, ttl_seconds: float | None) -> float | None:
        if ttl_seconds is None:
            return self._ttl
        _check_ttl(ttl_seconds)
        return ttl_seconds

    def _pack(self, value: Any, ttl: float | None) -> bytes:
        try:
            data = self._dumps(value)
        except Exception as e:
            raise TypeError(
                f"TieredCache: cannot serialize a value of type {type(value).__qualname__} with "
                f"serializer {self._serializer_name}: {type(e).__name__}: {e}"
            ) from e
        if isinstance(data, str):
            data = data.encode("utf-8")
        elif not isinstance(data, bytes):
            if isinstance(data, (bytearray, memoryview)):
                data = bytes(data)
            else:
                raise TypeError(
                    f"TieredCache: serializer {self._serializer_name} returned "
                    f"{type(data).__qualname__}, not bytes or str"
                )
        deadline = 0 if ttl is None else int(time.time() * 1000) + math.ceil(ttl * 1000)
        return _HEADER.pack(_FORMAT, deadline) + data

    def _unpack(self, raw: bytes) -> Any:
        """(value, remaining TTL or None), or _MISSING if expired or undecodable."""
        try:
            version, deadline = _HEADER.unpack_from(raw)
            if version != _FORMAT:
                raise ValueError(f"unknown value format {version}")
            remaining = None
            if deadline:
                remaining = (deadline - time.time() * 1000) / 1000
                if remaining <= 0:
                    return _MISSING
            return self._loads(raw[_HEADER.size :]), remaining
        except Exception:
            self._count(_L2_ERRORS)
            return _MISSING

    def _write_args(self, data: bytes, ttl: float | None, rkey: bytes) -> list[Any]:
        px = 0 if ttl is None else max(1, math.ceil(ttl * 1000))
        return [data, px, self._channel, self._iid + b"k" + rkey[len(self._prefix) :]]

    # ---- internals: reads ------------------------------------------------------------------------

    def _get_miss(self, key: Hashable, default: Any) -> Any:
        rkey = self._prefix + encode_key(key)
        if not self._ok:
            self._skip()
            return default
        value = self._l2_read(key, rkey)
        return default if value is _MISSING else value

    def _l2_read(self, key: Hashable, rkey: bytes, count: bool = True) -> Any:
        """The value in Redis (filling the local tier unless an invalidation or a write of the
        key raced with the read), or _MISSING."""
        with self._lock:
            watch = self._watch.get(key)
            if watch is None:
                watch = self._watch[key] = _Watch()
            watch.readers += 1
            gen = watch.gen
            epoch = self._epoch
        found: Any = _MISSING
        try:
            raw = self._call(self._redis_get, rkey)
            if raw is None:
                if count:
                    self._count(_L2_MISSES)
            elif raw is not _FAILED:
                found = self._unpack(raw)
                if count:
                    self._count(_L2_HITS if found is not _MISSING else _L2_MISSES)
        finally:
            with self._lock:
                watch.readers -= 1
                if (
                    found is not _MISSING
                    and watch.gen == gen
                    and watch.writers == 0
                    and epoch == self._epoch
                ):
                    self._lput(key, found[0], found[1])
                if watch.readers == 0 and watch.writers == 0 and self._watch.get(key) is watch:
                    del self._watch[key]
        return _MISSING if found is _MISSING else found[0]

    def _l2_exists(self, key: object) -> bool:
        rkey = self._prefix + encode_key(key)
        if not self._ok:
            self._skip()
            return False
        n = self._call(self._redis.exists, rkey)
        return n is not _FAILED and bool(n)

    def _load(self, key: Hashable, factory: Callable[[], Any], ttl_seconds: float | None) -> Any:
        """Single-flight leader for a local miss: Redis, else compute (with the cross-instance
        lock if enabled) and store in both tiers."""
        rkey = self._prefix + encode_key(key)
        ttl = self._ttl if ttl_seconds is None else ttl_seconds
        if self._ok:
            value = self._l2_read(key, rkey)
            if value is not _MISSING:
                return value
            if self._use_lock and self._ok:
                return self._load_locked(key, rkey, factory, ttl)
        else:
            self._skip()
        return self._compute_and_store(key, rkey, factory, ttl)

    def _compute_and_store(
        self, key: Hashable, rkey: bytes, factory: Callable[[], Any], ttl: float | None
    ) -> Any:
        self._count(_COMPUTATIONS)
        value = factory()
        data = self._pack(value, ttl)
        self._write(key, rkey, value, data, ttl, explicit=False)
        return value

    def _load_locked(
        self, key: Hashable, rkey: bytes, factory: Callable[[], Any], ttl: float | None
    ) -> Any:
        lock_key = self._prefix + b"!lock:" + rkey[len(self._prefix) :]
        token = self._iid + b":%d" % next(self._lock_counter)
        deadline = time.monotonic() + self._lock_wait
        delay = 0.002
        while self._ok:
            got = self._call(self._redis.set, lock_key, token, nx=True, px=self._lock_ttl_ms)
            if got is _FAILED:
                break
            if got:
                try:
                    # Another instance may have stored it between our read and our lock.
                    value = self._l2_read(key, rkey, count=False)
                    if value is not _MISSING:
                        return value
                    return self._compute_and_store(key, rkey, factory, ttl)
                finally:
                    self._call(self._unlock_script, keys=[lock_key], args=[token])
            self._count(_LOCK_WAITS)
            now = time.monotonic()
            if now >= deadline:
                break
            time.sleep(min(delay, deadline - now))
            delay = min(delay * 2, 0.05)
            value = self._l2_read(key, rkey, count=False)
            if value is not _MISSING:
                return value
        return self._compute_and_store(key, rkey, factory, ttl)

    # ---- internals: writes -------------------------------------------------------------------

    def _begin_write(self, key: Hashable) -> tuple[_Watch, int]:
        with self._lock:
            watch = self._watch.get(key)
            if watch is None:
                watch = self._watch[key] = _Watch()
            watch.writers += 1
            watch.gen += 1
            return watch, watch.gen

    def _end_write(self, key: Hashable, watch: _Watch, gen: int) -> None:
        with self._lock:
            watch.writers -= 1
            if watch.gen != gen:
                # Another write or a remote invalidation of this key overlapped ours: which
                # value Redis kept is unknown here, so let the next read fetch it.
                self._lremove(key)
            watch.gen += 1  # readers that started during the write must not fill
            if watch.readers == 0 and watch.writers == 0 and self._watch.get(key) is watch:
                del self._watch[key]

    def _write(
        self,
        key: Hashable,
        rkey: bytes,
        value: Any,
        data: bytes,
        ttl: float | None,
        explicit: bool,
        l2: bool = True,
    ) -> None:
        """Stores in the local tier, then (l2) in Redis with the invalidation message."""
        watch, gen = self._begin_write(key)
        try:
            self._lput(key, value, ttl)
            if not l2:
                return
            done = False
            try:
                if self._ok:
                    if explicit:
                        args = self._write_args(data, ttl, rkey)
                        r = self._call_write(self._set_script, keys=[rkey], args=args)
                    else:
                        # A value computed on a miss in both tiers: no other instance can
                        # hold a newer one, so no invalidation message (a plain SET).
                        px = None if ttl is None else max(1, math.ceil(ttl * 1000))
                        r = self._call(self._redis.set, rkey, data, px=px)
                    done = r is not _FAILED
                    if done:
                        self._count(_L2_WRITES)
                else:
                    self._skip()
            finally:
                if not done and explicit:
                    # Delete it from Redis (and other instances) once reconnected.
                    self._add_tombstone(rkey)
        finally:
            self._end_write(key, watch, gen)

    def _add_tombstone(self, rkey: bytes) -> None:
        with self._lock:
            if len(self._tomb) < _TOMBSTONE_LIMIT:
                self._tomb.add(rkey)
            else:
                self._tomb_overflow = True

    def _local_only_write(self, key: Hashable, rkey: bytes, action: Callable[[], Any]) -> Any:
        self._count(_L2_SKIPPED)
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
        rkey = self._prefix + encode_key(key)
        watch, gen = self._begin_write(key)
        try:
            old = self.local.pop(key, _MISSING)
            raw: Any = _FAILED
            try:
                if self._ok:
                    message = self._iid + b"k" + rkey[len(self._prefix) :]
                    raw = self._call_write(
                        self._del_script, keys=[rkey], args=[self._channel, message]
                    )
                else:
                    self._skip()
            finally:
                if raw is _FAILED:
                    self._add_tombstone(rkey)  # delete it from Redis once reconnected
            if raw is _FAILED:
                return old
            self._count(_L2_WRITES)
            if old is _MISSING and raw is not None:
                if not want_value:
                    return True
                found = self._unpack(raw)
                return _MISSING if found is _MISSING else found[0]
            return old
        finally:
            self._end_write(key, watch, gen)

    def _clear_l2(self) -> None:
        pattern = _glob_escape(self._prefix) + b"*"
        batch: list[bytes] = []
        for rkey in self._redis.scan_iter(match=pattern, count=1000):
            batch.append(rkey)
            if len(batch) >= 500:
                self._redis.unlink(*batch)
                batch.clear()
        if batch:
            self._redis.unlink(*batch)
        self._redis.publish(self._channel, self._iid + b"c")
        self._count(_L2_WRITES)

    # ---- internals: the listener thread --------------------------------------------------------

    def _start_listener(self) -> None:
        self._stop = threading.Event()
        self._subscribed = threading.Event()
        thread = threading.Thread(
            target=_listen,
            args=(weakref.ref(self), self._stop),
            name=f"cuckoocache-tier-{self._namespace}",
            daemon=True,
        )
        self._listener = thread
        weakref.finalize(self, self._stop.set)
        thread.start()

    def _after_fork(self) -> None:
        """In a forked child: new identity, and a new listener (the parent's did not fork)."""
        with self._lock:
            if not self._forked:
                return
            self._forked = False
            self._iid = os.urandom(8).hex().encode()
            if not self._closed:
                self._start_listener()

    def _invalidate_local(self, key: Hashable) -> None:
        with self._lock:
            watch = self._watch.get(key)
            if watch is not None:
                watch.gen += 1
            self._lremove(key)
        self._count(_INVALIDATIONS)

    def _flush_local(self) -> None:
        with self._lock:
            self._epoch += 1
            self._lclear()
        self._count(_FLUSHES)

    def _on_message(self, data: bytes) -> None:
        n = len(self._iid)
        if data[:n] == self._iid:
            return  # our own write: already applied locally
        op = data[n : n + 1]
        if op == b"k":
            try:
                key = decode_key(data[n + 1 :])
            except ValueError:
                self._flush_local()  # a key this process cannot rebuild: drop everything
                return
            self._invalidate_local(key)
        elif op == b"c":
            self._flush_local()

    def _recover(self) -> None:
        """After (re)subscribing: replay the writes and deletes made while cut off (delete
        those keys in Redis and invalidate them everywhere), then flush the local tier and
        go back to using Redis. Raises a Redis error if Redis fails meanwhile."""
        while True:
            with self._lock:
                batch = self._tomb
                overflow = self._tomb_overflow
                self._tomb = set()
                self._tomb_overflow = False
                if not batch and not overflow:
                    if self._closed:
                        return
                    self._epoch += 1
                    self._lclear()
                    self._ok = True
                    break
            try:
                if overflow:
                    self._clear_l2()
                n = len(self._prefix)
                for rkey in batch:
                    self._del_script(keys=[rkey], args=[self._channel, self._iid + b"k" + rkey[n:]])
            except BaseException:
                with self._lock:
                    self._tomb |= batch
                    self._tomb_overflow = self._tomb_overflow or overflow
                raise
        self._count(_FLUSHES)


def _listen(ref: weakref.ReferenceType[TieredCache], stop: threading.Event) -> None:
    """The listener thread: subscribe, recover, apply invalidations; on any failure mark the
    tier local-only and reconnect with backoff. Holds the tier only through ``ref``."""
    delay = 0.05
    while not stop.is_set():
        tier = ref()
        if tier is None:
            return
        errors = tier._errors
        pubsub = None
        try:
            pubsub = tier._redis.pubsub()
            pubsub.subscribe(tier._channel)
            channel = tier._channel
            interval = tier._health_interval
            subscriptions = 0
            last_seen = time.monotonic()
            last_ping = last_seen
            next_recovery = 0.0
            recovery_delay = 0.05
            del tier
            while not stop.is_set():
                msg = pubsub.get_message(timeout=0.1)
                now = time.monotonic()
                tier = ref()
                if tier is None:
                    return
                if msg is not None:
                    last_seen = now
                    kind = msg["type"]
                    if kind == "message" and msg["channel"] == channel:
                        tier._on_message(msg["data"])
                    elif kind == "subscribe":
                        # First subscription, or redis-py resubscribed after a reconnection
                        # of its own: messages may have been missed either way.
                        subscriptions += 1
                        with tier._lock:
                            tier._ok = False
                if not tier._ok and not stop.is_set():
                    if subscriptions == 0:
                        if now - last_seen > max(3 * interval, 2.0):
                            raise tier._redis_mod.TimeoutError("no subscription confirmation")
                    elif now >= next_recovery:
                        # Subscribed, and the data path failed (or we just subscribed): check
                        # Redis, replay the writes made meanwhile, flush, resume.
                        try:
                            tier._redis.ping()
                            tier._recover()
                            tier._subscribed.set()
                            delay = recovery_delay = 0.05
                        except errors:
                            tier._count(_L2_ERRORS)
                            next_recovery = now + recovery_delay
                            recovery_delay = min(recovery_delay * 2, 1.0)
                if now - last_ping >= interval:
                    pubsub.ping()
                    last_ping = now
                if now - last_seen > 3 * interval:
                    raise tier._redis_mod.TimeoutError("the invalidation subscription went silent")
                del tier
        except errors as e:
            tier = ref()
            if tier is None:
                return
            tier._count(_L2_ERRORS)
            tier._l2_failed(e)
            tier._subscribed.set()  # the first attempt is over (failed): stop waiting in __init__
            del tier
        except Exception:  # pragma: no cover - a bug must not kill invalidation silently
            import traceback

            traceback.print_exc()
            tier = ref()
            if tier is not None:
                with tier._lock:
                    tier._ok = False
                del tier
        finally:
            if pubsub is not None:
                try:
                    pubsub.close()
                except Exception:
                    pass
        stop.wait(delay)
        delay = min(delay * 2, 1.0)


def _glob_escape(prefix: bytes) -> bytes:
    return re.sub(rb"([*?\[\]\\])", rb"\\\1", prefix)


def _make_client(redis_mod: Any, spec: Any, timeout: float | None) -> tuple[Any, bool]:
    """(client, whether TieredCache owns it) for a URL or a client."""
    from redis.backoff import NoBackoff
    from redis.cluster import RedisCluster
    from redis.retry import Retry

    if isinstance(spec, str):
        kwargs: dict[str, Any] = {}
        if timeout is not None:
            kwargs = {
                "socket_timeout": timeout,
                "socket_connect_timeout": timeout,
                "retry": Retry(NoBackoff(), 0),
            }
        return redis_mod.Redis.from_url(spec, **kwargs), True
    if isinstance(spec, RedisCluster):
        return spec, False
    if isinstance(spec, redis_mod.Redis):
        pool = spec.connection_pool
        if timeout is None or type(pool) not in (
            redis_mod.ConnectionPool,
            redis_mod.BlockingConnectionPool,
        ):
            return spec, False  # as is: asked to, or a pool of its own kind (e.g. Sentinel)
        kwargs = dict(pool.connection_kwargs)
        for k in ("orig_host_address", "orig_socket_timeout", "orig_socket_connect_timeout"):
            kwargs.pop(k, None)
        kwargs.update(
            socket_timeout=timeout, socket_connect_timeout=timeout, retry=Retry(NoBackoff(), 0)
        )
        own_pool = redis_mod.ConnectionPool(connection_class=pool.connection_class, **kwargs)
        return redis_mod.Redis(connection_pool=own_pool), True
    raise TypeError(
        "redis must be a URL or a redis-py client (redis.Redis or redis.cluster.RedisCluster), "
        f"not {type(spec).__qualname__}"
    )


def _attach_api(wrapper: Any, tier: TieredCache, parameters: dict[str, Any]) -> None:
    def cache_info() -> CacheInfo:
        """Local-tier hits and misses, maxsize and currsize, like functools.lru_cache."""
        s = tier.local.stats()
        return CacheInfo(s["hits"], s["misses"], s["max_size"], s["current_size"])

    def cache_clear() -> None:
        """Clears the namespace in both tiers (and other instances' local tiers) and zeroes
        the statistics."""
        tier.clear()
        tier.reset_stats()

    def cache_parameters() -> dict[str, Any]:
        """The decorator's arguments (typed) and the tier's namespace."""
        return dict(parameters)

    wrapper.cache_info = cache_info
    wrapper.cache_clear = cache_clear
    wrapper.cache_parameters = cache_parameters
    wrapper.cache_stats = tier.stats
    wrapper.cache_size = tier.local.size
    wrapper.tier = tier


def _after_fork_in_child() -> None:
    for tier in list(_live):
        tier._lock = threading.RLock()
        tier._counts_lock = threading.Lock()
        tier._watch = {}
        tier._ok = False
        tier._forked = True


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
MutableMapping.register(TieredCache)
