"""Key codec: TieredCache keys <-> the canonical bytes that name them in Redis.

A Redis key is the namespace prefix followed by ``encode_key(key)``. The encoding follows dict
equality (equal keys give equal bytes: ``1 == 1.0 == True``), and ``decode_key`` inverts it, so
an invalidation message that carries an encoded key lets every instance find that key in its
local tier. Only types with a canonical, process-independent encoding are accepted.
"""

from __future__ import annotations

import sys
from collections.abc import Hashable
from typing import Any, cast

from .. import _core

__all__ = ["MAX_DEPTH", "LocalOnlyKey", "UnresolvedKey", "decode_key", "encode_key"]

# Tuples and frozensets nest at most this deep in a key (deeper: TypeError when encoding,
# ValueError when decoding), so neither side ever recurses far.
MAX_DEPTH = 100


class LocalOnlyKey(ValueError):
    """A key with no shared encoding: it contains a NaN. NaN != NaN, so (as in a dict) only the
    very same NaN object finds its entry again, and no other process can hold that object:
    TieredCache keeps such keys in the local tier only."""


# A Redis key is  b"{" + namespace + b"}:" + encode_key(key).  encode_key is canonical (equal keys
# give equal bytes, following dict rules) and decode_key inverts it, so an invalidation message
# that carries the encoded key lets every instance find the key in its local tier.
#
#   top level str       b"s:" + UTF-8 (the common case, kept readable)
#   None                b"N"
#   int, bool, and a float with an integral value      b"i" + decimal + b";"
#   an int too long for decimal (> 4300 digits)        b"x" + hex + b";"
#   other float         b"f" + repr + b";"   (inf, -inf; a NaN is never shared: LocalOnlyKey)
#   str inside a tuple  b"s" + byte length + b":" + UTF-8
#   bytes               b"b" + length + b":" + bytes
#   tuple               b"(" + items + b")"
#   frozenset           b"{" + sorted encoded items + b"}"
#   @cached's keyword marker   b"K"
#   a class (typed=True keys)  b"T" + length + b":" + module + b":" + qualname
#
# Nothing at the top level other than a str starts with b"s:", and lock keys use b"!lock:",
# which no encoded key starts with.

# The marker object @cached puts between positional and keyword arguments.
_KW_MARK: Any = cast(tuple[Any, ...], _core.make_key((), {"_": 0}, False))[0]


def _encode_into(key: Any, out: list[bytes], depth: int = 0) -> None:
    t = type(key)
    if t is str or isinstance(key, str):
        b = str.encode(key, "utf-8", "surrogatepass")
        out.append(b"s%d:" % len(b))
        out.append(b)
    elif t is int or t is bool or (isinstance(key, int) and t is not float):
        try:
            out.append(b"i%d;" % int(key))
        except ValueError:  # more digits than int-to-str allows: hex has no such limit
            out.append(b"x%x;" % int(key))
    elif key is None:
        out.append(b"N")
    elif t is tuple or isinstance(key, tuple):
        if depth >= MAX_DEPTH:
            raise TypeError(f"TieredCache keys may nest tuples at most {MAX_DEPTH} deep")
        out.append(b"(")
        for item in key:
            _encode_into(item, out, depth + 1)
        out.append(b")")
    elif isinstance(key, float):
        if key.is_integer():
            out.append(b"i%d;" % int(key))
        elif key != key:
            raise LocalOnlyKey("a key containing NaN has no shared encoding (NaN != NaN)")
        else:
            out.append(b"f" + float.__repr__(key).encode("ascii") + b";")
    elif isinstance(key, bytes):
        out.append(b"b%d:" % len(key))
        out.append(bytes(key))
    elif key is _KW_MARK:
        out.append(b"K")
    elif isinstance(key, frozenset):
        if depth >= MAX_DEPTH:
            raise TypeError(f"TieredCache keys may nest frozensets at most {MAX_DEPTH} deep")
        items = []
        for item in key:
            sub: list[bytes] = []
            _encode_into(item, sub, depth + 1)
            items.append(b"".join(sub))
        out.append(b"{" + b"".join(sorted(items)) + b"}")
    elif isinstance(key, type):
        name = f"{key.__module__}:{key.__qualname__}".encode("utf-8", "surrogatepass")
        out.append(b"T%d:" % len(name))
        out.append(name)
    else:
        raise TypeError(
            "TieredCache keys must be str, bytes, int, float, bool, None, or tuples or "
            f"frozensets of those (what @cached builds from such arguments); got "
            f"{type(key).__qualname__}"
        )


