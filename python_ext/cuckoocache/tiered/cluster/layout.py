"""Where a namespace's keys and invalidation channels live in a Redis Cluster.

A key is ``<namespace>{<tag>}<encoded key>``: ``<tag>`` is one of ``BUCKETS`` hash tags picked
by the CRC16 of the encoded key, each hashing to its own slot, ``STRIDE`` slots apart and offset
by the namespace, so a namespace spreads over every shard in proportion to its slots. The
channel of a bucket, ``<namespace>!inv{<tag>}``, is in the bucket's slot, so a write script's
``SPUBLISH`` runs on the key's primary. (Why 1,024 buckets: see the package docstring.)
"""

from __future__ import annotations

import itertools
from binascii import crc_hqx

from ..client import glob_escape

__all__ = [
    "BUCKETS",
    "SLOTS",
    "STRIDE",
    "ClusterLayout",
    "key_slot",
    "sharded_script",
    "slot_tags",
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


def sharded_script(script: str) -> str:
    """A write script publishing its invalidation with SPUBLISH (to the key's shard)."""
    return script.replace("redis.call('PUBLISH'", "redis.call('SPUBLISH'")
