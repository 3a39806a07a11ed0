"""@cached: functools.lru_cache compatibility, key building, single-flight, async, recursion.

Also SmartCache.get_or_set's single-flight loading, which @cached shares.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol, cast

import pytest
from cuckoocache import CacheInfo, EvictionPolicy, SmartCache, cached
from support import run_threads

# A deadlock in the binding may hold the GIL, which the signal method cannot interrupt.
pytestmark = pytest.mark.timeout(60, method="thread")

ALL_POLICIES = [
    EvictionPolicy.LRU,
    EvictionPolicy.LFU,
    EvictionPolicy.TTL,
    EvictionPolicy.ADAPTIVE,
]


class CachedAPI(Protocol):
    """What @cached adds to a function (its annotation, ``-> F``, hides these)."""

    __name__: str
    __doc__: str | None
    __wrapped__: Callable[..., Any]
    cache: SmartCache
    typed: bool

    def __call__(self, *args: Any, **kwargs: Any) -> Any: ...
    def cache_info(self) -> CacheInfo: ...
    def cache_clear(self) -> None: ...
    def cache_parameters(self) -> dict[str, Any]: ...
    def cache_stats(self) -> dict[str, Any]: ...
    def cache_size(self) -> int: ...


def api(function: Callable[..., Any]) -> CachedAPI:
    """The same object, typed as what @cached returns."""
    return cast(CachedAPI, function)


class Counter:
    """Counts calls, thread-safely."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.n = 0

    def bump(self) -> int:
        with self._lock:
            self.n += 1
            return self.n


@contextmanager
def recursion_limit(limit: int) -> Iterator[None]:
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(limit)
    try:
        yield
    finally:
        sys.setrecursionlimit(old)


# ---- functools compatibility ------------------------------------------------------------


def test_wraps_copies_metadata() -> None:
    def original(a: int, b: int = 2, *, c: str = "x") -> int:
        """Adds things."""
        return a + b

    original.custom = "attribute"  # type: ignore[attr-defined]
    wrapped = cached(max_size=8)(original)

    assert wrapped.__name__ == "original"
    assert wrapped.__doc__ == "Adds things."
    assert wrapped.__qualname__ == original.__qualname__
    assert wrapped.__qualname__.endswith("test_wraps_copies_metadata.<locals>.original")
    assert wrapped.__module__ == __name__
    assert api(wrapped).__wrapped__ is original
    assert wrapped.__annotations__ == original.__annotations__
    assert getattr(wrapped, "custom") == "attribute"  # noqa: B009
    assert inspect.signature(wrapped) == inspect.signature(original)
    assert wrapped(1) == 3


def test_bare_decorator() -> None:
    calls = Counter()

    @cached
    def square(x: int) -> int:
        """Squares."""
        calls.bump()
        return x * x

    assert square.__name__ == "square"
    assert square.__doc__ == "Squares."
    assert [square(3), square(3), square(4)] == [9, 9, 16]
    assert calls.n == 2
    assert api(square).cache_info() == CacheInfo(hits=1, misses=2, maxsize=128, currsize=2)
    assert api(square).cache_parameters()["maxsize"] == 128


def test_cache_info_is_named_tuple_with_counts() -> None:
    @cached(max_size=10)
    def f(x: int) -> int:
        return x

    info = api(f).cache_info()
    assert isinstance(info, tuple)
    assert isinstance(info, CacheInfo)
    assert info._fields == ("hits", "misses", "maxsize", "currsize")
    assert info == (0, 0, 10, 0)

    for x in [1, 2, 1, 1, 3, 2]:
        f(x)
    info = api(f).cache_info()
    assert (info.hits, info.misses, info.maxsize, info.currsize) == (3, 3, 10, 3)
    hits, misses, maxsize, currsize = info
    assert (hits, misses, maxsize, currsize) == (3, 3, 10, 3)


