"""Shared fixtures for the cuckoocache Python tests."""

from __future__ import annotations

import pytest
from cuckoocache import EvictionPolicy

ALL_POLICIES = [
    EvictionPolicy.LRU,
    EvictionPolicy.LFU,
    EvictionPolicy.TTL,
    EvictionPolicy.ADAPTIVE,
]


@pytest.fixture(params=ALL_POLICIES, ids=lambda p: str(p))
def policy(request: pytest.FixtureRequest) -> EvictionPolicy:
    """Each of the four eviction policies in turn."""
    return request.param  # type: ignore[no-any-return]
