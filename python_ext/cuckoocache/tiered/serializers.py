"""Serializers: how TieredCache turns values into the bytes it stores in Redis, and back.

A stored value is a small header (format version, absolute expiry in ms since the epoch, 0 for
none) followed by the serializer's bytes. The serializer is chosen explicitly by the caller
(``"pickle"``, ``"json"``, a ``(dumps, loads)`` pair, or an object with ``dumps`` and
``loads``), because unpickling what another Redis client wrote runs that client's code.
"""

from __future__ import annotations

import functools
import json
import math
import pickle
import struct
import time
from collections.abc import Callable
from typing import Any

__all__ = ["UNSET", "ValueCodec", "resolve_serializer"]

# "pickle", "json", a (dumps, loads) pair, or an object with dumps and loads methods.
Serializer = Any

UNSET: Any = object()  # serializer= not given

_HEADER = struct.Struct(">BQ")  # format version 1, absolute expiry in ms since the epoch (0: none)
_FORMAT = 1


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

    __slots__ = ("dumps", "loads", "name")

    def __init__(self, serializer: Serializer) -> None:
        self.name, self.dumps, self.loads = resolve_serializer(serializer)

    def pack(self, value: Any, ttl: float | None) -> bytes:
        """The stored form of ``value``; TypeError if it cannot be serialized."""
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
        deadline = 0 if ttl is None else int(time.time() * 1000) + math.ceil(ttl * 1000)
        return _HEADER.pack(_FORMAT, deadline) + data

    def unpack(self, raw: bytes) -> tuple[Any, float | None] | None:
        """(value, remaining TTL in seconds or None), or None if expired. Raises (anything the
        serializer raises, or ValueError) if ``raw`` is not a readable value."""
        version, deadline = _HEADER.unpack_from(raw)
        if version != _FORMAT:
            raise ValueError(f"unknown value format {version}")
        remaining = None
        if deadline:
            remaining = (deadline - time.time() * 1000) / 1000
            if remaining <= 0:
                return None
        return self.loads(raw[_HEADER.size :]), remaining
