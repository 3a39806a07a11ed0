"""Serializers: how TieredCache turns values into the bytes it stores in Redis, and back.

A stored value is a small header (format version, absolute expiry in ms since the epoch, 0 for
none) followed by the serializer's bytes. The serializer is chosen explicitly by the caller
(``"pickle"``, ``"json"``, a ``(dumps, loads)`` pair, or an object with ``dumps`` and
``loads``), because unpickling what another Redis client wrote runs that client's code.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import math
import pickle
import struct
from collections.abc import Callable
from typing import Any

__all__ = ["UNSET", "Rejected", "ValueCodec", "resolve_serializer"]

# "pickle", "json", a (dumps, loads) pair, or an object with dumps and loads methods.
Serializer = Any

UNSET: Any = object()  # serializer= not given

# Format version, then the value's absolute expiry in ms since the epoch on the Redis server's
# clock (0: none; see clock.py: no client's wall clock is involved). Version 1 is unsigned;
# version 2 (with ``secret=``) puts a 32-byte HMAC-SHA256 after the header, covering the Redis
# key (namespace included), the header and the payload, so a value can be neither forged nor
# moved to another key.
_HEADER = struct.Struct(">BQ")
_FORMAT = 1
_SIGNED = 2
_MAC_SIZE = 32
_MAX_AHEAD_MS = 3_155_760_000_000  # 100 years: a header expiry further ahead is not ours


def _deadline(raw: bytes, now_ms: float) -> int:
    _, deadline = _HEADER.unpack_from(raw)
    if deadline and deadline > now_ms + _MAX_AHEAD_MS:
        raise ValueError("header expiry more than 100 years ahead")
    return int(deadline)


class Rejected(ValueError):
    """A value whose signature is missing or wrong (never deserialized)."""


def check_secret(secret: Any) -> bytes | None:
    """``secret=`` validated: None or non-empty bytes."""
    if secret is None:
        return None
    if not isinstance(secret, (bytes, bytearray)) or not secret:
        raise TypeError(f"secret must be non-empty bytes or None, not {type(secret).__qualname__}")
    return bytes(secret)


def _json_dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def resolve_serializer(
    serializer: Serializer,
) -> tuple[str, Callable[[Any], Any], Callable[[Any], Any]]:
    """(name, dumps, loads) for a ``serializer=`` argument; TypeError/ValueError if unusable."""
    if serializer is UNSET:
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


class ValueCodec:
    """Packs values (header + serialized bytes) and unpacks them."""

    __slots__ = ("dumps", "loads", "name", "secret")

    def __init__(self, serializer: Serializer, secret: bytes | None = None) -> None:
        self.name, self.dumps, self.loads = resolve_serializer(serializer)
        self.secret = check_secret(secret)

    def _mac(self, rkey: bytes, header: bytes, data: bytes) -> bytes:
        assert self.secret is not None
        mac = hmac.new(self.secret, b"v%d:" % len(rkey), hashlib.sha256)
        mac.update(rkey)
        mac.update(header)
        mac.update(data)
        return mac.digest()

    def pack(self, value: Any, ttl: float | None, rkey: bytes, now_ms: float) -> bytes:
        """The stored form of ``value`` under the Redis key ``rkey``, expiring ``ttl`` seconds
        after ``now_ms`` (the server's clock); TypeError if it cannot be serialized."""
        try:
            data = self.dumps(value)
        except Exception as e:
            raise TypeError(
                f"TieredCache: cannot serialize a value of type {type(value).__qualname__} with "
                f"serializer {self.name}: {type(e).__name__}: {e}"
            ) from e
        if isinstance(data, str):
            data = data.encode("utf-8")
        elif not isinstance(data, bytes):
            if isinstance(data, (bytearray, memoryview)):
                data = bytes(data)
            else:
                raise TypeError(
                    f"TieredCache: serializer {self.name} returned "
                    f"{type(data).__qualname__}, not bytes or str"
                )
        deadline = 0 if ttl is None else int(now_ms) + math.ceil(ttl * 1000)
        if self.secret is None:
            return _HEADER.pack(_FORMAT, deadline) + data
        header = _HEADER.pack(_SIGNED, deadline)
        return header + self._mac(rkey, header, data) + data

    def unpack(self, raw: bytes, rkey: bytes, now_ms: float) -> tuple[Any, int]:
        """(value, expiry in ms on the server's clock, 0 for none) stored as ``raw`` under
        ``rkey``. :class:`Rejected` if a secret is set and the signature is missing or wrong
        (nothing is deserialized then); otherwise anything the serializer raises, or
        ValueError (e.g. an expiry more than 100 years after ``now_ms``), if ``raw`` is not a
        readable value."""
        if len(raw) < _HEADER.size:
            raise Rejected("value shorter than its header") if self.secret else ValueError()
        version = raw[0]
        if self.secret is None:
            if version != _FORMAT:
                raise ValueError(f"value format {version} (signed values need secret=)")
            deadline = _deadline(raw, now_ms)
            return self.loads(raw[_HEADER.size :]), deadline
        if version != _SIGNED:
            raise Rejected("unsigned value")
        end = _HEADER.size + _MAC_SIZE
        header, mac, data = raw[: _HEADER.size], raw[_HEADER.size : end], raw[end:]
        if len(mac) != _MAC_SIZE or not hmac.compare_digest(mac, self._mac(rkey, header, data)):
            raise Rejected("bad signature")
        deadline = _deadline(raw, now_ms)
        return self.loads(data), deadline
