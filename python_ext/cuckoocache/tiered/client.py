"""Client factory: the redis-py client TieredCache talks to, made from a URL or a client.

For a URL or a plain ``redis.Redis`` client, TieredCache uses a connection pool of its own with
the tier's short timeout and no retries (a slow Redis must degrade to the local tier, not stall
callers); a cluster client, or a client with a special pool (Sentinel), is used as it is.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["glob_escape", "make_client"]


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
        return redis_mod.Redis.from_url(spec, **kwargs), True
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
            socket_timeout=timeout, socket_connect_timeout=timeout, retry=Retry(NoBackoff(), 0)
        )
        own_pool = redis_mod.ConnectionPool(connection_class=pool.connection_class, **kwargs)
        return redis_mod.Redis(connection_pool=own_pool), True
    raise TypeError(
        "redis must be a URL or a redis-py client (redis.Redis or redis.cluster.RedisCluster), "
        f"not {type(spec).__qualname__}"
    )
