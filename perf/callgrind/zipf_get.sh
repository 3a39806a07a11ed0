#!/bin/sh
# Instructions and simulated data-cache misses per lookup of `cuckoocache-perf throughput
# --read-ratio 1`'s workload on one thread (Zipf 0.99 over 200,000 keys, 100,000 entries),
# for the engine's get and raw libcuckoo find:
#   perf/callgrind/zipf_get.sh [IMPL...]    default: engine raw rawmix (see zipf_get.cpp)
# Builds perf/callgrind/zipf_get.cpp with the release flags into build/callgrind/ and runs it
# under callgrind --cache-sim=yes with a 32 KiB 8-way L1 and, as the last level, a 1 MiB 16-way
# cache the size of this machine's per-core L2 (callgrind simulates two levels; with the real
# 32 MiB L3 as the last level every lookup's lines stay in it). Prints (300k - 100k lookups) /
# 200k per implementation. INCLUDE=dir measures another source tree with this driver.
set -eu
. "$(dirname "$0")/lib.sh"
callgrind_build zipf_get "${INCLUDE:-$root}"
run() {
  valgrind --tool=callgrind --cache-sim=yes --D1=32768,8,64 --LL=1048576,16,64 \
    --callgrind-out-file=/dev/null "$out/zipf_get" "$1" "$2" 2>&1 |
    awk '/Collected/ { print $4, $8 + $9, $11 + $12 }'
}
if [ $# -eq 0 ]; then set -- engine raw rawmix; fi
for impl in "$@"; do
  a=$(run "$impl" 100000)
  b=$(run "$impl" 300000)
  echo "$a $b" | awk -v impl="$impl" '{ printf "%s: %.1f instructions, %.2f L1 data misses, %.2f 1 MiB-LL data misses per lookup\n", impl, ($4 - $1) / 200000, ($5 - $2) / 200000, ($6 - $3) / 200000 }'
done
