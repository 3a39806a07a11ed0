"""cuckoocache: a concurrent in-memory cache over libcuckoo, with LRU, LFU, TTL and ADAPTIVE
(W-TinyLFU) eviction, exposed as a dict-like SmartCache and an ``@cached`` decorator.

See docs/python.md in the source tree for the API, key semantics and thread-safety rules.
"""

from __future__ import annotations

import atexit
import os
from typing import Any

from . import _core
from ._cached import CacheInfo, cached
from ._smartcache import EvictionPolicy, SmartCache
from .tiered import TieredCache

__all__ = ["CacheInfo", "EvictionPolicy", "SmartCache", "TieredCache", "cached"]
__version__ = "0.1.0"

# The background expiry thread must not run across fork() (the child would inherit its
# locks in whatever state they were) nor during interpreter finalization.
os.register_at_fork(
    before=_core._sweeper_pause,
    after_in_parent=_core._sweeper_resume,
    after_in_child=_core._sweeper_resume,
)
atexit.register(_core._sweeper_shutdown)


# Boost.Python enums do not pickle or copy by themselves: make members round-trip by name.
def _policy_reduce(self: EvictionPolicy) -> tuple[object, tuple[object, str]]:
    return getattr, (EvictionPolicy, self.name)


def _policy_reduce_ex(self: EvictionPolicy, protocol: object) -> tuple[object, tuple[object, str]]:
    return _policy_reduce(self)


def _policy_copy(self: EvictionPolicy, memo: object = None) -> EvictionPolicy:
    return self


_policy_type: Any = EvictionPolicy
_policy_type.__reduce__ = _policy_reduce
_policy_type.__reduce_ex__ = _policy_reduce_ex
_policy_type.__copy__ = _policy_copy
_policy_type.__deepcopy__ = _policy_copy
