"""Keys follow dict's rules: equal keys (by Python's ==, with equal hashes) are one key, and
exceptions from __hash__ / __eq__ propagate and leave the cache unchanged."""

from __future__ import annotations

import enum
from collections.abc import Callable
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from cuckoocache import EvictionPolicy, SmartCache

# Everything here is parametrized over the four policies by the `policy` fixture (conftest.py).


def make(policy: EvictionPolicy, max_size: int = 1000) -> SmartCache:
    return SmartCache(max_size=max_size, policy=policy)


def state(cache: SmartCache) -> tuple[list[tuple[Any, Any]], dict[str, Any], int]:
    """Everything observable about a cache, for before/after comparisons."""
    items = sorted(cache.items(), key=lambda kv: (type(kv[0]).__name__, repr(kv)))
    return items, cache.stats(), len(cache)


# ---- numbers -------------------------------------------------------------------------------


def test_one_float_one_and_true_are_one_key(policy: EvictionPolicy) -> None:
    cache = make(policy)
    model: dict[Any, str] = {}
    for key, value in [(1, "int"), (1.0, "float"), (True, "bool")]:
        cache[key] = value
        model[key] = value
    assert len(cache) == len(model) == 1
    for key in (1, 1.0, True, Decimal(1), Fraction(1), 1 + 0j):
        assert cache[key] == "bool"
        assert key in cache
    # as in dict, the first key object stays and the value is the last one
    [(stored_key, stored_value)] = cache.items()
    assert type(stored_key) is int
    assert stored_value == "bool"
    assert cache.stats()["inserts"] == 1
    assert cache.stats()["updates"] == 2


def test_zero_false_and_negative_zero_are_one_key(policy: EvictionPolicy) -> None:
    cache = make(policy)
    cache[0.0] = "zero"
    assert cache[-0.0] == "zero"
    assert cache[0] == "zero"
    assert cache[False] == "zero"
    cache[-0.0] = "negzero"
    assert len(cache) == 1
    assert cache[0.0] == "negzero"


def test_string_one_and_int_one_are_two_keys(policy: EvictionPolicy) -> None:
    cache = make(policy)
    cache["1"] = "str"
    cache[1] = "int"
    cache[b"1"] = "bytes"
    assert len(cache) == 3
    assert cache["1"] == "str"
    assert cache[1] == "int"
    assert cache[b"1"] == "bytes"
    del cache[1]
    assert "1" in cache
    assert 1 not in cache


def test_colliding_hashes_minus_one_minus_two(policy: EvictionPolicy) -> None:
    assert hash(-1) == hash(-2)
    cache = make(policy)
    cache[-1] = "minus one"
    cache[-2] = "minus two"
    assert len(cache) == 2
    assert cache[-1] == "minus one"
    assert cache[-2] == "minus two"
    assert cache.pop(-1) == "minus one"
    assert -1 not in cache
    assert cache[-2] == "minus two"
    assert cache.get(-1) is None


def test_large_ints_and_floats(policy: EvictionPolicy) -> None:
    cache = make(policy)
    big = 2**100
    cache[big] = "big"
    assert cache[float(big)] == "big"
    cache[2**53 + 1] = "odd"
    assert float(2**53 + 1) == 2**53
    assert 2**53 not in cache
    assert cache.get(float(2**53)) is None
    assert cache[2**53 + 1] == "odd"
    cache[-(2**200)] = "neg"
    assert cache[-(2**200)] == "neg"
    assert len(cache) == 3


def test_nan_keys_match_by_identity_only(policy: EvictionPolicy) -> None:
    cache = make(policy)
    nan = float("nan")
    other_nan = float("nan")
    cache[nan] = "first"
    assert cache[nan] == "first"
    assert nan in cache
    assert other_nan not in cache
    assert cache.get(other_nan) is None
    cache[other_nan] = "second"
    assert len(cache) == 2
    assert cache[nan] == "first"
    assert cache[other_nan] == "second"
    assert cache.pop(nan) == "first"
    assert cache[other_nan] == "second"
    assert len(cache) == 1


def test_nan_inside_tuples_like_dict(policy: EvictionPolicy) -> None:
    # Tuple comparison checks element identity first: (nan,) == (nan,) for the same nan.
    nan = float("nan")
    cache = make(policy)
    model: dict[Any, int] = {}
    for i, key in enumerate([(nan, 1), (nan, 1), (float("nan"), 1)]):
        cache[key] = i
        model[key] = i
    assert len(cache) == len(model) == 2
    assert cache[(nan, 1)] == model[(nan, 1)] == 1


