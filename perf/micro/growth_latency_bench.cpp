// Latency of get and put while a cache grows from empty to 1M entries with 2 threads (issue
// 13.25: libcuckoo's table doubling takes every lock, a put stalled 200-430 ms and a reader up
// to 980 ms). Each thread alternates a put of a new key and a get of a key already stored, and
// times every call; the benchmark reports p99.9 and max over both threads (target: p99.9 under
// 1 ms, max under 10 ms). Run:
//   micro_bench --benchmark_filter=GrowthLatency --benchmark_repetitions=1
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <thread>
#include <vector>

#include "engine/cache.h"

namespace {

void BM_GrowthLatency(benchmark::State& state) {
  const auto entries = static_cast<std::uint64_t>(state.range(0));
  for (auto _ : state) {
    cuckoocache::CacheConfig config;
    config.max_size = entries;
    cuckoocache::Cache<std::uint64_t, std::uint64_t> cache(config);
    std::vector<std::vector<std::uint32_t>> nanos(2);
    std::vector<std::thread> threads;
    for (std::uint64_t t = 0; t < 2; ++t) {
      threads.emplace_back([&, t] {
        std::vector<std::uint32_t>& out = nanos[t];
        out.reserve(entries);
        for (std::uint64_t k = t; k < entries; k += 2) {
          auto start = std::chrono::steady_clock::now();
          cache.put(k, k);
          auto mid = std::chrono::steady_clock::now();
          benchmark::DoNotOptimize(cache.get(k / 2));
          auto end = std::chrono::steady_clock::now();
          out.push_back(static_cast<std::uint32_t>(
              std::chrono::duration_cast<std::chrono::nanoseconds>(mid - start).count()));
          out.push_back(static_cast<std::uint32_t>(
              std::chrono::duration_cast<std::chrono::nanoseconds>(end - mid).count()));
        }
      });
    }
    for (std::thread& th : threads) th.join();
    std::vector<std::uint32_t> all = nanos[0];
    all.insert(all.end(), nanos[1].begin(), nanos[1].end());
    std::sort(all.begin(), all.end());
    state.counters["p99.9_us"] = all[all.size() * 999 / 1000] / 1000.0;
    state.counters["p99_us"] = all[all.size() * 99 / 100] / 1000.0;
    state.counters["max_us"] = all.back() / 1000.0;
  }
}
BENCHMARK(BM_GrowthLatency)->Arg(1'000'000)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
