"""cuckoocache.tiered's breaker, counters, tombstones and client pool alone (no Redis)."""

from __future__ import annotations

import threading

import pytest
from cuckoocache.tiered.breaker import FAILED, Breaker
from cuckoocache.tiered.counters import COUNTERS, L2_ERRORS, L2_RTT, Counters
from cuckoocache.tiered.tombstones import LIMIT, Tombstones


class Boom(OSError):
    pass


def make(threshold: int = 2, raise_on_error: bool = False) -> tuple[Breaker, Counters]:
    counters = Counters()
    breaker = Breaker(counters, (Boom,), threshold, raise_on_error, threading.RLock())
    breaker.ok = True
    return breaker, counters


def fail() -> None:
    raise Boom("down")


def test_reads_open_the_breaker_after_threshold_failures() -> None:
    breaker, counters = make(threshold=2)
    assert breaker.call(fail) is FAILED and breaker.ok
    assert breaker.call(lambda: 1) == 1  # a success resets the streak
    assert breaker.call(fail) is FAILED and breaker.ok
    assert breaker.call(fail) is FAILED and not breaker.ok
    snap = counters.snapshot()
    assert snap["l2_errors"] == 3 and snap["l2_round_trips"] == 4


def test_a_failed_write_opens_it_at_once_and_raise_on_error_raises() -> None:
    breaker, _ = make(threshold=5)
    assert breaker.call_write(fail) is FAILED and not breaker.ok
    strict, _ = make(raise_on_error=True)
    with pytest.raises(Boom):
        strict.call(fail)


def test_an_interrupt_reclaims_and_propagates() -> None:
    breaker, _ = make()
    reclaimed: list[int] = []
    breaker.on_interrupt = lambda: reclaimed.append(1)

    def interrupted() -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        breaker.call(interrupted)
    with pytest.raises(KeyboardInterrupt):
        breaker.call_write(interrupted)
    assert reclaimed == [1, 1] and breaker.ok


def test_counters_are_reentrant_and_resettable() -> None:
    counters = Counters()
    with counters._lock:  # as if a signal handler counted while its thread was counting
        counters.add(L2_RTT)
    counters.add(L2_ERRORS, 3)
    assert counters.snapshot()["l2_errors"] == 3 and len(counters.snapshot()) == len(COUNTERS)
    counters.reset()
    assert set(counters.snapshot().values()) == {0}


def test_tombstones_overflow_into_a_namespace_clear() -> None:
    tomb = Tombstones()
    assert not tomb
    tomb.add(b"a")
    keys, overflow = tomb.take()
    assert keys == {b"a"} and not overflow and not tomb
    tomb.restore(keys, True)
    assert tomb.keys == {b"a"} and tomb.overflow
    full = Tombstones()
    full.keys = {b"%d" % i for i in range(LIMIT)}
    full.add(b"one more")
    assert full.overflow and len(full.keys) == LIMIT


def test_pool_reclaims_the_interrupted_threads_connections() -> None:
    redis = pytest.importorskip("redis")
    from cuckoocache.tiered.client import make_client, reclaim

    client, owned = make_client(redis, "redis://127.0.0.1:1/0", 0.05)
    assert owned
    pool = client.connection_pool
    leaked = pool.make_connection()
    pool._in_use_connections.add(leaked)  # taken by this thread, never released
    other: list[object] = []

    def take_elsewhere() -> None:
        conn = pool.make_connection()
        pool._in_use_connections.add(conn)
        other.append(conn)

    t = threading.Thread(target=take_elsewhere)
    t.start()
    t.join()
    assert reclaim(client) == 1  # only this thread's
    assert leaked in pool._available_connections and other[0] in pool._in_use_connections
    assert reclaim(redis.Redis()) == 0  # a pool that is not TieredCache's: untouched
