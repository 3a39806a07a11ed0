"""The cluster client a tier uses: a ``RedisCluster`` of its own, with the tier's timeout."""

from __future__ import annotations

from typing import Any

__all__ = ["derive_cluster_client"]


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
    startup = [ClusterNode(n.host, n.port) for n in nodes]  # type: ignore[no-untyped-call]
    return RedisCluster(startup_nodes=startup, **kwargs)
