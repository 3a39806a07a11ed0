"""Helpers shared by the Python tests: threads that must finish, code that must not hang.

``run_threads`` runs a target in n threads and fails on an exception or a hang;
``run_python`` runs a script or snippet in a fresh interpreter with a timeout (for anything that
might hang or crash the interpreter: signals, exit, fork). Used by the tests and by
scripts/scenarios.py (which runs without pytest).
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable


def run_threads(n: int, target: Callable[[int], None], timeout: float = 60.0) -> None:
    """Runs target(0..n-1) in n threads; re-raises the first exception; fails on a hang."""
    errors: list[BaseException] = []

    def body(i: int) -> None:
        try:
            target(i)
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=body, args=(i,), daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + timeout
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    assert not any(t.is_alive() for t in threads), "threads hung"
    if errors:
        raise errors[0]


def run_python(
    args: list[str], timeout: float = 60.0, what: str = "subprocess"
) -> subprocess.CompletedProcess[str]:
    """Runs ``python *args`` in a fresh interpreter; fails the test on a hang, returns the
    completed process (the caller checks its exit code and output)."""
    import pytest  # here, not at the top: scripts/scenarios.py imports run_threads without it

    try:
        return subprocess.run(
            [sys.executable, *args], capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"{what} hung (killed after {timeout} s); stderr: {e.stderr!r}")


def under_address_sanitizer() -> bool:
    """Whether this interpreter runs with ASan loaded (tools/test's python-asan stage), whose
    quarantine of freed memory makes resident-set measurements meaningless."""
    try:
        with open("/proc/self/maps") as f:
            return "libasan" in f.read()
    except OSError:
        return False