# ---- composite keys ------------------------------------------------------------------------


def test_tuples_of_mixed_builtins(policy: EvictionPolicy) -> None:
    cache = make(policy)
    key = (1, "a", None, 2.5, b"x", (True, ("nested", 0)))
    cache[key] = "tuple"
    assert cache[(1.0, "a", None, 2.5, b"x", (1, ("nested", False)))] == "tuple"
    assert cache[(True, "a", None, 2.5, b"x", (1.0, ("nested", 0.0)))] == "tuple"
    assert (1, "a", None, 2.5, b"x", (True, ("nested", 1))) not in cache
    assert ("1", "a", None, 2.5, b"x", (True, ("nested", 0))) not in cache
    assert (1, "a", None, 2.5, b"x") not in cache
    assert () not in cache
    cache[()] = "empty"
    assert cache[()] == "empty"
    assert len(cache) == 2


def test_deeply_nested_tuple_keys(policy: EvictionPolicy) -> None:
    cache = make(policy)
    key: Any = 0
    for _ in range(40):
        key = (key, "x")
    equal_key: Any = 0.0
    for _ in range(40):
        equal_key = (equal_key, "x")
    cache[key] = "deep"
    assert cache[equal_key] == "deep"
    assert len(cache) == 1


def test_frozensets(policy: EvictionPolicy) -> None:
    cache = make(policy)
    cache[frozenset({1, 2, 3})] = "fs"
    assert cache[frozenset([3, 2, 1])] == "fs"
    assert cache[frozenset({1.0, 2, True + 2})] == "fs"
    assert frozenset({1, 2}) not in cache
    cache[frozenset()] = "empty"
    assert cache[frozenset()] == "empty"
    assert len(cache) == 2
    cache[(frozenset({"a"}), 1)] = "tuple with a frozenset"
    assert cache[(frozenset(["a"]), 1.0)] == "tuple with a frozenset"
    assert cache.pop(frozenset({3, 1, 2})) == "fs"
    assert len(cache) == 2


def test_str_and_bytes_are_distinct(policy: EvictionPolicy) -> None:
    cache = make(policy)
    cache["a"] = "str"
    cache[b"a"] = "bytes"
    assert len(cache) == 2
    assert cache["a"] == "str"
    assert cache[b"a"] == "bytes"


def test_non_ascii_strings(policy: EvictionPolicy) -> None:
    cache = make(policy)
    keys = ["é", "\u00e9", "e\u0301", "😀", "\U0001f600", "\u017f", "ß", "SS", "", "\x00", "a\x00b"]
    model: dict[str, int] = {}
    for i, key in enumerate(keys):
        cache[key] = i
        model[key] = i
    assert len(cache) == len(model)
    for key in keys:
        assert cache[key] == model[key]


# ---- objects -------------------------------------------------------------------------------


class Plain:
    """Default identity equality and hashing."""


def test_identity_keys(policy: EvictionPolicy) -> None:
    cache = make(policy)
    a, b = Plain(), Plain()
    cache[a] = "a"
    assert cache[a] == "a"
    assert b not in cache
    cache[b] = "b"
    assert len(cache) == 2
    assert cache[a] == "a"
    assert cache[b] == "b"
    o = object()
    cache[o] = "object"
    assert cache[o] == "object"
    assert object() not in cache


def test_classes_and_functions_as_keys(policy: EvictionPolicy) -> None:
    cache = make(policy)
    cache[int] = "int type"
    cache[len] = "len"
    cache[Plain] = "Plain"
    assert cache[int] == "int type"
    assert cache[len] == "len"
    assert cache[Plain] == "Plain"
    assert str not in cache


class Color(enum.Enum):
    RED = 1
    GREEN = 2


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


class Mode(str, enum.Enum):
    READ = "r"


def test_enum_members(policy: EvictionPolicy) -> None:
    cache = make(policy)
    cache[Color.RED] = "red"
    cache[1] = "one"
    assert cache[Color.RED] == "red"
    assert Color.GREEN not in cache
    assert cache[1] == "one"
    assert len(cache) == 2  # Color.RED != 1
    assert cache[Color(1)] == "red"


def test_int_enum_equals_its_value(policy: EvictionPolicy) -> None:
    cache = make(policy)
    model: dict[Any, str] = {}
    for key, value in [(1, "int"), (Level.LOW, "low"), (Level.HIGH, "high"), (2.0, "two")]:
        cache[key] = value
        model[key] = value
    assert dict(cache.items()) == model
    assert len(cache) == 2
    assert cache[1] == "low"
    assert cache[Level.HIGH] == "two"


