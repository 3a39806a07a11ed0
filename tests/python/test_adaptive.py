"""ADAPTIVE from Python: a put's own entry survives its put (issue 12 point 2).

`c = SmartCache(max_size=2, policy=ADAPTIVE); c.update({1: 1, 2: 2}); c[1]; c[2]; c[3] = 3`
left `3 in c` False in 342 of 400 fresh caches (318 of 400 at size 3): the window could not
yield its newest entries, so the insert's eviction fell back to any slot, the newcomer included.
"""

from __future__ import annotations

import pytest
from cuckoocache import EvictionPolicy, SmartCache


@pytest.mark.parametrize("size", [1, 2, 3, 8])
def test_put_survives_its_own_put(size: int) -> None:
    missing = 0
    for _ in range(400):
        c = SmartCache(max_size=size, policy=EvictionPolicy.ADAPTIVE)
        c.update({1: 1, 2: 2})
        _ = c.get(1)
        _ = c.get(2)
        c[3] = 3
        missing += 3 not in c
        for k in range(4, 30):
            c[k] = k
            missing += k not in c
            _ = c.get(k % 5)
    assert missing == 0
