#!/bin/sh
# Instructions per operation of `cuckoocache-perf throughput`'s workload (Zipf 0.99 over 200,000
# keys, 100,000 entries) on one thread, per policy and read share, counted by callgrind:
#   perf/callgrind/zipf_mix.sh [READ_PERCENT...]    default: 100 90 50; policies lru lfu adaptive
# Builds perf/callgrind/zipf_mix.cpp with the release flags into build/callgrind/ and prints
# (I(300k ops) - I(100k ops)) / 200,000 per cell. INCLUDE=dir measures another source tree.
set -eu
. "$(dirname "$0")/lib.sh"
callgrind_build zipf_mix "${INCLUDE:-$root}"
count() {
  callgrind_count zipf_mix "$1" "$2" "$3"
}
if [ $# -eq 0 ]; then set -- 100 90 50; fi
for read in "$@"; do
  line="read $read%:"
  for policy in lru lfu adaptive; do
    a=$(count "$policy" 100000 "$read")
    b=$(count "$policy" 300000 "$read")
    line="$line $policy $(( (b - a) / 200000 ))"
  done
  echo "$line"
done
