"""Helpers for test_tiered.py: a throwaway redis-server, and a worker process driving a
TieredCache over a line protocol.

``RedisServer`` starts Debian's ``redis-server`` on a free loopback port, with no persistence,
in a temporary directory, and can kill, pause (SIGSTOP), resume and restart it on the same
port. ``python tiered_support.py worker URL NAMESPACE [lock]`` runs a TieredCache in its own
process and answers one JSON command per stdin line with one JSON line on stdout; ``Worker``
is the test side of that. It also holds the pytest fixtures the TieredCache test modules share
(they load it with ``pytest_plugins``; PYTEST_DONT_REWRITE: they import it first, too).
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cuckoocache import SmartCache
from cuckoocache.tiered import TieredCache, encode_key
from support.tiers import serve

LOOPBACK = "127.0.0.1"


def find_redis_server() -> str | None:
    """The redis-server executable, or None."""
    found = shutil.which("redis-server")
    if found:
        return found
    for candidate in (
        "/usr/bin/redis-server",
        "/usr/sbin/redis-server",
        "/usr/local/bin/redis-server",
    ):
        if os.access(candidate, os.X_OK):
            return candidate
    return None


def free_port() -> int:
    """A TCP port that was free on the loopback interface a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((LOOPBACK, 0))
        return int(s.getsockname()[1])


def _die_with_parent() -> None:
    """In the child before exec: ask Linux to SIGTERM it when the test process dies, so that a
    test run killed by a timeout leaves no redis-server behind."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except Exception:
        pass


def ping(port: int, timeout: float = 0.2) -> bool:
    """Whether a Redis server answers PING on the loopback port (raw RESP, no client)."""
    try:
        with socket.create_connection((LOOPBACK, port), timeout=timeout) as s:
            s.settimeout(timeout)
            s.sendall(b"*1\r\n$4\r\nPING\r\n")
            return s.recv(64).startswith(b"+PONG")
    except OSError:
        return False


class RedisServer:
    """One redis-server process on 127.0.0.1, no persistence, stopped by ``stop()``."""

    def __init__(self, executable: str, cluster: bool = False) -> None:
        self.executable = executable
        self.cluster = cluster
        self.dir = Path(tempfile.mkdtemp(prefix="cuckoocache-redis-"))
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://{LOOPBACK}:{self.port}/0"

    def _command(self) -> list[str]:
        cmd = [
            self.executable,
            "--port", str(self.port),
            "--bind", LOOPBACK,
            "--save", "",
            "--appendonly", "no",
            "--dir", str(self.dir),
            "--daemonize", "no",
            "--protected-mode", "yes",
            "--loglevel", "warning",
            "--logfile", str(self.dir / "redis.log"),
        ]  # fmt: skip
        if self.cluster:
            cmd += [
                "--cluster-enabled", "yes",
                "--cluster-config-file", str(self.dir / f"nodes-{self.port}.conf"),
            ]  # fmt: skip
        return cmd

    def start(self, same_port: bool = False, timeout: float = 15.0) -> None:
        """Starts the server (on a new free port unless same_port) and waits for PING."""
        attempts = 1 if same_port else 5
        for _ in range(attempts):
            if not same_port:
                self.port = free_port()
            self.process = subprocess.Popen(
                self._command(),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                preexec_fn=_die_with_parent if sys.platform == "linux" else None,
            )
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    break  # exited: port taken meanwhile, or a bad option
                if ping(self.port):
                    if self.cluster:
                        self._assign_all_slots()
                    return
                time.sleep(0.02)
            self.kill()
        log = self.dir / "redis.log"
        detail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
        raise RuntimeError(f"redis-server did not start on port {self.port}: {detail}")

    def _assign_all_slots(self) -> None:
        import redis

        client: Any = redis.Redis(host=LOOPBACK, port=self.port)
        try:
            client.execute_command("CLUSTER", "ADDSLOTSRANGE", 0, 16383)
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline:
                info = client.execute_command("CLUSTER", "INFO")
                text = info.decode() if isinstance(info, bytes) else str(info)
                if "cluster_state:ok" in text:
                    return
                time.sleep(0.05)
            raise RuntimeError("single-node cluster did not reach cluster_state:ok")
        finally:
            client.close()

    def kill(self) -> None:
        """SIGKILL (a crash): no shutdown, connections reset."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def pause(self) -> None:
        """SIGSTOP: the server accepts connections but answers nothing (a hung server)."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        """Stops the server for good and removes its directory."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        shutil.rmtree(self.dir, ignore_errors=True)


def wait_until(predicate: Any, timeout: float, interval: float = 0.005) -> float:
    """Polls predicate() until it is true; returns the seconds it took, or raises
    AssertionError after timeout seconds."""
    start = time.monotonic()
    deadline = start + timeout
    while True:
        if predicate():
            return time.monotonic() - start
        if time.monotonic() >= deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)


# ---- worker process -----------------------------------------------------------------------------


