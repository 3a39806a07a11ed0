// RatioRunner: hit ratio of every policy at every cache size over a fixed key sequence.
//
// A key sequence (a loaded trace or a generated workload, see workload.h) is replayed from a
// cold start, single-threaded, once per (size, policy) cell:
//   engine policies (lru, lfu, ttl, adaptive)  a fresh cuckoocache::Cache<uint64_t, uint64_t>
//       with max_size = size and that policy, default sampling, no admission filter, serving
//       each request as a look-aside cache would: `if (!cache.visit(k, noop)) cache.put(k, k)`.
//   exact-lru, exact-lfu, opt                  the exact reference models of
//       perf/reference_models.h (ExactLru, ExactLfu, Belady's OPT), the yardsticks.
// A hit is a request that found its key. `seconds` is the wall time of the replay loop alone
// (the cache is built before the clock starts), which is the "engine time" of a cell.
//
// Reproducibility: exact models are deterministic, and so are engine cells: each cache is built
// with the same sampling seed (CacheConfig::seed = 1) and replayed on one thread, so a cell
// gives the same hits whether it runs alone or after others.
//
// Cancellation and progress are the caller's: the runner polls `stop` every kChunk requests
// and reports work done through `advance` (in requests; OPT reports its whole trace at once
// because it cannot be interrupted part way). Cells are appended to the output as each one
// finishes, so after a stop the output holds every complete cell and no partial one.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/cache.h"
#include "engine/cache_config.h"
#include "perf/reference_models.h"

namespace cuckoocache::perf::harness {

// One policy column of a ratio run: an engine policy or an exact reference model.
struct RatioPolicy {
  enum class Kind { kEngine, kExactLru, kExactLfu, kOpt };
  Kind kind = Kind::kEngine;
  Policy engine = Policy::kLru;  // for kEngine
  std::string name;              // as printed: lru, lfu, ttl, adaptive, exact-lru, exact-lfu, opt
};

inline constexpr std::string_view kRatioPolicyNames =
    "lru, lfu, ttl, adaptive, exact-lru, exact-lfu, opt";

// Parses one ratio policy name. Throws std::invalid_argument naming the valid ones.
[[nodiscard]] inline RatioPolicy parse_ratio_policy(std::string_view name) {
  RatioPolicy p;
  p.name = std::string(name);
  if (name == "exact-lru") {
    p.kind = RatioPolicy::Kind::kExactLru;
  } else if (name == "exact-lfu") {
    p.kind = RatioPolicy::Kind::kExactLfu;
  } else if (name == "opt") {
    p.kind = RatioPolicy::Kind::kOpt;
  } else {
    for (const cuckoocache::PolicyName& entry : cuckoocache::kPolicies) {
      if (entry.name == name) {
        p.engine = entry.policy;
        return p;
      }
    }
    throw std::invalid_argument("unknown policy '" + std::string(name) + "' (expected one of " +
                                std::string(kRatioPolicyNames) + ")");
  }
  return p;
}

// A named key sequence: a trace file's keys or a generated workload.
struct KeySequence {
  std::string name;
  std::vector<std::uint64_t> keys;
};

struct RatioCell {
  std::string trace;
  std::size_t size = 0;
  std::string policy;
  std::uint64_t requests = 0;
  std::uint64_t hits = 0;
  double seconds = 0.0;  // replay loop only

  [[nodiscard]] double hit_ratio() const noexcept { return hit_ratio_percent(hits, requests); }
};

struct RatioHooks {
  const std::atomic<bool>* stop = nullptr;              // polled; true ends the run
  std::function<void(std::uint64_t requests)> advance;  // work done, may be empty
};

class RatioRunner {
 public:
  static constexpr std::size_t kChunk = std::size_t{1} << 16;

  explicit RatioRunner(RatioHooks hooks) : hooks_(std::move(hooks)) {}

  // Total work units (requests) run() will report for these inputs, for a progress bar.
  [[nodiscard]] static std::uint64_t total_work(std::span<const KeySequence> sequences,
                                                std::size_t sizes, std::size_t policies) {
    std::uint64_t total = 0;
    for (const KeySequence& s : sequences) total += s.keys.size() * sizes * policies;
    return total;
  }

  // Replays every sequence at every size through every policy, in that nesting order,
  // appending one cell per completed replay to `out`. Returns false if stopped early.
  bool run(std::span<const KeySequence> sequences, std::span<const std::size_t> sizes,
           std::span<const RatioPolicy> policies, std::vector<RatioCell>& out) {
    for (const KeySequence& seq : sequences) {
      for (const std::size_t size : sizes) {
        for (const RatioPolicy& policy : policies) {
          if (stopped()) return false;
          RatioCell cell;
          cell.trace = seq.name;
          cell.size = size;
          cell.policy = policy.name;
          cell.requests = seq.keys.size();
          if (!replay(seq.keys, size, policy, cell)) return false;
          out.push_back(std::move(cell));
        }
      }
    }
    return !stopped();
  }

  // One cell. Returns false (cell incomplete) if stopped part way.
  bool replay(std::span<const std::uint64_t> keys, std::size_t size, const RatioPolicy& policy,
              RatioCell& cell) {
    switch (policy.kind) {
      case RatioPolicy::Kind::kEngine: {
        CacheConfig config;
        config.max_size = size;
        config.policy = policy.engine;
        config.seed = 1;
        Cache<std::uint64_t, std::uint64_t> cache(config);
        return timed_online(keys, cell, [&cache](std::uint64_t k) {
          if (cache.visit(k, [](const std::uint64_t&) {})) return true;
          cache.put(k, k);
          return false;
        });
      }
      case RatioPolicy::Kind::kExactLru: {
        ExactLru model(size);
        return timed_online(keys, cell, [&model](std::uint64_t k) { return model.access(k); });
      }
      case RatioPolicy::Kind::kExactLfu: {
        ExactLfu model(size);
        return timed_online(keys, cell, [&model](std::uint64_t k) { return model.access(k); });
      }
      case RatioPolicy::Kind::kOpt: {
        const auto start = std::chrono::steady_clock::now();
        cell.hits = opt_hits(keys, size);
        cell.seconds = seconds_since(start);
        if (hooks_.advance) hooks_.advance(keys.size());
        return true;
      }
    }
    return false;
  }

 private:
  [[nodiscard]] bool stopped() const noexcept {
    return hooks_.stop != nullptr && hooks_.stop->load(std::memory_order_relaxed);
  }

  static double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }

  // Serves keys through `access` (returns true on a hit) in chunks, polling stop between them.
  template <class Access>
  bool timed_online(std::span<const std::uint64_t> keys, RatioCell& cell, Access&& access) {
    std::uint64_t hits = 0;
    double seconds = 0.0;
    for (std::size_t begin = 0; begin < keys.size(); begin += kChunk) {
      if (stopped()) return false;
      const std::size_t end = std::min(keys.size(), begin + kChunk);
      const auto start = std::chrono::steady_clock::now();
      for (std::size_t i = begin; i < end; ++i) hits += access(keys[i]) ? 1 : 0;
      seconds += seconds_since(start);
      if (hooks_.advance) hooks_.advance(end - begin);
    }
    cell.hits = hits;
    cell.seconds = seconds;
    return true;
  }

  RatioHooks hooks_;
};

}  // namespace cuckoocache::perf::harness
