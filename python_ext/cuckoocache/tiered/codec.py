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

__all__ = ["decode_key", "encode_key"]

# A Redis key is  b"{" + namespace + b"}:" + encode_key(key).  encode_key is canonical (equal keys
# give equal bytes, following dict rules) and decode_key inverts it, so an invalidation message
# that carries the encoded key lets every instance find the key in its local tier.
#
#   top level str       b"s:" + UTF-8 (the common case, kept readable)
#   None                b"N"
#   int, bool, and a float with an integral value      b"i" + decimal + b";"
#   other float         b"f" + repr + b";"   (nan, inf, -inf included)
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


def _encode_into(key: Any, out: list[bytes]) -> None:
    t = type(key)
    if t is str or isinstance(key, str):
        b = str.encode(key, "utf-8", "surrogatepass")
        out.append(b"s%d:" % len(b))
        out.append(b)
    elif t is int or t is bool or (isinstance(key, int) and t is not float):
        out.append(b"i%d;" % int(key))
    elif key is None:
        out.append(b"N")
    elif t is tuple or isinstance(key, tuple):
        out.append(b"(")
        for item in key:
            _encode_into(item, out)
        out.append(b")")
    elif isinstance(key, float):
        if key.is_integer():
            out.append(b"i%d;" % int(key))
        else:
            out.append(b"f" + float.__repr__(key).encode("ascii") + b";")
    elif isinstance(key, bytes):
        out.append(b"b%d:" % len(key))
        out.append(bytes(key))
    elif key is _KW_MARK:
        out.append(b"K")
    elif isinstance(key, frozenset):
        items = []
        for item in key:
            sub: list[bytes] = []
            _encode_into(item, sub)
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
    type that has no canonical encoding (see the module docstring).
    """
    if isinstance(key, str):
        return b"s:" + str.encode(key, "utf-8", "surrogatepass")
    out: list[bytes] = []
    _encode_into(key, out)
    return b"".join(out)


class _KeyDecodeError(ValueError):
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
        raise _KeyDecodeError(f"module {module_name!r} is not imported")
    for part in qualname.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            raise _KeyDecodeError(f"cannot resolve {name!r}")
    if not isinstance(obj, type):
        raise _KeyDecodeError(f"{name!r} is not a class")
    return obj


def _decode_at(data: bytes, i: int) -> tuple[Any, int]:
    tag = data[i : i + 1]
    if tag == b"N":
        return None, i + 1
    if tag == b"K":
        return _KW_MARK, i + 1
    if tag == b"i" or tag == b"f":
        end = data.index(b";", i)
        text = data[i + 1 : end].decode("ascii")
        return (int(text) if tag == b"i" else float(text)), end + 1
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
        close = b")" if tag == b"(" else b"}"
        items = []
        i += 1
        while data[i : i + 1] != close:
            if i >= len(data):
                raise _KeyDecodeError("truncated")
            item, i = _decode_at(data, i)
            items.append(item)
        return (tuple(items) if tag == b"(" else frozenset(items)), i + 1
    raise _KeyDecodeError(f"bad tag {tag!r} at {i}")


def decode_key(data: bytes) -> Hashable:
    """Inverse of :func:`encode_key`. ValueError if ``data`` is not an encoded key (or names a
    class that is not importable by that name in this process)."""
    if data[:2] == b"s:":
        return data[2:].decode("utf-8", "surrogatepass")
    try:
        key, end = _decode_at(data, 0)
    except (IndexError, ValueError) as e:
        raise ValueError(f"not an encoded TieredCache key: {data[:80]!r} ({e})") from e
    if end != len(data):
        raise ValueError(f"not an encoded TieredCache key: {data[:80]!r} (trailing bytes)")
    return key  # type: ignore[no-any-return]
