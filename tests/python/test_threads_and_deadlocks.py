"""Threads, re-entrancy, fork, interpreter exit and interrupts: no hang, no crash, invariants.

Every test has a timeout. Scenarios that could wedge the interpreter (a spinlock deadlock
holding the GIL, a crash at exit, fork) run in a subprocess (scripts/scenarios.py) under
subprocess.run's timeout; the others run here under pytest-timeout's thread method, which
can end a process whose main thread is stuck holding the GIL.
"""

from __future__ import annotations

import functools
import gc
import os
import random
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from cuckoocache import EvictionPolicy, SmartCache, cached
from support import run_python, run_threads

pytestmark = pytest.mark.timeout(120, method="thread")

SCENARIOS = Path(__file__).parent / "scripts" / "scenarios.py"

ALL_POLICIES = [
    EvictionPolicy.LRU,
    EvictionPolicy.LFU,
    EvictionPolicy.TTL,
    EvictionPolicy.ADAPTIVE,
]


@pytest.fixture
def fast_switching() -> Iterator[None]:
    """Makes the interpreter switch threads often, so operations interleave more."""
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    try:
        yield
    finally:
        sys.setswitchinterval(old)


T = TypeVar("T")


def const(value: T) -> Callable[[], T]:
    """A factory returning value."""
    return lambda: value


def run_scenario(name: str, timeout: float = 60.0) -> None:
    """Runs scripts/scenarios.py NAME in a fresh interpreter; fails on error, crash or hang."""
    proc = run_python([str(SCENARIOS), name], timeout, f"scenario {name}")
    detail = (
        f"scenario {name}: exit code {proc.returncode}\n"
        f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr[-3000:]}"
    )
    assert proc.returncode == 0, detail
    assert f"DONE {name}" in proc.stdout, detail


# ---- colliding keys whose __eq__ releases the GIL ------------------------------------------


class SlowKey:
    """Every instance hashes alike; __eq__ lets other threads run in the middle of it.

    Only user keys share the chain here; test_colliding_safe_and_foreign_keys_from_8_threads
    adds the int 42 (in a subprocess: the bug it found spun holding the GIL)."""

    __slots__ = ("v",)

    def __init__(self, v: int) -> None:
        self.v = v

    def __hash__(self) -> int:
        return 42

    def __eq__(self, other: object) -> bool:
        time.sleep(0)  # releases the GIL
        return isinstance(other, SlowKey) and other.v == self.v

    def __repr__(self) -> str:
        return f"SlowKey({self.v})"


@pytest.mark.timeout(60, method="thread")
def test_colliding_keys_with_gil_releasing_eq_from_8_threads(fast_switching: None) -> None:
    cache = SmartCache(max_size=16)
    bad: list[Any] = []
    pool = 24

    def check(k: int, value: Any) -> None:
        if value is not None and value[0] != k:
            bad.append((k, value))

    def worker(t: int) -> None:
        r = random.Random(t)
        for i in range(1500):
            k = r.randrange(pool)
            key = SlowKey(k)
            op = r.randrange(8)
            if op == 0:
                cache.put(key, (k, t, i))
            elif op == 1:
                check(k, cache.get(key))
            elif op == 2:
                cache.remove(key)
            elif op == 3:
                _ = key in cache
            elif op == 4:
                check(k, cache.setdefault(key, (k, t, i)))
            elif op == 5:
                check(k, cache.pop(key, None))
            elif op == 6:
                check(k, cache.get_or_set(key, const((k, -1, -1))))
            else:
                cache[key] = (k, t, i)
                try:
                    check(k, cache[key])
                except KeyError:
                    pass  # another thread removed or evicted it meanwhile

    run_threads(8, worker)
    assert bad == []
    assert len(cache) <= 16
    items = cache.items()
    assert len(items) == len(cache)
    ids = [k.v for k, _ in items]
    assert len(ids) == len(set(ids)), f"equal keys stored twice: {sorted(ids)}"
    for k, value in items:
        assert value[0] == k.v


# setdefault() of a key compared in C (an int) in a chain that also holds keys with a Python
# __eq__, while that chain changes during the comparison: it once looped forever holding the
# GIL (a stale resolved probe refused by put_guarded on every retry).
@pytest.mark.timeout(60, method="thread")
def test_setdefault_safe_key_while_chain_changes() -> None:
    run_scenario("setdefault_safe_key_chain_changes", timeout=5)


@pytest.mark.timeout(60, method="thread")
def test_colliding_safe_and_foreign_keys_from_8_threads() -> None:
    run_scenario("colliding_safe_and_foreign_keys_threads", timeout=10)


