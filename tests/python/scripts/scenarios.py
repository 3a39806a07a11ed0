"""Scenarios that could hang or crash the interpreter, run by the tests in a subprocess.

``python scenarios.py NAME`` runs one scenario and exits 0 if it held its invariants; any
other exit code (an assertion, a crash by signal, a timeout imposed by the caller) is a
failure. Each scenario prints ``DONE NAME`` last, so the caller can tell a clean exit from a
process that died during interpreter finalization.
"""

from __future__ import annotations

import os
import random
import resource
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from cuckoocache import EvictionPolicy, SmartCache, cached
from support import run_threads

ALL_POLICIES = [
    EvictionPolicy.LRU,
    EvictionPolicy.LFU,
    EvictionPolicy.TTL,
    EvictionPolicy.ADAPTIVE,
]

SCENARIOS: dict[str, Callable[[], None]] = {}


def scenario(function: Callable[[], None]) -> Callable[[], None]:
    SCENARIOS[function.__name__] = function
    return function


# ---- re-entrant destructors and comparisons ---------------------------------------------


class Reentrant:
    """A value whose __del__ uses the cache it is being removed from."""

    cache: SmartCache | None = None
    deleted = 0

    def __init__(self, i: int, mode: str) -> None:
        self.i = i
        self.mode = mode

    def __del__(self) -> None:
        cache = Reentrant.cache
        Reentrant.deleted += 1
        if cache is None:
            return
        mode = self.mode
        if mode == "put":
            cache.put(("from-del", self.i % 7), self.i)
        elif mode == "put-reentrant-value":
            if self.i < 10_000_000:  # one more generation, then plain values
                cache.put(("chain", self.i % 5), Reentrant(self.i + 10_000_000, "put"))
        elif mode == "get":
            value = cache.get(("from-del", self.i % 7))
            assert value is None or isinstance(value, int)
        elif mode == "clear":
            cache.clear()
        elif mode == "pop":
            cache.pop(self.i - 1, None)
            cache.setdefault(("sd", self.i % 3), 0)
        elif mode == "iterate":
            for key, _ in cache.items():
                assert key is not None


@scenario
def del_reentrant() -> None:
    modes = ["put", "put-reentrant-value", "get", "clear", "pop", "iterate"]
    for policy in ALL_POLICIES:
        cache = SmartCache(max_size=8, policy=policy)
        Reentrant.cache = cache
        for mode in modes:
            for i in range(600):  # evictions
                cache.put(i, Reentrant(i, mode))
                assert len(cache) <= 8 + 2, len(cache)
            cache.clear()  # clear() of values that re-enter
            for i in range(8):
                cache.put(i, Reentrant(i, mode))
            for i in range(4):
                cache.pop(i, None)
                cache.remove(i + 4)
            for i in range(20):
                cache[i] = Reentrant(i, mode)
            cache.set_max_size(2)  # shrinking evicts
            cache.set_max_size(8)
            for i in range(20):
                cache.put(i, Reentrant(i, mode), ttl_seconds=0.001)
            time.sleep(0.005)
            cache.cleanup()  # expiry
            cache.clear()
            cache.get(0)  # drains anything a background sweep left
        Reentrant.cache = None
        cache.clear()
        assert len(cache) == 0
    assert Reentrant.deleted > 4 * 6 * 600, Reentrant.deleted
    # Several threads evicting re-entrant values at once.
    shared = SmartCache(max_size=16, policy=EvictionPolicy.LRU, ttl_seconds=0.002)
    Reentrant.cache = shared

    def worker(t: int) -> None:
        for i in range(3000):
            shared.put((t, i % 50), Reentrant(i, modes[(t + i) % len(modes)]))
            if i % 500 == 0:
                shared.clear()

    run_threads(4, worker)
    Reentrant.cache = None
    shared.clear()
    assert len(shared) == 0


class TouchingKey:
    """A key whose __eq__ (and __hash__) use the cache the key is being looked up in."""

    cache: SmartCache | None = None

    def __init__(self, v: int) -> None:
        self.v = v

    def __hash__(self) -> int:
        if TouchingKey.cache is not None:
            TouchingKey.cache.get(("hash", self.v % 3))
        return self.v % 4  # collisions: __eq__ runs on most operations

    def __eq__(self, other: object) -> bool:
        cache = TouchingKey.cache
        if cache is not None:
            cache.get(("probe", self.v))
            cache.put(("eq", self.v % 5), self.v)
            _ = ("eq", 0) in cache
            if self.v % 11 == 0:
                cache.pop(("eq", 1), None)
        return isinstance(other, TouchingKey) and other.v == self.v


