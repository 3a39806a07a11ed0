#!/usr/bin/env bash
# CLI test of cuckoocache-perf (CTest entry perf_cli): usage and exit codes, the one-line
# error for each kind of bad input (and nothing on stdout then), the exact JSON and CSV shapes,
# hit counts of a tiny hand-checked trace, and Ctrl-C printing partial results.
#
#   perf/harness/cli_test.sh path/to/cuckoocache-perf
#
# Ends with "N passed, M failed" and exits non-zero if any check failed.
set -uo pipefail

bin=${1:?usage: cli_test.sh path/to/cuckoocache-perf}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

passed=0
failed=0
ok() { passed=$((passed + 1)); }
bad() {
  failed=$((failed + 1))
  echo "FAIL: $*" >&2
}

# run ARGS...: runs the binary, leaving $rc, $out, $err.
run() {
  "$bin" "$@" >"$tmp/out" 2>"$tmp/err"
  rc=$?
  out=$(cat "$tmp/out")
  err=$(cat "$tmp/err")
}

# expect_error PATTERN ARGS...: exit 2, empty stdout, exactly one stderr line
# "cuckoocache-perf: error: ..." matching PATTERN (grep -E).
expect_error() {
  local pattern=$1
  shift
  run "$@"
  local what="cuckoocache-perf $*"
  if [[ $rc -ne 2 ]]; then
    bad "$what: exit $rc, want 2 (stderr: $err)"
  elif [[ -n $out ]]; then
    bad "$what: stdout not empty: $out"
  elif [[ $(wc -l <"$tmp/err") -ne 1 ]]; then
    bad "$what: want one stderr line, got: $err"
  elif [[ $err != "cuckoocache-perf: error: "* ]]; then
    bad "$what: stderr lacks the error prefix: $err"
  elif ! grep -Eq -- "$pattern" <<<"$err"; then
    bad "$what: stderr does not match /$pattern/: $err"
  else
    ok
  fi
}

# ---- usage -------------------------------------------------------------------------------
run
if [[ $rc -eq 2 && $out == usage:* ]]; then ok; else bad "no arguments: exit $rc, stdout: ${out:0:80}"; fi
run --help
if [[ $rc -eq 0 && $out == usage:* && -z $err ]]; then ok; else bad "--help: exit $rc"; fi
run ratio --help
if [[ $rc -eq 0 && $out == usage:* ]]; then ok; else bad "ratio --help: exit $rc"; fi

# ---- bad input ---------------------------------------------------------------------------
printf '1\n2\n3\n' >"$tmp/good.keys"
printf '1\n2\nx7\n4\n' >"$tmp/bad.keys"
printf '10 2 0 0\n20 two 0 0\n' >"$tmp/bad.lis"
: >"$tmp/empty.keys"
printf '10 0 0 0\n' >"$tmp/zero.lis"

expect_error 'unknown command .frobnicate.' frobnicate
expect_error 'nope\.keys: cannot open trace file' ratio --trace "$tmp/nope.keys" --sizes 10
expect_error 'bad\.keys:3: expected one unsigned integer key, got "x7"' \
  ratio --trace "$tmp/bad.keys" --sizes 10
expect_error 'bad\.lis:2: ' ratio --trace "$tmp/bad.lis" --sizes 10
expect_error "unknown policy 'bogus'" ratio --trace "$tmp/good.keys" --sizes 10 --policies lru,bogus
expect_error "unknown policy 'opt'" throughput --threads 1 --policies opt
expect_error 'unknown trace format "csv"' ratio --trace "$tmp/good.keys" --format csv --sizes 10
expect_error "unknown impl 'redis'" throughput --threads 1 --impls engine,redis
expect_error '--sizes: must be at least 1' ratio --trace "$tmp/good.keys" --sizes 10,0
expect_error "--sizes: expected a non-negative integer, got 'ten'" \
  ratio --trace "$tmp/good.keys" --sizes ten
expect_error "--keys: expected a non-negative integer, got '12abc'" \
  ratio --workload uniform --keys 12abc --sizes 10
expect_error "--requests: expected a non-negative integer, got '-5'" \
  ratio --workload uniform --requests -5 --sizes 10
