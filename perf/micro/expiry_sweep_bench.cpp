// Cost of the background expiry sweep (Cache::sweep_expired) on a cache of N entries with
// deadlines: idle (no deadline due: what every cache pays per sweeper round, 10 per second)
// and a full pass over the slot arena (what one expiry wave costs). Run:
//   micro_bench --benchmark_filter=Sweep
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdint>
#include <memory>

#include "engine/cache.h"

namespace {

using IntCache = cuckoocache::Cache<std::uint64_t, std::uint64_t>;
using std::chrono::steady_clock;

struct Filled {
  explicit Filled(std::size_t n) : clock(std::make_shared<cuckoocache::ManualClock>(1'000'000)) {
    cuckoocache::CacheConfig config;
    config.max_size = n;
    config.clock = clock;
    cache = std::make_unique<IntCache>(config);
    for (std::uint64_t k = 0; k < n; ++k) cache->put(k, k, std::chrono::hours(1));
    static_cast<void>(cache->sweep_expired(steady_clock::time_point::max()));
  }
  std::shared_ptr<cuckoocache::ManualClock> clock;
  std::unique_ptr<IntCache> cache;
};

void BM_SweepIdle(benchmark::State& state) {
  Filled f(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state) {
    benchmark::DoNotOptimize(f.cache->sweep_expired(steady_clock::time_point::max()));
  }
}
BENCHMARK(BM_SweepIdle)->Arg(100'000)->Arg(1'000'000);

void BM_SweepFullPass(benchmark::State& state) {
  Filled f(static_cast<std::size_t>(state.range(0)));
  std::uint64_t key = 1ULL << 40;
  for (auto _ : state) {
    state.PauseTiming();
    f.cache->put(key++, 1, std::chrono::nanoseconds(1));  // one entry due: a pass must run
    f.clock->advance(std::chrono::nanoseconds(1));
    state.ResumeTiming();
    benchmark::DoNotOptimize(f.cache->sweep_expired(steady_clock::time_point::max()));
  }
}
BENCHMARK(BM_SweepFullPass)->Arg(100'000)->Arg(1'000'000)->Unit(benchmark::kMillisecond);

}  // namespace
