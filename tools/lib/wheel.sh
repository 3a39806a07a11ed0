# shellcheck shell=bash
# Sourced by tools/test: the standalone-wheel check (stage "wheel").
#
# cuckoocache_wheel_check <venv> <work-dir>
#   1. pip wheel . with <venv>'s Python (scikit-build-core; the CMake tree build/python/ is
#      reused between runs);
#   2. auditwheel repair: copies the non-policy libraries (libboost_python*.so) into the wheel
#      and retags it manylinux_*; auditwheel show must then report a manylinux tag;
#   3. installs the repaired wheel into a fresh venv at <work-dir>/venv (no index);
#   4. runs tests/packaging/wheel_smoke.py there, from outside the source tree, in a private
#      mount namespace where every system libboost_python*.so is /dev/null (unshare -m + bind
#      mount): the import works only if the wheel brings its own.
cuckoocache_wheel_check() {
  local venv work src wheel repaired
  src=$(pwd)
  venv=$(cd "$1" && pwd) && mkdir -p "$2" && work=$(cd "$2" && pwd) || return 1
  rm -rf "$work/dist" "$work/repaired" "$work/venv" || return 1
  echo "wheel: pip wheel . (log: $work/pip-wheel.log)"
  PIP_DISABLE_PIP_VERSION_CHECK=1 "$venv/bin/python" -m pip wheel --no-build-isolation \
    --no-deps -w "$work/dist" . >"$work/pip-wheel.log" 2>&1 || {
    tail -n 40 "$work/pip-wheel.log" >&2
    return 1
  }
  wheel=$(ls "$work"/dist/cuckoocache-*.whl) || return 1
  PATH="$venv/bin:$PATH" "$venv/bin/auditwheel" repair -w "$work/repaired" "$wheel" >"$work/repair.log" 2>&1 || {
    cat "$work/repair.log" >&2
    return 1
  }
  repaired=$(ls "$work"/repaired/cuckoocache-*manylinux*.whl) || {
    echo "wheel: auditwheel repair made no manylinux wheel:" >&2
    ls "$work/repaired" >&2
    return 1
  }
  echo "wheel: $(basename "$repaired")"
  "$venv/bin/auditwheel" show "$repaired" >"$work/show.log" 2>&1 || {
    cat "$work/show.log" >&2
    return 1
  }
  if ! tr '\n' ' ' <"$work/show.log" | grep -q 'consistent with the following platform tag: "manylinux'; then
    echo "wheel: auditwheel show does not report a manylinux tag:" >&2
    cat "$work/show.log" >&2
    return 1
  fi
  "$venv/bin/python" -m venv "$work/venv" &&
    cuckoocache_pip "$work/venv" install --no-index --no-deps "$repaired" || return 1
  local -a hide=()
  local lib
  for lib in /usr/lib/*/libboost_python3*.so* /usr/lib/libboost_python3*.so* \
    /usr/local/lib/libboost_python3*.so*; do
    [[ -f $lib && ! -L $lib ]] && hide+=("$lib")
  done
  echo "wheel: hiding ${hide[*]:-nothing (no system Boost.Python found)}"
  local script="set -e"
  for lib in "${hide[@]}"; do
    script+="; mount --bind /dev/null '$lib'"
  done
  script+="; cd /; exec '$work/venv/bin/python' '$src/tests/packaging/wheel_smoke.py'"
  if ! unshare -m -- true 2>/dev/null; then
    echo "wheel: 'unshare -m' is not permitted here (it needs root or CAP_SYS_ADMIN), so the" \
      "system Boost.Python cannot be hidden for the import check" >&2
    return 1
  fi
  unshare -m -- sh -c "$script"
}
