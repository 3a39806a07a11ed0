#!/usr/bin/env python3
"""Single-threaded Python micro-benchmark: cuckoocache against other Python caches.

Measures, in one process and one run, the cost in nanoseconds of one cache operation as a
Python caller sees it (interpreter call overhead included, loop overhead excluded):

  get hit        ``get(k)`` on 1,000 string keys that are all present (cache big enough)
  get miss       ``get(k)`` on 1,000 string keys that are all absent (same cache)
  put (full)     put of always-new string keys into a full cache of max_size 1,000, so
                 every put evicts (or, for admission-filtered caches, is rejected)
  mixed 90/10    a precomputed sequence of 90 % gets and 10 % puts over 10,000 string
                 keys drawn from zipf(0.99), cache max_size 1,000
  @cached hit    a decorated one-int-argument function called with arguments that are
                 all already cached
  @cached miss   ``f(x) -> x`` decorated with max_size 1,000, filled, then called with
                 always-new ints: every call computes, stores and evicts

Columns are dict, functools.lru_cache, cachetools, lru-dict, cachebox, moka_py, theine,
pyferris, and cuckoocache once per eviction policy (LRU, LFU, ADAPTIVE). A library that does
not import is reported as ``missing`` (its ImportError is listed under the table), one that
raises or misbehaves (e.g. a key that should hit is absent) as ``error``, and an operation a
library does not have as ``n/a``; none of them stops the run.

Method. Every (column, operation) gets a fresh cache and its own loop function compiled from
the same template, so CPython's specialising interpreter specialises each one separately:

  for k in seq:            # seq is a pre-built list of keys (or (key, is_put) pairs)
      get(k)               # a bound method held in a local, or ``c[k] = k``, ...

Every loop of a row is run once to warm up; then each of ``--repeats`` rounds times every
loop of the row once, the empty loop (``for k in seq: pass``, same shape, same list)
included, with ``time.perf_counter_ns`` and the garbage collector disabled. Interleaving the
libraries this way makes a machine that speeds up or slows down affect them all alike. A cell
is the median of its repeats in ns per operation minus the median of the empty loop's, which
is shown in the gross table.

Gets are always the library's ``get`` method. Puts are written the way the library's users
write them: ``c[k] = v`` for the mapping-style caches (dict, lru-dict, cachetools, cachebox),
the bound put method for the others (moka_py ``set``, theine ``set``, pyferris ``put``,
cuckoocache ``put``). Every library is used with its defaults (thread-safe where it has a
choice). Values are the keys themselves, so no value allocation is timed.

Output: Markdown on stdout (net table, gross table, the target ratios, notes); progress on
stderr; ``--json PATH`` writes every raw sample with the Python version, library versions,
``platform.platform()`` and the run parameters.

  bench.py                      # full run, 7 repeats
  bench.py --quick              # smoke test, a few seconds
  bench.py --only dict,lru-dict,cuckoocache --json out.json
"""

from __future__ import annotations

import argparse
import gc
import importlib
import importlib.metadata
import itertools
import json
import platform
import random
import statistics
import sys
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from types import ModuleType

    Fn = Callable[[int], int]
    Decorator = Callable[[Fn], Fn]
    Loop = Callable[[Sequence[Any]], int]  # a compiled timed loop: list -> elapsed ns
    Results = Mapping[str, Mapping[str, "Cell"]]  # op id -> column name -> cell

# Workload sizes (fixed: they define the benchmark, not its precision).
N_KEYS = 1_000  # keys present for the get-hit / get-miss rows, and args for @cached
BIG_MAX_SIZE = 4_096  # "large enough" max_size for the get rows and the decorators
FULL_MAX_SIZE = 1_000  # max_size for put-at-capacity and mixed
ZIPF_KEYS = 10_000
ZIPF_S = 0.99
PUT_FRACTION = 0.10

OPS_FULL = 200_000  # operations per timed sample
OPS_QUICK = 20_000
REPEATS_QUICK = 3

# Operation ids, in table order, with their row labels.
OPERATIONS: dict[str, str] = {
    "get_hit": "get hit",
    "get_miss": "get miss",
    "put_full": "put at capacity (evicting)",
    "mixed": "mixed 90/10 zipf(0.99)",
    "cached_hit": "@cached hit",
    "cached_miss": "@cached miss (evicting)",
}


PUT_METHOD = "put(k, k)"
PUT_SUBSCRIPT = "c[k] = k"


# --------------------------------------------------------------------------------------
# Adapters: how each library is driven.
# --------------------------------------------------------------------------------------


def _is_not_none(result: object) -> bool:
    return result is not None


