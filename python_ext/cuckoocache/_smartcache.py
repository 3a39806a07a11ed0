"""SmartCache: the Python face of the cuckoocache engine.

The hot methods (``get``, ``put``, ``[]``, ``in``, ``del``, ``len``, ``pop``, ``setdefault``)
and the administrative ones (``stats``, ``set_policy``, ...) are implemented in C++ by the
``CacheCore`` base class; this module adds what is naturally Python: the mapping helpers,
``get_or_set`` with single-flight loading, the context manager and ``repr``.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, MutableMapping
from typing import Any

from . import _core
from ._single_flight import _MISSING, SingleFlight

EvictionPolicy = _core.EvictionPolicy


class SmartCache(_core.CacheCore):
    """A bounded, thread-safe cache with LRU, LFU, TTL and ADAPTIVE eviction.

    ``SmartCache(max_size=1000, policy=EvictionPolicy.LRU, ttl_seconds=None,
    adaptive_threshold=0.7)``

    - ``max_size``: most entries kept (a positive int, at most 2**31).
    - ``policy``: an :class:`EvictionPolicy`; can be changed later with ``set_policy``.
    - ``ttl_seconds``: default time-to-live of entries (positive, finite), or None.
    - ``adaptive_threshold``: for ADAPTIVE, the initial share of the cache given to the
      frequency-protected main region, in (0, 1]; the rest is the recency window, until the
      policy's window simulation resizes both (after about ``max_size`` lookups).

    Keys follow dict rules (``1``, ``1.0`` and ``True`` are one key). It behaves as a
    ``MutableMapping`` whose iteration, ``keys()``, ``values()`` and ``items()`` are snapshots.
    Every method is safe to call from many threads; see docs/python.md for the guarantees.
    """

    __slots__ = ("_flight",)

    def __init__(
        self,
        max_size: int = 1000,
        policy: Any = _core.EvictionPolicy.LRU,
        ttl_seconds: float | None = None,
        adaptive_threshold: float = 0.7,
    ) -> None:
        super().__init__(max_size, policy, ttl_seconds, adaptive_threshold)
        self._flight = SingleFlight()

    # ---- mapping helpers (snapshots) ----------------------------------------------------

    def keys(self) -> list[Any]:
        """A list of the keys present now (a snapshot)."""
        return [k for k, _ in self._items()]

    def values(self) -> list[Any]:
        """A list of the values present now (a snapshot)."""
        return [v for _, v in self._items()]

    def items(self) -> list[tuple[Any, Any]]:
        """A list of the (key, value) pairs present now (a snapshot)."""
        return self._items()

    def __iter__(self) -> Iterator[Any]:
        """Iterates over a snapshot of the keys (the cache may change meanwhile)."""
        return iter(self.keys())

    def update(
        self, other: Mapping[Any, Any] | Iterable[tuple[Any, Any]] = (), /, **kwargs: Any
    ) -> None:
        """Stores every pair of ``other`` (a mapping, an object with ``keys()``, or pairs) and
        of ``kwargs``, like ``dict.update``."""
        if isinstance(other, Mapping):
            for key in other:
                self.put(key, other[key])
        elif hasattr(other, "keys"):
            mapping: Any = other
            for key in mapping.keys():
                self.put(key, mapping[key])
        else:
            for key, value in other:
                self.put(key, value)
        for key, value in kwargs.items():
            self.put(key, value)

    def popitem(self) -> tuple[Any, Any]:
        """Removes and returns some (key, value) pair; KeyError if the cache is empty."""
        for key, _ in self._items():
            value = self.pop(key, _MISSING)
            if value is not _MISSING:
                return key, value
        raise KeyError("popitem(): cache is empty")

    # ---- loading -----------------------------------------------------------------------

    def get_or_set(
        self, key: Hashable, factory: Callable[[], Any], ttl_seconds: float | None = None
    ) -> Any:
        """The value of ``key``; on a miss, stores and returns ``factory()``.

        Threads that miss the same key at the same time share one call of ``factory``. If it
        raises, the exception propagates to the thread that called it, nothing is stored, and
        a waiting thread (if any) tries again.
        """
        if ttl_seconds is not None:
            _core._check_ttl(ttl_seconds)  # before factory() runs: a bad TTL changes nothing
        value = self.get(key, _MISSING)
        if value is not _MISSING:
            return value
        return self._flight.load(self, factory, key, (), None, ttl_seconds)

    # ---- context manager ---------------------------------------------------------------

    def __enter__(self) -> SmartCache:
        """Returns the cache itself."""
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Stops background expiry for this cache and clears it."""
        self._stop_background()
        self.clear()

    def __repr__(self) -> str:
        return (
            f"SmartCache(max_size={self.get_max_size()}, policy={self.get_policy()!s}, "
            f"ttl_seconds={self.get_ttl()!r}, size={self.size()})"
        )


MutableMapping.register(SmartCache)