expect_error "--read-ratio: expected a number, got 'most'" throughput --threads 1 --read-ratio most
expect_error '--read-ratio: 1.5 is out of range' throughput --threads 1 --read-ratio 1.5
expect_error "--threads: must be at least 1" throughput --threads 0
expect_error "--duration: expected a number" throughput --threads 1 --duration 2s
expect_error 'workload "zipf:abc": zipf exponent must be a number' \
  ratio --workload zipf:abc --sizes 10
expect_error 'workload "scan:0": scan length must be at least 1' ratio --workload scan:0 --sizes 10
expect_error 'unknown generator "pareto"' ratio --workload pareto --sizes 10
expect_error 'ratio needs --sizes' ratio --trace "$tmp/good.keys"
expect_error "trace '.*empty\.keys' holds no requests" ratio --trace "$tmp/empty.keys" --sizes 10
expect_error "trace '.*zero\.lis' holds no requests" ratio --trace "$tmp/zero.lis" --sizes 10
expect_error "trace '/dev/null' holds no requests" ratio --trace /dev/null --format keys --sizes 10
expect_error 'ratio needs --trace FILE or --workload SPEC' ratio --sizes 10
expect_error 'throughput needs --threads' throughput
expect_error "unknown option '--threads'" ratio --trace "$tmp/good.keys" --sizes 10 --threads 2
expect_error '--sizes needs a value' ratio --trace "$tmp/good.keys" --sizes
expect_error '--json and --csv are exclusive' ratio --trace "$tmp/good.keys" --sizes 1 --json --csv

# ---- a tiny ratio run, checked by hand -----------------------------------------------------
# 1 2 3 1 2 3 1 2 3 with 3 entries: every policy hits the last 6 requests. With 2 entries exact
# LRU never hits, OPT hits 3 (keeps 1, then alternates), and so on.
printf '1\n2\n3\n1\n2\n3\n1\n2\n3\n' >"$tmp/tiny.keys"
run ratio --trace "$tmp/tiny.keys" --sizes 2,3 --policies exact-lru,opt,lru --csv
want='trace,size,policy,requests,hits,hit_ratio
tiny,2,exact-lru,9,0,0.0000
tiny,2,opt,9,3,33.3333
tiny,2,lru,9,0,0.0000
tiny,3,exact-lru,9,6,66.6667
tiny,3,opt,9,6,66.6667
tiny,3,lru,9,6,66.6667'
if [[ $rc -eq 0 && $out == "$want" && -z $err ]]; then ok; else bad "tiny ratio CSV: exit $rc, stderr: $err, got:
$out"; fi

run ratio --trace "$tmp/tiny.keys" --sizes 3 --policies opt
if [[ $rc -eq 0 && $(sed -n 1p "$tmp/out") == trace*size*policy*requests*hits*hit%* &&
  $(sed -n 3p "$tmp/out") == "tiny"*"3"*"opt"*"9"*"6"*"66.67"* ]]; then
  ok
else
  bad "tiny ratio table: exit $rc, got:
$out"
fi

# ---- JSON shapes ---------------------------------------------------------------------------
run ratio --workload zipf:0.9 --workload 'mix:loop:50@100,scan:20' --keys 500 --requests 3000 \
  --sizes 10,100 --json
if [[ $rc -eq 0 ]] && python3 -c '
import json, sys
rows = json.load(open(sys.argv[1]))
assert isinstance(rows, list) and len(rows) == 2 * 2 * 7, len(rows)
keys = ["trace", "size", "policy", "requests", "hits", "hit_ratio"]
for r in rows:
    assert list(r) == keys, list(r)
    assert isinstance(r["trace"], str) and isinstance(r["policy"], str)
    assert all(isinstance(r[k], int) for k in ("size", "requests", "hits")), r
    assert isinstance(r["hit_ratio"], float), r
    assert r["requests"] == 3000 and 0 <= r["hits"] <= 3000, r
    assert abs(r["hit_ratio"] - 100.0 * r["hits"] / r["requests"]) < 1e-3, r
assert {r["trace"] for r in rows} == {"zipf:0.9", "mix:loop:50@100,scan:20"}
assert [r["policy"] for r in rows[:7]] == ["lru", "lfu", "ttl", "adaptive", "exact-lru", "exact-lfu", "opt"]
# Belady (always admitting) bounds every policy that always admits; adaptive may reject.
for r in rows:
    if r["policy"] == "adaptive":
        continue
    opt = next(o for o in rows
               if (o["trace"], o["size"], o["policy"]) == (r["trace"], r["size"], "opt"))
    assert r["hits"] <= opt["hits"], (r, opt)
