# shellcheck shell=bash
# Sourced by tools/test and tools/demo: make sure the system packages the build needs are
# installed (Debian/Ubuntu). Installs them with apt-get when running as root; otherwise lists
# what is missing and fails.

CUCKOOCACHE_DEB_PACKAGES=(
  cmake g++ make ninja-build
  libcuckoo-dev libboost-test-dev libbenchmark-dev libboost-python-dev zlib1g-dev
)

cuckoocache_pkg_installed() {
  dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"
}

cuckoocache_ensure_deps() {
  if ! command -v dpkg-query >/dev/null 2>&1; then
    echo "deps: dpkg-query not found (not Debian?); assuming ${CUCKOOCACHE_DEB_PACKAGES[*]} are available" >&2
    return 0
  fi
  local missing=() pkg
  for pkg in "${CUCKOOCACHE_DEB_PACKAGES[@]}"; do
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
