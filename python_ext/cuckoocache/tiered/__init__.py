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
TypeError. Keys live under ``{namespace}:`` on a single Redis; on a Redis Cluster under
``namespace{<bucket>}``, spread over every shard (see ``cluster``). Values are serialized
with the ``serializer`` the caller chose explicitly.

redis-py is imported when the first TieredCache is made, so ``import cuckoocache`` does not
need it.

Modules, one concept each: ``codec`` (keys), ``serializers`` (values), ``scripts`` (Lua),
``breaker`` (circuit breaker), ``counters`` (stats), ``tombstones`` (writes made while cut off),
``lock`` (cross-instance lock), ``listener`` (invalidation thread), ``cluster`` (Redis Cluster:
key layout, sharded pub/sub listener, breaker per shard), ``client`` (client factory),
``clock`` (the Redis server's clock, for TTL deadlines), ``watch`` (when a read may fill L1),
``messages`` (invalidation messages, signed with ``secret=``), ``options`` (``TierOptions``),
``decorator`` (``tier.cached``) and ``tier`` (the ``TieredCache`` class).
"""

from __future__ import annotations

from .codec import decode_key, encode_key
from .options import TierOptions
from .tier import TieredCache

__all__ = ["TierOptions", "TieredCache", "decode_key", "encode_key"]
