"""Regression tests for issue 13's TieredCache defects and its new guarantees (signed values
and messages, writes lost during a stall, TTLs from the server's clock), against real
redis-server processes on loopback. Each test fails on the code before the fix; anything
that could hang runs in a subprocess with a timeout.
"""

from __future__ import annotations

import os
import pickle
import struct
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import cuckoocache
import pytest
from cuckoocache.tiered import TieredCache
from tiered_support import RedisServer, hold, rkey, wait_available, wait_until

pytest.importorskip("redis", reason="redis-py is not installed (tools/test installs it)")

pytestmark = pytest.mark.timeout(120, method="thread")
pytest_plugins = ["tiered_support"]  # the fixtures: server, own_server, ns, make_tier, raw

BOUND = 2.0  # invalidation delay bound, as in test_tiered.py
HEADER = struct.Struct(">BQ")
PACKAGE_ROOT = str(Path(cuckoocache.__file__).resolve().parent.parent)


def run_script(source: str, *args: str, timeout: float = 60.0) -> str:
    """Runs ``source`` in a fresh interpreter (that imports this cuckoocache); its stdout.
    A hang fails the test after ``timeout`` seconds instead of hanging the suite."""
    env = dict(
        os.environ, PYTHONPATH=os.pathsep.join([PACKAGE_ROOT, os.environ.get("PYTHONPATH", "")])
    )
    try:
        done = subprocess.run(
            [sys.executable, "-c", textwrap.dedent(source), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"the script hung (killed after {timeout} s)")
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def stored(value: Any, deadline_ms: int = 0) -> bytes:
    """An unsigned stored value, as another client could write it."""
    return HEADER.pack(1, deadline_ms) + pickle.dumps(value)


# ---- 1: a KeyboardInterrupt anywhere leaves the tier's waiters woken and keys loadable -------

SIGALRM_SCRIPT = """
    import sys, threading
    sys.path.insert(0, sys.argv[4])
    from support.interrupts import storm
    from cuckoocache import SmartCache
    from cuckoocache.tiered import TieredCache

    url, namespace, via = sys.argv[1:4]
    # A small local tier and a 20 ms TTL in Redis: most loads miss, many compute.
    tier = TieredCache(SmartCache(64), url, namespace=namespace, serializer="pickle",
                       ttl_seconds=0.02, timeout=2.0)

    def compute(x):
        ev = threading.Event()
        ev.set()  # Python-level synchronisation inside the computation, as 13.1 describes
        return x

    f = tier.cached(compute)

    def load(k):
        return f(k) if via == "cached" else tier.get_or_set(k, lambda: compute(k))

    print("DONE", storm(load, 100, 3.0))
"""


@pytest.mark.parametrize("via", ["get_or_set", "cached"])
def test_sigalrm_keyboard_interrupt_every_100us_leaves_tier_keys_loadable(
    server: RedisServer, ns: str, via: str
) -> None:
    tests = str(Path(__file__).resolve().parent)
    out = run_script(SIGALRM_SCRIPT, server.url, ns, via, tests, timeout=90)
    assert out.startswith("DONE"), out
    assert int(out.split()[1]) > 0  # the storm did interrupt loads


# ---- 3: a signal handler using the tier ------------------------------------------------------

SIGNAL_SCRIPT = """
    import sys
    from cuckoocache import SmartCache
    from cuckoocache.tiered import TieredCache

    tier = TieredCache(SmartCache(100), sys.argv[1], namespace=sys.argv[2], serializer="pickle",
                       timeout=2.0)
    busy = False
    runs = 0

    def handler():  # what a signal handler using the tier does
        global busy, runs
        busy = True
        try:
            runs += 1
            tier.get(("h", runs % 5))
            tier.put(("h", runs % 5), runs)
        finally:
            busy = False

    def trace(frame, event, arg):
        if "cuckoocache" not in frame.f_code.co_filename:
            return None
        def line(frame, event, arg):
            if event == "line" and not busy:
                handler()  # a signal arriving at this line of the tier's own code
            return line
        return line

    sys.settrace(trace)
    for i in range(3):
        tier.put(("k", i), i)
        tier.get(("miss", i))
        tier.setdefault(("s", i), i)
        tier.pop(("k", i), None)
    sys.settrace(None)
    print("done", runs)
"""


def test_signal_handler_using_the_tier_at_any_line_does_not_deadlock(
    server: RedisServer, ns: str
) -> None:
    # Before: the handler deadlocked on the tier's non-reentrant counters lock.
    out = run_script(SIGNAL_SCRIPT, server.url, ns, timeout=90)
    assert out.startswith("done")


# ---- 4, 5: fork ------------------------------------------------------------------------------


def _child_after_fork(tier: TieredCache, go: Any, queue: Any) -> None:
    try:
        tier["from-child"] = "child"  # 5: the child's first write must reach Redis
        go.wait(30)
        # 4: the parent's local entry is not served forever: the child hears the new value.
        wait_until(lambda: tier.get("shared") == "new", 10)
        queue.put("ok")
    except BaseException as e:  # pragma: no cover - reported to the parent
        queue.put(repr(e))


def test_forked_child_is_a_new_instance(server: RedisServer, ns: str, make_tier: Any) -> None:
    import multiprocessing

    tier = make_tier(server.url, ns)
    observer = make_tier(server.url, ns)
    tier["shared"] = "old"
    assert tier.local.contains("shared")
    ctx = multiprocessing.get_context("fork")
    go, queue = ctx.Event(), ctx.Queue()
    child = ctx.Process(target=_child_after_fork, args=(tier, go, queue))
    child.start()
    try:
        wait_until(lambda: observer.get("from-child") == "child", 20)
        observer["shared"] = "new"
        go.set()
        assert queue.get(timeout=60) == "ok"
    finally:
        child.join(30)
    assert child.exitcode == 0
    time.sleep(0.3)  # the child's recovery must not have deleted its write
    assert observer.get("from-child") == "child"
    assert tier.get("shared") == "new"  # the parent stays correct
    assert tier.stats()["l2_available"]


# ---- 6: a header expiry far ahead ------------------------------------------------------------


def test_header_expiry_past_100_years_reads_as_a_miss(
    server: RedisServer, ns: str, make_tier: Any, raw: Any
) -> None:
    tier = make_tier(server.url, ns)
    far = int(time.time() * 1000) + 200 * 365 * 86_400_000
    raw.set(rkey(ns, "far"), stored("v", far))
    assert tier.get("far", "default") == "default"
    with pytest.raises(KeyError):
        tier["far"]
    assert "far" not in tier
    assert tier.get_or_set("far", lambda: "computed") == "computed"
    raw.set(rkey(ns, "far2"), stored("v", far))
    assert tier.setdefault("far2", "default") == "default"
    fn_tier = make_tier(server.url, ns + "-fn")

    @fn_tier.cached
    def double(x: int) -> int:
        return 2 * x

    raw.set(rkey(ns + "-fn", 21), stored("v", far))
    assert double(21) == 42
    assert tier.stats()["l2_errors"] >= 1


# ---- 7, 8: signed values and messages; forged messages --------------------------------------

UNPICKLED: list[str] = []


def _record_unpickling() -> str:
    UNPICKLED.append("ran")
    return "payload"


class Evil:
    def __reduce__(self) -> Any:
        return (_record_unpickling, ())


def test_signed_values_reject_forgeries_without_unpickling(
    server: RedisServer, ns: str, make_tier: Any, raw: Any
) -> None:
    secret = b"s3cret-for-tests"
    a = make_tier(server.url, ns, secret=secret)
    b = make_tier(server.url, ns, secret=secret)
    a["good"] = {"x": 1}
    assert b["good"] == {"x": 1}
    raw.set(rkey(ns, "forged"), stored(Evil()))  # an unsigned pickle
    assert b.get("forged") is None and "forged" not in b
    raw.copy(rkey(ns, "good"), rkey(ns, "moved"))  # a signed value moved to another key
    assert b.get("moved") is None
    other = make_tier(server.url, ns, secret=b"another-secret")
    assert other.get("good") is None
    assert UNPICKLED == []
    assert b.stats()["l2_rejected"] >= 3 and other.stats()["l2_rejected"] >= 1
    with pytest.raises(TypeError, match="secret"):
        make_tier(server.url, ns, secret="not bytes")


def test_signed_messages_ignore_forged_invalidations(
    server: RedisServer, ns: str, make_tier: Any, raw: Any
) -> None:
    secret = b"s3cret-for-tests"
    a = make_tier(server.url, ns, secret=secret)
    b = make_tier(server.url, ns, secret=secret)
    a["k"] = "v"
    hold(b, "k", "v")
    flushes = b.stats()["flushes"]
    channel = b"{" + ns.encode() + b"}:!invalidate"
    raw.publish(channel, b"0123456789abcdef" + b"c")  # unsigned "clear"
    raw.publish(channel, b"0123456789abcdef" + b"k" + b"s:k")  # unsigned "drop k"
    wait_until(lambda: b.stats()["messages_rejected"] >= 2, 5)
    assert b.local.contains("k") and b.stats()["flushes"] == flushes
    a["k"] = "v2"  # a signed invalidation still works
    wait_until(lambda: not b.local.contains("k"), BOUND)
    assert b["k"] == "v2"


def test_forged_deeply_nested_key_does_not_stop_the_listener(
    server: RedisServer, ns: str, make_tier: Any, raw: Any
) -> None:
    a = make_tier(server.url, ns)
    b = make_tier(server.url, ns)
    a["k"] = "v"
    hold(b, "k", "v")
    flushes = b.stats()["flushes"]
    channel = b"{" + ns.encode() + b"}:!invalidate"
    raw.publish(channel, b"0123456789abcdef" + b"k" + b"(" * 5000 + b")" * 5000)
    wait_until(lambda: b.stats()["messages_rejected"] >= 1, 5)
    assert b.stats()["l2_available"] and b.stats()["flushes"] == flushes
    assert b.local.contains("k")
    a["k"] = "v2"  # the listener still applies invalidations
    wait_until(lambda: b.get("k") == "v2", BOUND)


# ---- 9: interrupts during tier calls ---------------------------------------------------------

INTERRUPT_SCRIPT = """
    import sys
    from cuckoocache import SmartCache
    from cuckoocache.tiered import TieredCache

    tier = TieredCache(SmartCache(1000), sys.argv[1], namespace=sys.argv[2],
                       serializer="pickle", timeout=2.0)
    target = 0
    seen = 0

    def trace(frame, event, arg):
        # CPython delivers a signal's KeyboardInterrupt where it checks for pending work:
        # on entering a function and after a call returns. Raise it at the N-th such point.
        global seen
        name = frame.f_code.co_filename
        if "cuckoocache" not in name and "redis" not in name:
            return None
        seen += 1
        if seen == target:
            raise KeyboardInterrupt
        return returned

    def returned(frame, event, arg):
        global seen
        if event == "return":
            seen += 1
            if seen == target:
                raise KeyboardInterrupt
        return returned

    interrupts = 0
    for op in range(3):
        for target in range(1, 700):  # an interrupt at every call and return of a tier call
            seen = 0
            key = ("k", target % 40)
            try:
                sys.settrace(trace)
                if op == 0:
                    tier.put(key, target)
                elif op == 1:
                    tier.local.remove(key)
                    tier.get(key)
                else:
                    tier.pop(key, None)
            except KeyboardInterrupt:
                interrupts += 1
            finally:
                sys.settrace(None)
    pool = tier.redis.connection_pool
    in_use = len(pool._in_use_connections)
    # Afterwards every key agrees with Redis and is cached locally again once read.
    import redis, pickle
    raw = redis.Redis.from_url(sys.argv[1])
    disagree = 0
    for i in range(40):
        key = ("k", i)
        tier.local.remove(key)
        value = tier.get(key)
        data = raw.get(tier._prefix + b"(s1:ki%d;)" % i)
        expected = None if data is None else pickle.loads(data[9:])
        disagree += value != expected or (value is not None and not tier.local.contains(key))
    active = len(tier._watches)  # keys still registered as read or written
    print(interrupts, in_use, disagree, active)
"""


def test_interrupts_during_tier_calls_leak_no_connection(server: RedisServer, ns: str) -> None:
    out = run_script(INTERRUPT_SCRIPT, server.url, ns, timeout=110)
    interrupts, in_use, disagree, watched = map(int, out.split())
    assert interrupts > 100
    assert in_use <= 1  # the listener's subscription holds one
    assert disagree == 0
    assert watched == 0  # no reader or writer left registered by an interrupt


# ---- 12, 13: keys ----------------------------------------------------------------------------


def test_distinct_nan_keys_stay_apart_and_local(
    server: RedisServer, ns: str, make_tier: Any, raw: Any
) -> None:
    a = make_tier(server.url, ns)
    b = make_tier(server.url, ns)
    nan1, nan2 = float("nan"), float("nan")
    a[nan1] = 1
    a[nan2] = 2
    assert a[nan1] == 1 and a[nan2] == 2
    a.local.clear()  # only the very same object finds a NaN entry, and only in its process
    assert a.get(nan1) is None and a.get(nan2) is None
    assert b.get(float("nan")) is None
    assert raw.keys(b"{" + ns.encode() + b"}:*") == []
    assert a.get_or_set(nan1, lambda: 3) == 3 and a[nan1] == 3
    assert a.pop(nan1) == 3 and a.get(nan1) is None


def test_unusable_keys_raise_typeerror_and_huge_ints_work(
    server: RedisServer, ns: str, make_tier: Any
) -> None:
    a = make_tier(server.url, ns)
    b = make_tier(server.url, ns)
    deep: Any = ()
    for _ in range(1200):
        deep = (deep,)
    with pytest.raises(TypeError, match="nest"):
        a.put(deep, 1)
    with pytest.raises(TypeError, match="nest"):
        a.get(deep)
    with pytest.raises(TypeError, match="nest"):
        a.setdefault(deep, 1)
    huge = 10**5000
    a[huge] = "big"
    assert b[huge] == "big"
    a[-huge] = "negative"
    assert b[-huge] == "negative"


# ---- 14: unreadable values are absent everywhere ---------------------------------------------


def test_unreadable_value_is_absent_for_every_method(
    server: RedisServer, ns: str, make_tier: Any, raw: Any
) -> None:
    a = make_tier(server.url, ns)
    b = make_tier(server.url, ns)
    for key in ("in", "sd", "pop", "rm"):
        raw.set(rkey(ns, key), b"\x01garbage that is not a value")
    assert "in" not in a and a.get("in") is None
    assert a.setdefault("sd", 5) == 5
    assert b["sd"] == 5  # stored, replacing the unreadable bytes
    with pytest.raises(KeyError):
        a.pop("pop")
    assert a.pop("pop", "d") == "d"
    assert a.remove("rm") is False
    with pytest.raises(KeyError):
        del a["rm"]


# ---- 19: a computed value only fills a missing entry -----------------------------------------


def test_computed_value_never_replaces_a_newer_explicit_write(
    server: RedisServer, ns: str, make_tier: Any, raw: Any
) -> None:
    a = make_tier(server.url, ns)
    b = make_tier(server.url, ns)

    def compute() -> str:
        b["k"] = "explicit"  # another instance writes while a computes
        return "computed"

    a.get_or_set("k", compute)
    fresh = make_tier(server.url, ns)
    assert fresh["k"] == "explicit"
    assert b["k"] == "explicit"
    wait_until(lambda: a.get("k") == "explicit", BOUND)


def test_two_instances_computing_at_once_converge(
    server: RedisServer, ns: str, make_tier: Any
) -> None:
    a = make_tier(server.url, ns)
    b = make_tier(server.url, ns)

    def compute_a() -> str:
        assert b.get_or_set("k", lambda: "from-b") == "from-b"
        return "from-a"

    a.get_or_set("k", compute_a)
    wait_until(lambda: a.get("k") == b.get("k") == "from-b", BOUND)


# ---- writes during a stall -------------------------------------------------------------------


def test_write_during_a_stall_is_counted_raised_and_never_served_stale(
    own_server: RedisServer, ns: str, make_tier: Any
) -> None:
    a = make_tier(own_server.url, ns, timeout=0.05, health_check_interval=0.2)
    strict = make_tier(own_server.url, ns, timeout=0.05, raise_on_error=True)
    b = make_tier(own_server.url, ns, timeout=0.05, health_check_interval=0.2)
    a["k"] = "old"
    assert b["k"] == "old"
    own_server.pause()
    try:
        a["k"] = "new"
        assert a.stats()["l2_writes_lost"] == 1
        import redis

        with pytest.raises(redis.RedisError):
            strict["s"] = 1
        assert strict.stats()["l2_writes_lost"] == 1
    finally:
        own_server.resume()
    wait_available(a)
    wait_available(b)
    wait_until(lambda: b.get("k") is None and a.get("k") is None, BOUND)


# ---- deadlines from one clock ----------------------------------------------------------------


def test_ttl_follows_the_servers_clock_not_any_clients(
    server: RedisServer, ns: str, make_tier: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    writer = make_tier(server.url, ns)
    reader = make_tier(server.url, ns)
    real = time.time
    with monkeypatch.context() as m:  # the writer's wall clock is an hour behind
        m.setattr(time, "time", lambda: real() - 3600)
        writer.put("behind", "b", ttl_seconds=10)
    with monkeypatch.context() as m:  # ... and then an hour ahead
        m.setattr(time, "time", lambda: real() + 3600)
        writer.put("ahead", "a", ttl_seconds=2.0)  # long enough for a slow (ASan) reader
    assert reader.get("behind") == "b"  # not expired an hour early
    # A local copy (hold: the writer's invalidation, still in flight on a slow machine such as
    # an ASan build, rightly keeps a read that raced with it from filling the local tier).
    hold(reader, "ahead", "a")
    time.sleep(2.5)
    assert reader.get("ahead") is None  # the local copy expired with Redis's, not an hour late
    assert not reader.local.contains("ahead")
