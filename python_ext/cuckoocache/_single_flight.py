"""Single-flight loading: one computation per key at a time, shared by every waiting thread.

Used by ``SmartCache.get_or_set`` and by ``@cached`` on a miss. The first thread to miss a key
becomes its leader and computes the value; threads that miss the same key meanwhile wait for
the leader and return its value. A recursive call with the same key from the leader's own
thread computes directly (it would otherwise wait for itself). If the leader's computation
raises, the exception goes to the leader's caller only and the waiters try again (one of them
becomes the next leader): exceptions are never cached or shared between threads.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Any

_MISSING: Any = object()


class _Flight:
    __slots__ = ("done", "owner", "value")

    def __init__(self, owner: int) -> None:
        self.owner = owner
        self.done = threading.Event()
        self.value: Any = _MISSING


class SingleFlight:
    """Coordinates concurrent loads of the same key."""

    __slots__ = ("_flights", "_lock")

    def __init__(self) -> None:
        # An RLock: the dict operations below may run a key's __eq__, which may re-enter.
        self._lock = threading.RLock()
        self._flights: dict[Hashable, _Flight] = {}

    def load(
        self,
        key: Hashable,
        peek: Callable[[], Any],
        compute: Callable[[], Any],
        store: Callable[[Any], None],
    ) -> Any:
        """Returns the value for ``key``.

        ``peek()`` returns the cached value or ``_MISSING`` (checked by each new leader, in case
        the previous leader stored it just before), ``compute()`` makes the value and
        ``store(value)`` caches it.
        """
        me = threading.get_ident()
        while True:
            with self._lock:
                flight = self._flights.get(key)
                leader = flight is None
                if leader:
                    flight = _Flight(me)
                    self._flights[key] = flight
            assert flight is not None
            if leader:
                return self._lead(key, flight, peek, compute, store)
            if flight.owner == me:  # recursion on the same key: waiting would deadlock
                value = compute()
                store(value)
                return value
            flight.done.wait()
            if flight.value is not _MISSING:
                return flight.value

    def _lead(
        self,
        key: Hashable,
        flight: _Flight,
        peek: Callable[[], Any],
        compute: Callable[[], Any],
        store: Callable[[Any], None],
    ) -> Any:
        try:
            value = peek()
            if value is _MISSING:
                value = compute()
                store(value)
            flight.value = value
            return value
        finally:
            with self._lock:
                if self._flights.get(key) is flight:
                    del self._flights[key]
            flight.done.set()
