"""CacheMapping (python_ext/cuckoocache/_mapping.py) alone, over a dict-backed toy cache: the
mapping base every cache class shares (views iterating snapshots, content equality, update,
popitem, repr naming the class)."""

from __future__ import annotations

from collections.abc import ItemsView, KeysView, MutableMapping, ValuesView

import pytest
from cuckoocache._mapping import CacheMapping


class ToyCache(CacheMapping[str, int]):
    """The five primitives and _items() over a dict, as a concrete cache provides them."""

    def __init__(self) -> None:
        self.data: dict[str, int] = {}
        self.snapshots = 0

    def __getitem__(self, key: str) -> int:
        return self.data[key]

    def __setitem__(self, key: str, value: int) -> None:
        self.data[key] = value

    def __delitem__(self, key: str) -> None:
        del self.data[key]

    def __len__(self) -> int:
        return len(self.data)

    def __contains__(self, key: object) -> bool:
        return key in self.data

    def _items(self) -> list[tuple[str, int]]:
        self.snapshots += 1
        return list(self.data.items())


def test_is_a_mutable_mapping_with_views() -> None:
    toy = ToyCache()
    toy.update({"a": 1}, b=2)
    assert isinstance(toy, MutableMapping)
    assert isinstance(toy.keys(), KeysView) and isinstance(toy.values(), ValuesView)
    assert isinstance(toy.items(), ItemsView)
    assert toy.keys() == {"a", "b"} and toy.items() == {("a", 1), ("b", 2)}
    assert sorted(toy.values()) == [1, 2] and 2 in toy.values() and 3 not in toy.values()


def test_iteration_walks_one_snapshot_so_mutation_is_allowed() -> None:
    toy = ToyCache()
    toy.update([("a", 1), ("b", 2)])
    before = toy.snapshots
    seen = []
    for key in toy:  # deleting while iterating: no "changed size during iteration"
        seen.append(key)
        del toy[key]
    assert sorted(seen) == ["a", "b"] and len(toy) == 0 and toy.snapshots == before + 1


def test_views_are_live_for_len_and_in() -> None:
    toy = ToyCache()
    keys, items = toy.keys(), toy.items()
    toy["x"] = 1
    assert len(keys) == 1 and "x" in keys and ("x", 1) in items


def test_equality_is_by_content_and_caches_are_unhashable() -> None:
    a, b = ToyCache(), ToyCache()
    a["k"] = 1
    b["k"] = 1
    assert a == b == {"k": 1} and a != {"k": 2} and a != [("k", 1)]
    with pytest.raises(TypeError, match="unhashable"):
        hash(a)


def test_update_accepts_mappings_keys_objects_pairs_and_keywords() -> None:
    class KeysOnly:
        def keys(self) -> list[str]:
            return ["p"]

        def __getitem__(self, key: str) -> int:
            return 7

    toy = ToyCache()
    toy.update({"m": 1})
    toy.update(KeysOnly())
    toy.update([("q", 3)], r=4)
    assert toy == {"m": 1, "p": 7, "q": 3, "r": 4}


def test_popitem_removes_one_and_raises_when_empty() -> None:
    toy = ToyCache()
    toy["only"] = 1
    assert toy.popitem() == ("only", 1) and len(toy) == 0
    with pytest.raises(KeyError, match="empty"):
        toy.popitem()


def test_repr_names_the_concrete_class() -> None:
    class Named(ToyCache):
        pass

    assert repr(Named()) == "Named(size=0)"
