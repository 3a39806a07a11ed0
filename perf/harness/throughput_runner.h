// ThroughputRunner: operations per second and per-operation latency under concurrent load.
//
// One cell = one implementation at one thread count. For each cell a fresh table is built and
// warmed (keys 0..min(entries, keys)-1 stored, which for zipf are the hottest keys), then
// `threads` workers start together and run until the main thread raises the stop flag after
// `duration` seconds (or at SIGINT). Each operation is a read with probability `read_ratio`,
// otherwise a write of (key, key); there is no fill on a read miss. Implementations:
//   engine     cuckoocache::Cache<uint64_t, uint64_t>, max_size = entries, one cell per policy:
//              read = visit(k, copy-out), write = put(k, k) (evicts when full).
//   libcuckoo  raw libcuckoo::cuckoohash_map<uint64_t, uint64_t>, sized for `entries` up front:
//              read = find(k, out), write = insert_or_assign(k, k). No eviction, so the table
//              grows to every key written: the ceiling for the engine's lookup path.
//   mutex-lru  perf/micro/mutex_lru.h, an exact LRU behind one std::mutex: get / put.
//
// Keys: each worker replays its own pre-generated array (workload.h; seed + worker index) of
// up to kKeysPerThread keys, cyclically, so key generation is not measured. Whether an op
// reads or writes comes from a per-worker xoshiro draw (about a nanosecond). `throughput
// --export-keys DIR` writes the key arrays for the peer harnesses (perf/peers/), which replay
// them with the same draws.
//
// Measurement: every worker counts its operations and times its own run; ops_per_sec is the
// sum over workers of ops / that worker's elapsed time. Latency is sampled, not traced: the
// first operation of every batch of 64 is timed with two steady_clock reads (a vDSO call of
// ~20 ns, which is included in the sample, so sub-100 ns percentiles are mostly clock) into a
// per-worker LatencyHistogram (exact below 32 ns, then 16 log buckets per power of two: a
// percentile is within ~3% of the sampled value). Workers check the stop flag once per batch
// and their histograms are merged after they join. A cell cut short by a stop request still
// reports what it measured (a rate over a shorter run), with `complete` = false.
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <libcuckoo/cuckoohash_map.hh>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "engine/cache.h"
#include "engine/cache_config.h"
#include "perf/harness/workload.h"
#include "perf/micro/mutex_lru.h"

namespace cuckoocache::perf::harness {

// Log-bucketed latency histogram in nanoseconds.
class LatencyHistogram {
 public:
  static constexpr unsigned kSubBits = 4;  // 16 buckets per power of two
  static constexpr std::uint64_t kExact = std::uint64_t{2} << kSubBits;  // below this: exact
  static constexpr std::size_t kBuckets = kExact + (64 - kSubBits - 1) * (1u << kSubBits);

  static std::size_t bucket_of(std::uint64_t ns) noexcept {
    if (ns < kExact) return static_cast<std::size_t>(ns);
    const unsigned e = 63 - static_cast<unsigned>(std::countl_zero(ns));  // e > kSubBits
    const std::uint64_t sub = (ns >> (e - kSubBits)) & ((1u << kSubBits) - 1);
    return static_cast<std::size_t>(kExact + (e - kSubBits - 1) * (1u << kSubBits) + sub);
  }

  // Smallest value that falls in bucket b.
  static std::uint64_t lower_bound(std::size_t b) noexcept {
    if (b < kExact) return b;
    const std::size_t i = b - kExact;
    const unsigned e = static_cast<unsigned>(i >> kSubBits) + kSubBits + 1;
    const std::uint64_t sub = i & ((1u << kSubBits) - 1);
    return ((std::uint64_t{1} << kSubBits) + sub) << (e - kSubBits);
  }

  void record(std::uint64_t ns) noexcept {
    ++counts_[bucket_of(ns)];
    ++count_;
  }