' "$tmp/out"; then ok; else bad "ratio JSON shape (exit $rc)"; fi

run ratio --workload 'mix:zipf:1@10,uniform@10' --keys 100 --requests 200 --sizes 5 --policies lru --csv
if [[ $rc -eq 0 && $(sed -n 2p "$tmp/out") == '"mix:zipf:1@10,uniform@10",5,lru,200,'* ]]; then
  ok
else
  bad "CSV quoting of a mix workload name: $out"
fi

run throughput --threads 1,2 --duration 0.05 --entries 1000 --policies lru,adaptive \
  --impls engine,libcuckoo,mutex-lru --json
if [[ $rc -eq 0 ]] && python3 -c '
import json, sys
rows = json.load(open(sys.argv[1]))
assert isinstance(rows, list) and len(rows) == 2 * 4, len(rows)
keys = ["impl", "policy", "threads", "ops_per_sec", "p50_ns", "p99_ns", "p999_ns"]
for r in rows:
    assert list(r) == keys, list(r)
    assert r["threads"] in (1, 2) and r["ops_per_sec"] > 0, r
    assert 0 <= r["p50_ns"] <= r["p99_ns"] <= r["p999_ns"], r
assert [(r["impl"], r["policy"]) for r in rows[:4]] == [
    ("engine", "lru"), ("engine", "adaptive"), ("libcuckoo", "none"), ("mutex-lru", "exact-lru")]
' "$tmp/out"; then ok; else bad "throughput JSON shape (exit $rc): $err"; fi

# ---- --export-keys: the workers' key arrays, for perf/peers/ -------------------------------
run throughput --threads 1,2 --entries 1000 --workload loop:5 --export-keys "$tmp"
first=$(od -An -v -t u8 -N 48 "$tmp/keys-0.u64" 2>/dev/null | tr -s ' \n' ' ')
if [[ $rc -eq 0 && -z $out && $(stat -c %s "$tmp/keys-0.u64") -eq $((8 << 20)) &&
  $(stat -c %s "$tmp/keys-1.u64") -eq $((8 << 20)) && ! -e $tmp/keys-2.u64 &&
  $first == " 0 1 2 3 4 0 " ]]; then
  ok
else
  bad "--export-keys loop:5: exit $rc, first keys '$first', stdout: $out, stderr: $err"
fi
# Worker w's array is generated with seed + w: worker 1 at seed 4 = worker 0 at seed 5.
mkdir "$tmp/s4" "$tmp/s5"
"$bin" throughput --threads 2 --seed 4 --export-keys "$tmp/s4" 2>/dev/null
"$bin" throughput --threads 1 --seed 5 --export-keys "$tmp/s5" 2>/dev/null
if cmp -s "$tmp/s4/keys-1.u64" "$tmp/s5/keys-0.u64" &&
  ! cmp -s "$tmp/s4/keys-0.u64" "$tmp/s4/keys-1.u64"; then
  ok
else
  bad "--export-keys: worker 1 at seed 4 differs from worker 0 at seed 5"
fi
rm -rf "$tmp/s4" "$tmp/s5" "$tmp"/keys-*.u64
expect_error "--export-keys: cannot write '$tmp/missing/keys-0.u64'" \
  throughput --threads 1 --export-keys "$tmp/missing"

# ---- Ctrl-C: partial results ---------------------------------------------------------------
"$bin" throughput --threads 1 --duration 30 --entries 1000 --impls libcuckoo,mutex-lru --csv \
  >"$tmp/out" 2>"$tmp/err" &
pid=$!
sleep 3
kill -INT "$pid"
wait "$pid"
rc=$?
if [[ $rc -eq 130 && $(sed -n 1p "$tmp/out") == impl,policy,threads,* &&
  $(sed -n 2p "$tmp/out") == libcuckoo,none,1,* ]] && grep -q interrupted "$tmp/err"; then
  ok
else
  bad "SIGINT: exit $rc, stdout: $(cat "$tmp/out"), stderr: $(cat "$tmp/err")"
fi

echo "perf_cli: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
