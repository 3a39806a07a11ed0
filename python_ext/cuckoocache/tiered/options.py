"""TierOptions: the tuning knobs of a TieredCache, grouped in one validated, immutable object.

``TieredCache(..., options=TierOptions(timeout=0.1))`` and the same names as keyword arguments
(``TieredCache(..., timeout=0.1)``) are equivalent; the defaults suit a Redis on the same
network. What a tier *is* (local cache, Redis, namespace, serializer, TTL, secret) stays in
the constructor's own parameters.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

__all__ = ["TierOptions"]


def _positive_seconds(name: str, v: object) -> float:
    if not isinstance(v, (int, float)) or isinstance(v, bool) or not 0 < v < math.inf:
        raise ValueError(f"{name} must be a positive number of seconds, not {v!r}")
    return float(v)


@dataclasses.dataclass(frozen=True)
class TierOptions:
    """- ``timeout``: seconds before a Redis call counts as failed (None: use a passed client
      exactly as it is; see TieredCache).
    - ``raise_on_error``: raise Redis errors into the caller instead of degrading to the
      local tier (and ``redis.ConnectionError`` while disconnected).
    - ``cross_instance_lock``, ``lock_ttl_seconds``, ``lock_wait_seconds``: on a miss in both
      tiers, one instance computes under a Redis lock held at most ``lock_ttl_seconds``;
      the others wait at most ``lock_wait_seconds``.
    - ``health_check_interval``: seconds between the listener's pings (silent for three: lost).
    - ``failure_threshold``: consecutive failed reads that open the breaker.
    - ``connect_wait_seconds``: how long construction (and a forked child's first call that
      needs Redis) waits for the first subscription before starting local-only.
    """

    timeout: float | None = 0.05
    raise_on_error: bool = False
    cross_instance_lock: bool = False
    lock_ttl_seconds: float = 10.0
    lock_wait_seconds: float = 10.0
    health_check_interval: float = 1.0
    failure_threshold: int = 3
    connect_wait_seconds: float = 2.0

    def __post_init__(self) -> None:
        t = self.timeout
        if t is not None and (
            not isinstance(t, (int, float)) or isinstance(t, bool) or not 0 < t < math.inf
        ):
            raise ValueError(f"timeout must be a positive number of seconds or None, not {t!r}")
        for name in ("raise_on_error", "cross_instance_lock"):
            if not isinstance(getattr(self, name), bool):
                raise TypeError(f"{name} must be a bool, not {type(getattr(self, name)).__name__}")
        f = self.failure_threshold
        if not isinstance(f, int) or isinstance(f, bool) or f < 1:
            raise ValueError(f"failure_threshold must be a positive int, not {f!r}")
        for name in ("lock_ttl_seconds", "lock_wait_seconds", "health_check_interval"):
            _positive_seconds(name, getattr(self, name))
        c = self.connect_wait_seconds
        if not isinstance(c, (int, float)) or isinstance(c, bool) or not 0 <= c < math.inf:
            raise ValueError(f"connect_wait_seconds must be a number of seconds >= 0, not {c!r}")

    @classmethod
    def resolve(cls, options: TierOptions | None, overrides: dict[str, Any]) -> TierOptions:
        """``options`` (default: the defaults) with the keyword ``overrides`` applied;
        TypeError naming an unknown keyword."""
        if options is not None and not isinstance(options, TierOptions):
            raise TypeError(f"options must be a TierOptions, not {type(options).__qualname__}")
        base = options if options is not None else cls()
        if not overrides:
            return base
        known = {f.name for f in dataclasses.fields(cls)}
        for name in overrides:
            if name not in known:
                raise TypeError(f"TieredCache() got an unexpected keyword argument {name!r}")
        return dataclasses.replace(base, **overrides)
