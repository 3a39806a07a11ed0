"""TierCore (python_ext/src/tier_core.cpp), the C base of TieredCache: local hits of ``get``,
``[]`` and ``get_or_set`` with no Python frame, the miss hooks, argument checking, the
set-once ``local``, subclasses, and the single-flight of the tier's loader.
"""

from __future__ import annotations

import inspect
import operator
import sys
import threading
import time
from types import FrameType
from typing import Any

import pytest
from cuckoocache import SmartCache
from cuckoocache.tiered import TieredCache
from support import run_threads
from tiered_support import RedisServer

pytest.importorskip("redis", reason="redis-py is not installed (tools/test installs it)")

pytestmark = pytest.mark.timeout(120, method="thread")
pytest_plugins = ["tiered_support"]  # the fixtures: server, own_server, ns, make_tier, raw


def python_calls(action: Any, *args: Any) -> list[str]:
    """The Python functions (not C ones) that run during action(*args)."""
    seen: list[str] = []

    def profile(frame: FrameType, event: str, arg: Any) -> None:
        if event == "call":
            seen.append(frame.f_code.co_name)

    sys.setprofile(profile)
    try:
        action(*args)
    finally:
        sys.setprofile(None)
    return seen


def test_local_hits_run_no_python_code(server: RedisServer, ns: str, make_tier: Any) -> None:
    tier = make_tier(server.url, ns)
    tier["k"] = "v"
    assert python_calls(tier.get, "k") == []
    assert python_calls(operator.getitem, tier, "k") == []
    assert python_calls(tier.get_or_set, "k", str) == []
    assert tier.local.stats()["hits"] == 3


def test_signatures_and_keywords(server: RedisServer, ns: str, make_tier: Any) -> None:
    assert str(inspect.signature(TieredCache.get)) == "(self, /, key, default=None)"
    assert str(inspect.signature(TieredCache.get_or_set)) == (
        "(self, /, key, factory, ttl_seconds=None)"
    )
    tier = make_tier(server.url, ns)
    tier["k"] = 1
    assert tier.get(key="k") == 1
    assert tier.get("absent", default=2) == 2
    assert tier.get(key="absent", default=3) == 3
    assert tier.get_or_set(key="new", factory=lambda: 4, ttl_seconds=60) == 4
    assert tier["new"] == 4
    with pytest.raises(TypeError):
        tier.get()
    with pytest.raises(TypeError):
        tier.get("k", 1, 2)
    with pytest.raises(TypeError):
        tier.get("k", nope=1)
    with pytest.raises(KeyError):
        tier["absent"]


def test_bad_arguments_raise_and_change_nothing(
    server: RedisServer, ns: str, make_tier: Any
) -> None:
    tier = make_tier(server.url, ns)
    tier["hit"] = "v"
    with pytest.raises(TypeError, match="factory must be callable"):
        tier.get_or_set("miss", 42)
    for bad, error in ((True, TypeError), ("1", TypeError), (-1, ValueError), (1e300, ValueError)):
        with pytest.raises(error, match="ttl_seconds"):
            tier.get_or_set("miss", str, bad)
        with pytest.raises(error, match="ttl_seconds"):
            tier.get_or_set("hit", str, bad)  # checked on a hit too
    with pytest.raises(TypeError, match="unhashable"):
        tier.get([1])
    assert "miss" not in tier
    assert tier.stats()["computations"] == 0


def test_local_is_set_once(server: RedisServer, ns: str, make_tier: Any) -> None:
    local = SmartCache(10)
    tier = TieredCache(local, server.url, namespace=ns, serializer="pickle", timeout=1.0)
    tier.close()
    assert tier.local is local
    with pytest.raises(AttributeError, match="set once"):
        tier.local = SmartCache(10)
    with pytest.raises(AttributeError, match="set once"):
        del tier.local
    with pytest.raises(TypeError, match="local must be a SmartCache"):
        TieredCache({}, server.url, namespace=ns, serializer="pickle")  # type: ignore[arg-type]


def test_subclass_overrides_are_used(server: RedisServer, ns: str, make_tier: Any) -> None:
    class Counting(TieredCache):
        __slots__ = ("gets", "misses")

        def get(self, key: Any, default: Any = None) -> Any:
            self.gets += 1
            return super().get(key, default)

        def _get_miss(self, key: Any, default: Any) -> Any:
            self.misses += 1
            return super()._get_miss(key, default)

    tier = Counting(SmartCache(10), server.url, namespace=ns, serializer="pickle", timeout=1.0)
    try:
        tier.gets = tier.misses = 0
        tier["k"] = "v"
        assert tier.get("k") == "v" and tier.get("absent") is None
        assert tier.gets == 2 and tier.misses == 1
        with pytest.raises(KeyError):
            tier["absent"]  # [] misses through _get_miss as well
        assert tier.misses == 2
    finally:
        tier.close()


def test_failed_load_waiters_retry_once_then_share_the_error(
    server: RedisServer, ns: str, make_tier: Any
) -> None:
    tier = make_tier(server.url, ns)
    calls = 0
    lock = threading.Lock()
    barrier = threading.Barrier(6)

    def fails() -> str:
        nonlocal calls
        with lock:
            calls += 1
        time.sleep(0.2)
        raise ValueError("boom")

    def worker(_: int) -> None:
        barrier.wait()
        with pytest.raises(ValueError, match="boom"):
            tier.get_or_set("k", fails)

    run_threads(6, worker)
    assert calls == 2  # the leader's call and one retry between its waiters
    assert "k" not in tier


def test_recursive_load_of_the_same_key_computes_directly(
    server: RedisServer, ns: str, make_tier: Any
) -> None:
    tier = make_tier(server.url, ns)
    depth = 0

    def factory() -> int:
        nonlocal depth
        depth += 1
        if depth < 3:
            return tier.get_or_set("k", factory) + 1  # waiting for itself would hang
        return 0

    out: list[int] = []
    run_threads(1, lambda _: out.append(tier.get_or_set("k", factory)), timeout=30)
    # The innermost call stored 0 first; a computed value only fills a missing entry.
    assert out == [0] and depth == 3 and tier["k"] == 0
