// CacheConfig: everything a cache is built from, in one struct.
//
// Validation lives here (validate()) so that every front end (C++, Python, the perf harness)
// rejects the same bad values with the same messages, before any state is built.
#pragma once

#include <array>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "clock.h"

namespace cuckoocache {

enum class Policy : unsigned char { kLru = 0, kLfu = 1, kTtl = 2, kAdaptive = 3 };

// The policy list. Everything that enumerates policies (to_string, parse_policy and its error
// message, the perf harness's defaults) walks this array, so adding a policy means: an enum
// value above, a line here, its scoring type in policies/, and its case in Eviction::pick
// (engine/eviction.h).
struct PolicyName {
  Policy policy;
  std::string_view name;  // lower case: the harness's and the parser's spelling
};
inline constexpr std::array<PolicyName, 4> kPolicies{{
    {Policy::kLru, "lru"},
    {Policy::kLfu, "lfu"},
    {Policy::kTtl, "ttl"},
    {Policy::kAdaptive, "adaptive"},
}};

[[nodiscard]] constexpr std::string_view to_string(Policy p) noexcept {
  for (const PolicyName& entry : kPolicies) {
    if (entry.policy == p) return entry.name;
  }
  return "unknown";
}

// Parses a name of kPolicies ("lru", "lfu", "ttl", "adaptive"). Throws std::invalid_argument
// listing the valid names otherwise.
[[nodiscard]] inline Policy parse_policy(std::string_view name) {
  std::string expected;
  for (const PolicyName& entry : kPolicies) {
    if (entry.name == name) return entry.policy;
    if (!expected.empty()) expected += entry.policy == kPolicies.back().policy ? " or " : ", ";
    expected += entry.name;
  }
  throw std::invalid_argument("unknown policy '" + std::string(name) + "' (expected " + expected +
                              ")");
}

// The largest max_size a cache accepts (slot indices are 32-bit, with room for the slack that
// racing inserters hold). Front ends that check sizes before building a config use this.
inline constexpr std::size_t kMaxCacheSize = std::size_t{1} << 31;

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
  // (0, 1]. The rest starts as the recency window, until the window simulation (policies/
  // window_sim.h) picks the split after about max_size lookups.
  double adaptive_threshold = 0.7;
  // If set, a background thread sweeps expired entries at this interval.
  std::optional<std::chrono::nanoseconds> expiry_interval;
  // Time source for TTLs; nullptr means a SteadyClock.
  std::shared_ptr<const Clock> clock;
  // Seed of eviction's sampling. Unset (the default), every cache draws a fresh one, so two
  // processes do not make identical eviction choices; set it for reproducible runs and tests
  // (a single-threaded run then evicts the same entries every time).
  std::optional<std::uint64_t> seed;

  // Throws std::invalid_argument naming the field that is wrong.
  void validate() const {
    if (max_size == 0) throw std::invalid_argument("max_size must be at least 1");
    if (max_size > kMaxCacheSize) {
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
