"""cuckoocache.tiered.options alone: TierOptions defaults, validation and keyword overrides."""

from __future__ import annotations

from typing import Any

import pytest
from cuckoocache.tiered import TierOptions


def test_defaults_and_overrides() -> None:
    base = TierOptions()
    assert base.timeout == 0.05 and base.failure_threshold == 3 and not base.raise_on_error
    tuned = TierOptions.resolve(base, {"timeout": 0.2, "cross_instance_lock": True})
    assert tuned.timeout == 0.2 and tuned.cross_instance_lock
    assert TierOptions.resolve(None, {}) == base
    assert TierOptions.resolve(TierOptions(timeout=None), {}).timeout is None


@pytest.mark.parametrize(
    "kwargs",
    [{"timeout": 0}, {"timeout": "1"}, {"timeout": float("inf")}, {"failure_threshold": 0},
     {"failure_threshold": True}, {"lock_ttl_seconds": -1}, {"lock_wait_seconds": float("nan")},
     {"health_check_interval": 0}, {"connect_wait_seconds": -1}],
)  # fmt: skip
def test_bad_values_raise_valueerror(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        TierOptions(**kwargs)


def test_bad_types_and_unknown_names_raise_typeerror() -> None:
    with pytest.raises(TypeError, match="raise_on_error"):
        TierOptions(raise_on_error=1)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="timout"):
        TierOptions.resolve(None, {"timout": 1})
    with pytest.raises(TypeError, match="TierOptions"):
        TierOptions.resolve({"timeout": 1}, {})  # type: ignore[arg-type]