def test_cache_clear_empties_and_zeroes_counts() -> None:
    calls = Counter()

    @cached(max_size=10)
    def f(x: int) -> int:
        calls.bump()
        return x

    for x in [1, 2, 1]:
        f(x)
    assert api(f).cache_info() == (1, 2, 10, 2)
    api(f).cache_clear()
    assert api(f).cache_info() == (0, 0, 10, 0)
    assert api(f).cache_size() == 0
    assert len(api(f).cache) == 0
    f(1)
    assert calls.n == 3  # recomputed after the clear
    assert api(f).cache_info() == (0, 1, 10, 1)


def test_cache_parameters() -> None:
    @cached
    def default(x: int) -> int:
        return x

    # Equal to functools' dict; the policy and TTL are on .cache.
    assert api(default).cache_parameters() == {"maxsize": 128, "typed": False}
    assert api(default).cache_parameters() == functools.lru_cache(default).cache_parameters()

    @cached(max_size=7, policy=EvictionPolicy.LFU, ttl_seconds=30.0, typed=True)
    def custom(x: int) -> int:
        return x

    params = api(custom).cache_parameters()
    assert params == {"maxsize": 7, "typed": True}
    params["maxsize"] = 1000  # a copy: changing it changes nothing
    assert api(custom).cache_parameters()["maxsize"] == 7
    assert api(custom).cache.get_max_size() == 7
    assert api(custom).cache.get_policy() == EvictionPolicy.LFU
    assert api(custom).cache.get_ttl() == pytest.approx(30.0)


def test_cache_stats_size_and_cache_attribute() -> None:
    @cached(max_size=16, policy=EvictionPolicy.ADAPTIVE)
    def f(x: int) -> str:
        return str(x)

    assert isinstance(api(f).cache, SmartCache)
    assert api(f).cache is api(f).cache
    for x in [1, 2, 3, 1]:
        f(x)
    stats = api(f).cache_stats()
    assert stats["hits"] == 1
    assert stats["misses"] == 3
    assert stats["current_size"] == 3
    assert stats["max_size"] == 16
    assert stats["policy"] == EvictionPolicy.ADAPTIVE
    assert api(f).cache_size() == 3
    assert len(api(f).cache) == 3
    # The SmartCache holds the results under the keys @cached builds.
    assert sorted(api(f).cache.values()) == ["1", "2", "3"]


def test_cache_is_shared_with_wrapper() -> None:
    calls = Counter()

    @cached(max_size=8)
    def f(x: int) -> int:
        calls.bump()
        return x * 10

    f(5)
    api(f).cache.clear()
    assert f(5) == 50
    assert calls.n == 2


def test_decorator_rejects_bad_arguments() -> None:
    with pytest.raises(TypeError):
        cached(max_size=1.5)  # type: ignore[call-overload]
    with pytest.raises(TypeError):
        cached(max_size=4, maxsize=4)  # type: ignore[call-overload]
    with pytest.raises(TypeError):
        cached(key=42)  # type: ignore[call-overload]
    with pytest.raises(TypeError):
        cached(typed=1)  # type: ignore[call-overload]
    with pytest.raises(TypeError):
        cached(max_size=4)(42)  # type: ignore[type-var, call-overload]


# ---- keys ---------------------------------------------------------------------------------


def test_keyword_order_does_not_split_entries() -> None:
    calls = Counter()

    @cached(max_size=8)
    def f(a: int = 0, b: int = 0, c: int = 0) -> tuple[int, int, int]:
        calls.bump()
        return (a, b, c)

    assert f(a=1, b=2) == (1, 2, 0)
    assert f(b=2, a=1) == (1, 2, 0)
    assert api(f).cache_info() == (1, 1, 8, 1)
    assert f(c=3, a=1, b=2) == f(b=2, c=3, a=1) == f(a=1, b=2, c=3)
    assert calls.n == 2
    assert api(f).cache_info().currsize == 2


def test_positional_and_keyword_are_distinct_calls() -> None:
    # As in functools: f(1) and f(a=1) are separate entries (same result).
    @cached(max_size=8)
    def f(a: int) -> int:
        return a

    assert f(1) == f(a=1) == 1
    assert api(f).cache_info().misses == 2