# ---- __hash__ and __eq__ that fail ---------------------------------------------------------


class RaisingHash:
    def __hash__(self) -> int:
        raise ValueError("no hash")


class NonIntHash:
    def __hash__(self) -> Any:
        return "not an int"


class RaisingEq:
    def __hash__(self) -> int:
        return 7

    def __eq__(self, other: object) -> bool:
        raise ArithmeticError("no eq")


OPERATIONS: dict[str, Callable[[SmartCache, Any], Any]] = {
    "get": lambda c, k: c.get(k),
    "put": lambda c, k: c.put(k, 1),
    "getitem": lambda c, k: c[k],
    "setitem": lambda c, k: c.__setitem__(k, 1),
    "delitem": lambda c, k: c.__delitem__(k),
    "in": lambda c, k: k in c,
    "contains": lambda c, k: c.contains(k),
    "remove": lambda c, k: c.remove(k),
    "pop": lambda c, k: c.pop(k, None),
    "setdefault": lambda c, k: c.setdefault(k, 1),
    "get_or_set": lambda c, k: c.get_or_set(k, lambda: 1),
}


@pytest.mark.timeout(30, method="thread")
@pytest.mark.parametrize(
    ("key_type", "error"),
    [(RaisingHash, ValueError), (NonIntHash, TypeError)],
    ids=["raises", "non-int"],
)
def test_bad_hash_raises_and_leaves_cache_unchanged(key_type: type, error: type) -> None:
    cache = SmartCache(max_size=8)
    cache.put("a", 1)
    cache.put(7, 2)
    for name, op in OPERATIONS.items():
        with pytest.raises(error):
            op(cache, key_type())
        assert sorted(map(str, cache.keys())) == ["7", "a"], name
    assert len(cache) == 2
    assert cache.get("a") == 1

    @cached(max_size=8)
    def f(*args: Any) -> int:
        raise AssertionError("must not be called")

    with pytest.raises(error):
        f(key_type())
    with pytest.raises(error):
        f(1, key_type())


@pytest.mark.timeout(30, method="thread")
def test_raising_eq_propagates_and_leaves_cache_unchanged() -> None:
    cache = SmartCache(max_size=8)
    first = RaisingEq()
    cache.put(first, "first")  # nothing to compare with yet
    cache.put("a", "other")
    for name, op in OPERATIONS.items():
        with pytest.raises(ArithmeticError):
            op(cache, RaisingEq())
        assert len(cache) == 2, name
    # As in a dict, an int with the same hash is compared with the stored key too.
    with pytest.raises(ArithmeticError):
        cache.put(7, "seven")
    assert len(cache) == 2
    assert cache.get(first) == "first"  # identity needs no __eq__
    assert cache.get("a") == "other"


# ---- threaded mixed workload ---------------------------------------------------------------


class PoolKey:
    """A key with a Python __eq__ (the slow path) that is cheap to compare."""

    __slots__ = ("v",)

    def __init__(self, v: int) -> None:
        self.v = v

    def __hash__(self) -> int:
        return hash(("pool", self.v))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PoolKey) and other.v == self.v


def pool_key(k: int) -> Any:
    kind = k % 10
    if kind == 0:
        return PoolKey(k)
    if kind < 4:
        return ("t", k)
    if kind < 6:
        return f"s{k}"
    return k


def pool_id(key: Any) -> int:
    if isinstance(key, PoolKey):
        return key.v
    if isinstance(key, tuple):
        return int(key[1])
    if isinstance(key, str):
        return int(key[1:])
    return int(key)


@pytest.mark.timeout(120, method="thread")
@pytest.mark.parametrize("policy", ALL_POLICIES, ids=str)
def test_mixed_workload_8_threads(policy: Any, fast_switching: None) -> None:
    ttl = 0.01 if policy == EvictionPolicy.TTL else None
    max_size = 300
    cache = SmartCache(max_size=max_size, policy=policy, ttl_seconds=ttl)
    lookups = [0] * 8
    bad: list[Any] = []
    barrier = threading.Barrier(8)

    def check(k: int, value: Any) -> None:
        if value is not None and (type(value) is not tuple or value[0] != k):
            bad.append((k, value))

    def worker(t: int) -> None:
        r = random.Random(1000 + t)
        counted = 0
        barrier.wait()
        for i in range(20_000):
            k = r.randrange(1000)
            key = pool_key(k)
            op = r.random()
            if op < 0.35:
                check(k, cache.get(key))
                counted += 1
            elif op < 0.60:
                cache.put(key, (k, t, i), ttl_seconds=0.005 if i % 9 == 0 else None)
            elif op < 0.66:
                check(k, cache.pop(key, None))
            elif op < 0.72:
                check(k, cache.setdefault(key, (k, t, i)))
            elif op < 0.78:
                _ = key in cache
            elif op < 0.84:
                cache.remove(key)
            elif op < 0.90:
                check(k, cache.get_or_set(key, const((k, t, -1))))
                counted += 1  # get_or_set counts exactly one lookup (its get)
            elif op < 0.96:
                try:
                    check(k, cache[key])
                except KeyError:
                    pass
                counted += 1
            elif op < 0.99:
                cache.update({key: (k, t, i), pool_key(k + 1): (k + 1, t, i)})
            else:
                try:
                    del cache[key]
                except KeyError:
                    pass
        lookups[t] = counted

    run_threads(8, worker, timeout=100)
    assert bad == []
    stats = cache.stats()
    assert stats["hits"] + stats["misses"] == sum(lookups)
    assert len(cache) <= max_size
    assert stats["current_size"] == len(cache)
    for key, value in cache.items():
        assert value[0] == pool_id(key)