class Worker:
    """A TieredCache in another process, driven over stdin/stdout (JSON lines)."""

    def __init__(self, url: str, namespace: str, lock: bool = False) -> None:
        self._spawn(
            [sys.executable, __file__, "worker", url, namespace] + (["lock"] if lock else [])
        )

    def _spawn(self, args: list[str]) -> None:
        """Starts the worker process `args` and waits until it answers."""
        self.process = subprocess.Popen(
            args,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        ready = self.call("ping")
        assert ready == "pong", ready

    def call(self, op: str, *args: Any, timeout: float = 60.0) -> Any:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write((json.dumps([op, *args]) + "\n").encode())
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            err = self.process.stderr.read().decode(errors="replace") if self.process.stderr else ""
            raise RuntimeError(f"worker died: {err[-3000:]}")
        reply = json.loads(line)
        if "error" in reply:
            raise RuntimeError(f"worker error: {reply['error']}")
        return reply["ok"]

    def close(self) -> None:
        if self.process.poll() is None:
            try:
                self.call("exit")
            except Exception:
                pass
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        for stream in (self.process.stdin, self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()


def _worker_main(url: str, namespace: str, lock: bool) -> None:
    import redis
    from cuckoocache import SmartCache
    from cuckoocache.tiered import TieredCache

    tier = TieredCache(
        SmartCache(1000),
        url,
        namespace=namespace,
        serializer="json",
        cross_instance_lock=lock,
        lock_wait_seconds=30.0,
        timeout=1.0,
    )
    counter = redis.Redis.from_url(url)

    def slow_compute(key: str, seconds: float) -> Any:
        counter.incr(f"computations:{namespace}:{key}")
        time.sleep(seconds)
        return f"computed-{key}"

    def ops(op: str, args: list[Any]) -> Any:
        if op == "get":
            return tier.get(args[0])
        if op == "put":
            tier.put(args[0], args[1])
            return None
        if op == "delete":
            return tier.remove(args[0])
        if op == "hold":
            # Reads until the local tier keeps a copy of the expected value for 50 ms
            # (see test_tiered.hold); False on timeout.
            key, expected, timeout = args
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if tier.get(key) == expected and tier.local.contains(key):
                    time.sleep(0.05)
                    if tier.local.contains(key):
                        return True
                time.sleep(0.005)
            return False
        if op == "local_contains":
            return tier.local.contains(args[0])
        if op == "wait_local_gone":
            # Seconds until the key left the local tier (or None on timeout).
            key, timeout = args
            start = time.monotonic()
            while time.monotonic() - start < timeout:
                if not tier.local.contains(key):
                    return time.monotonic() - start
                time.sleep(0.0005)
            return None
        if op == "get_or_set_at":
            # Waits until the wall-clock time args[1], then get_or_set with a slow factory.
            key, at, seconds = args
            time.sleep(max(0.0, at - time.time()))
            return tier.get_or_set(key, functools.partial(slow_compute, key, seconds))
        raise ValueError(f"unknown op {op!r}")

    serve(tier, ops)
    tier.close()
    counter.close()


# ---- pytest fixtures (test modules load them with pytest_plugins = ["tiered_support"]) ----


@pytest.fixture(scope="session")
def redis_server_exe() -> str:
    exe = find_redis_server()
    if exe is None:
        pytest.skip("redis-server not found (install Debian's redis-server; ./tools/test does)")
    return exe


def start_server(exe: str, cluster: bool = False) -> RedisServer:
    server = RedisServer(exe, cluster=cluster)
    try:
        server.start()
    except (OSError, RuntimeError) as e:
        server.stop()
        pytest.skip(f"redis-server could not be started: {e}")
    return server


@pytest.fixture(scope="module")
def server(redis_server_exe: str) -> Iterator[RedisServer]:
    """A redis-server shared by the tests of this module (each test uses its own namespace)."""
    s = start_server(redis_server_exe)
    yield s
    s.stop()


@pytest.fixture
def own_server(redis_server_exe: str) -> Iterator[RedisServer]:
    """A redis-server of this test alone (to kill, pause and restart)."""
    s = start_server(redis_server_exe)
    yield s
    s.stop()


@pytest.fixture
def ns() -> str:
    return "t-" + uuid.uuid4().hex[:12]


@pytest.fixture
def make_tier() -> Iterator[Callable[..., TieredCache]]:
    """Makes TieredCaches and closes them. Unless told: pickle, 1000 local entries, and a 1 s
    Redis timeout (the 50 ms default can trip on a loaded 2-core CI machine; the tests of
    timeouts pass their own)."""
    made: list[TieredCache] = []

    def make(url_or_client: Any, namespace: str, **kwargs: Any) -> TieredCache:
        kwargs.setdefault("serializer", "pickle")
        kwargs.setdefault("timeout", 1.0)
        local = kwargs.pop("local", None) or SmartCache(1000)
        tier = TieredCache(local, url_or_client, namespace=namespace, **kwargs)
        made.append(tier)
        return tier

    yield make
    for tier in made:
        tier.close()


@pytest.fixture
def raw(server: RedisServer) -> Iterator[Any]:
    """A plain redis-py client of the shared server, to look at what TieredCache stored."""
    import redis

    client = redis.Redis(host=LOOPBACK, port=server.port)
    yield client
    client.close()


def rkey(namespace: str, key: Any) -> bytes:
    return b"{" + namespace.encode() + b"}:" + encode_key(key)


def wait_available(tier: TieredCache, timeout: float = 30.0) -> float:
    return wait_until(lambda: tier.stats()["l2_available"], timeout)


def hold(tier: TieredCache, key: Any, expected: Any, timeout: float = 10.0) -> None:
    """Reads ``key`` through ``tier`` until its local tier keeps a copy of ``expected``.

    A copy read right after another instance's write can be dropped again by that write's
    own invalidation, still in flight (correct, and cheap: one more read from Redis); a test
    that needs a local copy to exist waits until one has survived 50 ms.
    """

    def held() -> bool:
        if tier.get(key) != expected or not tier.local.contains(key):
            return False
        time.sleep(0.05)
        return bool(tier.local.contains(key))

    wait_until(held, timeout)


if __name__ == "__main__":
    if len(sys.argv) >= 4 and sys.argv[1] == "worker":
        _worker_main(sys.argv[2], sys.argv[3], len(sys.argv) > 4 and sys.argv[4] == "lock")
    else:
        print(__doc__)
        sys.exit(2)
