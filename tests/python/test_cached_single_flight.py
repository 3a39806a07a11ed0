"""The C single-flight of @cached and SmartCache.get_or_set (python_ext/src/single_flight.h).

Regression tests for issue 13 (1: Ctrl-C anywhere, 2: async self-await, 16: unretrieved task
exception, 26: failure convoy), issue 11 (an argument's __hash__ runs once per call),
single_flight=False, and 13.15 (popitem of a key whose hash changed).
"""

from __future__ import annotations

import asyncio
import gc
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from cuckoocache import SmartCache, cached
from support import run_python, run_threads

# ---- 13.1: a KeyboardInterrupt anywhere leaves waiters woken and the key loadable ---------

SIGALRM_SCRIPT = textwrap.dedent(
    """\
    import sys, threading
    sys.path.insert(0, sys.argv[2])
    from support.interrupts import storm
    from cuckoocache import SmartCache, cached

    via = sys.argv[1]
    cache = SmartCache(max_size=64)

    @cached(max_size=64)
    def f(x):
        ev = threading.Event()
        ev.set()  # Python-level synchronisation inside the computation, as 13.1 describes
        return x

    def load(k):
        return f(k) if via == "cached" else cache.get_or_set(k, lambda: k)

    print("DONE", storm(load, 200, 2.0))
    """
)


@pytest.mark.parametrize("via", ["cached", "get_or_set"])
def test_sigalrm_keyboard_interrupt_every_100us_leaves_keys_loadable(via: str) -> None:
    tests = str(Path(__file__).resolve().parent)
    proc = run_python(["-c", SIGALRM_SCRIPT, via, tests], timeout=60, what="SIGALRM storm")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "DONE" in proc.stdout


# ---- 13.26: failure convoy -----------------------------------------------------------------


def test_failing_computation_does_not_convoy() -> None:
    calls = 0
    lock = threading.Lock()
    barrier = threading.Barrier(8)

    @cached(max_size=8)
    def fails(x: int) -> int:
        nonlocal calls
        with lock:
            calls += 1
        time.sleep(0.2)
        raise ValueError("boom")

    finished: list[float] = []
    start = time.monotonic()

    def worker(i: int) -> None:
        barrier.wait()
        with pytest.raises(ValueError, match="boom"):
            fails(1)
        with lock:
            finished.append(time.monotonic() - start)

    run_threads(8, worker)
    # The leader fails at 0.2 s; its waiters retry once between them (one more call) and
    # then get that call's exception: everyone is done by about 0.4 s, not 8 x 0.2 s.
    assert calls == 2
    assert max(finished) < 1.0, sorted(finished)


def test_waiters_get_the_value_of_a_shared_computation() -> None:
    calls = 0
    barrier = threading.Barrier(6)

    def factory() -> str:
        nonlocal calls
        calls += 1
        time.sleep(0.1)
        return "v"

    cache = SmartCache(max_size=8)
    out: list[str] = []

    def worker(_: int) -> None:
        barrier.wait()
        out.append(cache.get_or_set("k", factory))

    run_threads(6, worker)
    assert out == ["v"] * 6
    assert calls == 1


# ---- single_flight=False ------------------------------------------------------------------


def test_single_flight_false_lets_threads_meet_inside_the_function() -> None:
    barrier = threading.Barrier(2, timeout=5)

    @cached(max_size=8, single_flight=False)
    def f(x: int) -> int:
        barrier.wait()  # both threads must be inside at once, or this times out
        return x

    assert f.single_flight is False  # type: ignore[attr-defined]

    def call(_: int) -> None:
        f(1)

    run_threads(2, call, timeout=10)
    assert f.cache_info().misses == 2


# ---- issue 11: __hash__ once per call ------------------------------------------------------


class CountingHash:
    calls = 0

    def __init__(self, v: int) -> None:
        self.v = v

    def __hash__(self) -> int:
        CountingHash.calls += 1
        return hash(self.v)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CountingHash) and other.v == self.v


