#!/usr/bin/env bash
# Usage: second_python.sh <python> <work-dir>
# `pip install .` under a Python for which no Boost.Python exists here (Debian's
# libboost-python-dev serves only the system python3) must fail at once, during CMake's
# configure, with cuckoocache's own one-paragraph message naming the Python version, the Debian
# package and BOOST_ROOT/Boost_DIR, instead of Boost's variant listing or a compiler error.
# The venv at <work-dir>/venv (with scikit-build-core, so no build isolation is needed) is
# made once and reused.
set -euo pipefail
python=$1
work=$2
mkdir -p "$work"
version=$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
if [[ ! -x $work/venv/bin/python ]] ||
  ! "$work/venv/bin/python" -c 'import scikit_build_core' 2>/dev/null; then
  rm -rf "$work/venv"
  "$python" -m venv "$work/venv"
  PIP_DISABLE_PIP_VERSION_CHECK=1 "$work/venv/bin/python" -m pip -q install scikit-build-core
fi
log=$work/pip-install.log
start=$SECONDS
if PIP_DISABLE_PIP_VERSION_CHECK=1 "$work/venv/bin/python" -m pip install --no-build-isolation \
  --no-deps -v . >"$log" 2>&1; then
  echo "second_python: pip install . under Python $version succeeded; expected the Boost.Python message" >&2
  echo "(if a Boost.Python for $version is installed, pick another Python)" >&2
  exit 1
fi
for want in "no Boost.Python for Python $version" "libboost-python-dev" "BOOST_ROOT" "Boost_DIR"; do
  if ! grep -qF "$want" "$log"; then
    echo "second_python: the failure does not say '$want'; log $log:" >&2
    tail -n 40 "$log" >&2
    exit 1
  fi
done
if grep -qE "Building CXX object|Linking CXX" "$log"; then
  echo "second_python: the build got past configure before failing; log $log" >&2
  exit 1
fi
echo "second_python: Python $version: pip install . stopped in $((SECONDS - start))s with:"
grep -F -A6 "no Boost.Python for Python $version" "$log" | sed 's/^/  /' | head -n 8
