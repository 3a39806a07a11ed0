"""cuckoocache.tiered.codec alone: canonical, reversible key encoding, and its limits."""

from __future__ import annotations

from typing import Any

import pytest
from cuckoocache.tiered.codec import MAX_DEPTH, LocalOnlyKey, UnresolvedKey, decode_key, encode_key


@pytest.mark.parametrize(
    "key",
    ["", "é", "s:x", b"", b"\x00", 0, -5, 2**100, 10**5000, -(10**5000), 1.5, float("inf"),
     None, (), (1, ("a", b"b")), frozenset({1, "a"}), (frozenset(), None), int, (str, 1)],
    ids=lambda key: type(key).__name__,
)  # fmt: skip
def test_round_trip(key: Any) -> None:  # ids: the 5,000-digit int has no str()
    assert decode_key(encode_key(key)) == key


def test_equal_keys_encode_equally() -> None:
    assert encode_key(1) == encode_key(1.0) == encode_key(True)
    assert encode_key((1, "a")) == encode_key((1.0, "a"))
    assert encode_key(frozenset({1, 2})) == encode_key(frozenset({2, 1}))
    assert encode_key("1") != encode_key(1) != encode_key(b"1")


def test_nan_has_no_shared_encoding() -> None:
    with pytest.raises(LocalOnlyKey):
        encode_key(float("nan"))
    with pytest.raises(ValueError):
        encode_key((1, float("nan")))


def test_unusable_keys_raise_typeerror() -> None:
    with pytest.raises(TypeError, match="list"):
        encode_key([1])  # type: ignore[arg-type]
    deep: Any = 1
    for _ in range(MAX_DEPTH + 1):
        deep = (deep,)
    with pytest.raises(TypeError, match="nest"):
        encode_key(deep)
    shallow: Any = 1
    for _ in range(MAX_DEPTH):
        shallow = (shallow,)
    assert decode_key(encode_key(shallow)) == shallow


@pytest.mark.parametrize(
    "data",
    [b"", b"(", b"((", b"s5:ab", b"i12", b"q", b"i1;i2;", b"(" * 5000 + b")" * 5000, b"x;",
     b"fnan-;"],
)  # fmt: skip
def test_malformed_input_raises_valueerror(data: bytes) -> None:
    with pytest.raises(ValueError):
        decode_key(data)


def test_unknown_class_is_unresolved_not_malformed() -> None:
    with pytest.raises(UnresolvedKey):
        name = b"no_such_module_xyz:C"
        decode_key(b"T%d:%s" % (len(name), name))
