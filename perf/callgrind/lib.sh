# perf/callgrind/lib.sh: what the callgrind scripts share (sourced by run.sh and zipf_mix.sh,
# not run on its own). Sets $root (the repository) and $out (build/callgrind, created) and
# defines:
#   callgrind_build NAME [INCLUDE_DIR]  builds perf/callgrind/NAME.cpp with the release flags
#                                       (${CXX:-c++} -std=c++20 -O3 -DNDEBUG) into $out/NAME,
#                                       the engine headers taken from INCLUDE_DIR (default $root)
#   callgrind_count NAME ARG...         runs $out/NAME ARG... under callgrind and prints the
#                                       number of instructions it collected
# The counts are the compiler's as much as the engine's: GCC inlines the engine's templates into
# a driver's one translation unit as that unit's size allows, so an edit to a driver (even its
# argument parsing: perf/callgrind/args.h moved put 1000 lru 2,067 -> 2,059 and zipf_mix 90%
# LRU 552 -> 531 on one engine) moves them by a few percent. Compare counts made by the same
# driver source (zipf_mix.sh's INCLUDE=dir measures another engine with this driver).
root=$(cd "$(dirname "$0")/../.." && pwd)
out="$root/build/callgrind"
mkdir -p "$out"
callgrind_build() {
  ${CXX:-c++} -std=c++20 -O3 -DNDEBUG -I"${2:-$root}" "$root/perf/callgrind/$1.cpp" \
    -o "$out/$1" -pthread
}
callgrind_count() {
  program=$1
  shift
  valgrind --tool=callgrind --callgrind-out-file=/dev/null "$out/$program" "$@" 2>&1 |
    awk '/Collected/ { print $4 }'
}
