#!/usr/bin/env bash
# perf/peers/run.sh: the engine against Caffeine and Ristretto on `cuckoocache-perf
# throughput`'s workload, side by side, and one table (perf/peers/README.md).
#
#   perf/peers/run.sh            # everything; prints the table, keeps raw rows in build/peers/
#
# Steps: (1) installs what is missing, through tools/lib/deps.sh (apt-get as root; otherwise
# it prints the apt-get line to run and stops): the harness's build packages, Debian's
# libcaffeine-java (Caffeine 2.6.2) with default-jdk-headless, and
# golang-github-dgraph-io-ristretto-dev (Ristretto 0.0.3) with golang-go; (2) builds
# cuckoocache-perf (Release) in build/peers/release, CaffeinePeer with javac and ristretto-peer
# with `go build` in GOPATH mode against /usr/share/gocode (offline, no modules); (3) writes the
# harness's per-worker key arrays once (--export-keys); (4) REPS times, for each read ratio in
# turn: the engine impls (one cuckoocache-perf throughput run), Caffeine (a JVM that first runs
# JAVA_WARMUP unreported rounds of its cells), then Ristretto, so the cells being divided are
# measured seconds apart; (5) prints the median over the repetitions of each cell, the engine's
# ratios and the issue-11 targets (table.py).
# Not part of the test suite. Settings (environment):
#   REPS=3 DURATION=1 THREADS=1,2 RATIOS=1,0.9,0.5,0 ENTRIES=100000 KEYS=2*ENTRIES
#   WORKLOAD=zipf:0.99 SEED=1 POLICIES=lru,adaptive IMPLS=engine,libcuckoo,mutex-lru
#   JAVA_WARMUP=3 PEERS="caffeine ristretto" OUT=build/peers
# RATIOS=0 is the write-only mix: put at capacity (the cache is filled before timing).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
here="$root/perf/peers"
reps=${REPS:-3}
duration=${DURATION:-1}
threads=${THREADS:-1,2}
ratios=${RATIOS:-1,0.9,0.5,0}
entries=${ENTRIES:-100000}
keys=${KEYS:-$((2 * entries))}
workload=${WORKLOAD:-zipf:0.99}
seed=${SEED:-1}
policies=${POLICIES:-lru,adaptive}
impls=${IMPLS:-engine,libcuckoo,mutex-lru}
java_warmup=${JAVA_WARMUP:-3}
peers=${PEERS:-caffeine ristretto}
out=${OUT:-$root/build/peers}

# ---- (1) packages --------------------------------------------------------------------------
# shellcheck source=../../tools/lib/deps.sh
source "$root/tools/lib/deps.sh"
cuckoocache_ensure_deps "${CUCKOOCACHE_DEMO_DEB_PACKAGES[@]}" libcaffeine-java \
  default-jdk-headless golang-github-dgraph-io-ristretto-dev golang-go

# ---- (2) builds ----------------------------------------------------------------------------
mkdir -p "$out"
perf_bin="$out/release/perf/harness/cuckoocache-perf"
echo "peers: building cuckoocache-perf (Release) in $out/release" >&2
cmake -S "$root" -B "$out/release" -DCMAKE_BUILD_TYPE=Release -DCUCKOOCACHE_BUILD_TESTS=OFF \
  -DCUCKOOCACHE_BUILD_BENCHMARKS=OFF -DCUCKOOCACHE_BUILD_PERF=ON -DCUCKOOCACHE_INSTALL=OFF \
  >"$out/cmake.log" 2>&1 || { cat "$out/cmake.log" >&2; exit 1; }
cmake --build "$out/release" --target cuckoocache-perf -j2 >"$out/build.log" 2>&1 ||
  { cat "$out/build.log" >&2; exit 1; }

caffeine_jar=/usr/share/java/caffeine.jar
echo "peers: building CaffeinePeer (javac) and ristretto-peer (go build, GOPATH mode)" >&2
mkdir -p "$out/java" "$out/go"
javac -d "$out/java" -cp "$caffeine_jar" "$here/caffeine/CaffeinePeer.java"
(cd "$here/ristretto" &&
  GO111MODULE=off GOPATH=/usr/share/gocode GOFLAGS= GOCACHE="$out/go/cache" \
    go build -o "$out/go/ristretto-peer" main.go)

# ---- (3) the key arrays --------------------------------------------------------------------
mkdir -p "$out/keys"
common=(--threads "$threads" --entries "$entries" --keys "$keys" --seed "$seed")
"$perf_bin" throughput "${common[@]}" --workload "$workload" --export-keys "$out/keys"

# ---- (4) measurements ----------------------------------------------------------------------
raw="$out/results.csv"
echo "impl,policy,threads,read_ratio,rep,ops_per_sec,p50_ns,p99_ns,p999_ns,read_hit_pct" >"$raw"
echo "peers: load average before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
IFS=, read -r -a ratio_list <<<"$ratios"
for rep in $(seq 1 "$reps"); do
  for r in "${ratio_list[@]}"; do
    echo "peers: rep $rep/$reps, read ratio $r: engine impls" >&2
    "$perf_bin" throughput "${common[@]}" --workload "$workload" --read-ratio "$r" \
      --duration "$duration" --policies "$policies" --impls "$impls" --csv |
      awk -F, -v r="$r" -v rep="$rep" 'NR > 1 { print $1","$2","$3","r","rep","$4","$5","$6","$7"," }' \
        >>"$raw"
    peer_args=(--keys-dir "$out/keys" --threads "$threads" --read-ratios "$r"
      --entries "$entries" --keys "$keys" --seed "$seed" --duration "$duration" --rounds 1)
    for peer in $peers; do
      echo "peers: rep $rep/$reps, read ratio $r: $peer" >&2
      case $peer in
        ristretto) "$out/go/ristretto-peer" "${peer_args[@]}" --warmup 0 ;;
        caffeine) java -cp "$caffeine_jar:$out/java" CaffeinePeer "${peer_args[@]}" \
          --warmup "$java_warmup" ;;
        *) echo "peers: unknown peer '$peer' (caffeine, ristretto)" >&2; exit 2 ;;
      esac | awk -F, -v rep="$rep" '{ $5 = rep; print }' OFS=, >>"$raw"
    done
  done
done
echo "peers: load average after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

# ---- (5) the table -------------------------------------------------------------------------
echo "workload $workload over $keys keys, $entries entries, $duration s per cell, $reps reps;" \
  "raw rows: $raw"
python3 "$here/table.py" "$raw"