  void merge(const LatencyHistogram& other) noexcept {
    for (std::size_t b = 0; b < kBuckets; ++b) counts_[b] += other.counts_[b];
    count_ += other.count_;
  }

  [[nodiscard]] std::uint64_t count() const noexcept { return count_; }

  // The q-quantile (q in [0, 1]) as its bucket's midpoint; 0 when empty.
  [[nodiscard]] std::uint64_t percentile(double q) const noexcept {
    if (count_ == 0) return 0;
    auto rank = static_cast<std::uint64_t>(q * static_cast<double>(count_) + 0.5);
    rank = std::clamp<std::uint64_t>(rank, 1, count_);
    std::uint64_t seen = 0;
    for (std::size_t b = 0; b < kBuckets; ++b) {
      seen += counts_[b];
      if (seen >= rank) {
        if (b < kExact) return b;
        const std::uint64_t lo = lower_bound(b);
        const std::uint64_t hi = b + 1 < kBuckets ? lower_bound(b + 1) : lo * 2;
        return lo + (hi - lo) / 2;
      }
    }
    return lower_bound(kBuckets - 1);
  }

 private:
  std::array<std::uint64_t, kBuckets> counts_{};
  std::uint64_t count_ = 0;
};

enum class Impl { kEngine, kLibcuckoo, kMutexLru };

[[nodiscard]] constexpr std::string_view to_string(Impl impl) noexcept {
  switch (impl) {
    case Impl::kEngine:
      return "engine";
    case Impl::kLibcuckoo:
      return "libcuckoo";
    case Impl::kMutexLru:
      return "mutex-lru";
  }
  return "?";
}

// Parses "engine", "libcuckoo", "mutex-lru". Throws std::invalid_argument otherwise.
[[nodiscard]] inline Impl parse_impl(std::string_view name) {
  for (Impl impl : {Impl::kEngine, Impl::kLibcuckoo, Impl::kMutexLru}) {
    if (to_string(impl) == name) return impl;
  }
  throw std::invalid_argument("unknown impl '" + std::string(name) +
                              "' (expected one of engine, libcuckoo, mutex-lru)");
}

// Every engine policy, in kPolicies order (the default of --policies).
[[nodiscard]] inline std::vector<Policy> all_policies() {
  std::vector<Policy> out;
  for (const cuckoocache::PolicyName& entry : cuckoocache::kPolicies) out.push_back(entry.policy);
  return out;
}

struct ThroughputConfig {
  std::vector<unsigned> threads{1, 2};
  double read_ratio = 0.9;
  std::size_t entries = 100000;
  double duration_s = 2.0;
  WorkloadSpec workload;
  std::uint64_t keys = 200000;
  std::uint64_t seed = 1;
  std::vector<Policy> policies = all_policies();
  std::vector<Impl> impls{Impl::kEngine, Impl::kLibcuckoo, Impl::kMutexLru};
};

struct ThroughputCell {
  std::string impl;
  std::string policy;  // engine: its policy; libcuckoo: none; mutex-lru: exact-lru
  unsigned threads = 0;
  std::uint64_t ops = 0;
  std::uint64_t reads = 0;
  std::uint64_t read_hits = 0;
  double ops_per_sec = 0.0;
  std::uint64_t p50_ns = 0;
  std::uint64_t p99_ns = 0;
  std::uint64_t p999_ns = 0;
  bool complete = true;

  [[nodiscard]] double read_hit_ratio() const noexcept {
    return reads == 0 ? 0.0 : 100.0 * static_cast<double>(read_hits) / static_cast<double>(reads);
  }
};

struct ThroughputHooks {
  const std::atomic<bool>* stop = nullptr;      // polled; true ends the run
  std::function<void(double seconds)> advance;  // run time done, may be empty
};

class ThroughputRunner {
 public:
  static constexpr std::size_t kKeysPerThread = std::size_t{1} << 20;
  static constexpr unsigned kBatch = 64;  // ops per stop check; the first of each is timed

