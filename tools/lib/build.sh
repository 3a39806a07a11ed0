# shellcheck shell=bash
# Sourced by tools/test and tools/demo: pick cmake + generator and configure/build a tree.
# Expects the caller to be at the repository root.

# Debian's cmake matches Debian's Boost/libcuckoo packages; prefer it over a pip shim.
if [[ -x /usr/bin/cmake ]]; then
  CUCKOOCACHE_CMAKE=/usr/bin/cmake
else
  CUCKOOCACHE_CMAKE=$(command -v cmake)
fi
if [[ -x /usr/bin/ctest ]]; then
  CUCKOOCACHE_CTEST=/usr/bin/ctest
else
  CUCKOOCACHE_CTEST=$(command -v ctest)
fi

CUCKOOCACHE_GENERATOR_ARGS=()
CUCKOOCACHE_GENERATOR="Unix Makefiles"
for _cc_ninja in /usr/bin/ninja "$(command -v ninja 2>/dev/null || true)"; do
  if [[ -n "$_cc_ninja" && -x "$_cc_ninja" ]] && "$_cc_ninja" --version >/dev/null 2>&1; then
    CUCKOOCACHE_GENERATOR=Ninja
    CUCKOOCACHE_GENERATOR_ARGS=(-DCMAKE_MAKE_PROGRAM="$_cc_ninja")
    break
  fi
done
unset _cc_ninja
CUCKOOCACHE_JOBS=${CUCKOOCACHE_JOBS:-2}

# cuckoocache_fresh_tree <build-dir> [c++ compiler path]
# Deletes the build tree if it was configured with another cmake binary or generator, or (when
# a compiler is given) another C++ compiler: CMake cannot switch those in an existing tree
# (passing a different CMAKE_CXX_COMPILER makes it delete its cache and re-run without the
# other -D options given on that command line).
cuckoocache_fresh_tree() {
  local dir=$1 cxx=${2:-} cache=$1/CMakeCache.txt old_gen old_cmake old_cxx
  [[ -f $cache ]] || return 0
  old_gen=$(sed -n 's/^CMAKE_GENERATOR:INTERNAL=//p' "$cache")
  old_cmake=$(sed -n 's/^CMAKE_COMMAND:INTERNAL=//p' "$cache")
  if [[ "$old_gen" != "$CUCKOOCACHE_GENERATOR" || "$old_cmake" != "$CUCKOOCACHE_CMAKE" ]]; then
    echo "build: $dir was configured with '$old_cmake' / '$old_gen'; reconfiguring from scratch"
    rm -rf "$dir"
    return 0
  fi
  if [[ -n $cxx ]]; then
    old_cxx=$(sed -n 's/^CMAKE_CXX_COMPILER:[A-Z]*=//p' "$cache")
    if [[ -z $old_cxx || $(readlink -f "$old_cxx") != $(readlink -f "$cxx") ]]; then
      echo "build: $dir was configured with '$old_cxx', not $cxx: reconfiguring from scratch"
      rm -rf "$dir"
    fi
  fi
}

# cuckoocache_configure_build <build-dir> [extra cmake -D args...]
# Builds every target, or only those named in CUCKOOCACHE_TARGETS (space-separated).
cuckoocache_configure_build() {
  local dir=$1
  shift
  cuckoocache_fresh_tree "$dir"
  "$CUCKOOCACHE_CMAKE" -S . -B "$dir" -G "$CUCKOOCACHE_GENERATOR" \
    "${CUCKOOCACHE_GENERATOR_ARGS[@]}" "$@" &&
    "$CUCKOOCACHE_CMAKE" --build "$dir" -j "$CUCKOOCACHE_JOBS" \
      ${CUCKOOCACHE_TARGETS:+--target $CUCKOOCACHE_TARGETS}
}
