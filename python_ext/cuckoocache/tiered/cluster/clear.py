"""``clear()`` on a cluster: the namespace's keys deleted on every primary, then one clear
message (every instance subscribes to every bucket's channel)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from ..counters import L2_WRITES
from .breaker import ShardedBreaker
from .layout import ClusterLayout

if TYPE_CHECKING:
    from ..tier import TieredCache

__all__ = ["clear_cluster", "clear_primaries"]


def clear_cluster(tier: TieredCache) -> None:
    """Deletes the namespace's keys on every primary (SCAN + UNLINK on each), then publishes a
    clear on one bucket channel (every instance subscribes to all of them). Primaries that
    fail are tripped (only them); raises the first error after trying every primary."""
    _, error = clear_primaries(tier)
    if error is not None:
        raise error


def clear_primaries(tier: TieredCache) -> tuple[set[str], BaseException | None]:
    """What ``clear_cluster`` does, returning (names of the primaries that could not be
    cleared, the first error) instead of raising."""
    client = tier._redis
    layout: ClusterLayout = tier._cluster
    breaker = cast(ShardedBreaker, tier._breaker)
    pattern = layout.scan_pattern()
    first_error: BaseException | None = None
    cleared: list[Any] = []
    failed: set[str] = set()
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
            failed.add(node.name)
            shard = breaker.shards.get(node.name)
            if shard is not None:
                shard.trip()
    if cleared:
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
    return failed, first_error


def _unlink(conn: Any, batch: list[bytes]) -> None:
    if batch:
        pipe = conn.pipeline(transaction=False)
        for rkey in batch:
            pipe.unlink(rkey)
        pipe.execute(raise_on_error=False)
        batch.clear()
