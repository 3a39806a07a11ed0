"""EvictionPolicy is a Python enum.IntEnum (python_ext/cuckoocache/_policy.py), and the
administrative methods have Python signatures and raise TypeError/ValueError naming the method
or the argument (not Boost.Python.ArgumentError)."""

from __future__ import annotations

import copy
import enum
import inspect
import pickle
import pydoc
import re
from typing import Any, Callable

import pytest
from cuckoocache import EvictionPolicy, SmartCache, _core


def test_is_an_int_enum_with_the_engine_values() -> None:
    assert issubclass(EvictionPolicy, enum.IntEnum)
    assert list(EvictionPolicy) == [
        EvictionPolicy.LRU,
        EvictionPolicy.LFU,
        EvictionPolicy.TTL,
        EvictionPolicy.ADAPTIVE,
    ]
    assert [int(p) for p in EvictionPolicy] == [0, 1, 2, 3]
    assert EvictionPolicy(2) is EvictionPolicy.TTL and EvictionPolicy["LFU"] is EvictionPolicy.LFU
    assert _core.EvictionPolicy is EvictionPolicy


@pytest.mark.parametrize("policy", list(EvictionPolicy), ids=str)
def test_round_trips_pickle_and_copy(policy: EvictionPolicy) -> None:
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        assert pickle.loads(pickle.dumps(policy, protocol)) is policy
    assert copy.copy(policy) is policy and copy.deepcopy(policy) is policy


def test_help_renders_members_and_doc() -> None:
    text = pydoc.render_doc(EvictionPolicy, renderer=pydoc.plaintext)
    assert "ADAPTIVE" in text and "least recently used" in text


@pytest.mark.parametrize("policy", list(EvictionPolicy), ids=str)
def test_cache_accepts_and_returns_members(policy: EvictionPolicy) -> None:
    cache: SmartCache[int, int] = SmartCache(max_size=4, policy=policy)
    assert cache.get_policy() is policy and cache.stats()["policy"] is policy
    other = EvictionPolicy((policy + 1) % 4)
    cache.set_policy(other)
    assert cache.get_policy() is other


@pytest.mark.parametrize("bad", [0, 1, True, "LRU", None, 1.0])
def test_non_members_are_refused_naming_the_argument(bad: object) -> None:
    cache: SmartCache[int, int] = SmartCache(max_size=4)
    cache[1] = 1
    with pytest.raises(TypeError, match="policy must be an EvictionPolicy"):
        cache.set_policy(bad)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="policy must be an EvictionPolicy"):
        SmartCache(max_size=4, policy=bad)  # type: ignore[arg-type]
    assert cache.get_policy() is EvictionPolicy.LRU and dict(cache.items()) == {1: 1}


ADMIN_CALLS: list[tuple[str, Callable[[Any], object], str]] = [
    ("set_policy()", lambda c: c.set_policy(), "set_policy() takes exactly one argument"),
    ("set_policy(kw)", lambda c: c.set_policy(policy=EvictionPolicy.LFU), "no keyword"),
    ("stats(1)", lambda c: c.stats(1), "stats() takes no arguments"),
    ("set_max_size()", lambda c: c.set_max_size(), "set_max_size() takes exactly one"),
    ("set_max_size('x')", lambda c: c.set_max_size("x"), "max_size must be an int"),
    ("set_ttl('x')", lambda c: c.set_ttl("x"), "ttl_seconds"),
    ("clear(1)", lambda c: c.clear(1), "clear() takes no arguments"),
]


@pytest.mark.parametrize(("name", "call", "message"), ADMIN_CALLS, ids=[c[0] for c in ADMIN_CALLS])
def test_admin_methods_raise_type_error_naming_what_was_wrong(
    name: str, call: Callable[[Any], object], message: str
) -> None:
    cache: SmartCache[int, int] = SmartCache(max_size=4)
    cache[1] = 1
    with pytest.raises(TypeError, match=re.escape(message)) as info:
        call(cache)
    assert type(info.value) is TypeError  # not Boost.Python.ArgumentError
    assert dict(cache.items()) == {1: 1} and cache.get_max_size() == 4


def test_admin_value_errors_name_the_argument() -> None:
    cache: SmartCache[int, int] = SmartCache(max_size=4)
    with pytest.raises(ValueError, match="max_size"):
        cache.set_max_size(0)
    with pytest.raises(ValueError, match="ttl_seconds"):
        cache.set_ttl(-1.0)
    assert cache.get_max_size() == 4 and cache.get_ttl() is None


@pytest.mark.parametrize(
    ("method", "params"),
    [
        ("stats", []),
        ("set_policy", ["policy"]),
        ("set_max_size", ["max_size"]),
        ("set_ttl", ["ttl_seconds"]),
        ("get_ttl", []),
        ("clear", []),
    ],
)
def test_admin_methods_have_python_signatures(method: str, params: list[str]) -> None:
    bound = getattr(SmartCache(max_size=2), method)
    assert list(inspect.signature(bound).parameters) == params
    doc = inspect.getdoc(bound) or ""
    assert doc and "boost" not in doc.lower() and "C++ signature" not in doc
