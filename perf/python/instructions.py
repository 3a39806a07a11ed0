#!/usr/bin/env python3
"""Instructions per Python cache operation, counted with ``valgrind --tool=callgrind``.

Callgrind counts instructions, not seconds: the same total for the same interpreter,
library and input whatever else the machine is doing, so small changes to a hot path show up
even on a busy machine where the nanosecond bench (bench.py) is noisy. Steer with this, quote
nanoseconds from bench.py.

For every (column, operation) the script runs two child processes under callgrind with
``PYTHONHASHSEED`` fixed: both build the same cache and the same key lists, warm the loop up
(so CPython's specialising interpreter has specialised it), then run ``--ops`` iterations of
a loop; in the *measured* run the loop body is the operation, in the *empty* run it is
``pass``. The difference of their instruction totals divided by ``--ops`` is the cost of one
operation as a Python caller pays it (call overhead included, loop overhead excluded), the
same quantity bench.py times.

Operations (as in bench.py, whose column definitions this script imports):

  get hit         ``get(k)`` over 1,000 string keys that are all present
  put at capacity put of always-new string keys into a full cache of max_size 1,000
  @cached hit     a decorated ``f(x) -> x`` called with 1,000 already-cached ints
  @cached miss    the same function, max_size 1,000 and full, called with always-new ints
                  (every call computes, stores and evicts)

Run it in a venv that has the peers (perf/python/run.sh makes build/bench-venv) and with
cuckoocache importable, e.g.

  PYTHONPATH=python_ext build/bench-venv/bin/python perf/python/instructions.py
  ... instructions.py --only cuckoocache-LRU,cachebox --ops 20000 --jobs 2

Output: a Markdown table of instructions per operation on stdout; progress on stderr.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import bench  # noqa: E402  (the column definitions: one place says how a library is driven)

OPERATIONS: dict[str, str] = {
    "get_hit": "get hit",
    "put_full": "put at capacity",
    "cached_hit": "@cached hit",
    "cached_miss": "@cached miss (evicting)",
}
DEFAULT_COLUMNS = (
    "dict",
    "functools.lru_cache",
    "cachetools",
    "lru-dict",
    "cachebox",
    "moka_py",
    "theine",
    "pyferris",
    "cuckoocache-LRU",
)
HASH_SEED = "0"
N = bench.N_KEYS
MAX = bench.FULL_MAX_SIZE


# --------------------------------------------------------------------------------------
# Child: build one (column, operation), run the loop, exit.
# --------------------------------------------------------------------------------------


def _loop(env: dict[str, Any], body: str) -> Any:
    params = ", ".join(sorted(env))
    source = f"def loop(seq, {params}):\n    for k in seq:\n{textwrap.indent(body, ' ' * 8)}\n"
    namespace: dict[str, Any] = {}
    exec(compile(source, "<instr-loop>", "exec"), namespace)  # our own template
    return namespace["loop"]


def child(column_name: str, op: str, ops: int, empty: bool) -> None:
    """Sets up ``op`` for ``column_name`` and runs ``ops`` iterations (``pass`` if empty)."""
    column = next(c for c in bench.COLUMNS if c.name == column_name)
    import importlib

    impl = column.build(importlib.import_module(column.module))
    env: dict[str, Any]
    if op in ("get_hit", "put_full"):
        if impl.new_cache is None:
            raise SystemExit(3)  # n/a
        if op == "get_hit":
            handle = impl.new_cache(bench.BIG_MAX_SIZE, op)
            keys = [f"key:{i}" for i in range(N)]
            for k in keys:
                exec(handle.put_stmt, {**handle.env, "k": k})
            warm = keys
            seq = [keys[(i * 7919) % N] for i in range(ops)]
            body = "get(k)"
        else:
            handle = impl.new_cache(MAX, op)
            fill = [f"fill:{i}" for i in range(MAX)]
            warm = [f"warm:{i}" for i in range(MAX)]
            seq = [f"new:{i}" for i in range(ops)]
            for k in fill:
                exec(handle.put_stmt, {**handle.env, "k": k})
            body = handle.put_stmt
        for k in seq:
            hash(k)
        env = handle.env
    else:
        if impl.decorator is None:
            raise SystemExit(3)
        size = bench.BIG_MAX_SIZE if op == "cached_hit" else MAX

        def identity(x: int) -> int:
            return x

        f = impl.decorator(size)(identity)
        args = list(range(N))
        for a in args:
            f(a)
        if op == "cached_hit":
            warm = args
            seq = [args[(i * 7919) % N] for i in range(ops)]
        else:
            warm = list(range(10**7, 10**7 + MAX))
            seq = list(range(2 * 10**7, 2 * 10**7 + ops))
        env = {"f": f}
        body = "f(k)"
    op_loop = _loop(env, body)
    empty_loop = _loop(env, "pass")
    # Both runs warm both loops (specialisation; the miss rows keep the cache full), so the
    # runs differ only in the last loop.
    op_loop(warm, **env)
    empty_loop(warm, **env)
    (empty_loop if empty else op_loop)(seq, **env)


# --------------------------------------------------------------------------------------
# Parent: run the children under callgrind and report.
# --------------------------------------------------------------------------------------


def _count(python: str, column: str, op: str, ops: int, empty: bool, workdir: Path) -> int | None:
    out = workdir / f"cg.{column}.{op}.{int(empty)}.out"
    cmd = [
        "valgrind",
        "--tool=callgrind",
        f"--callgrind-out-file={out}",
        python,
        str(Path(__file__).resolve()),
        "--child",
        column,
        op,
        str(ops),
        "1" if empty else "0",
    ]
    env = {**os.environ, "PYTHONHASHSEED": HASH_SEED}
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if proc.returncode == 3:
        return None
    if proc.returncode != 0:
        raise RuntimeError(f"{column} {op}: exit {proc.returncode}\n{proc.stderr[-2000:]}")
    match = re.search(r"^summary:\s+(\d+)", out.read_text(), re.MULTILINE)
    if match is None:
        raise RuntimeError(f"{column} {op}: no summary line in {out}")
    return int(match.group(1))


def measure(python: str, column: str, op: str, ops: int, workdir: Path) -> str:
    try:
        full = _count(python, column, op, ops, False, workdir)
        if full is None:
            return "n/a"
        empty = _count(python, column, op, ops, True, workdir)
        assert empty is not None
    except (RuntimeError, StopIteration) as e:
        print(f"error: {e}", file=sys.stderr)
        return "error"
    value = (full - empty) / ops
    print(f"{column:>22} {OPERATIONS[op]:<24} {value:9.0f}", file=sys.stderr)
    return f"{value:,.0f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", help="comma-separated columns (bench.py names)")
    parser.add_argument("--ops", help="comma-separated operations: " + ", ".join(OPERATIONS))
    parser.add_argument("--n", type=int, default=20_000, help="iterations per run (20,000)")
    parser.add_argument("--jobs", type=int, default=1, help="callgrind runs at once (1)")
    parser.add_argument("--child", nargs=4, metavar=("COLUMN", "OP", "N", "EMPTY"))
    args = parser.parse_args()
    if args.child:
        column, op, n, empty = args.child
        child(column, op, int(n), empty == "1")
        return
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind not found (apt-get install valgrind)")
    columns = args.only.split(",") if args.only else list(DEFAULT_COLUMNS)
    ops = args.ops.split(",") if args.ops else list(OPERATIONS)
    known = {c.name for c in bench.COLUMNS}
    missing = []
    for c in list(columns):
        if c not in known:
            raise SystemExit(f"unknown column {c!r}; known: {', '.join(sorted(known))}")
        module = next(col.module for col in bench.COLUMNS if col.name == c)
        try:
            __import__(module)
        except ImportError:
            missing.append(c)
            columns.remove(c)
    cells: dict[tuple[str, str], Any] = {}
    with tempfile.TemporaryDirectory() as tmp, ThreadPoolExecutor(args.jobs) as pool:
        for c in columns:
            for op in ops:
                cells[c, op] = pool.submit(measure, sys.executable, c, op, args.n, Path(tmp))
        table = {k: v.result() for k, v in cells.items()}
    print(f"Instructions per operation (callgrind, PYTHONHASHSEED={HASH_SEED}, net of an empty")
    print(f"loop, {args.n:,} iterations; Python {sys.version.split()[0]})\n")
    print("| operation | " + " | ".join(columns) + " |")
    print("|---|" + "---:|" * len(columns))
    for op in ops:
        print(f"| {OPERATIONS[op]} | " + " | ".join(table[c, op] for c in columns) + " |")
    if missing:
        print(f"\nnot importable (skipped): {', '.join(missing)}")


if __name__ == "__main__":
    main()
