// Sampled LRU: of the sampled entries, evict the one accessed longest ago.
//
// Recency is the cache's tick at the entry's last access (see engine/cache.h). In a large cache
// the tick advances per insert, so two entries touched between the same two inserts tie; with a
// handful of samples out of the whole cache such ties are rare and harmless. A cache small
// enough to be exact advances it on every use and scores every entry: exact LRU.
#pragma once

#include <cstdint>

#include "policy.h"

namespace cuckoocache {

struct LruPolicy {
  [[nodiscard]] static Score score(const EntryMeta& m, const ScoreContext&) noexcept {
    return {m.access_tick, 0};
  }
  // The sampler's pool key (engine/entry_meta.h): the tick itself (below 2^59 for centuries),
  // so it orders scores exactly and the sampler compares keys instead of 128-bit scores.
  [[nodiscard]] static constexpr std::uint64_t pool_key(const Score& s) noexcept {
    return saturate_bits(s.primary, kPoolKeyBits);
  }
  static constexpr bool kPoolKeyOrdersScores = true;
  static constexpr unsigned kScoreReads = MetaFields::kTick;
  static constexpr unsigned kExactScoreReads = kScoreReads;
};

}  // namespace cuckoocache