  ThroughputRunner(ThroughputConfig config, ThroughputHooks hooks)
      : config_(std::move(config)), hooks_(std::move(hooks)) {}

  // The key array worker `worker` replays (also what --export-keys writes for perf/peers/).
  [[nodiscard]] static std::vector<std::uint64_t> worker_keys(const ThroughputConfig& config,
                                                              unsigned worker) {
    return generate_keys(config.workload, config.keys, kKeysPerThread, config.seed + worker);
  }

  // The seed of worker `worker`'s read-or-write draws (an Rng; read when next() < R * 2^64).
  [[nodiscard]] static constexpr std::uint64_t op_seed(std::uint64_t seed,
                                                       unsigned worker) noexcept {
    return seed * 0x9E3779B97F4A7C15ULL + worker + 1;
  }

  // Number of cells run() produces for `config`.
  [[nodiscard]] static std::size_t cell_count(const ThroughputConfig& config) noexcept {
    std::size_t per_threads = 0;
    for (Impl impl : config.impls) {
      per_threads += impl == Impl::kEngine ? config.policies.size() : 1;
    }
    return per_threads * config.threads.size();
  }

  // Runs every impl (engine once per policy) at every thread count, appending each cell to
  // `out` as it finishes. Returns false if stopped early.
  bool run(std::vector<ThroughputCell>& out) {
    prepare_keys();
    for (const unsigned threads : config_.threads) {
      for (const Impl impl : config_.impls) {
        if (impl == Impl::kEngine) {
          for (const Policy p : config_.policies) {
            if (stopped()) return false;
            CacheConfig cc;
            cc.max_size = config_.entries;
            cc.policy = p;
            Cache<std::uint64_t, std::uint64_t> cache(cc);
            out.push_back(measure(
                threads, "engine", std::string(to_string(p)),
                [&cache](std::uint64_t k, std::uint64_t& v) {
                  return cache.visit(k, [&v](const std::uint64_t& x) { v = x; });
                },
                [&cache](std::uint64_t k) { cache.put(k, k); }));
            if (!out.back().complete) return false;
          }
          continue;
        }
        if (stopped()) return false;
        if (impl == Impl::kLibcuckoo) {
          libcuckoo::cuckoohash_map<std::uint64_t, std::uint64_t> map(config_.entries);
          out.push_back(measure(
              threads, "libcuckoo", "none",
              [&map](std::uint64_t k, std::uint64_t& v) { return map.find(k, v); },
              [&map](std::uint64_t k) { map.insert_or_assign(k, k); }));
        } else {
          MutexLru<std::uint64_t, std::uint64_t> lru(config_.entries);
          out.push_back(measure(
              threads, "mutex-lru", "exact-lru",
              [&lru](std::uint64_t k, std::uint64_t& v) { return lru.get(k, v); },
              [&lru](std::uint64_t k) { lru.put(k, k); }));
        }
        if (!out.back().complete) return false;
      }
    }
    return !stopped();
  }

 private:
  struct alignas(64) WorkerResult {
    LatencyHistogram latency;
    std::uint64_t ops = 0;
    std::uint64_t reads = 0;
    std::uint64_t read_hits = 0;
    double seconds = 0.0;
    std::uint64_t sink = 0;
  };

  [[nodiscard]] bool stopped() const noexcept {
    return hooks_.stop != nullptr && hooks_.stop->load(std::memory_order_relaxed);
  }

  void prepare_keys() {
    const unsigned max_threads = *std::max_element(config_.threads.begin(), config_.threads.end());
    while (keys_.size() < max_threads) {
      keys_.push_back(worker_keys(config_, static_cast<unsigned>(keys_.size())));
    }
  }

