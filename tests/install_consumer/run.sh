#!/usr/bin/env bash
# Usage: run.sh <source-dir> <build-dir>
# Three ways a C++ project consumes cuckoocache, each building and running main.cpp:
#   1. find_package: installs the build in <build-dir> into a fresh temporary prefix and builds
#      this directory's CMake project against that prefix only;
#   2. pkg-config: the compiler alone, with the flags of <prefix>/share/pkgconfig/cuckoocache.pc;
#   3. add_subdirectory: this directory's CMake project with the source tree added as a
#      subdirectory (no tests, benchmarks or forced build type may come with it).
# Honours CMAKE (cmake binary), CMAKE_GENERATOR, CMAKE_MAKE_PROGRAM and CXX from the environment.
set -euo pipefail

if [[ $# -ne 2 ]]; then
  echo "usage: $0 <source-dir> <build-dir>" >&2
  exit 2
fi
src_dir=$(cd "$1" && pwd)
build_dir=$(cd "$2" && pwd)
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cmake_bin=${CMAKE:-cmake}

work=$(mktemp -d "${TMPDIR:-/tmp}/cuckoocache-install-test.XXXXXX")
trap 'rm -rf "$work"' EXIT
prefix="$work/prefix"

common_args=()
if [[ -n "${CMAKE_MAKE_PROGRAM:-}" ]]; then
  common_args+=(-DCMAKE_MAKE_PROGRAM="$CMAKE_MAKE_PROGRAM")
fi
[[ -z "${CMAKE_GENERATOR:-}" ]] && unset CMAKE_GENERATOR
[[ -z "${CXX:-}" ]] && unset CXX

echo "== install $build_dir -> $prefix"
"$cmake_bin" --install "$build_dir" --prefix "$prefix" --component cuckoocache_dev >/dev/null
test -f "$prefix/include/cuckoocache/cache.h" || {
  echo "error: $prefix/include/cuckoocache/cache.h was not installed" >&2
  exit 1
}

echo "== 1. find_package"
"$cmake_bin" -S "$here" -B "$work/fp" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release \
  "${common_args[@]}" >"$work/fp.log" || { cat "$work/fp.log"; exit 1; }
# The package must come from the fresh prefix, not from the source or build tree.
found_dir=$(sed -n 's/^cuckoocache_DIR:PATH=//p' "$work/fp/CMakeCache.txt")
case "$found_dir" in
  "$prefix"/*) ;;
  *) echo "error: cuckoocache found at '$found_dir', expected under $prefix" >&2; exit 1 ;;
esac
"$cmake_bin" --build "$work/fp" >/dev/null
"$work/fp/consumer"

echo "== 2. pkg-config"
pc_flags=$(PKG_CONFIG_PATH="$prefix/share/pkgconfig" pkg-config --cflags --libs cuckoocache)
echo "pkg-config --cflags --libs cuckoocache: $pc_flags"
# shellcheck disable=SC2086  # pkg-config output is a list of flags
"${CXX:-c++}" -std=c++20 -O1 -Wall -Wextra -Werror "$here/main.cpp" $pc_flags -o "$work/pc-consumer"
"$work/pc-consumer"

echo "== 3. add_subdirectory"
# No build type given: the subproject must not set one.
"$cmake_bin" -S "$here" -B "$work/sub" -DCONSUMER_MODE=subdirectory \
  -DCUCKOOCACHE_SOURCE_DIR="$src_dir" "${common_args[@]}" >"$work/sub.log" ||
  { cat "$work/sub.log"; exit 1; }
"$cmake_bin" --build "$work/sub" >/dev/null
"$work/sub/consumer"
echo "install_consumer: OK (find_package, pkg-config, add_subdirectory)"
