"""The SIGALRM storm of the Ctrl-C tests (issue 13.1): a KeyboardInterrupt every 0.1 ms,
raised in whatever code runs, while another thread loads the same keys.

``storm`` installs a SIGALRM handler, so it runs in a subprocess of the test (which puts a
timeout on it): ``python -c SCRIPT`` where SCRIPT puts this directory's parent on sys.path,
builds a ``load(key)`` and prints ``storm(load, ...)``.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from types import FrameType
from typing import Any


def storm(load: Callable[[int], Any], n_keys: int, seconds: float) -> int:
    """Loads keys 0..n_keys-1 (``load(k)`` must return k) from this thread, interrupted every
    0.1 ms for ``seconds``, and from another thread meanwhile; then every key once more from
    a third thread. Returns how many loads were interrupted. AssertionError if a loader hung,
    returned a wrong value or raised, or a key stayed stuck afterwards."""

    def interrupt(signum: int, frame: FrameType | None) -> None:
        # Anywhere but this function's own loop (which must survive to go on).
        if frame is not None and frame.f_code.co_name not in ("storm", "interrupt"):
            raise KeyboardInterrupt

    stop = time.monotonic() + seconds
    errors: list[BaseException] = []

    def other() -> None:  # loads the same keys while this thread is interrupted
        while time.monotonic() < stop:
            for k in range(n_keys):
                try:
                    assert load(k) == k
                except Exception as e:
                    errors.append(e)

    t = threading.Thread(target=other, daemon=True)
    t.start()
    signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, 0.0001, 0.0001)  # every 0.1 ms
    interrupts = 0
    while time.monotonic() < stop:
        for k in range(n_keys):
            try:
                load(k)
            except KeyboardInterrupt:
                interrupts += 1
    signal.setitimer(signal.ITIMER_REAL, 0, 0)
    signal.signal(signal.SIGALRM, signal.SIG_IGN)
    t.join(20)
    assert not t.is_alive(), "a loader hung"
    assert not errors, errors[:3]
    done: list[bool] = []

    def check() -> None:
        for k in range(n_keys):
            assert load(k) == k
        done.append(True)

    c = threading.Thread(target=check, daemon=True)
    c.start()
    c.join(20)
    assert done, "a key stayed stuck after the interrupts"
    return interrupts
