// Micro-benchmark for engine/frequency_sketch.h: one increment + one estimate per iteration.
//
//   BM_SketchRandomKeys/<max_size>  keys drawn from a pre-generated array of mixed hashes, so
//                                   most increments succeed and feed the striped addition
//                                   counter (and periodic halving).
//   BM_SketchHotKey/<max_size>      every thread hits the same key; after 15 increments its
//                                   counters are saturated and increment() becomes read-only.
//
// Run with ->Threads(1) and ->Threads(2); all threads share one sketch per benchmark. With
// threads:2, Time is wall time divided by the iterations of both threads (inverse aggregate
// throughput), so perfect scaling halves it and contention raises it. Part of
// micro_bench (perf/micro/main.cpp provides BENCHMARK_MAIN()), e.g.
//   micro_bench --benchmark_filter=Sketch --benchmark_repetitions=10
//               --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "engine/frequency_sketch.h"
#include "engine/hash_mix.h"

namespace {

using cuckoocache::FrequencySketch;

// The sketch expects an already mixed 64-bit hash: splitmix64 of a counter gives that, which is
// the engine's own finalizer applied to the counter plus the golden-ratio increment.
std::uint64_t Mix(std::uint64_t x) {
  return cuckoocache::mix_hash(x + 0x9e3779b97f4a7c15ULL);
}

constexpr std::size_t kKeyCount = std::size_t{1} << 20;  // power of two

const std::vector<std::uint64_t>& Keys() {
  static const std::vector<std::uint64_t> keys = [] {
    std::vector<std::uint64_t> v(kKeyCount);
    for (std::size_t i = 0; i < kKeyCount; ++i) v[i] = Mix(i);
    return v;
  }();
  return keys;
}

// One shared sketch per max_size, created on first use and kept for the whole run.
FrequencySketch& SharedSketch(std::size_t max_size) {
  static std::mutex mu;
  static std::vector<std::unique_ptr<FrequencySketch>> sketches;
  std::lock_guard<std::mutex> lock(mu);
  for (auto& s : sketches) {
    if (s->reset_period() == 10 * max_size) return *s;
  }
  sketches.push_back(std::make_unique<FrequencySketch>(max_size));
  return *sketches.back();
}

void BM_SketchRandomKeys(benchmark::State& state) {
  FrequencySketch& sketch = SharedSketch(static_cast<std::size_t>(state.range(0)));
  const std::vector<std::uint64_t>& keys = Keys();
  // Threads start at different points of the key array.
  std::size_t i = static_cast<std::size_t>(state.thread_index()) * (kKeyCount / 8) + 12345;
  for (auto _ : state) {
    const std::uint64_t key = keys[i++ & (kKeyCount - 1)];
    sketch.increment(key);
    benchmark::DoNotOptimize(sketch.estimate(key));
  }
  state.SetItemsProcessed(state.iterations());
  if (state.thread_index() == 0)
    state.counters["halvings"] = static_cast<double>(sketch.reset_count());
}

void BM_SketchHotKey(benchmark::State& state) {
  FrequencySketch& sketch = SharedSketch(static_cast<std::size_t>(state.range(0)) + 1);
  const std::uint64_t key = Mix(42);
  for (auto _ : state) {
    sketch.increment(key);
    benchmark::DoNotOptimize(sketch.estimate(key));
  }
  state.SetItemsProcessed(state.iterations());
}

// The machine is shared and often loaded: with --benchmark_repetitions=N the "min" aggregate is
// the least disturbed repetition, which is the figure to compare.
double MinOf(const std::vector<double>& v) {
  return *std::min_element(v.begin(), v.end());
}

}  // namespace

BENCHMARK(BM_SketchRandomKeys)
    ->Arg(1 << 16)
    ->Arg(1 << 20)
    ->Threads(1)
    ->Threads(2)
    ->UseRealTime()
    ->ComputeStatistics("min", MinOf);
BENCHMARK(BM_SketchHotKey)
    ->Arg(1 << 16)
    ->Threads(1)
    ->Threads(2)
    ->UseRealTime()
    ->ComputeStatistics("min", MinOf);
