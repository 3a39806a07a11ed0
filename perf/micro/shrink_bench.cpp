// The shrink cliff (issue 13.18): a cache filled to 1M entries and shrunk to 1k, against a
// fresh cache of 1k. Reports, for each: the put+get CPU time with every put evicting (a new
// key put, then a get of a key from a zipf-distributed hot set), the hit ratio of a get-or-put
// replay of zipf(0.99) over 100k keys (fixed seed; argument 3 lookups after as many warm-up
// ones), how many evictions fell back on the linear arena scan, and for the shrunk cache the
// wall and CPU time of the set_max_size call itself and the engine's own byte count and the
// process RSS before and after it. Timed with steady_clock and the thread's CPU clock around
// the calls (Google Benchmark only hosts the case: Debian's libbenchmark is a debug build,
// which does not affect these figures). Run:
//   micro_bench --benchmark_filter=Shrink --benchmark_repetitions=1
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <optional>

#include "engine/cache.h"
#include "perf/harness/workload.h"
#include "perf/harness/zipf_replay.h"

namespace {

using EngineCache = cuckoocache::Cache<std::uint64_t, std::uint64_t>;
constexpr std::uint64_t kHotBase = std::uint64_t{1} << 40;  // workload keys: not the fill keys
constexpr std::uint64_t kFreshBase = std::uint64_t{1} << 41;

double rss_mib() {
  std::ifstream statm("/proc/self/statm");
  long pages_total = 0;
  long pages_resident = 0;
  statm >> pages_total >> pages_resident;
  return static_cast<double>(pages_resident) * static_cast<double>(sysconf(_SC_PAGESIZE)) /
         (1024.0 * 1024.0);
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// This thread's CPU time in seconds: on a loaded machine wall time mostly measures the load.
double thread_cpu_s() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// Hit ratio of a get-or-put replay: zipf(0.99) over 100k keys, `ops` lookups after as many
// warm-up lookups.
double replay_hit_ratio(EngineCache& cache, std::uint64_t ops) {
  return cuckoocache::perf::harness::zipf_get_or_put_hit_ratio(cache, ops, 100'000, 0.99, kHotBase);
}

// CPU microseconds per (put of a new key + get of a hot key), every put evicting.
double put_get_us(EngineCache& cache, std::uint64_t ops) {
  const cuckoocache::perf::harness::ZipfSampler zipf(100'000, 0.99);
  cuckoocache::perf::harness::Rng rng(7);
  std::uint64_t sink = 0;
  const double start = thread_cpu_s();
  for (std::uint64_t i = 0; i < ops; ++i) {
    cache.put(kFreshBase + i, i);
    sink += cache.get(kHotBase + zipf(rng)).value_or(0);
  }
  benchmark::DoNotOptimize(sink);
  return (thread_cpu_s() - start) * 1e6 / static_cast<double>(ops);
}

void BM_Shrink(benchmark::State& state) {
  const auto full = static_cast<std::size_t>(state.range(0));
  const auto small = static_cast<std::size_t>(state.range(1));
  const auto replay = static_cast<std::uint64_t>(state.range(2));
  for (auto _ : state) {
    cuckoocache::CacheConfig config;
    config.seed = 1;
    config.max_size = small;
    EngineCache fresh(config);
    const double fresh_us = put_get_us(fresh, 20'000);
    const double fresh_ratio = replay_hit_ratio(fresh, replay);

    config.max_size = full;
    std::optional<EngineCache> shrunk(std::in_place, config);
    for (std::uint64_t k = 0; k < full; ++k) shrunk->put(k, k);
    const double rss_before = rss_mib();
    const double bytes_before = static_cast<double>(shrunk->overhead_bytes()) / (1 << 20);
    const auto start = std::chrono::steady_clock::now();
    const double start_cpu = thread_cpu_s();
    shrunk->set_max_size(small);
    const double shrink_s = seconds_since(start);
    const double shrink_cpu_s = thread_cpu_s() - start_cpu;
    const double rss_after = rss_mib();
    const double bytes_after = static_cast<double>(shrunk->overhead_bytes()) / (1 << 20);
    const std::uint64_t scans_before = shrunk->eviction_scans();
    const double shrunk_us = put_get_us(*shrunk, 20'000);
    const double shrunk_ratio = replay_hit_ratio(*shrunk, replay);

    state.counters["fresh_put_get_us"] = fresh_us;
    state.counters["shrunk_put_get_us"] = shrunk_us;
    state.counters["fresh_hit_pct"] = 100 * fresh_ratio;
    state.counters["shrunk_hit_pct"] = 100 * shrunk_ratio;
    state.counters["shrink_call_s"] = shrink_s;
    state.counters["shrink_call_cpu_s"] = shrink_cpu_s;
    state.counters["fresh_scans"] = static_cast<double>(fresh.eviction_scans());
    state.counters["shrunk_scans"] = static_cast<double>(shrunk->eviction_scans() - scans_before);
    state.counters["engine_MiB_before"] = bytes_before;
    state.counters["engine_MiB_after"] = bytes_after;
    state.counters["rss_MiB_before"] = rss_before;
    state.counters["rss_MiB_after"] = rss_after;
  }
}
BENCHMARK(BM_Shrink)
    ->Args({1'000'000, 1'000, 200'000})
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
