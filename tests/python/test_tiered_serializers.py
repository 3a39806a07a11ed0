"""cuckoocache.tiered.serializers and .messages alone: value packing, signatures, messages."""

from __future__ import annotations

import pickle
import time

import pytest
from cuckoocache.tiered.messages import BadMessage, parse, sign
from cuckoocache.tiered.serializers import UNSET, Rejected, ValueCodec, resolve_serializer

KEY = b"{ns}:s:k"
NOW = time.time() * 1000  # the server's clock, as a tier estimates it


def test_serializer_must_be_chosen() -> None:
    with pytest.raises(TypeError, match="serializer="):
        resolve_serializer(UNSET)
    with pytest.raises(ValueError):
        resolve_serializer("yaml")
    with pytest.raises(TypeError):
        resolve_serializer((len,))
    assert resolve_serializer("json")[0] == "json"


@pytest.mark.parametrize("secret", [None, b"k"])
def test_round_trip(secret: bytes | None) -> None:
    codec = ValueCodec("pickle", secret)
    value, deadline = codec.unpack(codec.pack({"a": (1, 2)}, 5.0, KEY, NOW), KEY, NOW)
    assert value == {"a": (1, 2)} and deadline == int(NOW) + 5000
    assert codec.unpack(codec.pack(None, None, KEY, NOW), KEY, NOW) == (None, 0)


def test_unserializable_value_is_a_typeerror() -> None:
    with pytest.raises(TypeError, match="cannot serialize"):
        ValueCodec("json").pack(object(), None, KEY, NOW)
    with pytest.raises(TypeError, match="not bytes"):
        ValueCodec((lambda v: 1, lambda b: b)).pack(1, None, KEY, NOW)


def test_signature_covers_key_value_and_secret() -> None:
    codec = ValueCodec("pickle", b"secret")
    data = codec.pack("v", None, KEY, NOW)
    with pytest.raises(Rejected):
        codec.unpack(data, b"{ns}:s:other", NOW)  # moved to another key
    with pytest.raises(Rejected):
        codec.unpack(data[:-1] + bytes([data[-1] ^ 1]), KEY, NOW)  # altered
    with pytest.raises(Rejected):
        ValueCodec("pickle", b"other").unpack(data, KEY, NOW)
    unsigned = ValueCodec("pickle").pack("v", None, KEY, NOW)
    with pytest.raises(Rejected):
        codec.unpack(unsigned, KEY, NOW)
    with pytest.raises(Rejected):
        codec.unpack(b"", KEY, NOW)
    with pytest.raises(ValueError):  # a signed value read without the secret
        ValueCodec("pickle").unpack(data, KEY, NOW)


def test_rejected_values_are_never_deserialized() -> None:
    calls: list[bytes] = []

    def loads(b: bytes) -> object:
        calls.append(b)
        return pickle.loads(b)

    codec = ValueCodec((pickle.dumps, loads), b"secret")
    forged = ValueCodec((pickle.dumps, loads)).pack("v", None, KEY, NOW)
    with pytest.raises(Rejected):
        codec.unpack(forged, KEY, NOW)
    assert calls == []


def test_header_expiry_past_100_years_is_unreadable() -> None:
    codec = ValueCodec("pickle")
    data = bytearray(codec.pack("v", None, KEY, NOW))
    far = int(time.time() * 1000) + 101 * 366 * 86_400_000
    data[1:9] = far.to_bytes(8, "big")
    with pytest.raises(ValueError, match="100 years"):
        codec.unpack(bytes(data), KEY, NOW)


def test_secret_must_be_bytes() -> None:
    with pytest.raises(TypeError, match="secret"):
        ValueCodec("pickle", "text")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="secret"):
        ValueCodec("pickle", b"")


def test_messages() -> None:
    iid, channel = b"0123456789abcdef", b"{ns}:!invalidate"
    assert parse(None, channel, sign(None, channel, iid + b"ks:k")) == (iid, b"k", b"s:k")
    signed = sign(b"s", channel, iid + b"c")
    assert parse(b"s", channel, signed) == (iid, b"c", b"")
    for bad in (iid + b"c", signed[:-1] + b"x", b"", b"x" * 40):
        with pytest.raises(BadMessage):
            parse(b"s", channel, bad)
    with pytest.raises(BadMessage):
        parse(b"s", b"{other}:!invalidate", signed)  # replayed on another channel
    for bad_unsigned in (b"short", iid + b"z", "text"):
        with pytest.raises(BadMessage):
            parse(None, channel, bad_unsigned)