def test_typed_true_separates_types() -> None:
    calls = Counter()

    @cached(max_size=8, typed=True)
    def f(x: Any) -> str:
        calls.bump()
        return type(x).__name__

    assert f(1) == "int"
    assert f(1.0) == "float"
    assert f(True) == "bool"
    assert f(x=1) == "int"
    assert f(x=1.0) == "float"
    assert calls.n == 5
    assert f(1) == "int"
    assert f(1.0) == "float"
    assert calls.n == 5
    assert api(f).typed is True


def test_typed_false_merges_equal_arguments_of_different_types() -> None:
    calls = Counter()

    @cached(max_size=8)
    def f(x: Any, y: int = 0) -> str:
        calls.bump()
        return type(x).__name__

    assert f(1.0) == "float"
    assert f(True) == "float"  # (True,) == (1.0,): one entry
    assert f(1, 2) == "int"
    assert f(1.0, 2) == "int"
    assert f(x=1.0) == "float"
    assert f(x=1) == "float"
    assert calls.n == 3
    assert api(f).typed is False


def test_typed_false_single_int_argument_behaves_like_functools() -> None:
    # functools.lru_cache keys a lone int or str argument by itself and anything else by a
    # tuple, so with typed=False f(1) and f(1.0) are two entries there. @cached does the same.
    calls_sequence: list[Any] = [1, 1.0, True, 1.0, 1, "a", b"a", 2, 2.0]

    @functools.lru_cache(maxsize=64)
    def reference(x: Any) -> Any:
        return x

    @cached(max_size=64)
    def ours(x: Any) -> Any:
        return x

    for x in calls_sequence:
        expected = reference(x)
        got = ours(x)
        assert got == expected
        assert type(got) is type(expected), x
    ref_info = reference.cache_info()
    assert api(ours).cache_info() == (ref_info.hits, ref_info.misses, 64, ref_info.currsize)


def test_key_function() -> None:
    calls = Counter()
    seen: list[tuple[tuple[Any, ...], dict[str, Any]]] = []

    def by_name(*args: Any, **kwargs: Any) -> str:
        seen.append((args, kwargs))
        return str(args[0]).lower()

    @cached(max_size=8, key=by_name)
    def greet(name: str, punctuation: str = "!") -> str:
        calls.bump()
        return f"hello {name}{punctuation}"

    assert greet("Bob") == "hello Bob!"
    assert greet("BOB", punctuation="?") == "hello Bob!"  # same key: cached result
    assert greet("alice", punctuation="?") == "hello alice?"
    assert calls.n == 2
    assert seen[1] == (("BOB",), {"punctuation": "?"})
    assert sorted(api(greet).cache.keys()) == ["alice", "bob"]


def test_key_function_raising_propagates_and_nothing_is_called() -> None:
    calls = Counter()

    def bad_key(*args: Any) -> Any:
        raise LookupError("no key")

    @cached(max_size=8, key=bad_key)
    def f(x: int) -> int:
        calls.bump()
        return x

    with pytest.raises(LookupError):
        f(1)
    assert calls.n == 0


def test_unhashable_arguments_raise_type_error() -> None:
    calls = Counter()

    @cached(max_size=8)
    def f(x: Any) -> int:
        calls.bump()
        return 1

    with pytest.raises(TypeError):
        f([1, 2])
    with pytest.raises(TypeError):
        f(x={"a": 1})
    assert calls.n == 0
    assert api(f).cache_size() == 0


# ---- results ------------------------------------------------------------------------------


def test_exceptions_are_not_cached() -> None:
    calls = Counter()

    @cached(max_size=8)
    def flaky(x: int) -> int:
        n = calls.bump()
        if n == 1:
            raise ValueError("first call fails")
        return x * 2

    with pytest.raises(ValueError, match="first call fails"):
        flaky(21)
    assert api(flaky).cache_size() == 0
    assert flaky(21) == 42
    assert flaky(21) == 42
    assert calls.n == 2