@pytest.mark.parametrize("nargs", [1, 2])
def test_argument_hash_runs_once_per_call(nargs: int) -> None:
    @cached(max_size=2)
    def f(*args: Any) -> int:
        return len(args)

    a = CountingHash(1)
    CountingHash.calls = 0
    f(*[a] * nargs)  # miss: lookup, compute, store
    assert CountingHash.calls == nargs
    f(*[a] * nargs)  # hit
    assert CountingHash.calls == 2 * nargs
    for i in range(4):  # evicts it: no further hash of the evicted key
        f(i)
    assert CountingHash.calls == 2 * nargs


def test_get_or_set_hashes_the_key_once() -> None:
    cache = SmartCache(max_size=4)
    k = CountingHash(7)
    CountingHash.calls = 0
    assert cache.get_or_set(k, lambda: 1) == 1
    assert CountingHash.calls == 1


# ---- async: 13.2 and 13.16 -----------------------------------------------------------------


def test_async_function_awaiting_itself_with_same_arguments_does_not_hang() -> None:
    depth = 0

    @cached(max_size=8)
    async def f(x: int) -> int:
        nonlocal depth
        depth += 1
        if depth < 3:
            return await f(x)  # same arguments: runs directly, as the sync version does
        return x

    assert asyncio.run(asyncio.wait_for(f(5), timeout=5)) == 5
    assert depth == 3


def test_async_all_awaiters_cancelled_then_failure_logs_nothing(
    capsys: pytest.CaptureFixture[str],
) -> None:
    @cached(max_size=8)
    async def fails(x: int) -> int:
        await asyncio.sleep(0.05)
        raise ValueError("late failure")

    unretrieved: list[dict[str, Any]] = []

    async def main() -> None:
        asyncio.get_running_loop().set_exception_handler(lambda _l, ctx: unretrieved.append(ctx))
        waiter = asyncio.ensure_future(fails(1))
        await asyncio.sleep(0.01)
        waiter.cancel()
        await asyncio.sleep(0.1)  # the shared task fails with nobody awaiting it
        gc.collect()

    asyncio.run(main())
    gc.collect()
    assert not unretrieved, unretrieved
    assert "never retrieved" not in capsys.readouterr().err


# ---- 13.15: popitem of a key whose hash changed --------------------------------------------


class MutableHash:
    def __init__(self, h: int) -> None:
        self.h = h

    def __hash__(self) -> int:
        return self.h


def test_popitem_removes_a_key_whose_hash_changed() -> None:
    cache = SmartCache(max_size=4)
    k = MutableHash(1)
    cache[k] = "v"
    k.h = 2  # the stored entry is now unreachable by lookup
    assert len(cache) == 1
    assert cache.popitem() == (k, "v")
    assert len(cache) == 0
    with pytest.raises(KeyError, match="empty"):
        cache.popitem()


def test_recursion_depth_close_to_functools() -> None:
    @cached(max_size=None)
    def depth(n: int) -> int:
        return 0 if n == 0 else depth(n - 1) + 1

    limit = sys.getrecursionlimit()
    assert depth(limit // 2) == limit // 2


# ---- fork: the child forgets the parent's flights ------------------------------------------

FORK_SCRIPT = textwrap.dedent(
    """\
    import os, threading, time
    from cuckoocache import cached

    started = threading.Event()

    @cached(max_size=8)
    def slow(x):
        started.set()
        time.sleep(1.0)  # the parent's flight is in progress at the fork
        return "parent"

    t = threading.Thread(target=slow, args=(1,), daemon=True)
    t.start()
    started.wait(5)
    pid = os.fork()
    if pid == 0:
        # The thread computing key 1 does not exist here: its flight must not be waited for.
        slow.__wrapped__  # noqa: B018
        os._exit(0 if slow(1) == "parent" else 1)
    _, status = os.waitpid(pid, 0)
    t.join()
    print("DONE", os.waitstatus_to_exitcode(status))
    """
)


def test_forked_child_does_not_wait_for_the_parents_flights() -> None:
    proc = run_python(["-c", FORK_SCRIPT], timeout=30, what="fork during a flight")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "DONE 0" in proc.stdout, proc.stdout + proc.stderr[-2000:]
