#!/usr/bin/env python3
"""Turn cuckoocache-perf JSON into PNG plots and a Markdown summary.

Reads the JSON that ``cuckoocache-perf ratio --json`` and ``cuckoocache-perf
throughput --json`` print (shapes in perf/harness/report.h) and writes into ``--out``:

  hit_ratio_<trace>.png  hit ratio (%) against cache size, one line per policy:
                         engine policies solid, exact reference models (exact-lru,
                         exact-lfu, opt) dashed. One figure per trace or workload.
  throughput.png         ops/s and p99 latency against threads, one line per
                         implementation (engine per policy, libcuckoo, mutex-lru).
  summary.md             machine (nproc, CPU model), notes (``--note``), the exact
                         commands (``--command``, in order), a hit-ratio table per trace
                         (rows: sizes, columns: policies), the throughput table,
                         and the plots.

Needs only matplotlib (Agg backend, no display). tools/demo runs it; so can you:

  plot.py --ratio ratio.json --throughput throughput.json --out perf-report \\
      --command 'cuckoocache-perf ratio ...' --command 'cuckoocache-perf ...'
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict

import matplotlib as mpl

mpl.use("Agg")  # before pyplot is imported: no display needed
import matplotlib.pyplot as plt

if TYPE_CHECKING:
    from collections.abc import Sequence

REFERENCE_POLICIES = ("exact-lru", "exact-lfu", "opt")
POLICY_ORDER = ("lru", "lfu", "ttl", "adaptive", "exact-lru", "exact-lfu", "opt")
# One look per policy, so that lines lying on top of each other (lru, ttl and exact-lru often
# give the same hit ratios) stay distinguishable: colour, dash pattern and marker all differ,
# wide lines and big markers are drawn first and narrow/hollow ones over them.
POLICY_STYLES: dict[str, dict[str, Any]] = {
    "lru": {"color": "C0", "linestyle": "-", "marker": "o", "markersize": 11, "linewidth": 4.0},
    "lfu": {"color": "C1", "linestyle": "-", "marker": "D", "markersize": 7, "linewidth": 2.4},
    "ttl": {
        "color": "C2",
        "linestyle": (0, (1, 1.5)),
        "marker": "x",
        "markersize": 9,
        "markeredgewidth": 2.2,
        "linewidth": 2.4,
    },
    "adaptive": {"color": "C3", "linestyle": "-", "marker": "s", "markersize": 7, "linewidth": 2.4},
    "exact-lru": {
        "color": "C4",
        "linestyle": (0, (5, 2)),
        "marker": "^",
        "markersize": 13,
        "markerfacecolor": "none",
        "markeredgewidth": 1.6,
        "linewidth": 1.4,
    },
    "exact-lfu": {
        "color": "C5",
        "linestyle": (0, (5, 2)),
        "marker": "v",
        "markersize": 13,
        "markerfacecolor": "none",
        "markeredgewidth": 1.6,
        "linewidth": 1.4,
    },
    "opt": {"color": "k", "linestyle": "-.", "marker": "*", "markersize": 10, "linewidth": 1.4},
}
IMPL_MARKERS = ("o", "s", "D", "^", "v", "x", "P", "*", "h", "<", ">")


class RatioRow(TypedDict):
    trace: str
    size: int
    policy: str
    requests: int
    hits: int
    hit_ratio: float


class ThroughputRow(TypedDict):
    impl: str
    policy: str
    threads: int
    ops_per_sec: float
    p50_ns: int
    p99_ns: int
    p999_ns: int


class ReportError(Exception):
    """Input JSON that is not what cuckoocache-perf --json prints."""


def load_rows(path: Path, fields: Sequence[str]) -> list[dict[str, Any]]:
    """Loads a JSON list of objects and checks that each has exactly `fields`."""
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, list):
        msg = f"{path}: expected a JSON list"
        raise ReportError(msg)
    for i, row in enumerate(data):
        if not isinstance(row, dict) or list(row) != list(fields):
            msg = f"{path}: item {i} does not have the fields {', '.join(fields)}"
            raise ReportError(msg)
    return data


def load_ratio(path: Path) -> list[RatioRow]:
    return [
        RatioRow(
            trace=str(r["trace"]),
            size=int(r["size"]),
            policy=str(r["policy"]),
            requests=int(r["requests"]),
            hits=int(r["hits"]),
            hit_ratio=float(r["hit_ratio"]),
        )
        for r in load_rows(path, list(RatioRow.__annotations__))
    ]


def load_throughput(path: Path) -> list[ThroughputRow]:
    return [
        ThroughputRow(
            impl=str(r["impl"]),
            policy=str(r["policy"]),
            threads=int(r["threads"]),
            ops_per_sec=float(r["ops_per_sec"]),
            p50_ns=int(r["p50_ns"]),
            p99_ns=int(r["p99_ns"]),
            p999_ns=int(r["p999_ns"]),
        )
        for r in load_rows(path, list(ThroughputRow.__annotations__))
    ]


def ordered(values: set[str], order: Sequence[str]) -> list[str]:
    """`values` in `order` first, then any others alphabetically."""
    return [v for v in order if v in values] + sorted(values - set(order))


def slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9.]+", "_", name).strip("_") or "trace"


def impl_label(row: ThroughputRow) -> str:
    return f"engine ({row['policy']})" if row["impl"] == "engine" else row["impl"]


def traces_in_order(rows: Sequence[RatioRow]) -> list[str]:
    seen: dict[str, None] = {}
    for row in rows:
        seen.setdefault(row["trace"], None)
    return list(seen)


def plot_ratio(rows: Sequence[RatioRow], trace: str, out: Path) -> Path:
    mine = [r for r in rows if r["trace"] == trace]
    sizes = sorted({r["size"] for r in mine})
    fig, ax = plt.subplots(figsize=(8, 5), dpi=110)
    for policy in ordered({r["policy"] for r in mine}, POLICY_ORDER):
        points = sorted((r["size"], r["hit_ratio"]) for r in mine if r["policy"] == policy)
        reference = policy in REFERENCE_POLICIES
        style = POLICY_STYLES.get(
            policy,
            {"linestyle": "--" if reference else "-", "marker": "o", "linewidth": 1.5},
        )
        ax.plot([p[0] for p in points], [p[1] for p in points], label=policy, **style)
    log_x = len(sizes) > 1 and sizes[-1] >= 10 * sizes[0]
    if log_x:
        ax.set_xscale("log")
    ax.set_xticks(sizes, [f"{s:,}" for s in sizes])
    ax.minorticks_off()
    ax.set_xlabel("cache size (entries, log scale)" if log_x else "cache size (entries)")
    ax.set_ylabel("hit ratio (%)")
    ax.set_ylim(bottom=0)
    requests = mine[0]["requests"] if mine else 0
    ax.set_title(f"Hit ratio vs cache size: {trace} ({requests:,} requests)")
    ax.grid(visible=True, alpha=0.3)
    ax.legend(title="policy (dashed: exact references)", fontsize=9, title_fontsize=9)
    fig.tight_layout()
    path = out / f"hit_ratio_{slug(trace)}.png"
    fig.savefig(path)
    plt.close(fig)
    return path


def plot_throughput(rows: Sequence[ThroughputRow], out: Path) -> Path:
    threads = sorted({r["threads"] for r in rows})
    labels: dict[str, None] = {}
    for row in rows:
        labels.setdefault(impl_label(row), None)
    fig, (ops_ax, lat_ax) = plt.subplots(1, 2, figsize=(12, 5), dpi=110)
    for i, label in enumerate(labels):
        mine = sorted((r for r in rows if impl_label(r) == label), key=lambda r: r["threads"])
        x = [r["threads"] for r in mine]
        look: dict[str, Any] = {
            "color": f"C{i % 10}",
            "linestyle": "-" if label.startswith("engine") else "--",
            "marker": IMPL_MARKERS[i % len(IMPL_MARKERS)],
            "markersize": 8,
            "label": label,
        }
        ops_ax.plot(x, [r["ops_per_sec"] / 1e6 for r in mine], **look)
        lat_ax.plot(x, [r["p99_ns"] for r in mine], **look)
    for ax in (ops_ax, lat_ax):
        ax.set_xticks(threads)
        ax.set_xlabel("threads")
        ax.grid(visible=True, alpha=0.3)
        ax.set_ylim(bottom=0)
    ops_ax.set_ylabel("throughput (million ops/s, all threads)")
    ops_ax.set_title("Throughput vs threads")
    lat_ax.set_ylabel("p99 latency per op (ns, sampled 1 in 64)")
    lat_ax.set_title("p99 latency vs threads")
    ops_ax.legend(fontsize=9)
    fig.tight_layout()
    path = out / "throughput.png"
    fig.savefig(path)
    plt.close(fig)
    return path


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def nproc() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def md_table(header: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[bool]) -> str:
    lines = ["| " + " | ".join(header) + " |"]
    lines.append("|" + "|".join("---:" if r else "---" for r in right) + "|")
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def ratio_section(rows: Sequence[RatioRow], plots: dict[str, Path]) -> list[str]:
    parts = ["## Hit ratio (%)", ""]
    parts.append(
        "Single-threaded replay from a cold start. Engine policies serve each "
        "request as `if (!cache.visit(k, noop)) cache.put(k, k)`; exact-lru, "
        "exact-lfu and opt (Belady) are the exact reference models. The best "
        "engine policy at each size is in bold."
    )
    for trace in traces_in_order(rows):
        mine = [r for r in rows if r["trace"] == trace]
        policies = ordered({r["policy"] for r in mine}, POLICY_ORDER)
        cells = {(r["size"], r["policy"]): r["hit_ratio"] for r in mine}
        table_rows = []
        for size in sorted({r["size"] for r in mine}):
            engine = [
                cells[(size, p)]
                for p in policies
                if p not in REFERENCE_POLICIES and (size, p) in cells
            ]
            best = max(engine) if engine else None
            row = [f"{size:,}"]
            for p in policies:
                value = cells.get((size, p))
                text = "" if value is None else f"{value:.2f}"
                if value is not None and p not in REFERENCE_POLICIES and value == best:
                    text = f"**{text}**"
                row.append(text)
            table_rows.append(row)
        parts += ["", f"### {trace} ({mine[0]['requests']:,} requests)", ""]
        parts.append(md_table(["size", *policies], table_rows, [True] * (len(policies) + 1)))
        if trace in plots:
            parts += ["", f"![hit ratio, {trace}]({plots[trace].name})"]
    return parts


def throughput_section(rows: Sequence[ThroughputRow], plot: Path | None) -> list[str]:
    parts = ["## Throughput", ""]
    parts.append(
        "ops/s summed over threads. Latency per operation is sampled 1 in 64 "
        "with steady_clock (each sample includes ~20 ns of clock overhead) into "
        "log-bucketed histograms (~3% resolution)."
    )
    table_rows = [
        [
            r["impl"],
            r["policy"],
            str(r["threads"]),
            f"{r['ops_per_sec'] / 1e6:.2f}",
            f"{r['p50_ns']:,}",
            f"{r['p99_ns']:,}",
            f"{r['p999_ns']:,}",
        ]
        for r in rows
    ]
    parts += [
        "",
        md_table(
            ["impl", "policy", "threads", "Mops/s", "p50 ns", "p99 ns", "p99.9 ns"],
            table_rows,
            [False, False, True, True, True, True, True],
        ),
    ]
    if plot is not None:
        parts += ["", f"![throughput]({plot.name})"]
    return parts


def write_summary(
    *,
    out: Path,
    ratio: Sequence[RatioRow],
    throughput: Sequence[ThroughputRow],
    commands: Sequence[str],
    notes: Sequence[str],
    ratio_plots: dict[str, Path],
    throughput_plot: Path | None,
) -> Path:
    parts = ["# cuckoocache perf report", ""]
    parts += [
        "## Machine",
        "",
        f"- nproc: {nproc()}",
        f"- CPU: {cpu_model()}",
        f"- kernel: {platform.system()} {platform.release()}",
        "",
    ]
    if notes:
        parts += ["## Setup", ""]
        for note in notes:
            parts += [note, ""]
    if commands:
        parts += ["## Commands", "", "```sh", *commands, "```", ""]
    if ratio:
        parts += [*ratio_section(ratio, ratio_plots), ""]
    if throughput:
        parts += [*throughput_section(throughput, throughput_plot), ""]
    path = out / "summary.md"
    path.write_text("\n".join(parts), encoding="utf-8")
    return path


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ratio", type=Path, help="JSON from `cuckoocache-perf ratio --json`")
    parser.add_argument(
        "--throughput", type=Path, help="JSON from `cuckoocache-perf throughput --json`"
    )
    parser.add_argument("--out", type=Path, required=True, help="output directory")
    parser.add_argument(
        "--note",
        action="append",
        default=[],
        help="a paragraph for the Setup section of summary.md (repeatable)",
    )
    parser.add_argument(
        "--command",
        action="append",
        default=[],
        help="a command line to list in summary.md (repeatable, in order)",
    )
    args = parser.parse_args(argv)
    if args.ratio is None and args.throughput is None:
        parser.error("give --ratio and/or --throughput")

    try:
        ratio = load_ratio(args.ratio) if args.ratio else []
        throughput = load_throughput(args.throughput) if args.throughput else []
    except (OSError, ValueError, ReportError) as e:
        print(f"plot.py: error: {e}", file=sys.stderr)
        return 2

    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    ratio_plots = {trace: plot_ratio(ratio, trace, out) for trace in traces_in_order(ratio)}
    throughput_plot = plot_throughput(throughput, out) if throughput else None
    summary = write_summary(
        out=out,
        ratio=ratio,
        throughput=throughput,
        commands=args.command,
        notes=args.note,
        ratio_plots=ratio_plots,
        throughput_plot=throughput_plot,
    )
    for path in [
        *ratio_plots.values(),
        *([throughput_plot] if throughput_plot else []),
        summary,
    ]:
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