@dataclass(frozen=True)
class CacheHandle:
    """A live cache: its bound ``get`` method and the statement that puts key ``k``.

    ``put_stmt`` is Python source run with ``k`` bound, e.g. ``put(k, k)`` or ``c[k] = k``;
    the other names it uses are in ``names``. ``is_hit`` tells a hit from a miss by what
    ``get`` returned (stored values are never None). ``close`` releases what outlives the
    cache object (theine keeps a maintenance task for each cache).
    """

    get: Callable[[object], object]
    put_stmt: str
    names: Mapping[str, object] = field(default_factory=dict)
    is_hit: Callable[[object], bool] = _is_not_none
    close: Callable[[], None] | None = None

    @property
    def env(self) -> dict[str, object]:
        """Every name the loop body may use: ``get`` and those of ``put_stmt``."""
        return {"get": self.get, **self.names}


@dataclass(frozen=True)
class Impl:
    """What a column can do: make a cache for an operation, and/or make a decorator."""

    new_cache: Callable[[int, str], CacheHandle] | None = None  # (max_size, op id)
    decorator: Callable[[int], Decorator] | None = None  # max_size -> decorator
    notes: Mapping[str, str] = field(default_factory=dict)  # op id (or "") -> note


@dataclass(frozen=True)
class Column:
    """One column of the table: a library, possibly in one configuration."""

    name: str
    library: str  # group name for --only
    module: str  # what is imported; an ImportError makes the column "missing"
    dist: str | None  # distribution name for the version; None: part of Python
    build: Callable[[ModuleType], Impl]
    aliases: tuple[str, ...] = ()


class _MappingCache(Protocol):
    def get(self, key: object, /) -> object: ...
    def __setitem__(self, key: object, value: object, /) -> None: ...


def _mapping_handle(cache: _MappingCache) -> CacheHandle:
    return CacheHandle(cache.get, PUT_SUBSCRIPT, {"c": cache})


def _build_dict(_: ModuleType) -> Impl:
    fifo = textwrap.dedent(
        """\
        c[k] = k
        if len(c) > n:
            del c[next(iter(c))]
        """
    )

    def new_cache(max_size: int, op: str) -> CacheHandle:
        d: dict[object, object] = {}
        if op == "put_full":
            return CacheHandle(d.get, fifo, {"c": d, "n": max_size})
        return _mapping_handle(d)

    return Impl(
        new_cache=new_cache,
        notes={
            "put_full": "dict, put at capacity: a FIFO written inline in the loop, "
            "`c[k] = k; if len(c) > n: del c[next(iter(c))]`; `next(iter(c))` walks over the "
            "deleted slots at the front of the dict until it next resizes",
            "mixed": "dict: unbounded (nothing is evicted), `get` and `c[k] = k`",
        },
    )


def _build_lru_cache(functools: ModuleType) -> Impl:
    def decorator(max_size: int) -> Decorator:
        dec: Decorator = functools.lru_cache(maxsize=max_size)
        return dec

    return Impl(decorator=decorator)


def _build_cachetools(cachetools: ModuleType) -> Impl:
    def new_cache(max_size: int, _op: str) -> CacheHandle:
        return _mapping_handle(cachetools.LRUCache(maxsize=max_size))

    def decorator(max_size: int) -> Decorator:
        dec: Decorator = cachetools.cached(cachetools.LRUCache(maxsize=max_size))
        return dec

    return Impl(new_cache=new_cache, decorator=decorator)


def _build_lru_dict(lru: ModuleType) -> Impl:
    def new_cache(max_size: int, _op: str) -> CacheHandle:
        return _mapping_handle(lru.LRU(max_size))

    return Impl(new_cache=new_cache)


def _build_cachebox(cachebox: ModuleType) -> Impl:
    def new_cache(max_size: int, _op: str) -> CacheHandle:
        return _mapping_handle(cachebox.LRUCache(maxsize=max_size))

    def decorator(max_size: int) -> Decorator:
        dec: Decorator = cachebox.cached(cachebox.LRUCache(maxsize=max_size))
        return dec

    return Impl(new_cache=new_cache, decorator=decorator)


def _build_moka(moka_py: ModuleType) -> Impl:
    def new_cache(max_size: int, _op: str) -> CacheHandle:
        cache = moka_py.Moka(max_size)
        return CacheHandle(cache.get, PUT_METHOD, {"put": cache.set})

    def decorator(max_size: int) -> Decorator:
        dec: Decorator = moka_py.cached(maxsize=max_size)
        return dec

    return Impl(
        new_cache=new_cache,
        decorator=decorator,
        notes={
            "": "moka_py: `Moka(n)` and `@cached(maxsize=n)` with the default policy "
            "(TinyLFU admission: a put at capacity may be rejected rather than evict)"
        },
    )


def _theine_hit(result: object) -> bool:
    return bool(result[1])  # type: ignore[index]  # theine's get returns (value, found)


