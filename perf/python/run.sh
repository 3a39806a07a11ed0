#!/usr/bin/env bash
# Run the Python cache benchmark (perf/python/bench.py) in its own venv.
#
#   perf/python/run.sh [bench.py options]     e.g. --quick, --repeats 7, --json out.json
#
# Creates build/bench-venv (once) with `python3 -m venv`, installs each competitor listed in
# perf/python/requirements.txt one at a time (one that fails is reported as missing and the
# benchmark goes on without it), installs cuckoocache from the repository root when it has a
# pyproject.toml, then runs bench.py with the given options. pip's output goes to
# build/bench-venv/install.log; the report is the only thing on stdout.
#
# Environment: PYTHON (default python3) creates the venv; BENCH_SKIP_INSTALL=1 skips every
# pip install and runs with whatever the venv has.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
venv="$root/build/bench-venv"
py="$venv/bin/python"
log="$venv/install.log"

if [[ ! -x "$py" ]]; then
    echo "creating $venv" >&2
    mkdir -p "$root/build"
    "${PYTHON:-python3}" -m venv "$venv"
fi

if [[ "${BENCH_SKIP_INSTALL:-0}" != 1 ]]; then
    : >"$log"
    "$py" -m pip install --upgrade pip >>"$log" 2>&1 || echo "warning: pip upgrade failed (see $log)" >&2
    while read -r line; do
        req="${line%%#*}"
        req="${req//[[:space:]]/}"
        [[ -n "$req" ]] || continue
        if "$py" -m pip install "$req" >>"$log" 2>&1; then
            echo "installed: $req" >&2
        else
            echo "missing: $req (pip install failed, see $log)" >&2
        fi
    done <"$here/requirements.txt"

    if [[ -f "$root/pyproject.toml" ]]; then
        echo "installing cuckoocache from $root" >&2
        if ! "$py" -m pip install "$root" >>"$log" 2>&1; then
            echo "missing: cuckoocache (pip install $root failed, see $log)" >&2
        fi
    else
        echo "missing: cuckoocache (no pyproject.toml at $root yet)" >&2
    fi
fi

exec "$py" "$here/bench.py" "$@"