def test_none_results_are_cached() -> None:
    calls = Counter()

    @cached(max_size=8)
    def nothing(x: int) -> None:
        calls.bump()

    assert nothing(1) is None
    assert nothing(1) is None
    assert nothing(1) is None
    assert calls.n == 1
    assert api(nothing).cache_info() == (2, 1, 8, 1)


def test_results_are_returned_by_identity() -> None:
    @cached(max_size=8)
    def make(x: int) -> list[int]:
        return [x]

    first = make(1)
    assert make(1) is first


def test_ttl_expires_results() -> None:
    calls = Counter()

    @cached(max_size=8, ttl_seconds=0.05)
    def f(x: int) -> int:
        calls.bump()
        return x

    f(1)
    f(1)
    assert calls.n == 1
    time.sleep(0.12)
    f(1)
    assert calls.n == 2


@pytest.mark.parametrize("policy", ALL_POLICIES, ids=str)
def test_eviction_respects_max_size(policy: Any) -> None:
    calls = Counter()

    @cached(max_size=32, policy=policy)
    def f(x: int) -> int:
        calls.bump()
        return -x

    for x in range(1000):
        assert f(x) == -x
        assert api(f).cache_size() <= 32
    assert calls.n == 1000
    info = api(f).cache_info()
    assert info.currsize <= 32
    assert info.maxsize == 32
    assert info.misses == 1000
    assert api(f).cache_stats()["evictions"] + api(f).cache_stats()["rejections"] >= 1000 - 32
    # Whatever is still cached is right.
    for key, value in api(f).cache.items():
        assert value == -key


# ---- methods ------------------------------------------------------------------------------


class Widget:
    instances_calls = Counter()
    class_calls = Counter()
    static_calls = Counter()

    def __init__(self, scale: int) -> None:
        self.scale = scale

    @cached(max_size=16)
    def times(self, x: int) -> int:
        """Scaled x."""
        Widget.instances_calls.bump()
        return self.scale * x

    @classmethod
    @cached(max_size=16)
    def describe(cls, x: int) -> str:
        Widget.class_calls.bump()
        return f"{cls.__name__}:{x}"

    @staticmethod
    @cached(max_size=16)
    def double(x: int) -> int:
        Widget.static_calls.bump()
        return 2 * x


class SubWidget(Widget):
    pass


def test_instance_methods_key_on_the_instance() -> None:
    a, b = Widget(2), Widget(3)
    start = Widget.instances_calls.n
    assert a.times(5) == 10
    assert b.times(5) == 15  # another instance: another entry
    assert a.times(5) == 10
    assert Widget.times(a, 5) == 10  # unbound call: same key (a, 5)
    assert Widget.instances_calls.n - start == 2
    assert api(Widget.times).__name__ == "times"
    assert api(Widget.times).__doc__ == "Scaled x."
    assert a.times.__self__ is a  # type: ignore[attr-defined]


def test_classmethod_over_cached() -> None:
    start = Widget.class_calls.n
    assert Widget.describe(1) == "Widget:1"
    assert Widget(1).describe(1) == "Widget:1"
    assert SubWidget.describe(1) == "SubWidget:1"  # the class is part of the key
    assert Widget.class_calls.n - start == 2


def test_staticmethod_over_cached() -> None:
    start = Widget.static_calls.n
    assert Widget.double(4) == 8
    assert Widget(7).double(4) == 8
    assert Widget.static_calls.n - start == 1


# ---- threads ------------------------------------------------------------------------------


def test_concurrent_misses_compute_once() -> None:
    calls = Counter()
    barrier = threading.Barrier(8)
    results: list[object] = [None] * 8

    @cached(max_size=8)
    def slow(x: int) -> list[int]:
        calls.bump()
        time.sleep(0.2)
        return [x]

    def worker(i: int) -> None:
        barrier.wait()
        results[i] = slow(7)

    run_threads(8, worker)
    assert calls.n == 1
    assert all(r is results[0] for r in results)
    assert results[0] == [7]
    info = api(slow).cache_info()
    assert info.hits + info.misses == 8
    assert info.currsize == 1


