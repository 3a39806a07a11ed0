#!/usr/bin/env bash
# Usage: run.sh <source-dir> <build-dir>
# Installs the cuckoocache build in <build-dir> into a fresh temporary prefix, then configures,
# builds and runs tests/install_consumer against that prefix only.
# Honours CMAKE (cmake binary), CMAKE_GENERATOR, CMAKE_MAKE_PROGRAM and CXX from the environment.
set -euo pipefail

if [[ $# -ne 2 ]]; then
  echo "usage: $0 <source-dir> <build-dir>" >&2
  exit 2
fi
src_dir=$(cd "$1" && pwd)
build_dir=$(cd "$2" && pwd)
cmake_bin=${CMAKE:-cmake}

work=$(mktemp -d "${TMPDIR:-/tmp}/cuckoocache-install-test.XXXXXX")
trap 'rm -rf "$work"' EXIT
prefix="$work/prefix"
consumer_build="$work/consumer-build"

echo "== install $build_dir -> $prefix"
"$cmake_bin" --install "$build_dir" --prefix "$prefix"

configure_args=(-S "$src_dir/tests/install_consumer" -B "$consumer_build"
                -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release)
if [[ -n "${CMAKE_MAKE_PROGRAM:-}" ]]; then
  configure_args+=(-DCMAKE_MAKE_PROGRAM="$CMAKE_MAKE_PROGRAM")
fi
[[ -z "${CMAKE_GENERATOR:-}" ]] && unset CMAKE_GENERATOR
[[ -z "${CXX:-}" ]] && unset CXX

echo "== configure consumer"
"$cmake_bin" "${configure_args[@]}"

# The package must come from the fresh prefix, not from the source or build tree.
found_dir=$(sed -n 's/^cuckoocache_DIR:PATH=//p' "$consumer_build/CMakeCache.txt")
case "$found_dir" in
  "$prefix"/*) ;;
  *) echo "error: cuckoocache found at '$found_dir', expected under $prefix" >&2; exit 1 ;;
esac

echo "== build consumer"
"$cmake_bin" --build "$consumer_build"

echo "== run consumer"
"$consumer_build/consumer"
echo "install_consumer: OK"