def _build_theine(theine: ModuleType) -> Impl:
    def new_cache(max_size: int, _op: str) -> CacheHandle:
        cache = theine.Cache(max_size)
        return CacheHandle(cache.get, PUT_METHOD, {"put": cache.set}, _theine_hit, cache.close)

    def decorator(max_size: int) -> Decorator:
        dec: Decorator = theine.Memoize(max_size, None)
        return dec

    return Impl(
        new_cache=new_cache,
        decorator=decorator,
        notes={
            "": "theine: `Cache(n)` (W-TinyLFU; `get` returns a (value, found) tuple) and "
            "`@Memoize(n, None)` in auto-key mode"
        },
    )


def _build_pyferris(pyferris: ModuleType) -> Impl:
    def new_cache(max_size: int, _op: str) -> CacheHandle:
        cache = pyferris.SmartCache(max_size=max_size)
        return CacheHandle(cache.get, PUT_METHOD, {"put": cache.put})

    def decorator(max_size: int) -> Decorator:
        dec: Decorator = pyferris.cached(max_size=max_size)
        return dec

    return Impl(new_cache=new_cache, decorator=decorator)


def _cuckoocache_builder(policy_name: str) -> Callable[[ModuleType], Impl]:
    def build(cuckoocache: ModuleType) -> Impl:
        policy = getattr(cuckoocache.EvictionPolicy, policy_name)

        def new_cache(max_size: int, _op: str) -> CacheHandle:
            cache = cuckoocache.SmartCache(max_size=max_size, policy=policy)
            return CacheHandle(cache.get, PUT_METHOD, {"put": cache.put})

        def decorator(max_size: int) -> Decorator:
            dec: Decorator = cuckoocache.cached(max_size=max_size, policy=policy)
            return dec

        return Impl(new_cache=new_cache, decorator=decorator)

    return build


COLUMNS: tuple[Column, ...] = (
    Column("dict", "dict", "builtins", None, _build_dict),
    Column("functools.lru_cache", "functools", "functools", None, _build_lru_cache, ("lru_cache",)),
    Column("cachetools", "cachetools", "cachetools", "cachetools", _build_cachetools),
    Column("lru-dict", "lru-dict", "lru", "lru-dict", _build_lru_dict, ("lru", "lru_dict")),
    Column("cachebox", "cachebox", "cachebox", "cachebox", _build_cachebox),
    Column("moka_py", "moka_py", "moka_py", "moka-py", _build_moka, ("moka", "moka-py")),
    Column("theine", "theine", "theine", "theine", _build_theine),
    Column("pyferris", "pyferris", "pyferris", "pyferris", _build_pyferris),
    *(
        Column(
            f"cuckoocache-{p}", "cuckoocache", "cuckoocache", "cuckoocache", _cuckoocache_builder(p)
        )
        for p in ("LRU", "LFU", "ADAPTIVE")
    ),
)

# --------------------------------------------------------------------------------------
# Workloads
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Workload:
    """Every key sequence, built once and shared by all columns."""

    hit_keys: list[str]  # the N_KEYS keys present in the get-hit / get-miss caches
    hit_seq: list[str]
    miss_seq: list[str]
    fill_keys: list[str]  # fills the put-at-capacity cache
    fresh_seqs: list[list[str]]  # distinct never-seen keys, one list per put sample
    mixed_seq: list[tuple[str, bool]]  # (key, is_put)
    arg_seq: list[int]  # arguments of the @cached calls
    ops: int


def _cycle_shuffled(items: Sequence[Any], n: int, rng: random.Random) -> list[Any]:
    """Return ``n`` items made of whole shuffled passes over ``items`` (the last cut short).

    The result holds references to the same len(items) objects, so that iterating it touches
    as little memory as the caches' own data do (a new int per pass would not).
    """
    items = list(items)
    out: list[Any] = []
    while len(out) < n:
        perm = items.copy()
        rng.shuffle(perm)
        out.extend(perm)
    del out[n:]
    return out


def _zipf_ops(n: int, rng: random.Random) -> list[tuple[str, bool]]:
    """``n`` (key, is_put) pairs: keys zipf(ZIPF_S) over ZIPF_KEYS, PUT_FRACTION puts."""
    keys = [f"zipf:{i}" for i in range(ZIPF_KEYS)]
    rng.shuffle(keys)  # popularity rank is unrelated to the key's text
    cum_weights = list(itertools.accumulate(1.0 / (r + 1) ** ZIPF_S for r in range(ZIPF_KEYS)))
    drawn = rng.choices(keys, cum_weights=cum_weights, k=n)
    # One tuple object per distinct (key, is_put), shared: see _cycle_shuffled.
    pairs: dict[tuple[str, bool], tuple[str, bool]] = {}
    return [
        pairs.setdefault(pair, pair) for pair in ((k, rng.random() < PUT_FRACTION) for k in drawn)
    ]