def test_concurrent_misses_on_different_arguments_compute_each_once() -> None:
    calls: dict[int, int] = {}
    lock = threading.Lock()
    barrier = threading.Barrier(8)

    @cached(max_size=8)
    def slow(x: int) -> int:
        with lock:
            calls[x] = calls.get(x, 0) + 1
        time.sleep(0.1)
        return x * x

    def worker(i: int) -> None:
        barrier.wait()
        assert slow(i % 4) == (i % 4) ** 2

    run_threads(8, worker)
    assert calls == {0: 1, 1: 1, 2: 1, 3: 1}


def test_concurrent_leader_failure_lets_a_waiter_retry() -> None:
    calls = Counter()
    barrier = threading.Barrier(6)
    outcomes: list[str] = []
    lock = threading.Lock()

    @cached(max_size=8)
    def slow(x: int) -> int:
        n = calls.bump()
        time.sleep(0.1)
        if n == 1:
            raise RuntimeError("leader fails")
        return x

    def worker(i: int) -> None:
        barrier.wait()
        try:
            result = str(slow(3))
        except RuntimeError:
            result = "error"
        with lock:
            outcomes.append(result)

    run_threads(6, worker)
    assert sorted(outcomes) == ["3"] * 5 + ["error"]
    assert calls.n == 2


# ---- recursion ----------------------------------------------------------------------------


def _fib_expected(n: int) -> int:
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a


def test_recursive_fibonacci_200() -> None:
    @cached(max_size=1000)
    def fib(n: int) -> int:
        return n if n < 2 else fib(n - 1) + fib(n - 2)

    with recursion_limit(10_000):
        assert fib(200) == _fib_expected(200)
    assert api(fib).cache_info().misses == 201
    assert fib(150) == _fib_expected(150)


def test_recursive_fibonacci_200_default_recursion_limit() -> None:
    # As deep as functools.lru_cache goes under the default recursion limit.
    @functools.lru_cache(maxsize=1000)
    def reference(n: int) -> int:
        return n if n < 2 else reference(n - 1) + reference(n - 2)

    @cached(max_size=1000)
    def fib(n: int) -> int:
        return n if n < 2 else fib(n - 1) + fib(n - 2)

    with recursion_limit(1000):
        assert reference(200) == _fib_expected(200)
        assert fib(200) == _fib_expected(200)


def test_recursive_call_with_same_arguments_does_not_deadlock() -> None:
    calls = Counter()
    entered: list[bool] = []

    @cached(max_size=8)
    def again(x: int) -> int:
        calls.bump()
        if not entered:
            entered.append(True)
            return again(x) + 1  # same key, from the thread computing it
        return x

    assert again(5) == 6
    assert calls.n == 2
    assert again(5) == 6  # the outer result is the one kept
    assert calls.n == 2


def test_recursive_same_arguments_in_get_or_set_does_not_deadlock() -> None:
    cache = SmartCache(max_size=8)
    depth: list[int] = []

    def factory() -> int:
        depth.append(1)
        if len(depth) < 3:
            return cache.get_or_set("k", factory) + 1
        return 0

    assert cache.get_or_set("k", factory) == 2
    assert cache["k"] == 2


# ---- async --------------------------------------------------------------------------------


def test_async_function_result_is_cached() -> None:
    calls = Counter()

    @cached(max_size=8)
    async def fetch(x: int) -> dict[str, int]:
        """Fetches."""
        calls.bump()
        await asyncio.sleep(0.01)
        return {"x": x}

    assert inspect.iscoroutinefunction(fetch)
    assert fetch.__name__ == "fetch"
    assert fetch.__doc__ == "Fetches."
    assert isinstance(api(fetch).cache, SmartCache)

    async def main() -> None:
        first = await fetch(1)
        assert first == {"x": 1}
        assert await fetch(1) is first
        assert await fetch(x=2) == {"x": 2}
        assert await fetch(x=2) == {"x": 2}

    asyncio.run(main())
    assert calls.n == 2
    info = api(fetch).cache_info()
    assert (info.hits, info.misses, info.currsize) == (2, 2, 2)
    assert api(fetch).cache_parameters()["maxsize"] == 8
    api(fetch).cache_clear()
    assert api(fetch).cache_info() == (0, 0, 8, 0)