def test_str_enum_equals_its_value(policy: EvictionPolicy) -> None:
    cache = make(policy)
    cache["r"] = "plain"
    assert cache[Mode.READ] == "plain"
    cache[Mode.READ] = "enum"
    assert len(cache) == 1
    assert cache["r"] == "enum"


class StrSub(str):
    pass


class IntSub(int):
    pass


def test_builtin_subclasses_equal_their_base(policy: EvictionPolicy) -> None:
    cache = make(policy)
    cache[StrSub("k")] = "sub"
    assert cache["k"] == "sub"
    cache[5] = "int"
    assert cache[IntSub(5)] == "int"
    cache[IntSub(5)] = "intsub"
    assert len(cache) == 2
    assert cache[5] == "intsub"


class EqualsOne:
    """Equal to the int 1 (and to every EqualsOne), with hash(1)."""

    def __hash__(self) -> int:
        return hash(1)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, EqualsOne) or other == 1


def test_user_key_equal_to_a_stored_builtin(policy: EvictionPolicy) -> None:
    cache = make(policy)
    model: dict[Any, str] = {}
    cache[1] = "int"
    model[1] = "int"
    probe = EqualsOne()
    assert probe in cache
    assert cache[probe] == model[probe] == "int"
    cache[probe] = "user"
    model[probe] = "user"
    assert len(cache) == len(model) == 1
    assert cache[1] == cache[1.0] == cache[True] == "user"
    [(key, _)] = cache.items()
    assert type(key) is int  # the stored key object is kept, as in dict


def test_builtin_probe_finds_a_stored_user_key(policy: EvictionPolicy) -> None:
    cache = make(policy)
    stored = EqualsOne()
    cache[stored] = "user"
    assert cache[1] == "user"
    assert cache[1.0] == "user"
    assert cache[True] == "user"
    assert cache[EqualsOne()] == "user"
    assert 2 not in cache
    cache[True] = "bool"
    assert len(cache) == 1
    [(key, value)] = cache.items()
    assert key is stored
    assert value == "bool"
    assert cache.pop(1.0) == "bool"
    assert len(cache) == 0


class AlwaysEqual:
    def __init__(self, h: int) -> None:
        self.h = h

    def __hash__(self) -> int:
        return self.h

    def __eq__(self, other: object) -> bool:
        return True


class NeverEqual:
    def __init__(self, h: int) -> None:
        self.h = h

    def __hash__(self) -> int:
        return self.h

    def __eq__(self, other: object) -> bool:
        return False


def test_asymmetric_equality_stored_key_decides_like_dict(policy: EvictionPolicy) -> None:
    # dict compares stored == probe: an AlwaysEqual stored key matches a NeverEqual probe,
    # a NeverEqual stored key does not match an AlwaysEqual probe.
    always, never = AlwaysEqual(7), NeverEqual(7)

    cache, model = make(policy), {}
    cache[always] = model[always] = "always"
    assert (never in cache) == (never in model) == True  # noqa: E712
    assert cache[never] == "always"

    cache2, model2 = make(policy), {}
    cache2[never] = model2[never] = "never"
    assert (always in cache2) == (always in model2)
    cache2[always] = model2[always] = "always"
    assert len(cache2) == len(model2)
    assert sorted(cache2.values()) == sorted(model2.values())


def test_never_equal_key_is_still_found_by_identity(policy: EvictionPolicy) -> None:
    cache = make(policy)
    key = NeverEqual(3)
    cache[key] = "v"
    assert cache[key] == "v"
    assert key in cache
    assert NeverEqual(3) not in cache
    cache[key] = "w"
    assert len(cache) == 1
    assert cache[key] == "w"
    del cache[key]
    assert len(cache) == 0


def test_user_keys_in_one_hash_chain(policy: EvictionPolicy) -> None:
    # Many distinct user keys with one hash: every one is found, none confused.
    class Same:
        def __init__(self, n: int) -> None:
            self.n = n

        def __hash__(self) -> int:
            return 42

        def __eq__(self, other: object) -> bool:
            return isinstance(other, Same) and other.n == self.n

    cache = make(policy)
    for n in range(20):
        cache[Same(n)] = n
    cache[42] = "int 42"
    assert len(cache) == 21
    for n in range(20):
        assert cache[Same(n)] == n
    assert cache[42] == "int 42"
    for n in range(0, 20, 2):
        del cache[Same(n)]
    assert len(cache) == 11
    for n in range(20):
        assert (Same(n) in cache) == (n % 2 == 1)