def build_workload(ops: int, samples: int, seed: int) -> Workload:
    """Every sequence; ``samples`` fresh-key lists (warm-up included) for the put row."""
    rng = random.Random(seed)
    hit_keys = [f"key:{i}" for i in range(N_KEYS)]
    miss_keys = [f"miss:{i}" for i in range(N_KEYS)]
    fresh = [f"new:{i}" for i in range(ops * samples)]
    work = Workload(
        hit_keys=hit_keys,
        hit_seq=_cycle_shuffled(hit_keys, ops, rng),
        miss_seq=_cycle_shuffled(miss_keys, ops, rng),
        fill_keys=[f"fill:{i}" for i in range(FULL_MAX_SIZE)],
        fresh_seqs=[fresh[i * ops : (i + 1) * ops] for i in range(samples)],
        mixed_seq=_zipf_ops(ops, rng),
        arg_seq=_cycle_shuffled(range(N_KEYS), ops, rng),
        ops=ops,
    )
    # str caches its hash: compute every hash now so that no column pays for the first one.
    for key in itertools.chain(hit_keys, miss_keys, work.fill_keys, fresh):
        hash(key)
    for key, _ in work.mixed_seq:
        hash(key)
    return work


# --------------------------------------------------------------------------------------
# Timing
# --------------------------------------------------------------------------------------

LOOP_TEMPLATE = """\
def loop(seq, {params}):
    t0 = clock()
    for {target} in seq:
{body}
    return clock() - t0
"""

MIXED_TARGET = "k, p"  # the mixed row iterates over (key, is_put) pairs


def mixed_body(put_stmt: str, get_stmt: str) -> str:
    """Return the mixed row's loop body: ``put_stmt`` when ``p`` is true, else ``get_stmt``."""
    indent = " " * 4
    return f"if p:\n{textwrap.indent(put_stmt, indent)}\nelse:\n{textwrap.indent(get_stmt, indent)}"


def compile_loop(env: Mapping[str, object], body: str, target: str = "k") -> Loop:
    """Compile a timed loop that runs ``body`` once per item (bound to ``target``) of a list.

    Every name in ``env`` becomes a parameter, i.e. a fast local; the loop returns the elapsed
    ``perf_counter_ns``. Each call compiles a new code object, so that CPython's specialising
    interpreter specialises every (column, operation) loop on its own.
    """
    params = ", ".join([*sorted(env), "clock=clock"])
    body = textwrap.indent(body, " " * 8)
    source = LOOP_TEMPLATE.format(params=params, target=target, body=body)
    namespace: dict[str, Any] = {"clock": time.perf_counter_ns}
    exec(compile(source, "<bench-loop>", "exec"), namespace)  # our own template, no outside input
    loop: Callable[..., int] = namespace["loop"]
    bound = dict(env)

    def run(seq: Sequence[Any]) -> int:
        return loop(seq, **bound)

    return run


def timed(run: Loop, seq: Sequence[Any]) -> int:
    """Run one sample, ``run(seq)``, with the garbage collector disabled; return its ns."""
    gc.collect()
    gc.disable()
    try:
        return run(seq)
    finally:
        gc.enable()


@dataclass
class Cell:
    """One (operation, column) result."""

    status: str  # "ok", "n/a", "missing", "error"
    samples: list[float] = field(default_factory=list)  # gross ns/op, one per repeat
    net: float | None = None  # median gross minus the median empty-loop ns/iteration
    message: str = ""
    hit_ratio: float | None = None  # the mixed row's get hit ratio

    @property
    def gross(self) -> float | None:
        """Median gross ns/op."""
        return statistics.median(self.samples) if self.samples else None


class CheckError(RuntimeError):
    """A cache did not behave as the workload needs (e.g. a key to hit was absent)."""


def _no_check() -> float | None:
    return None


@dataclass
class Prepared:
    """A (column, operation) ready to time: a compiled loop and the lists it runs over.

    ``seqs[0]`` is the warm-up, ``seqs[i]`` the list of repeat ``i``. ``check`` runs after the
    timing: it raises CheckError if the cache misbehaved and returns the mixed hit ratio.
    """

    run: Loop
    seqs: list[Sequence[Any]]
    check: Callable[[], float | None] = _no_check
    close: Callable[[], None] | None = None


CACHED_MISS_BASE = 10**9  # @cached miss arguments: ints never passed before


def _sequences(op: str, work: Workload, repeats: int) -> tuple[list[Sequence[Any]], str]:
    """Return the lists one (column, op) cell iterates (warm-up first) and the loop target."""
    if op == "put_full":
        return list(work.fresh_seqs[: repeats + 1]), "k"
    if op == "cached_miss":
        n = work.ops
        base = CACHED_MISS_BASE
        return [list(range(base + i * n, base + (i + 1) * n)) for i in range(repeats + 1)], "k"
    by_op: dict[str, Sequence[Any]] = {
        "get_hit": work.hit_seq,
        "get_miss": work.miss_seq,
        "mixed": work.mixed_seq,
        "cached_hit": work.arg_seq,
    }
    return [by_op[op]] * (repeats + 1), MIXED_TARGET if op == "mixed" else "k"