# ---- reconfiguration racing with traffic ---------------------------------------------------


@pytest.mark.timeout(90, method="thread")
def test_set_policy_set_max_size_clear_race_with_traffic(fast_switching: None) -> None:
    cache = SmartCache(max_size=200)
    stop = threading.Event()
    bad: list[Any] = []

    def traffic(t: int) -> None:
        r = random.Random(t)
        i = 0
        while not stop.is_set():
            k = r.randrange(500)
            key = pool_key(k)
            if r.random() < 0.5:
                cache.put(key, (k, t, i))
            else:
                value = cache.get(key)
                if value is not None and value[0] != k:
                    bad.append((k, value))
            i += 1

    def admin() -> None:
        r = random.Random(99)
        policies = ALL_POLICIES
        for n in range(1500):
            what = n % 7
            if what == 0:
                cache.set_policy(r.choice(policies))
            elif what == 1:
                cache.set_max_size(r.randrange(1, 400))
            elif what == 2 and n % 21 == 2:
                cache.clear()
            elif what == 3:
                cache.set_ttl(r.choice([None, 0.001, 0.05]))
            elif what == 4:
                cache.cleanup()
            elif what == 5:
                stats = cache.stats()
                assert stats["current_size"] >= 0
            else:
                cache.reset_stats()
            time.sleep(0)
        stop.set()

    def body(i: int) -> None:
        if i == 0:
            try:
                admin()
            finally:
                stop.set()
        else:
            traffic(i)

    run_threads(5, body, timeout=80)
    assert bad == []
    cache.set_max_size(50)
    assert len(cache) <= 50
    cache.set_policy(EvictionPolicy.LRU)
    cache.set_ttl(None)
    for i in range(100):
        cache.put(i, i)
    assert len(cache) <= 50
    assert cache.get(99) == 99


# ---- caches created and destroyed while the background thread expires --------------------


@pytest.mark.timeout(60, method="thread")
def test_cache_churn_with_background_expiry() -> None:
    def churn(t: int) -> None:
        for i in range(150):
            cache = SmartCache(max_size=50, ttl_seconds=0.0005)
            for j in range(100):
                cache.put(j, [j])
            if i % 3 == 0:
                cache.put("self", cache)  # a cycle: freed by the collector
            time.sleep(0.0005)
            del cache
            if i % 40 == t:
                gc.collect()

    run_threads(6, churn)
    gc.collect()


@pytest.mark.timeout(60, method="thread")
def test_gc_collect_races_with_operations(fast_switching: None) -> None:
    cache = SmartCache(max_size=500, ttl_seconds=0.002)
    stop = threading.Event()

    class Node:
        def __init__(self, i: int) -> None:
            self.i = i
            self.me = self  # cyclic: tracked by the collector

    def body(i: int) -> None:
        if i == 0:
            for _ in range(60):
                gc.collect()
            stop.set()
            return
        n = 0
        while not stop.is_set():
            cache.put(n % 2000, Node(n))
            node = cache.get((n * 3) % 2000)
            assert node is None or isinstance(node, Node)
            n += 1

    run_threads(4, body)
    cache.clear()


# ---- re-entrant __del__ / __eq__, fork, interpreter exit (subprocesses) --------------------


@pytest.mark.timeout(120, method="thread")
def test_value_del_reenters_cache_during_eviction_and_clear() -> None:
    run_scenario("del_reentrant", timeout=90)


@pytest.mark.timeout(120, method="thread")
def test_key_eq_and_hash_reenter_cache() -> None:
    run_scenario("eq_reentrant", timeout=90)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