def encode_key(key: Hashable) -> bytes:
    """The canonical bytes TieredCache uses for ``key`` in Redis (after the namespace prefix).

    Equal keys (dict rules: ``1 == 1.0 == True``) give equal bytes. TypeError for a key of a
    type that has no canonical encoding (see the module docstring) or nested more than
    ``MAX_DEPTH`` deep; :class:`LocalOnlyKey` (a ValueError) for a key containing a NaN.
    """
    if isinstance(key, str):
        return b"s:" + str.encode(key, "utf-8", "surrogatepass")
    out: list[bytes] = []
    try:
        _encode_into(key, out)
    except RecursionError:  # only with a very low recursion limit
        raise TypeError("TieredCache key nested too deeply to encode") from None
    return b"".join(out)


class _KeyDecodeError(ValueError):
    pass


class UnresolvedKey(ValueError):
    """A well-formed encoded key naming a class this process cannot find (not imported)."""


class _UnresolvedType(_KeyDecodeError):
    pass


# Classes that are not reachable by their module and name.
_UNNAMED_TYPES = {
    f"builtins:{t.__qualname__}": t for t in (type(None), type(...), type(NotImplemented))
}


def _resolve_type(name: str) -> type:
    if name in _UNNAMED_TYPES:
        return _UNNAMED_TYPES[name]
    module_name, _, qualname = name.partition(":")
    obj: Any = sys.modules.get(module_name)
    if obj is None:
        raise _UnresolvedType(f"module {module_name!r} is not imported")
    for part in qualname.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            raise _UnresolvedType(f"cannot resolve {name!r}")
    if not isinstance(obj, type):
        raise _UnresolvedType(f"{name!r} is not a class")
    return obj


def _decode_at(data: bytes, i: int, depth: int = 0) -> tuple[Any, int]:
    tag = data[i : i + 1]
    if tag == b"N":
        return None, i + 1
    if tag == b"K":
        return _KW_MARK, i + 1
    if tag == b"i" or tag == b"f" or tag == b"x":
        end = data.index(b";", i)
        text = data[i + 1 : end].decode("ascii")
        if tag == b"f":
            return float(text), end + 1
        return int(text, 16 if tag == b"x" else 10), end + 1
    if tag in (b"s", b"b", b"T"):
        colon = data.index(b":", i)
        n = int(data[i + 1 : colon])
        start = colon + 1
        raw = data[start : start + n]
        if len(raw) != n:
            raise _KeyDecodeError("truncated")
        if tag == b"b":
            return raw, start + n
        text = raw.decode("utf-8", "surrogatepass")
        return (text if tag == b"s" else _resolve_type(text)), start + n
    if tag == b"(" or tag == b"{":
        if depth >= MAX_DEPTH:
            raise _KeyDecodeError(f"nested more than {MAX_DEPTH} deep")
        close = b")" if tag == b"(" else b"}"
        items = []
        i += 1
        while data[i : i + 1] != close:
            if i >= len(data):
                raise _KeyDecodeError("truncated")
            item, i = _decode_at(data, i, depth + 1)
            items.append(item)
        try:
            return (tuple(items) if tag == b"(" else frozenset(items)), i + 1
        except TypeError as e:  # an unhashable item cannot come from encode_key
            raise _KeyDecodeError(str(e)) from None
    raise _KeyDecodeError(f"bad tag {tag!r} at {i}")


def decode_key(data: bytes) -> Hashable:
    """Inverse of :func:`encode_key`. ValueError if ``data`` is not an encoded key;
    :class:`UnresolvedKey` (a ValueError) if it names a class not importable by that name in
    this process."""
    if data[:2] == b"s:":
        return data[2:].decode("utf-8", "surrogatepass")
    try:
        key, end = _decode_at(data, 0)
    except _UnresolvedType as e:
        raise UnresolvedKey(f"encoded TieredCache key names an unknown class ({e})") from e
    except (IndexError, ValueError, RecursionError) as e:
        raise ValueError(f"not an encoded TieredCache key: {data[:80]!r} ({e})") from e
    if end != len(data):
        raise ValueError(f"not an encoded TieredCache key: {data[:80]!r} (trailing bytes)")
    return key  # type: ignore[no-any-return]