def prepare_cache_op(
    new_cache: Callable[[int, str], CacheHandle], op: str, work: Workload, repeats: int
) -> Prepared:
    """Make and fill a fresh cache for one of the get / put / mixed rows."""
    max_size = BIG_MAX_SIZE if op in ("get_hit", "get_miss") else FULL_MAX_SIZE
    handle = new_cache(max_size, op)
    put_loop = compile_loop(handle.env, handle.put_stmt)
    seqs, target = _sequences(op, work, repeats)
    if op in ("get_hit", "get_miss"):
        put_loop(work.hit_keys)
        present = sum(handle.is_hit(handle.get(k)) for k in work.hit_keys)
        if present != len(work.hit_keys):
            msg = f"only {present}/{len(work.hit_keys)} keys present after filling"
            raise CheckError(msg)
        return Prepared(compile_loop(handle.env, "get(k)"), seqs, close=handle.close)
    if op == "put_full":
        put_loop(work.fill_keys)
        return Prepared(put_loop, seqs, close=handle.close)

    def hit_ratio() -> float:
        return _mixed_hit_ratio(handle, put_loop, work.mixed_seq)

    body = mixed_body(handle.put_stmt, "get(k)")
    return Prepared(compile_loop(handle.env, body, target), seqs, hit_ratio, handle.close)


def _mixed_hit_ratio(handle: CacheHandle, put_loop: Loop, seq: Sequence[tuple[str, bool]]) -> float:
    """Return the get hit ratio of one more (untimed) pass over the mixed sequence."""
    hits = gets = 0
    for key, is_put in seq:
        if is_put:
            put_loop((key,))
        else:
            gets += 1
            hits += handle.is_hit(handle.get(key))
    return hits / gets if gets else 0.0


def prepare_cached_hit(
    decorator: Callable[[int], Decorator], work: Workload, repeats: int
) -> Prepared:
    """Decorate a function and call it once with every argument the timed loop will use."""
    calls = [0]

    def target(x: int) -> int:
        calls[0] += 1
        return x + 1

    fn = decorator(BIG_MAX_SIZE)(target)
    for x in range(N_KEYS):
        fn(x)
    if calls[0] != N_KEYS:
        msg = f"the wrapped function ran {calls[0]} times for {N_KEYS} distinct arguments"
        raise CheckError(msg)

    def check() -> None:
        if calls[0] != N_KEYS:
            msg = f"{calls[0] - N_KEYS} calls missed the cache after the warm-up"
            raise CheckError(msg)

    seqs, _ = _sequences("cached_hit", work, repeats)
    return Prepared(compile_loop({"get": fn}, "get(k)"), seqs, check)


def prepare_cached_miss(
    decorator: Callable[[int], Decorator], work: Workload, repeats: int
) -> Prepared:
    """Decorate ``f(x) -> x`` with max_size FULL_MAX_SIZE and fill it: every timed call then
    misses, calls the function, stores the result and evicts."""
    calls = [0]

    def target(x: int) -> int:
        calls[0] += 1
        return x

    fn = decorator(FULL_MAX_SIZE)(target)
    for x in range(FULL_MAX_SIZE):
        fn(x)
    seqs, _ = _sequences("cached_miss", work, repeats)
    expected = FULL_MAX_SIZE + sum(len(s) for s in seqs)

    def check() -> None:
        if calls[0] != expected:
            msg = f"{calls[0]} calls of the function, expected {expected} (one per miss)"
            raise CheckError(msg)

    return Prepared(compile_loop({"get": fn}, "get(k)"), seqs, check)


def prepare_empty_loop(op: str, work: Workload, repeats: int) -> Prepared:
    """Prepare the operation's loop with an empty body: same shape, same lists."""
    seqs, target = _sequences(op, work, repeats)
    body = mixed_body("pass", "pass") if op == "mixed" else "pass"
    return Prepared(compile_loop({}, body, target), seqs)


# --------------------------------------------------------------------------------------
# Running and reporting
# --------------------------------------------------------------------------------------


@dataclass
class Loaded:
    """A column after its import was tried."""

    column: Column
    impl: Impl | None
    version: str  # empty if the import failed
    error: str = ""

    @property
    def status(self) -> str:
        """Return "ok", "missing" (the import failed) or "error" (the adapter failed)."""
        if self.impl is not None:
            return "ok"
        return "error" if self.version else "missing"


def load(column: Column) -> Loaded:
    """Import the column's module and build its adapter; never raise."""
    try:
        module = importlib.import_module(column.module)
    except ImportError as exc:
        return Loaded(column, None, "", f"{type(exc).__name__}: {exc}")
    version = _version(column, module)
    try:
        impl = column.build(module)
    except Exception as exc:  # an adapter that cannot be built is reported
        return Loaded(column, None, version, f"adapter failed: {type(exc).__name__}: {exc}")
    return Loaded(column, impl, version)