DICT_EQUIVALENCE_KEYS: list[Any] = [
    0,
    1,
    -1,
    -2,
    2**64,
    1.0,
    0.5,
    -0.0,
    True,
    False,
    1 + 0j,
    0.5 + 1j,
    Decimal("1"),
    Decimal("0.5"),
    Fraction(1, 2),
    "1",
    "",
    b"",
    b"1",
    None,
    (),
    (1,),
    (1.0,),
    (1, "a"),
    (True, "a"),
    ((1,), (2,)),
    frozenset(),
    frozenset({1}),
    frozenset({1.0}),
    Color.RED,
    Level.LOW,
    Level.HIGH,
    EqualsOne(),
    StrSub("1"),
    IntSub(2),
]


def test_matches_dict_on_a_mixed_key_pool(policy: EvictionPolicy) -> None:
    cache = make(policy)
    model: dict[Any, int] = {}
    for i, key in enumerate(DICT_EQUIVALENCE_KEYS):
        cache[key] = i
        model[key] = i
        assert len(cache) == len(model)
        for probe in DICT_EQUIVALENCE_KEYS:
            assert (probe in cache) == (probe in model), (key, probe)
            assert cache.get(probe, "absent") == model.get(probe, "absent"), (key, probe)
    assert sorted(map(repr, cache.keys())) == sorted(map(repr, model.keys()))
    for key in DICT_EQUIVALENCE_KEYS:
        assert cache.pop(key, "gone") == model.pop(key, "gone")
    assert len(cache) == 0


# ---- unhashable keys and keys whose __hash__ / __eq__ raise -------------------------------

Operation = Callable[[SmartCache, Any], object]


def _del(cache: SmartCache, key: Any) -> None:
    del cache[key]


def _setitem(cache: SmartCache, key: Any) -> None:
    cache[key] = "new"


def _in(cache: SmartCache, key: Any) -> bool:
    return key in cache


OPERATIONS: dict[str, Operation] = {
    "put": lambda c, k: c.put(k, "new"),
    "put_ttl": lambda c, k: c.put(k, "new", ttl_seconds=60),
    "get": lambda c, k: c.get(k),
    "get_default": lambda c, k: c.get(k, "dflt"),
    "getitem": lambda c, k: c[k],
    "setitem": _setitem,
    "delitem": _del,
    "in": _in,
    "contains": lambda c, k: c.contains(k),
    "remove": lambda c, k: c.remove(k),
    "pop": lambda c, k: c.pop(k),
    "pop_default": lambda c, k: c.pop(k, "dflt"),
    "setdefault": lambda c, k: c.setdefault(k, "new"),
    "get_or_set": lambda c, k: c.get_or_set(k, lambda: "new"),
    "update": lambda c, k: c.update([(k, "new")]),
}
OPERATION_IDS = list(OPERATIONS)


def populated(policy: EvictionPolicy) -> SmartCache:
    cache = make(policy, max_size=100)
    for key in [1, "a", (1, "x"), None, frozenset({5})]:
        cache[key] = f"value of {key!r}"
    cache.get(1)
    cache.get("missing")
    return cache


@pytest.mark.parametrize("op_name", OPERATION_IDS)
@pytest.mark.parametrize(
    "key",
    [[1], {"a": 1}, {1}, bytearray(b"x"), (1, [2])],
    ids=["list", "dict", "set", "bytearray", "tuple-with-list"],
)
def test_unhashable_key_raises_type_error(policy: EvictionPolicy, op_name: str, key: Any) -> None:
    cache = populated(policy)
    before = state(cache)
    with pytest.raises(TypeError, match="unhashable"):
        OPERATIONS[op_name](cache, key)
    assert state(cache) == before


class HashError(Exception):
    pass


class EqError(Exception):
    pass


class BadHash:
    def __hash__(self) -> int:
        raise HashError("no hash for you")


class BadEq:
    """Hash equal to hash(1); __eq__ raises while `armed`."""

    armed = True

    def __hash__(self) -> int:
        return hash(1)

    def __eq__(self, other: object) -> bool:
        if BadEq.armed:
            raise EqError("no eq for you")
        return self is other


@pytest.mark.parametrize("op_name", OPERATION_IDS)
def test_raising_hash_propagates_and_leaves_cache_unchanged(
    policy: EvictionPolicy, op_name: str
) -> None:
    cache = populated(policy)
    before = state(cache)
    with pytest.raises(HashError, match="no hash"):
        OPERATIONS[op_name](cache, BadHash())
    assert state(cache) == before


