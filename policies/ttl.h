// Sampled TTL: of the sampled entries, evict the one whose deadline comes soonest; entries
// without a deadline go last, and ties (including all deadline-free entries) fall back to LRU.
#pragma once

#include <cstdint>

#include "policy.h"

namespace cuckoocache {

struct TtlPolicy {
  [[nodiscard]] static Score score(const EntryMeta& m, const ScoreContext&) noexcept {
    return {m.deadline_ns == 0 ? UINT64_MAX : m.deadline_ns, m.access_tick};
  }
  // The sampler's pool key (engine/entry_meta.h): deadline-free entries above every deadline,
  // among themselves by tick; deadlines to 32 ns (2^62 ns: good past the year 2100 even on a
  // clock counting from 1970), so two deadlines within 32 ns may swap places in the pool.
  [[nodiscard]] static constexpr std::uint64_t pool_key(const Score& s) noexcept {
    constexpr std::uint64_t kNoDeadline = std::uint64_t{1} << (kPoolKeyBits - 1);
    if (s.primary == UINT64_MAX) return kNoDeadline | saturate_bits(s.secondary, kPoolKeyBits - 1);
    return saturate_bits(s.primary >> 5, kPoolKeyBits - 1);
  }
  static constexpr bool kPoolKeyOrdersScores = false;  // deadlines to 32 ns
  static constexpr unsigned kScoreReads = MetaFields::kDeadline | MetaFields::kTick;
  static constexpr unsigned kExactScoreReads = kScoreReads;
};

}  // namespace cuckoocache