def _version(column: Column, module: ModuleType) -> str:
    if column.dist is None:
        return f"Python {platform.python_version()}"
    try:
        return importlib.metadata.version(column.dist)
    except importlib.metadata.PackageNotFoundError:
        return str(getattr(module, "__version__", "unknown"))


def prepare_cell(loaded: Loaded, op: str, work: Workload, repeats: int) -> Prepared | Cell:
    """Set up one (column, operation), or return its final cell: missing, n/a or error."""
    impl = loaded.impl
    if impl is None:
        return Cell(loaded.status, message=loaded.error)
    try:
        if op == "cached_hit":
            if impl.decorator is None:
                return Cell("n/a")
            return prepare_cached_hit(impl.decorator, work, repeats)
        if op == "cached_miss":
            if impl.decorator is None:
                return Cell("n/a")
            return prepare_cached_miss(impl.decorator, work, repeats)
        if impl.new_cache is None:
            return Cell("n/a")
        return prepare_cache_op(impl.new_cache, op, work, repeats)
    except Exception as exc:  # one failing library must not stop the run
        return _error(exc)


def _error(exc: Exception) -> Cell:
    return Cell("error", message=f"{type(exc).__name__}: {exc}")


def select_columns(only: str | None) -> list[Column]:
    """Return the columns ``--only`` names (by column, library or alias), in table order."""
    if not only:
        return list(COLUMNS)
    wanted = {w.strip().lower() for w in only.split(",") if w.strip()}
    chosen = [
        c
        for c in COLUMNS
        if wanted & {c.name.lower(), c.library.lower(), *(a.lower() for a in c.aliases)}
    ]
    known = {n.lower() for c in COLUMNS for n in (c.name, c.library, *c.aliases)}
    unknown = sorted(wanted - known)
    if unknown or not chosen:
        names = ", ".join(dict.fromkeys(n for c in COLUMNS for n in (c.name, c.library)))
        msg = f"--only: unknown name(s) {', '.join(unknown) or repr(only)}; known: {names}"
        raise SystemExit(msg)
    return chosen


def select_operations(spec: str | None) -> list[str]:
    """Return the operation ids ``--ops-only`` names, or all of them."""
    if not spec:
        return list(OPERATIONS)
    ops = [o.strip() for o in spec.split(",") if o.strip()]
    if bad := [o for o in ops if o not in OPERATIONS]:
        msg = f"--ops-only: unknown {', '.join(bad)}; known: {', '.join(OPERATIONS)}"
        raise SystemExit(msg)
    return ops


WIDE = 100.0  # from here on ns/op values are printed without decimals


def _fmt(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.0f}" if abs(value) >= WIDE else f"{value:.1f}"


def _cell_text(cell: Cell, *, gross: bool) -> str:
    if cell.status != "ok":
        return cell.status
    return _fmt(cell.gross if gross else cell.net)


def _table(
    header: Sequence[str], rows: Sequence[Sequence[str]], *, numeric: bool = True
) -> list[str]:
    """Return a Markdown table; all but the first column right-aligned if ``numeric``."""
    align = " ---: " if numeric else " --- "
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join([" --- ", *[align] * (len(header) - 1)]) + "|",
    ]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return lines


# (label, op id, numerator column, denominator column) of the project's target ratios.
RATIOS: tuple[tuple[str, str, str, str], ...] = (
    ("get hit: cuckoocache LRU / dict.get", "get_hit", "cuckoocache-LRU", "dict"),
    ("put at capacity: cuckoocache LRU / lru-dict", "put_full", "cuckoocache-LRU", "lru-dict"),
    (
        "@cached hit: cuckoocache LRU / functools.lru_cache",
        "cached_hit",
        "cuckoocache-LRU",
        "functools.lru_cache",
    ),
    (
        "@cached miss (evicting): cuckoocache LRU / functools.lru_cache",
        "cached_miss",
        "cuckoocache-LRU",
        "functools.lru_cache",
    ),
    ("get hit: cuckoocache LRU / cachebox", "get_hit", "cuckoocache-LRU", "cachebox"),
    ("put at capacity: cuckoocache LRU / cachebox", "put_full", "cuckoocache-LRU", "cachebox"),
)


def ratio(results: Results, op: str, num: str, den: str) -> tuple[float | None, str]:
    """Return net(num) / net(den) for ``op``, or None, and a line of text explaining it."""
    cells = results.get(op, {})
    nets: list[float] = []
    for name in (num, den):
        cell = cells.get(name)
        if cell is None:
            return None, f"n/a ({name} not run)"
        if cell.net is None:
            return None, f"n/a ({name}: {cell.status})"
        nets.append(cell.net)
    if nets[1] <= 0:
        return None, f"n/a ({den} is not above the empty loop)"
    value = nets[0] / nets[1]
    return value, f"{value:.2f} ({_fmt(nets[0])} / {_fmt(nets[1])} ns)"


