#!/bin/sh
# Instructions per engine operation, counted by callgrind (deterministic: the same binary and
# arguments give the same count whatever else the machine does).
#   perf/callgrind/run.sh [OP MAX_SIZE POLICY]...   default: put/get at 1,000 and 100,000, raw
# Builds perf/callgrind/engine_ops.cpp with the release flags into build/callgrind/ and runs
# each operation 20,000 and 120,000 times; prints (I(120k) - I(20k)) / 100,000.
set -eu
. "$(dirname "$0")/lib.sh"
callgrind_build engine_ops
count() {
  callgrind_count engine_ops "$1" "$4" "$2" "$3"
}
measure() {
  a=$(count "$1" "$2" "$3" 20000)
  b=$(count "$1" "$2" "$3" 120000)
  echo "$1 max_size=$2 $3: $(( (b - a) / 100000 )) instructions/op"
}
if [ $# -eq 0 ]; then
  set -- put 1000 lru put 100000 lru put 1000 lfu put 64 lru get 1000 lru get 100000 lru \
    raw 1000 - raw 100000 - rawput 1000 - rawput 100000 -
fi
while [ $# -ge 3 ]; do
  measure "$1" "$2" "$3"
  shift 3
done