  template <class Read, class Write>
  ThroughputCell measure(unsigned threads, std::string impl, std::string policy, Read read,
                         Write write) {
    const std::uint64_t warm = std::min<std::uint64_t>(config_.entries, config_.keys);
    for (std::uint64_t k = 0; k < warm; ++k) write(k);

    // P(read) = read_ratio, as a threshold on a 64-bit draw.
    const double scaled = std::clamp(config_.read_ratio, 0.0, 1.0) * 0x1.0p64;
    const bool always_read = scaled >= 0x1.0p64;
    const std::uint64_t threshold = always_read ? 0 : static_cast<std::uint64_t>(scaled);

    std::atomic<bool> go{false};
    std::atomic<bool> done{false};
    std::vector<WorkerResult> results(threads);
    std::vector<std::thread> workers;
    workers.reserve(threads);
    for (unsigned t = 0; t < threads; ++t) {
      workers.emplace_back([&, t] {
        const std::vector<std::uint64_t>& keys = keys_[t];
        const std::size_t n = keys.size();
        Rng rng(op_seed(config_.seed, t));
        LatencyHistogram latency;
        std::size_t pos = 0;
        std::uint64_t value = 0;
        std::uint64_t sink = 0;
        std::uint64_t ops = 0;
        std::uint64_t reads = 0;
        std::uint64_t read_hits = 0;
        while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
        const auto start = std::chrono::steady_clock::now();
        do {
          for (unsigned i = 0; i < kBatch; ++i) {
            const std::uint64_t key = keys[pos];
            pos = pos + 1 == n ? 0 : pos + 1;
            const bool is_read = always_read || rng.next() < threshold;
            const auto t0 =
                i == 0 ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point();
            if (is_read) {
              ++reads;
              read_hits += read(key, value) ? 1 : 0;
              sink += value;
            } else {
              write(key);
            }
            if (i == 0) {
              const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                                  std::chrono::steady_clock::now() - t0)
                                  .count();
              latency.record(static_cast<std::uint64_t>(ns < 0 ? 0 : ns));
            }
          }
          ops += kBatch;
        } while (!done.load(std::memory_order_relaxed));
        WorkerResult& r = results[t];
        r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        r.latency = latency;
        r.ops = ops;
        r.reads = reads;
        r.read_hits = read_hits;
        r.sink = sink;
      });
    }

    // Let the workers run for the configured time, in slices so a stop request and the
    // progress bar are serviced promptly.
    bool complete = true;
    go.store(true, std::memory_order_release);
    const auto start = std::chrono::steady_clock::now();
    const auto until = start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                   std::chrono::duration<double>(config_.duration_s));
    auto last = start;
    for (;;) {
      const auto now = std::chrono::steady_clock::now();
      if (hooks_.advance) hooks_.advance(std::chrono::duration<double>(now - last).count());
      last = now;
      if (now >= until) break;
      if (stopped()) {
        complete = false;
        break;
      }
      std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
          until - now, std::chrono::milliseconds(20)));
    }
    done.store(true, std::memory_order_relaxed);
    for (std::thread& w : workers) w.join();

    ThroughputCell cell;
    cell.impl = std::move(impl);
    cell.policy = std::move(policy);
    cell.threads = threads;
    cell.complete = complete;
    LatencyHistogram merged;
    for (const WorkerResult& r : results) {
      merged.merge(r.latency);
      cell.ops += r.ops;
      cell.reads += r.reads;
      cell.read_hits += r.read_hits;
      if (r.seconds > 0) cell.ops_per_sec += static_cast<double>(r.ops) / r.seconds;
    }
    cell.p50_ns = merged.percentile(0.50);
    cell.p99_ns = merged.percentile(0.99);
    cell.p999_ns = merged.percentile(0.999);
    return cell;
  }

  ThroughputConfig config_;
  ThroughputHooks hooks_;
  std::vector<std::vector<std::uint64_t>> keys_;  // one array per worker
};

}  // namespace cuckoocache::perf::harness