@scenario
def eq_reentrant() -> None:
    for policy in ALL_POLICIES:
        cache = SmartCache(max_size=24, policy=policy)
        TouchingKey.cache = cache
        for i in range(800):
            key = TouchingKey(i % 30)
            cache.put(key, ("value", i % 30))
            got = cache.get(TouchingKey(i % 31))
            assert got is None or got == ("value", i % 31), got
            _ = TouchingKey(i % 29) in cache
            value = cache.setdefault(TouchingKey(i % 28), ("value", i % 28))
            assert value == ("value", i % 28), value
            popped = cache.pop(TouchingKey(i % 27), None)
            assert popped is None or popped == ("value", i % 27), popped
        assert len(cache) <= 24 + 2

        def worker(t: int, cache: SmartCache = cache) -> None:
            r = random.Random(t)
            for _ in range(800):
                k = r.randrange(20)
                op = r.randrange(4)
                if op == 0:
                    cache.put(TouchingKey(k), ("value", k))
                elif op == 1:
                    got = cache.get(TouchingKey(k))
                    assert got is None or got == ("value", k), got
                elif op == 2:
                    cache.remove(TouchingKey(k))
                else:
                    value = ("value", k)
                    assert cache.get_or_set(TouchingKey(k), lambda: value) == value  # noqa: B023

        run_threads(4, worker)
        TouchingKey.cache = None
        # No two stored keys are equal.
        stored = [k.v for k in cache.keys() if isinstance(k, TouchingKey)]
        assert len(stored) == len(set(stored)), sorted(stored)
        cache.clear()


# ---- safe keys in a chain with foreign keys --------------------------------------------


@scenario
def setdefault_safe_key_chain_changes() -> None:
    """setdefault(42) while the chain of hash 42 changes during the comparison it needs."""
    cache = SmartCache(max_size=100)
    busy: list[int] = []

    class Key:
        def __hash__(self) -> int:
            return 42  # the hash of the int 42

        def __eq__(self, other: object) -> bool:
            if not busy:
                busy.append(1)
                cache.put(Key(), "other")  # another key joins the chain meanwhile
            return self is other

    cache.put(Key(), "first")
    assert cache.setdefault(42, "x") == "x"
    assert cache[42] == "x"
    assert len(cache) == 3


class CollidingKey:
    """Hashes like the int 42; __eq__ lets other threads run in the middle of it."""

    __slots__ = ("v",)

    def __init__(self, v: int) -> None:
        self.v = v

    def __hash__(self) -> int:
        return 42

    def __eq__(self, other: object) -> bool:
        time.sleep(0)
        return isinstance(other, CollidingKey) and other.v == self.v


@scenario
def colliding_safe_and_foreign_keys_threads() -> None:
    """8 threads on one chain that holds the int 42 and user keys with a GIL-releasing __eq__."""
    cache = SmartCache(max_size=16)
    bad: list[Any] = []

    def worker(t: int) -> None:
        r = random.Random(t)
        for i in range(600):
            k = r.randrange(24)
            key: Any = 42 if k == 0 else CollidingKey(k)
            op = r.randrange(4)
            if op == 0:
                cache.put(key, (k, t, i))
            elif op == 1:
                value = cache.setdefault(key, (k, t, i))
                if value[0] != k:
                    bad.append((k, value))
            elif op == 2:
                value = cache.get(key)
                if value is not None and value[0] != k:
                    bad.append((k, value))
            else:
                cache.pop(key, None)

    run_threads(8, worker, timeout=40)
    assert bad == [], bad[:5]
    assert len(cache) <= 16


# ---- fork ---------------------------------------------------------------------------------


@scenario
def fork_during_expiry() -> None:
    cache = SmartCache(max_size=5000, ttl_seconds=0.001)
    stop = threading.Event()

    def hammer() -> None:
        i = 0
        while not stop.is_set():
            cache.put(i % 10_000, i)
            cache.get((i * 7) % 10_000)
            i += 1

    thread = threading.Thread(target=hammer, daemon=True)
    thread.start()
    for _ in range(6):
        for i in range(2000):
            cache.put(("p", i), i, ttl_seconds=0.001)
        time.sleep(0.01)  # the background thread is expiring them now
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                fresh = SmartCache(max_size=10, ttl_seconds=0.001)
                for i in range(1000):
                    cache.put(("child", i), i)
                    fresh.put(i, i)
                    cache.get(("p", i))
                time.sleep(0.15)  # let the child's own background thread run
                cache.cleanup()
                fresh.cleanup()
                assert len(fresh) == 0, len(fresh)
                assert cache.stats()["expirations"] > 0
                code = 0
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0, status
    stop.set()
    thread.join(10)
    assert not thread.is_alive()
    # The parent's background expiry still works after the forks.
    for i in range(100):
        cache.put(("after", i), i, ttl_seconds=0.001)
    time.sleep(0.5)
    assert all(("after", i) not in cache for i in range(100))


