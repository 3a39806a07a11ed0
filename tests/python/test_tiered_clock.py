"""cuckoocache.tiered.clock alone: the server-clock estimate (no Redis: a fake TIME)."""

from __future__ import annotations

import time

import pytest
from cuckoocache.tiered.clock import ServerClock


class FakeServer:
    def __init__(self, skew_s: float, as_dict: bool = False) -> None:
        self.skew_s = skew_s
        self.as_dict = as_dict

    def time(self) -> object:
        now = time.time() + self.skew_s
        reply = (int(now), int((now % 1) * 1_000_000))
        return {"node": reply} if self.as_dict else reply


def test_wall_clock_until_synced() -> None:
    clock = ServerClock()
    assert not clock.synced
    assert abs(clock.now_ms() - time.time() * 1000) < 50


@pytest.mark.parametrize("as_dict", [False, True])
def test_sync_follows_the_server_not_the_wall_clock(
    monkeypatch: pytest.MonkeyPatch, as_dict: bool
) -> None:
    clock = ServerClock()
    clock.sync(FakeServer(-7200, as_dict))  # the server is two hours behind us
    assert clock.synced
    expected = (time.time() - 7200) * 1000
    assert abs(clock.now_ms() - expected) < 50
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + 3600)  # our wall clock jumps
    assert abs(clock.now_ms() - (real() - 7200) * 1000) < 50  # the estimate does not
