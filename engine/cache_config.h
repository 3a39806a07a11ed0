// CacheConfig: everything a cache is built from, in one struct.
//
// Validation lives here (validate()) so that every front end (C++, Python, the perf harness)
// rejects the same bad values with the same messages, before any state is built.
#pragma once

#include <chrono>
#include <cmath>
#include <cstddef>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "engine/clock.h"

namespace cuckoocache {

enum class Policy : unsigned char { kLru = 0, kLfu = 1, kTtl = 2, kAdaptive = 3 };

[[nodiscard]] constexpr std::string_view to_string(Policy p) noexcept {
  switch (p) {
    case Policy::kLru:
      return "lru";
    case Policy::kLfu:
      return "lfu";
    case Policy::kTtl:
      return "ttl";
    case Policy::kAdaptive:
      return "adaptive";
  }
  return "unknown";
}

// Parses "lru", "lfu", "ttl", "adaptive" (lower case). Throws std::invalid_argument otherwise.
[[nodiscard]] inline Policy parse_policy(std::string_view name) {
  for (Policy p : {Policy::kLru, Policy::kLfu, Policy::kTtl, Policy::kAdaptive}) {
    if (to_string(p) == name) return p;
  }
  throw std::invalid_argument("unknown policy '" + std::string(name) +
                              "' (expected lru, lfu, ttl or adaptive)");
}

struct CacheConfig {
  // Most entries the cache holds at quiescence. Must be at least 1.
  std::size_t max_size = 1000;
  // Time-to-live given to entries put without their own; nullopt means they never expire.
  std::optional<std::chrono::nanoseconds> default_ttl;
  Policy policy = Policy::kLru;
  // Live entries examined per eviction. More samples approach the exact policy; fewer are
  // cheaper. Must be in [1, 64].
  std::size_t sample_size = 5;
  // TinyLFU admission for LRU/LFU/TTL: a newcomer less frequent than the chosen victim is
  // dropped instead of the victim. ADAPTIVE always uses admission for its window.
  bool admission = false;
  // ADAPTIVE: the initial share of the cache given to the frequency-protected main region, in
  // (0, 1]. The rest starts as the recency window; the hill climber moves the split from there.
  double adaptive_threshold = 0.7;
  // If set, a background thread sweeps expired entries at this interval.
  std::optional<std::chrono::nanoseconds> expiry_interval;
  // Time source for TTLs; nullptr means a SteadyClock.
  std::shared_ptr<const Clock> clock;

  // Throws std::invalid_argument naming the field that is wrong.
  void validate() const {
    if (max_size == 0) throw std::invalid_argument("max_size must be at least 1");
    if (max_size > (std::size_t{1} << 31)) {
      throw std::invalid_argument("max_size must be at most 2^31");
    }
    if (sample_size == 0 || sample_size > 64) {
      throw std::invalid_argument("sample_size must be between 1 and 64");
    }
    if (default_ttl && default_ttl->count() <= 0) {
      throw std::invalid_argument("default_ttl must be positive");
    }
    if (!(adaptive_threshold > 0.0 && adaptive_threshold <= 1.0)) {
      throw std::invalid_argument("adaptive_threshold must be in (0, 1]");
    }
    if (expiry_interval && expiry_interval->count() <= 0) {
      throw std::invalid_argument("expiry_interval must be positive");
    }
  }
};

}  // namespace cuckoocache