@pytest.mark.timeout(120, method="thread")
def test_fork_while_background_thread_expires_entries() -> None:
    run_scenario("fork_during_expiry", timeout=90)


@pytest.mark.timeout(120, method="thread")
def test_interpreter_exit_with_daemon_threads_using_caches() -> None:
    for _ in range(3):  # a crash at exit depends on timing
        run_scenario("exit_plain", timeout=30)


@pytest.mark.timeout(120, method="thread")
def test_interpreter_exit_with_daemon_threads_using_user_keys_and_values() -> None:
    # Daemon threads running a Python __hash__/__eq__/__del__ from inside the binding when
    # the interpreter exits: once an abort (a swallowed forced unwind), then a crash.
    run_scenario("exit_user_eq_only", timeout=30)
    run_scenario("exit_user_objects", timeout=30)
    for _ in range(8):  # a crash depends on timing: more than half of the runs crash
        run_scenario("exit_unwind_decref", timeout=30)


# ---- KeyboardInterrupt and single-flight ---------------------------------------------------


@pytest.mark.timeout(60, method="thread")
@pytest.mark.parametrize("via", ["get_or_set", "cached"])
def test_keyboard_interrupt_in_factory_waiters_retry(via: str) -> None:
    cache = SmartCache(max_size=16)
    leader_started = threading.Event()
    calls: list[str] = []
    lock = threading.Lock()

    def compute() -> str:
        with lock:
            calls.append(threading.current_thread().name)
            first = len(calls) == 1
        if first:
            leader_started.set()
            time.sleep(0.2)  # the waiters arrive and wait for this call
            raise KeyboardInterrupt
        return "value"

    @cached(max_size=16)
    def f(x: int) -> str:
        return compute()

    def load() -> str:
        if via == "cached":
            return str(f(1))
        return str(cache.get_or_set("key", compute))

    results: list[str] = []

    def waiter(i: int) -> None:
        assert leader_started.wait(10)
        value = load()
        with lock:
            results.append(value)

    threads = [threading.Thread(target=waiter, args=(i,), daemon=True) for i in range(4)]
    for t in threads:
        t.start()
    with pytest.raises(KeyboardInterrupt):
        load()  # the main thread leads and is interrupted
    for t in threads:
        t.join(10)
    assert not any(t.is_alive() for t in threads), "waiters hung after the leader's interrupt"
    assert results == ["value"] * 4
    assert len(calls) == 2  # the interrupted call, then one waiter's retry
    assert load() == "value"
    assert len(calls) == 2


def _interrupt_at_event(n: int, call: Callable[[], Any]) -> bool:
    """Runs call() raising KeyboardInterrupt at the n-th point of the package's Python code
    where CPython can deliver an asynchronous exception (a Ctrl-C): a function's entry, and
    just after a call returns (profile events call, return and c_return). Returns whether it
    was raised."""
    package_dir = str(Path(sys.modules["cuckoocache"].__file__ or "").parent)
    count = 0
    fired = False

    def profiler(frame: Any, event: str, arg: Any) -> None:
        nonlocal count, fired
        if fired or event not in ("call", "return", "c_return"):
            return
        if not frame.f_code.co_filename.startswith(package_dir):
            return
        count += 1
        if count == n:
            fired = True
            raise KeyboardInterrupt

    old = sys.getprofile()
    sys.setprofile(profiler)
    try:
        call()
    except KeyboardInterrupt:
        if not fired:
            raise
    finally:
        sys.setprofile(old)
    return fired


@pytest.mark.timeout(120, method="thread")
@pytest.mark.parametrize("via", ["get_or_set", "cached"])
def test_keyboard_interrupt_anywhere_leaves_key_loadable(via: str) -> None:
    cache = SmartCache(max_size=1000)

    @cached(max_size=1000)
    def f(x: int) -> str:
        return "first"

    hung: list[int] = []
    n = 0
    while True:
        n += 1
        if via == "cached":
            fired = _interrupt_at_event(n, functools.partial(f, n))
        else:
            fired = _interrupt_at_event(n, functools.partial(cache.get_or_set, n, const("first")))
        if not fired:
            break  # the call completed: every event has been tried
        out: list[str] = []

        def again(n: int = n, out: list[str] = out) -> None:
            out.append(str(f(n)) if via == "cached" else cache.get_or_set(n, lambda: "again"))

        t = threading.Thread(target=again, daemon=True)
        t.start()
        t.join(1.0)
        if t.is_alive():
            hung.append(n)
            break  # that thread waits forever; one is enough
        else:
            assert out and out[0] in ("first", "again")
        assert n < 500
    assert hung == [], f"a later load hung after an interrupt at events {hung}"
