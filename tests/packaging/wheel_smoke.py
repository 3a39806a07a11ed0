"""Smoke test of an installed cuckoocache wheel (run by tools/lib/wheel.sh from a fresh venv,
outside the source tree, with the system's libboost_python*.so made unreadable).

Checks that the package comes from the venv (not the source tree), that its extension loads
only libraries from the wheel or the manylinux policy, and that the public API works.
"""

from __future__ import annotations

import pathlib
import pickle
import sys

import cuckoocache
from cuckoocache import EvictionPolicy, SmartCache, cached

where = pathlib.Path(cuckoocache.__file__).resolve()
if not str(where).startswith(sys.prefix):
    sys.exit(f"wheel_smoke: cuckoocache imported from {where}, not from the venv {sys.prefix}")

# Every Boost.Python the process mapped must be the wheel's own copy (cuckoocache.libs/).
with open("/proc/self/maps") as maps:
    boost = {line.split()[-1] for line in maps if "libboost_python" in line}
if not boost or not all("cuckoocache.libs" in path for path in boost):
    sys.exit(f"wheel_smoke: Boost.Python mapped from {sorted(boost)}, expected cuckoocache.libs/")

cache: SmartCache[str, int] = SmartCache(max_size=2, policy=EvictionPolicy.LFU)
cache["a"] = 1
cache.put("b", 2)
cache.put("c", 3)
assert len(cache) == 2 and cache.get("c") == 3, cache
assert list(EvictionPolicy) == [
    EvictionPolicy.LRU,
    EvictionPolicy.LFU,
    EvictionPolicy.TTL,
    EvictionPolicy.ADAPTIVE,
]
assert pickle.loads(pickle.dumps(EvictionPolicy.TTL)) is EvictionPolicy.TTL

calls = []


@cached(max_size=8)
def square(x: int) -> int:
    calls.append(x)
    return x * x


assert [square(3), square(3)] == [9, 9] and calls == [3]
print(
    f"wheel_smoke: OK (cuckoocache {cuckoocache.__version__} from {where.parent}; "
    f"Boost.Python from {sorted(boost)[0]})"
)