def render(
    loaded: Sequence[Loaded], results: Results, empty: Mapping[str, float], meta: Mapping[str, Any]
) -> str:
    """Return the Markdown report."""
    names = [ld.column.name for ld in loaded]
    out = [
        "# cuckoocache Python benchmark",
        "",
        (
            f"{meta['python']} on {meta['platform']}; {meta['repeats']} repeats of "
            f"{meta['ops_per_sample']:,} operations after a warm-up; median ns per operation."
        ),
        "",
        "## ns/op, net of the empty loop",
        "",
    ]
    net_rows = [
        [OPERATIONS[op], *(_cell_text(cells[n], gross=False) for n in names)]
        for op, cells in results.items()
    ]
    out += _table(["operation", *names], net_rows)
    out += ["", "## ns/op, gross (the empty loop included)", ""]
    gross_rows = [
        [OPERATIONS[op], _fmt(empty[op]), *(_cell_text(cells[n], gross=True) for n in names)]
        for op, cells in results.items()
    ]
    out += _table(["operation", "empty loop", *names], gross_rows)
    if "mixed" in results:
        ratios = [results["mixed"][n].hit_ratio for n in names]
        out += ["", f"## {OPERATIONS['mixed']}: hit ratio of the gets", ""]
        out += _table(
            ["", *names], [["hit ratio", *("-" if r is None else f"{r:.3f}" for r in ratios)]]
        )
    out += ["", "## Target ratios (net ns/op)", ""]
    out += [
        f"- {label}: {ratio(results, op, a, b)[1]}" for label, op, a, b in RATIOS if op in results
    ]
    out += ["", "## Libraries", ""]
    out += _table(
        ["column", "version", "status"],
        [
            [ld.column.name, ld.version or "-", ld.status + (f": {ld.error}" if ld.error else "")]
            for ld in loaded
        ],
        numeric=False,
    )
    out += ["", "## Notes", "", *_notes(loaded, results)]
    return "\n".join(out) + "\n"


def _notes(loaded: Sequence[Loaded], results: Results) -> list[str]:
    notes = [
        f"- {note}"
        for ld in loaded
        if ld.impl
        for key, note in ld.impl.notes.items()
        if key == "" or key in results
    ]
    notes += [
        f"- {OPERATIONS[op]}, {name}: error: {cell.message}"
        for op, cells in results.items()
        for name, cell in cells.items()
        if cell.status == "error"
    ]
    notes += [
        (
            "- n/a: the library has no such operation (functools.lru_cache is only a "
            "decorator; dict and lru-dict have no decorator)."
        ),
        (
            "- Gets are always `get(k)`. Puts are `c[k] = k` for dict, lru-dict, cachetools "
            "and cachebox, and the bound put method (`set` / `put`) for the others."
        ),
    ]
    return notes


def to_json(
    loaded: Sequence[Loaded],
    results: Results,
    empty_samples: Mapping[str, list[float]],
    meta: Mapping[str, Any],
) -> dict[str, Any]:
    """Return the raw numbers for ``--json``."""
    return {
        **meta,
        "unit": "ns per operation",
        "libraries": {
            ld.column.name: {
                "library": ld.column.library,
                "module": ld.column.module,
                "version": ld.version or None,
                "status": ld.status,
                "error": ld.error or None,
                "notes": dict(ld.impl.notes) if ld.impl else {},
            }
            for ld in loaded
        },
        "empty_loop": {
            op: {"samples": s, "median": statistics.median(s)} for op, s in empty_samples.items()
        },
        "results": {
            op: {
                name: {
                    "status": c.status,
                    "net": c.net,
                    "gross": c.gross,
                    "gross_samples": c.samples,
                    "message": c.message or None,
                    "hit_ratio": c.hit_ratio,
                }
                for name, c in cells.items()
            }
            for op, cells in results.items()
        },
        "ratios": {
            label: {
                "op": op,
                "numerator": a,
                "denominator": b,
                "value": ratio(results, op, a, b)[0],
            }
            for label, op, a, b in RATIOS
            if op in results
        },
    }


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(
        description="ns/op of get / put / mixed / @cached for cuckoocache and other Python "
        "caches (see the module docstring)."
    )
    parser.add_argument(
        "--repeats",
        type=int,
        default=None,
        help=f"timed samples per cell, median reported (default 7; {REPEATS_QUICK} with --quick)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"smoke test: {OPS_QUICK:,} instead of {OPS_FULL:,} operations per sample",
    )
    parser.add_argument("--ops", type=int, default=None, help="operations per timed sample")
    parser.add_argument(
        "--only",
        default=None,
        help="comma-separated columns or libraries, e.g. 'dict,lru-dict,cuckoocache' (--list)",
    )
    parser.add_argument(
        "--ops-only",
        default=None,
        dest="operations",
        help="comma-separated operations: " + ",".join(OPERATIONS),
    )
    parser.add_argument("--json", default=None, metavar="PATH", help="write the raw numbers here")
    parser.add_argument("--seed", type=int, default=20240601, help="workload random seed")
    parser.add_argument("--list", action="store_true", help="list the columns and exit")
    args = parser.parse_args(argv)
    if args.repeats is None:
        args.repeats = REPEATS_QUICK if args.quick else 7
    if args.ops is None:
        args.ops = OPS_QUICK if args.quick else OPS_FULL
    if args.repeats < 1 or args.ops < N_KEYS:
        parser.error(f"--repeats must be at least 1 and --ops at least {N_KEYS}")
    return args


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


