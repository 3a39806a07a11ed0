"""cuckoocache: a concurrent in-memory cache over libcuckoo, with LRU, LFU, TTL and ADAPTIVE
(W-TinyLFU) eviction, exposed as a dict-like SmartCache and an ``@cached`` decorator.

See docs/python.md in the source tree for the API, key semantics and thread-safety rules.
"""

from __future__ import annotations

import atexit
import os

from . import _core
from ._cached import CacheInfo, cached
from ._policy import EvictionPolicy
from ._smartcache import SmartCache
from .tiered import TieredCache

__all__ = [
    "CacheInfo",
    "EvictionPolicy",
    "SmartCache",
    "TieredCache",
    "cached",
]
__version__ = "0.1.0"

# The background expiry thread must not run across fork() (the child would inherit its
# locks in whatever state they were) nor during interpreter finalization.
os.register_at_fork(
    before=_core._sweeper_pause,
    after_in_parent=_core._sweeper_resume,
    after_in_child=_core._sweeper_resume,
)
atexit.register(_core._sweeper_shutdown)
