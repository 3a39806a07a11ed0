"""Single-flight loading: one computation per key at a time, shared by every waiting thread.

Used by TieredCache (``get_or_set`` and ``tier.cached``). ``SmartCache.get_or_set`` and
``@cached`` use the C single-flight of the binding instead (python_ext/src/single_flight.h),
which a KeyboardInterrupt cannot leave half-registered. The first thread to miss a key
becomes its leader and computes the value; threads that miss the same key meanwhile wait for
the leader and return its value. A recursive call with the same key from the leader's own
thread computes directly (it would otherwise wait for itself). If the leader's computation
raises, the exception goes to the leader's caller only and the waiters try again (one of them
becomes the next leader): exceptions are never cached or shared between threads.

``load`` is one Python frame between the cache and the user's function, so that recursive
cached functions reach nearly the depth they would reach with functools.lru_cache.
"""

from __future__ import annotations

import os
import threading
import weakref
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
    """Coordinates concurrent loads of the keys of one cache."""

    __slots__ = ("__weakref__", "_flights", "_lock")

    def __init__(self) -> None:
        self._reset()
        _instances.add(self)

    def _reset(self) -> None:
        # An RLock: the dict operations below may run a key's __eq__, which may re-enter.
        self._lock = threading.RLock()
        self._flights: dict[Hashable, _Flight] = {}

    def load(
        self,
        cache: Any,
        function: Callable[..., Any],
        key: Hashable,
        args: tuple[Any, ...],
        kwargs: dict[str, Any] | None,
        ttl_seconds: float | None = None,
    ) -> Any:
        """Returns the value of ``key`` in ``cache``, computing ``function(*args, **kwargs)``
        and storing it (with ``ttl_seconds``) unless another thread is already doing so."""
        me = threading.get_ident()
        while True:
            mine = _Flight(me)
            flight: _Flight | None = None
            try:
                with self._lock:
                    flight = self._flights.get(key)
                    if flight is None or flight.done.is_set():  # a done flight is stale
                        self._flights[key] = flight = mine
                if flight is mine:
                    # The previous leader may have stored it just before we registered.
                    value = cache._peek(key, _MISSING)
                    if value is _MISSING:
                        value = function(*args, **kwargs) if kwargs else function(*args)
                        cache.put(key, value, ttl_seconds)
                    mine.value = value
                    return value
            finally:
                # First wake the waiters (whatever interrupted us, e.g. KeyboardInterrupt, they
                # must not wait for a flight nobody runs), then unregister; a flight left
                # registered but done is replaced by the next caller.
                mine.done.set()
                if flight is mine:
                    with self._lock:
                        if self._flights.get(key) is mine:
                            del self._flights[key]
            assert flight is not None
            if flight.owner == me:  # recursion on the same key: waiting would deadlock
                value = function(*args, **kwargs) if kwargs else function(*args)
                cache.put(key, value, ttl_seconds)
                return value
            flight.done.wait()
            if flight.value is not _MISSING:
                return flight.value


_instances: weakref.WeakSet[SingleFlight] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    # Threads that were loading in the parent do not exist in the child: forget their flights
    # (and their locks, which a vanished thread may hold) so the child never waits for them.
    for flight in list(_instances):
        flight._reset()


os.register_at_fork(after_in_child=_after_fork_in_child)
