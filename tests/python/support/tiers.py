"""Helpers for the TieredCache tests: waiting until tiers serve from Redis again, traffic
from a background thread while a test breaks something, and the worker processes' command
loop.

Both stay free of pytest and of the Redis fixtures, so any test module (and a script) can use
them; ``tiered_support.py`` and ``cluster_support.py`` start the servers.
"""

from __future__ import annotations

import json
import random
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any


def wait_recovered(*tiers: Any, shards: int = 3, timeout: float = 30.0) -> float:
    """Waits until every one of ``tiers`` (cluster TieredCaches) serves from Redis on all
    ``shards`` shards; returns the seconds waited. AssertionError after ``timeout``."""
    start = time.monotonic()
    while not all(t.stats()["l2_shards_available"] == shards for t in tiers):
        if time.monotonic() - start > timeout:
            states = [t.stats()["l2_shards_available"] for t in tiers]
            raise AssertionError(f"shards available {states}, not {shards}, after {timeout} s")
        time.sleep(0.005)
    return time.monotonic() - start


@contextmanager
def traffic(
    step: Callable[[Any, int, random.Random], None],
    keys: Sequence[Any],
    seed: int,
    join_timeout: float = 30.0,
) -> Iterator[None]:
    """Calls ``step(key, version, rng)`` over and over in a background thread while the
    ``with`` block runs (``key`` one of ``keys`` drawn by ``rng``, seeded with ``seed``;
    ``version`` 1, 2, 3, ...), then stops and joins it; re-raises the first exception
    ``step`` raised (the loop stops there). AssertionError if the thread does not stop within
    ``join_timeout``."""
    errors: list[BaseException] = []
    stop = threading.Event()

    def run() -> None:
        rng = random.Random(seed)
        version = 0
        try:
            while not stop.is_set():
                version += 1
                step(rng.choice(keys), version, rng)
        except BaseException as e:  # reported when the block ends
            errors.append(e)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(join_timeout)
    assert not thread.is_alive(), "the traffic thread did not stop"
    if errors:
        raise errors[0]


def serve(tier: Any, ops: Callable[[str, list[Any]], Any]) -> None:
    """The worker side of the tests' line protocol (``tiered_support.Worker``): one JSON
    ``[op, *args]`` per stdin line, answered by one JSON line, ``{"ok": result}`` or
    ``{"error": "Type: message"}``. ``ping``, ``exit`` and ``stats`` are answered here;
    ``ops(op, args)`` answers the others (ValueError for an op it does not know)."""
    for line in sys.stdin:
        op, *args = json.loads(line)
        try:
            if op == "ping":
                result: Any = "pong"
            elif op == "exit":
                print(json.dumps({"ok": None}), flush=True)
                break
            elif op == "stats":
                result = {k: v for k, v in tier.stats().items() if k != "policy"}
            else:
                result = ops(op, args)
            print(json.dumps({"ok": result}), flush=True)
        except Exception as e:
            print(json.dumps({"error": f"{type(e).__name__}: {e}"}), flush=True)