@pytest.mark.parametrize("op_name", OPERATION_IDS)
def test_raising_hash_inside_a_tuple_key(policy: EvictionPolicy, op_name: str) -> None:
    cache = populated(policy)
    before = state(cache)
    with pytest.raises(HashError):
        OPERATIONS[op_name](cache, (1, BadHash()))
    assert state(cache) == before


@pytest.mark.parametrize("op_name", OPERATION_IDS)
def test_raising_eq_of_the_probe_propagates_and_leaves_cache_unchanged(
    policy: EvictionPolicy, op_name: str
) -> None:
    # The probe's hash collides with the stored key 1, so dict semantics must call __eq__.
    cache = populated(policy)
    before = state(cache)
    probe = BadEq()
    with pytest.raises(EqError, match="no eq"):
        OPERATIONS[op_name](cache, probe)
    assert state(cache) == before


@pytest.mark.parametrize("op_name", OPERATION_IDS)
def test_raising_eq_of_a_stored_key_propagates_and_leaves_cache_unchanged(
    policy: EvictionPolicy, op_name: str
) -> None:
    cache = make(policy, max_size=100)
    stored = BadEq()
    BadEq.armed = False
    try:
        cache[stored] = "stored"
        cache["other"] = "other"
    finally:
        BadEq.armed = True
    before = state(cache)
    with pytest.raises(EqError):
        OPERATIONS[op_name](cache, 1)  # hash(1) == hash(stored): stored.__eq__ runs
    assert state(cache) == before
    # The stored key itself is still found by identity, without calling __eq__.
    assert cache[stored] == "stored"


def test_cache_usable_after_eq_error(policy: EvictionPolicy) -> None:
    cache = make(policy)
    cache[1] = "one"
    with pytest.raises(EqError):
        cache[BadEq()] = "bad"
    cache[2] = "two"
    assert cache[1] == "one"
    assert cache[2] == "two"
    assert len(cache) == 2


def test_eq_error_only_for_colliding_hashes(policy: EvictionPolicy) -> None:
    # A key whose __eq__ would raise is never compared with keys of other hashes.
    class BadEqOtherHash(BadEq):
        def __hash__(self) -> int:
            return 123456789

    cache = make(policy)
    cache[1] = "one"
    key = BadEqOtherHash()
    cache[key] = "mine"
    assert cache[key] == "mine"
    assert len(cache) == 2
    assert cache.pop(key) == "mine"


def test_eq_returning_non_bool(policy: EvictionPolicy) -> None:
    # __eq__ results are truth-tested, as dict does.
    class Truthy:
        def __hash__(self) -> int:
            return hash("k")

        def __eq__(self, other: object) -> Any:
            return [1] if other == "k" else []

    cache = make(policy)
    cache["k"] = "value"
    assert cache[Truthy()] == "value"
    cache["other"] = 1
    assert cache.get(Truthy(), "absent") == "value"


def test_eq_returning_not_implemented_falls_back_to_identity(policy: EvictionPolicy) -> None:
    class NotImpl:
        def __hash__(self) -> int:
            return hash(1)

        def __eq__(self, other: object) -> Any:
            return NotImplemented

    cache = make(policy)
    cache[1] = "one"
    a = NotImpl()
    assert a not in cache
    cache[a] = "a"
    assert len(cache) == 2
    assert cache[a] == "a"
    assert cache[1] == "one"


def test_eq_whose_truth_test_raises(policy: EvictionPolicy) -> None:
    class BadBool:
        def __bool__(self) -> bool:
            raise EqError("bool")

    class Weird:
        def __hash__(self) -> int:
            return hash(1)

        def __eq__(self, other: object) -> Any:
            return BadBool()

    cache = make(policy)
    cache[1] = "one"
    before = state(cache)
    with pytest.raises(EqError, match="bool"):
        cache.get(Weird())
    with pytest.raises(EqError, match="bool"):
        cache[Weird()] = "weird"
    assert state(cache) == before


def test_hash_returning_a_huge_int(policy: EvictionPolicy) -> None:
    class HugeHash:
        def __hash__(self) -> int:
            return 2**100  # Python reduces it, as hash() does

    cache = make(policy)
    a = HugeHash()
    cache[a] = "huge"
    assert cache[a] == "huge"


def test_hash_returning_a_non_int(policy: EvictionPolicy) -> None:
    class StrHash:
        def __hash__(self) -> Any:
            return "not an int"

    cache = make(policy)
    cache[1] = "one"
    before = state(cache)
    with pytest.raises(TypeError):
        cache[StrHash()] = 1
    with pytest.raises(TypeError):
        cache.get(StrHash())
    assert state(cache) == before
