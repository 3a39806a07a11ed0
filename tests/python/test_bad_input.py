"""Bad arguments raise TypeError (wrong type) or ValueError (wrong value), name the argument,
and leave the cache exactly as it was."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

import pytest
from cuckoocache import EvictionPolicy, SmartCache

MAX_SIZE_CASES: list[tuple[Any, type[Exception]]] = [
    (0, ValueError),
    (-1, ValueError),
    (-(2**70), ValueError),
    (2**70, ValueError),
    (2**31 + 1, ValueError),
    (True, TypeError),
    (False, TypeError),
    (1.0, TypeError),
    (10.5, TypeError),
    (math.nan, TypeError),
    ("10", TypeError),
    (None, TypeError),
    ([10], TypeError),
]

TTL_CASES: list[tuple[Any, type[Exception]]] = [
    (-1, ValueError),
    (-0.5, ValueError),
    (0, ValueError),
    (0.0, ValueError),
    (-0.0, ValueError),
    (math.nan, ValueError),
    (math.inf, ValueError),
    (-math.inf, ValueError),
    (1e300, ValueError),
    (10**400, ValueError),
    (True, TypeError),
    (False, TypeError),
    ("1", TypeError),
    ([1], TypeError),
    (1j, TypeError),
]

POLICY_CASES: list[tuple[Any, type[Exception]]] = [
    (0, TypeError),
    (1, TypeError),
    (3, TypeError),
    ("LRU", TypeError),
    ("lru", TypeError),
    (None, TypeError),
    (1.0, TypeError),
    (EvictionPolicy, TypeError),
]

THRESHOLD_CASES: list[tuple[Any, type[Exception]]] = [
    (0, ValueError),
    (0.0, ValueError),
    (-0.1, ValueError),
    (1.0001, ValueError),
    (2, ValueError),
    (math.nan, ValueError),
    (math.inf, ValueError),
    (True, TypeError),
    ("0.7", TypeError),
    (None, TypeError),
]


def case_id(case: tuple[Any, type[Exception]]) -> str:
    value, _ = case
    text = repr(value)
    return text if len(text) <= 20 else text[:17] + "..."


def populated(policy: EvictionPolicy = EvictionPolicy.LRU, **kwargs: Any) -> SmartCache:
    cache = SmartCache(max_size=20, policy=policy, **kwargs)
    for i in range(10):
        cache.put(i, f"v{i}")
    cache.get(1)
    cache.get("missing")
    return cache


def snapshot(cache: SmartCache) -> tuple[Any, ...]:
    return (
        sorted(cache.items()),
        cache.stats(),
        len(cache),
        cache.get_max_size(),
        cache.get_policy(),
        cache.get_ttl(),
    )


def check_error(
    call: Callable[[], object], exc_type: type[Exception], argument: str
) -> BaseException:
    with pytest.raises(exc_type) as info:
        call()
    message = str(info.value)
    assert argument in message, f"message does not name {argument!r}: {message!r}"
    return info.value


# ---- max_size ------------------------------------------------------------------------------


@pytest.mark.parametrize("case", MAX_SIZE_CASES, ids=case_id)
def test_constructor_max_size(case: tuple[Any, type[Exception]]) -> None:
    value, exc_type = case
    check_error(lambda: SmartCache(max_size=value), exc_type, "max_size")
    check_error(lambda: SmartCache(value), exc_type, "max_size")


@pytest.mark.parametrize("case", MAX_SIZE_CASES, ids=case_id)
def test_set_max_size(case: tuple[Any, type[Exception]], policy: EvictionPolicy) -> None:
    value, exc_type = case
    cache = populated(policy)
    before = snapshot(cache)
    check_error(lambda: cache.set_max_size(value), exc_type, "max_size")
    assert snapshot(cache) == before


@pytest.mark.parametrize("value", [1, 7, 2**20])
def test_good_max_size(value: int) -> None:
    assert SmartCache(max_size=value).get_max_size() == value


def test_max_size_error_message_shows_the_value() -> None:
    with pytest.raises(ValueError, match="-5"):
        SmartCache(max_size=-5)
    with pytest.raises(TypeError, match="float"):
        SmartCache(max_size=5.0)


# ---- ttl_seconds ---------------------------------------------------------------------------


@pytest.mark.parametrize("case", TTL_CASES, ids=case_id)
def test_constructor_ttl(case: tuple[Any, type[Exception]]) -> None:
    value, exc_type = case
    check_error(lambda: SmartCache(ttl_seconds=value), exc_type, "ttl_seconds")


@pytest.mark.parametrize("case", TTL_CASES, ids=case_id)
def test_set_ttl(case: tuple[Any, type[Exception]], policy: EvictionPolicy) -> None:
    value, exc_type = case
    cache = populated(policy, ttl_seconds=60)
    before = snapshot(cache)
    check_error(lambda: cache.set_ttl(value), exc_type, "ttl_seconds")
    assert snapshot(cache) == before
    assert cache.get_ttl() == 60.0


@pytest.mark.parametrize("case", TTL_CASES, ids=case_id)
def test_put_ttl_new_key(case: tuple[Any, type[Exception]], policy: EvictionPolicy) -> None:
    value, exc_type = case
    cache = populated(policy)
    before = snapshot(cache)
    check_error(lambda: cache.put("new", "x", ttl_seconds=value), exc_type, "ttl_seconds")
    check_error(lambda: cache.put("new", "x", value), exc_type, "ttl_seconds")
    assert snapshot(cache) == before
    assert "new" not in cache


@pytest.mark.parametrize("case", TTL_CASES, ids=case_id)
def test_put_ttl_existing_key(case: tuple[Any, type[Exception]], policy: EvictionPolicy) -> None:
    value, exc_type = case
    cache = populated(policy)
    before = snapshot(cache)
    check_error(lambda: cache.put(3, "changed", ttl_seconds=value), exc_type, "ttl_seconds")
    assert snapshot(cache) == before
    assert cache.contains(3)


@pytest.mark.parametrize("case", TTL_CASES, ids=case_id)
def test_put_ttl_into_a_full_cache(case: tuple[Any, type[Exception]]) -> None:
    # A full cache must not evict anything for a put that is refused.
    value, exc_type = case
    cache = SmartCache(max_size=10)
    for i in range(10):
        cache.put(i, i)
    before = snapshot(cache)
    check_error(lambda: cache.put("new", "x", ttl_seconds=value), exc_type, "ttl_seconds")
    assert snapshot(cache) == before


@pytest.mark.parametrize("case", TTL_CASES, ids=case_id)
def test_get_or_set_ttl(case: tuple[Any, type[Exception]]) -> None:
    value, exc_type = case
    cache = populated()
    items_before = sorted(cache.items())
    check_error(
        lambda: cache.get_or_set("new", lambda: "x", ttl_seconds=value), exc_type, "ttl_seconds"
    )
    assert sorted(cache.items()) == items_before
    assert "new" not in cache
    # the key is not left "in flight": a later call computes and stores
    assert cache.get_or_set("new", lambda: "y") == "y"


@pytest.mark.parametrize("value", [1, 0.001, 2.5, 3600, 100 * 365 * 24 * 3600])
def test_good_ttl(value: float) -> None:
    assert SmartCache(ttl_seconds=value).get_ttl() == pytest.approx(value)
    cache = SmartCache()
    cache.set_ttl(value)
    assert cache.get_ttl() == pytest.approx(value)
    cache.put("k", "v", ttl_seconds=value)
    assert cache["k"] == "v"


def test_ttl_error_message_shows_the_value() -> None:
    with pytest.raises(ValueError, match="-5"):
        SmartCache(ttl_seconds=-5)
    with pytest.raises(ValueError, match="1e\\+300"):
        SmartCache(ttl_seconds=1e300)
    with pytest.raises(TypeError, match="str"):
        SmartCache(ttl_seconds="5")


# ---- policy --------------------------------------------------------------------------------


@pytest.mark.parametrize("case", POLICY_CASES, ids=case_id)
def test_constructor_policy(case: tuple[Any, type[Exception]]) -> None:
    value, exc_type = case
    check_error(lambda: SmartCache(policy=value), exc_type, "policy")


@pytest.mark.parametrize("case", POLICY_CASES, ids=case_id)
def test_set_policy(case: tuple[Any, type[Exception]], policy: EvictionPolicy) -> None:
    value, exc_type = case
    cache = populated(policy)
    before = snapshot(cache)
    check_error(lambda: cache.set_policy(value), exc_type, "policy")
    assert snapshot(cache) == before
    assert cache.get_policy() == policy


def test_policy_error_names_the_type() -> None:
    with pytest.raises(TypeError, match="EvictionPolicy"):
        SmartCache(policy="LRU")


# ---- adaptive_threshold --------------------------------------------------------------------


@pytest.mark.parametrize("case", THRESHOLD_CASES, ids=case_id)
def test_constructor_adaptive_threshold(case: tuple[Any, type[Exception]]) -> None:
    value, exc_type = case
    check_error(lambda: SmartCache(adaptive_threshold=value), exc_type, "adaptive_threshold")
    check_error(
        lambda: SmartCache(policy=EvictionPolicy.ADAPTIVE, adaptive_threshold=value),
        exc_type,
        "adaptive_threshold",
    )


@pytest.mark.parametrize("value", [1e-9, 0.01, 0.5, 0.7, 1, 1.0])
def test_good_adaptive_threshold(value: float) -> None:
    cache = SmartCache(max_size=50, policy=EvictionPolicy.ADAPTIVE, adaptive_threshold=value)
    for i in range(200):
        cache[i] = i
        cache.get(i // 3)
    assert len(cache) <= 50


# ---- messages ------------------------------------------------------------------------------

MESSAGE_CASES = (
    [("max_size", value) for value, _ in MAX_SIZE_CASES]
    + [("ttl_seconds", value) for value, _ in TTL_CASES]
    + [("policy", value) for value, _ in POLICY_CASES]
    + [("adaptive_threshold", value) for value, _ in THRESHOLD_CASES]
)


@pytest.mark.parametrize(
    "argument, value",
    MESSAGE_CASES,
    ids=[f"{name}={case_id((value, Exception))}" for name, value in MESSAGE_CASES],
)
def test_error_message_is_fully_formatted(argument: str, value: Any) -> None:
    with pytest.raises((TypeError, ValueError)) as info:
        SmartCache(**{argument: value})
    message = str(info.value)
    # printf directives left unformatted mean a broken message
    assert not re.search(r"%[-+ #0-9.]*[a-zA-Z]", message), f"garbled message: {message!r}"


# ---- arity and keywords --------------------------------------------------------------------


def test_unknown_constructor_keyword() -> None:
    with pytest.raises(TypeError, match="maxsize"):
        SmartCache(maxsize=10)  # type: ignore[call-arg]


def test_too_many_constructor_arguments() -> None:
    with pytest.raises(TypeError):
        SmartCache(10, EvictionPolicy.LRU, None, 0.7, "extra")  # type: ignore[call-arg]


BAD_CALLS: dict[str, Callable[[SmartCache], object]] = {
    "get()": lambda c: c.get(),  # type: ignore[call-arg]
    "get(1, 2, 3)": lambda c: c.get(1, 2, 3),  # type: ignore[call-arg]
    "get(nokey=1)": lambda c: c.get(nokey=1),  # type: ignore[call-arg]
    "get(1, key=1)": lambda c: c.get(1, key=1),  # type: ignore[misc]
    "put()": lambda c: c.put(),  # type: ignore[call-arg]
    "put(1)": lambda c: c.put(1),  # type: ignore[call-arg]
    "put(1, 2, 3, 4)": lambda c: c.put(1, 2, 3, 4),  # type: ignore[call-arg]
    "put(1, 2, ttl=5)": lambda c: c.put(1, 2, ttl=5),  # type: ignore[call-arg]
    "put(value=2)": lambda c: c.put(value=2),  # type: ignore[call-arg]
    "contains()": lambda c: c.contains(),  # type: ignore[call-arg]
    "contains(1, 2)": lambda c: c.contains(1, 2),  # type: ignore[call-arg]
    "remove()": lambda c: c.remove(),  # type: ignore[call-arg]
    "pop()": lambda c: c.pop(),  # type: ignore[call-arg]
    "pop(1, 2, 3)": lambda c: c.pop(1, 2, 3),  # type: ignore[call-arg]
    "setdefault()": lambda c: c.setdefault(),  # type: ignore[call-arg]
    "setdefault(1, 2, 3)": lambda c: c.setdefault(1, 2, 3),  # type: ignore[call-arg]
    "size(1)": lambda c: c.size(1),  # type: ignore[call-arg]
    "stats(1)": lambda c: c.stats(1),  # type: ignore[call-arg]
    "clear(1)": lambda c: c.clear(1),  # type: ignore[call-arg]
    "set_policy()": lambda c: c.set_policy(),  # type: ignore[call-arg]
    "set_max_size()": lambda c: c.set_max_size(),  # type: ignore[call-arg]
    "set_ttl()": lambda c: c.set_ttl(),  # type: ignore[call-arg]
    "get_or_set(1)": lambda c: c.get_or_set(1),  # type: ignore[call-arg]
    "update(1)": lambda c: c.update(1),  # type: ignore[arg-type]
    "update({}, {})": lambda c: c.update({}, {}),  # type: ignore[call-arg]
}


@pytest.mark.parametrize("name", list(BAD_CALLS))
def test_bad_call_raises_type_error_and_changes_nothing(name: str) -> None:
    cache = populated()
    before = snapshot(cache)
    with pytest.raises(TypeError):
        BAD_CALLS[name](cache)
    assert snapshot(cache) == before


def test_get_or_set_non_callable_factory() -> None:
    cache = populated()
    items_before = sorted(cache.items())
    with pytest.raises(TypeError):
        cache.get_or_set("new", 5)  # type: ignore[arg-type]
    assert sorted(cache.items()) == items_before
    assert cache.get_or_set("new", lambda: 6) == 6


def test_update_with_pairs_of_the_wrong_length() -> None:
    cache = SmartCache()
    with pytest.raises(ValueError):
        cache.update([(1, 2, 3)])  # type: ignore[list-item]
    with pytest.raises((ValueError, TypeError)):
        cache.update([1])  # type: ignore[list-item]
    assert len(cache) == 0


# ---- uninitialized and misused objects -----------------------------------------------------


def test_method_on_uninitialized_cache() -> None:
    cache = SmartCache.__new__(SmartCache)
    with pytest.raises(RuntimeError, match="__init__"):
        cache.get(1)
    with pytest.raises(RuntimeError, match="__init__"):
        cache.stats()
    with pytest.raises(RuntimeError, match="__init__"):
        len(cache)


def test_init_twice_is_refused() -> None:
    cache = populated()
    before = snapshot(cache)
    with pytest.raises(RuntimeError):
        cache.__init__(max_size=5)  # type: ignore[misc]
    assert snapshot(cache) == before


def test_unbound_method_on_a_wrong_object() -> None:
    with pytest.raises(TypeError):
        SmartCache.get({}, 1)  # type: ignore[arg-type]