def test_async_concurrent_awaiters_share_one_computation() -> None:
    calls = Counter()

    @cached(max_size=8)
    async def slow(x: int) -> list[int]:
        calls.bump()
        await asyncio.sleep(0.1)
        return [x]

    async def main() -> list[list[int]]:
        return await asyncio.gather(*(slow(3) for _ in range(10)))

    results = asyncio.run(main())
    assert calls.n == 1
    assert all(r is results[0] for r in results)
    assert results[0] == [3]
    assert api(slow).cache_size() == 1


def test_async_exceptions_are_not_cached() -> None:
    calls = Counter()

    @cached(max_size=8)
    async def flaky(x: int) -> int:
        n = calls.bump()
        await asyncio.sleep(0)
        if n == 1:
            raise ValueError("first await fails")
        return x

    async def main() -> None:
        with pytest.raises(ValueError, match="first await fails"):
            await flaky(1)
        assert api(flaky).cache_size() == 0
        assert await flaky(1) == 1
        assert await flaky(1) == 1

    asyncio.run(main())
    assert calls.n == 2


def test_async_cancelled_awaiter_does_not_cancel_the_others() -> None:
    calls = Counter()

    @cached(max_size=8)
    async def slow(x: int) -> int:
        calls.bump()
        await asyncio.sleep(0.1)
        return x + 1

    async def main() -> None:
        doomed = asyncio.ensure_future(slow(1))
        survivor = asyncio.ensure_future(slow(1))
        await asyncio.sleep(0.02)
        doomed.cancel()
        assert await survivor == 2
        with pytest.raises(asyncio.CancelledError):
            await doomed

    asyncio.run(main())
    assert calls.n == 1


# ---- get_or_set ---------------------------------------------------------------------------


def test_get_or_set_factory_called_once_for_concurrent_misses() -> None:
    cache = SmartCache(max_size=16)
    calls = Counter()
    barrier = threading.Barrier(8)
    results: list[object] = [None] * 8

    def factory() -> list[str]:
        calls.bump()
        time.sleep(0.2)
        return ["value"]

    def worker(i: int) -> None:
        barrier.wait()
        results[i] = cache.get_or_set("key", factory)

    run_threads(8, worker)
    assert calls.n == 1
    assert all(r is results[0] for r in results)
    assert cache["key"] is results[0]


def test_get_or_set_returns_existing_value_without_calling() -> None:
    cache = SmartCache(max_size=16)
    cache["k"] = "v"

    def factory() -> str:
        raise AssertionError("must not be called")

    assert cache.get_or_set("k", factory) == "v"


def test_get_or_set_factory_raising_stores_nothing() -> None:
    cache = SmartCache(max_size=16)
    calls = Counter()

    def failing() -> int:
        calls.bump()
        raise KeyError("factory failed")

    with pytest.raises(KeyError, match="factory failed"):
        cache.get_or_set("k", failing)
    assert "k" not in cache
    assert len(cache) == 0
    with pytest.raises(KeyError):
        cache.get_or_set("k", failing)
    assert calls.n == 2  # nothing cached: called again
    assert cache.get_or_set("k", lambda: 5) == 5
    assert cache["k"] == 5


def test_get_or_set_ttl() -> None:
    cache = SmartCache(max_size=16)
    assert cache.get_or_set("k", lambda: 1, ttl_seconds=0.05) == 1
    assert cache.get_or_set("k", lambda: 2, ttl_seconds=0.05) == 1
    time.sleep(0.12)
    assert cache.get_or_set("k", lambda: 3) == 3
