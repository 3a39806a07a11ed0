// Striped statistics counters.
//
// Every get and put bumps a counter, so a single shared counter would be the hottest cache line
// in the program. Each thread instead adds to the stripe picked by its thread index; a stripe
// is one cache line holding all counters, so a thread's bumps stay in a line it owns. stats()
// sums the stripes. Counts are exact: every bump is an atomic add (relaxed, uncontended in the
// common case), so after any concurrent run the totals equal the number of operations. A
// snapshot taken while other threads run is a sum of per-stripe values read at slightly
// different moments, so totals may be mutually inconsistent by in-flight operations.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>

#include "thread_index.h"

namespace cuckoocache {

struct CacheStats {
  std::uint64_t hits = 0;
  std::uint64_t misses = 0;       // includes lookups that found only an expired entry
  std::uint64_t inserts = 0;      // new keys stored
  std::uint64_t updates = 0;      // existing keys overwritten
  std::uint64_t evictions = 0;    // removed to make room
  std::uint64_t expirations = 0;  // removed because their time-to-live ran out
  std::uint64_t rejections = 0;   // newcomers dropped by the admission filter
  std::uint64_t size = 0;
  std::uint64_t max_size = 0;

  [[nodiscard]] double hit_rate() const noexcept {
    const auto lookups = hits + misses;
    return lookups == 0 ? 0.0 : static_cast<double>(hits) / static_cast<double>(lookups);
  }

  // Every field equal (tests compare whole snapshots).
  friend constexpr bool operator==(const CacheStats&, const CacheStats&) = default;
};

// "{hits=.., misses=.., ...}" for test failure messages.
template <class Stream>
Stream& operator<<(Stream& os, const CacheStats& s) {
  os << "{hits=" << s.hits << ", misses=" << s.misses << ", inserts=" << s.inserts
     << ", updates=" << s.updates << ", evictions=" << s.evictions
     << ", expirations=" << s.expirations << ", rejections=" << s.rejections << ", size=" << s.size
     << ", max_size=" << s.max_size << "}";
  return os;
}

enum class Counter : unsigned {
  kHits,
  kMisses,
  kInserts,
  kUpdates,
  kEvictions,
  kExpirations,
  kRejections,
  kCount
};

class StripedStats {
 public:
  static constexpr std::size_t kStripes = 16;

  void add(Counter c, std::uint64_t n = 1) noexcept {
    stripes_[stripe()].values[static_cast<unsigned>(c)].fetch_add(n, std::memory_order_relaxed);
  }

  [[nodiscard]] std::uint64_t total(Counter c) const noexcept {
    std::uint64_t sum = 0;
    for (const auto& s : stripes_)
      sum += s.values[static_cast<unsigned>(c)].load(std::memory_order_relaxed);
    return sum;
  }

  // Fills the counter fields of `out` (not size and max_size).
  void snapshot(CacheStats& out) const noexcept {
    out.hits = total(Counter::kHits);
    out.misses = total(Counter::kMisses);
    out.inserts = total(Counter::kInserts);
    out.updates = total(Counter::kUpdates);
    out.evictions = total(Counter::kEvictions);
    out.expirations = total(Counter::kExpirations);
    out.rejections = total(Counter::kRejections);
  }

  void reset() noexcept {
    for (auto& s : stripes_) {
      for (auto& v : s.values) v.store(0, std::memory_order_relaxed);
    }
  }

 private:
  // This thread's stripe: thread_index() read once per thread and kept in a constant-initialised
  // thread_local (one TLS load on every later bump, no initialisation guard).
  [[nodiscard]] static std::size_t stripe() noexcept {
    static constexpr std::uint32_t kUnset = UINT32_MAX;
    static thread_local std::uint32_t mine = kUnset;
    if (mine == kUnset) [[unlikely]]
      mine = static_cast<std::uint32_t>(thread_index() % kStripes);
    return mine;
  }

  struct alignas(kCacheLine) Stripe {
    std::array<std::atomic<std::uint64_t>, static_cast<unsigned>(Counter::kCount)> values{};
  };
  std::array<Stripe, kStripes> stripes_{};
};

}  // namespace cuckoocache
