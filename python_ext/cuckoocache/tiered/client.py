"""Client factory: the redis-py client TieredCache talks to, made from a URL or a client.

For a URL or a plain ``redis.Redis`` client, TieredCache uses a connection pool of its own with
the tier's short timeout and no retries (a slow Redis must degrade to the local tier, not stall
callers); for a cluster client, a cluster client of its own (``cluster.derive_cluster_client``);
a client with a special pool (Sentinel) is used as it is.
"""

from __future__ import annotations

import functools
import re
import threading
from typing import Any

__all__ = ["glob_escape", "make_client", "reclaim"]


class _OwnedSet(set):  # type: ignore[type-arg]
    """The pool's set of in-use connections, noting which thread took each one."""

    def add(self, conn: Any) -> None:
        conn._cuckoocache_owner = threading.get_ident()  # before add: never in the set untagged
        set.add(self, conn)


@functools.cache
def _pool_class(redis_mod: Any) -> Any:
    base = redis_mod.ConnectionPool

    class TieredConnectionPool(base):  # type: ignore[misc, valid-type]
        """redis-py's pool, made safe against interrupts: a KeyboardInterrupt that lands inside
        redis-py between taking a connection and its ``try`` leaks the connection (about one
        in a few thousand interrupts; the pool then runs dry). Connections record the thread
        that took them, so ``reclaim`` can return the ones the interrupted thread still holds.
        The lock is reentrant, so a signal handler using the tier cannot deadlock on it."""

        def reset(self) -> None:
            super().reset()
            self._lock = threading.RLock()
            self._in_use_connections: Any = _OwnedSet(self._in_use_connections)

    return TieredConnectionPool


def reclaim(client: Any) -> int:
    """Returns to ``client``'s pool the connections that the calling thread holds, when that
    thread is outside every Redis call (after an interrupt escaped one). Returns how many."""
    pool: Any = getattr(client, "connection_pool", None)
    in_use: Any = getattr(pool, "_in_use_connections", None)
    if not isinstance(in_use, _OwnedSet):
        return 0
    me = threading.get_ident()
    leaked = [c for c in list(in_use) if getattr(c, "_cuckoocache_owner", None) == me]
    for conn in leaked:
        conn.disconnect()  # its reply may be half read
        pool.release(conn)
    return len(leaked)


def glob_escape(prefix: bytes) -> bytes:
    """``prefix`` with Redis glob metacharacters escaped (for SCAN MATCH)."""
    return re.sub(rb"([*?\[\]\\])", rb"\\\1", prefix)


def make_client(redis_mod: Any, spec: Any, timeout: float | None) -> tuple[Any, bool]:
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
        pool = _pool_class(redis_mod).from_url(spec, **kwargs)
        return redis_mod.Redis(connection_pool=pool), True
    if isinstance(spec, RedisCluster):
        if timeout is None:
            return spec, False
        from .cluster import derive_cluster_client

        return derive_cluster_client(spec, timeout), True
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
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            retry=Retry(NoBackoff(), 0),
            decode_responses=False,  # values and messages are bytes
        )
        own_pool = _pool_class(redis_mod)(connection_class=pool.connection_class, **kwargs)
        return redis_mod.Redis(connection_pool=own_pool), True
    raise TypeError(
        "redis must be a URL or a redis-py client (redis.Redis or redis.cluster.RedisCluster), "
        f"not {type(spec).__qualname__}"
    )
