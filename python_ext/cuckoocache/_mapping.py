"""CacheMapping: the one mapping base of the package's caches.

A cache is a ``collections.abc.MutableMapping`` whose contents change under the reader's feet
(other threads, eviction, expiry). This mixin supplies what the ABC leaves to subclasses, once,
for every cache class: a concrete cache provides the five primitives (``__getitem__``,
``__setitem__``, ``__delitem__``, ``__len__``, ``__contains__``) and ``_items()``, a snapshot of
its live ``(key, value)`` pairs; the mixin gives the rest with these semantics:

- ``keys()``, ``values()``, ``items()`` are views, as for ``dict``: ``len`` and ``in`` ask the
  cache now; iterating walks a snapshot taken when iteration starts (so it never raises
  "changed size during iteration" and never counts hits). A ``dict`` view reflects changes
  while you iterate; a snapshot is the only safe equivalent for a concurrent cache.
- ``==`` compares contents with any Mapping, like ``dict`` (``cache == {"a": 1}``); caches are
  therefore unhashable, like ``dict``.
- ``update`` accepts a mapping, an object with ``keys()``, or pairs, plus keyword arguments.
- ``popitem`` removes some pair (KeyError when empty); which one is unspecified.
- ``repr`` names the concrete class (a subclass shows its own name).

Concrete caches may override any method with an atomic or faster version (SmartCache's
``get``, ``pop``, ``setdefault`` and ``clear`` come from the C extension).
"""

from __future__ import annotations

from collections.abc import (
    ItemsView,
    Iterator,
    KeysView,
    Mapping,
    MutableMapping,
    ValuesView,
)
from typing import Any, Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")

_MISSING: Any = object()


class CacheKeysView(KeysView[K]):
    """``cache.keys()``: ``in`` and ``len`` are live; iteration walks a snapshot."""

    __slots__ = ()
    _mapping: CacheMapping[K, Any]

    def __iter__(self) -> Iterator[K]:
        return iter([k for k, _ in self._mapping._items()])


class CacheValuesView(ValuesView[V]):
    """``cache.values()``: ``len`` is live; iteration walks a snapshot."""

    __slots__ = ()
    _mapping: CacheMapping[Any, V]

    def __iter__(self) -> Iterator[V]:
        return iter([v for _, v in self._mapping._items()])

    def __contains__(self, value: object) -> bool:
        return any(v is value or v == value for _, v in self._mapping._items())


class CacheItemsView(ItemsView[K, V]):
    """``cache.items()``: ``in`` and ``len`` are live; iteration walks a snapshot."""

    __slots__ = ()
    _mapping: CacheMapping[K, V]

    def __iter__(self) -> Iterator[tuple[K, V]]:
        return iter(self._mapping._items())


class CacheMapping(MutableMapping[K, V], Generic[K, V]):
    """Mixin for a concurrent cache: MutableMapping's methods with a cache's semantics."""

    __slots__ = ()

    def _items(self) -> list[tuple[K, V]]:
        """A snapshot of the live (key, value) pairs. Provided by the concrete cache."""
        raise NotImplementedError

    def __iter__(self) -> Iterator[K]:
        """Iterates over a snapshot of the keys (the cache may change meanwhile)."""
        return iter([k for k, _ in self._items()])

    def keys(self) -> CacheKeysView[K]:
        """A view of the keys (iteration walks a snapshot)."""
        return CacheKeysView(self)

    def values(self) -> CacheValuesView[V]:
        """A view of the values (iteration walks a snapshot)."""
        return CacheValuesView(self)

    def items(self) -> CacheItemsView[K, V]:
        """A view of the (key, value) pairs (iteration walks a snapshot)."""
        return CacheItemsView(self)

    def __eq__(self, other: object) -> bool:
        """Content equality with any Mapping, like ``dict``."""
        if other is self:
            return True
        if not isinstance(other, Mapping):
            return NotImplemented
        return dict(self._items()) == dict(other.items())

    __hash__: Any = None  # mutable and compared by content, like dict

    def update(self, other: Any = (), /, **kwargs: V) -> None:
        """Stores every pair of ``other`` (a mapping, an object with ``keys()``, or an iterable
        of (key, value) pairs) and of ``kwargs``, like ``dict.update``."""
        if isinstance(other, Mapping):
            for key in other:
                self[key] = other[key]
        elif hasattr(other, "keys"):
            mapping: Any = other
            for key in mapping.keys():
                self[key] = mapping[key]
        else:
            for key, value in other:
                self[key] = value
        for name, value in kwargs.items():
            self[name] = value  # type: ignore[index]  # a str key: the caller's K allows it

    def popitem(self) -> tuple[K, V]:
        """Removes and returns some (key, value) pair; KeyError if the cache is empty."""
        for key, _ in self._items():
            value = self.pop(key, _MISSING)
            if value is not _MISSING:
                return key, value
        raise KeyError("popitem(): cache is empty")

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._repr_fields()})"

    def _repr_fields(self) -> str:
        return f"size={len(self)}"