EMPTY = ""  # the empty loop's key among a row's prepared loops (no column has this name)


def run_operation(
    loaded: Sequence[Loaded], op: str, work: Workload, repeats: int
) -> tuple[dict[str, Cell], list[float]]:
    """Measure one row; return its cells by column name and the empty loop's samples.

    Every prepared loop is warmed up, then each repeat times all of them once, the empty
    loop included, starting one further along each round: a machine that speeds up or slows
    down during the row affects every column alike.
    """
    cells: dict[str, Cell] = {}
    ready: dict[str, Prepared] = {EMPTY: prepare_empty_loop(op, work, repeats)}
    for ld in loaded:
        prepared = prepare_cell(ld, op, work, repeats)
        if isinstance(prepared, Cell):
            cells[ld.column.name] = prepared
        else:
            ready[ld.column.name] = prepared
            cells[ld.column.name] = Cell("ok")
    cells[EMPTY] = Cell("ok")

    def step(name: str, seq_index: int) -> None:
        prepared = ready.get(name)
        if prepared is None:  # failed earlier in this round
            return
        try:
            if seq_index == 0:
                prepared.run(prepared.seqs[0])
            else:
                ns = timed(prepared.run, prepared.seqs[seq_index])
                cells[name].samples.append(ns / work.ops)
        except Exception as exc:  # one failing library must not stop the run
            cells[name] = _error(exc)
            del ready[name]

    for name in list(ready):
        step(name, 0)
    for i in range(1, repeats + 1):
        order = list(ready)
        shift = i % len(order)
        for name in order[shift:] + order[:shift]:
            step(name, i)
    for name, prepared in ready.items():
        try:
            cells[name].hit_ratio = prepared.check()
            if prepared.close is not None:
                prepared.close()
        except Exception as exc:  # reported in the cell
            cells[name] = _error(exc)

    empty = cells.pop(EMPTY).samples
    base = statistics.median(empty)
    for name, cell in cells.items():
        if cell.gross is not None:
            cell.net = cell.gross - base
        if cell.status in ("ok", "error"):
            what = f"{_fmt(cell.gross)} ns/op gross" if cell.status == "ok" else cell.message
            _log(f"  {op:10} {name:22} {what}")
    return {ld.column.name: cells[ld.column.name] for ld in loaded}, empty


def run_all(
    loaded: Sequence[Loaded], ops: Sequence[str], work: Workload, repeats: int
) -> tuple[dict[str, dict[str, Cell]], dict[str, list[float]]]:
    """Measure every row; return the cells by operation and the empty-loop samples."""
    results: dict[str, dict[str, Cell]] = {}
    empty_samples: dict[str, list[float]] = {}
    for op in ops:
        results[op], empty_samples[op] = run_operation(loaded, op, work, repeats)
    return results, empty_samples


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print the report; see the module docstring."""
    args = parse_args(argv)
    if args.list:
        for c in COLUMNS:
            print(f"{c.name}\t(library {c.library}, module {c.module})")
        return 0
    ops = select_operations(args.operations)
    loaded = [load(c) for c in select_columns(args.only)]
    for ld in loaded:
        _log(f"{ld.column.name}: {ld.version if ld.impl else f'{ld.status}: {ld.error}'}")

    started = time.perf_counter()
    work = build_workload(args.ops, args.repeats + 1, args.seed)
    gc.freeze()  # the workload's millions of objects: out of every later gc.collect()'s way
    results, empty_samples = run_all(loaded, ops, work, args.repeats)
    meta = {
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "python_full": sys.version,
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": platform.processor(),
        "repeats": args.repeats,
        "ops_per_sample": args.ops,
        "quick": args.quick,
        "seed": args.seed,
        "statistic": "median of the repeats; net = gross - median empty-loop ns per iteration",
        "workload": {
            "keys": N_KEYS,
            "big_max_size": BIG_MAX_SIZE,
            "full_max_size": FULL_MAX_SIZE,
            "zipf_keys": ZIPF_KEYS,
            "zipf_s": ZIPF_S,
            "put_fraction": PUT_FRACTION,
        },
        "elapsed_s": round(time.perf_counter() - started, 2),
    }
    empty = {op: statistics.median(s) for op, s in empty_samples.items()}
    sys.stdout.write(render(loaded, results, empty, meta))
    if args.json:
        doc = to_json(loaded, results, empty_samples, meta)
        Path(args.json).write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
        _log(f"wrote {args.json}")
    _log(f"done in {meta['elapsed_s']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
