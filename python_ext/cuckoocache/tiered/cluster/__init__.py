"""Redis Cluster support for TieredCache: where a namespace's keys live, invalidation over
sharded pub/sub, and a circuit breaker per shard (one module per concept, listed below).

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
  namespace uses, and a sharded subscription costs the server 280-370 bytes (measured with
  perf/python/cluster_bench.py: 16,384 subscriptions of one instance took 4.6 MB across 3
  primaries and 1.5 s to subscribe, 1,024 took 0.4 MB and 47 ms), while 1,024 buckets still
  spread a namespace evenly over clusters of up to hundreds of shards.
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

Modules: ``layout`` (where keys and channels live), ``breaker`` (one breaker per primary),
``listener`` (the sharded pub/sub listener thread and shard recovery), ``clear`` (``clear()``
on every primary) and ``client`` (the tier's own cluster client).
"""

from __future__ import annotations

from .breaker import Shard, ShardedBreaker
from .clear import clear_cluster, clear_primaries
from .client import derive_cluster_client
from .layout import BUCKETS, SLOTS, STRIDE, ClusterLayout, key_slot, sharded_script, slot_tags
from .listener import start_cluster_listener

__all__ = [
    "BUCKETS",
    "SLOTS",
    "STRIDE",
    "ClusterLayout",
    "Shard",
    "ShardedBreaker",
    "clear_cluster",
    "clear_primaries",
    "derive_cluster_client",
    "key_slot",
    "sharded_script",
    "slot_tags",
    "start_cluster_listener",
]