# ---- interpreter exit ---------------------------------------------------------------------


def _exit_with_daemon_threads(
    make_key: Callable[[int], Any], make_value: Callable[[int], Any]
) -> None:
    caches = [SmartCache(max_size=100, policy=p, ttl_seconds=0.001) for p in ALL_POLICIES]

    @cached(max_size=50, ttl_seconds=0.001)
    def f(x: int) -> int:
        return x

    started = threading.Barrier(7)

    def hammer(t: int) -> None:
        started.wait()
        i = t
        while True:
            cache = caches[i % len(caches)]
            cache.put(make_key(i % 300), make_value(i))
            cache.get(make_key((i * 7) % 300))
            cache.get_or_set(make_key(i % 50), lambda: 0)
            f(i % 80)
            if i % 1000 == 0:
                cache.clear()
            i += 1

    for t in range(6):
        threading.Thread(target=hammer, args=(t,), daemon=True).start()
    started.wait()
    time.sleep(0.3)


@scenario
def exit_plain() -> None:
    _exit_with_daemon_threads(lambda i: ("key", i) if i % 2 else i, lambda i: [i])


class SlowEqKey:
    def __init__(self, v: int) -> None:
        self.v = v

    def __hash__(self) -> int:
        time.sleep(0)  # drops the GIL, as any long Python __hash__ may
        return self.v % 16

    def __eq__(self, other: object) -> bool:
        time.sleep(0)
        return isinstance(other, SlowEqKey) and other.v == self.v


class SlowDelValue:
    def __del__(self) -> None:
        time.sleep(0)


@scenario
def exit_user_objects() -> None:
    _exit_with_daemon_threads(SlowEqKey, lambda i: SlowDelValue())


@scenario
def exit_user_eq_only() -> None:
    class Key:
        def __hash__(self) -> int:
            return 1

        def __eq__(self, other: object) -> bool:
            time.sleep(0)
            return self is other

    cache = SmartCache(max_size=100)
    cache.put(Key(), 1)

    def hammer() -> None:
        while True:
            cache.get(Key())

    for _ in range(2):
        threading.Thread(target=hammer, daemon=True).start()
    time.sleep(0.2)


class ChurnKey:
    """Few hash values, so chains are long and change all the time; __eq__ drops the GIL."""

    __slots__ = ("pad", "v")

    def __init__(self, v: int) -> None:
        self.v = v
        self.pad = [v]  # a container: its deallocation touches the collector's lists

    def __hash__(self) -> int:
        return self.v % 4

    def __eq__(self, other: object) -> bool:
        time.sleep(0)
        return isinstance(other, ChurnKey) and other.v == self.v


@scenario
def exit_unwind_decref() -> None:
    """32 daemon threads inside the slow path (holding references to keys compared outside
    the engine locks) when the interpreter exits: the threads it ends must not touch
    reference counts on their way out."""
    cache = SmartCache(max_size=8)

    def hammer(t: int) -> None:
        i = t
        while True:
            cache.put(ChurnKey(i % 40), [i])
            cache.get(ChurnKey((i * 7) % 40))
            cache.pop(ChurnKey((i * 3) % 40), None)
            i += 1

    for t in range(32):
        threading.Thread(target=hammer, args=(t,), daemon=True).start()
    time.sleep(0.2)


def _cap_address_space() -> None:
    """A runaway scenario (a spin that keeps allocating) must not take the machine with it:
    at most 4 GiB more address space than the process has now (relative, so a process that
    reserves a lot up front, like one under ASan, keeps working)."""
    try:
        with open("/proc/self/statm") as f:
            reserved = int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        return
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = reserved + (4 << 30)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def main() -> None:
    _cap_address_space()
    name = sys.argv[1]
    SCENARIOS[name]()
    print(f"DONE {name}", flush=True)


if __name__ == "__main__":
    main()
