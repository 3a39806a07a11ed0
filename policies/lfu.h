// Sampled LFU: of the sampled entries, evict the least frequently used, oldest first on ties.
//
// Frequency is the count-min sketch's estimate (0..15, halved periodically), so it is an
// approximate, aging LFU: an entry that was popular long ago loses its protection after a few
// halvings instead of pinning the cache forever. A cache small enough to be exact (see
// engine/eviction.h) counts each entry's uses since insertion instead, so it evicts exactly the
// least frequently used entry, the least recently used among equals (as cachetools' LFUCache).
#pragma once

#include <cstdint>

#include "policy.h"

namespace cuckoocache {

struct LfuPolicy {
  [[nodiscard]] static Score score(const EntryMeta& m, const ScoreContext& ctx) noexcept {
    if (ctx.exact) return {m.uses, m.access_tick};
    return {ctx.sketch.estimate(m.hash), m.access_tick};
  }
  // The sampler's pool key (engine/entry_meta.h): the frequency (at most 15 when sampled)
  // above 55 bits of the tick; a larger count (exact caches, which do not pool) is the
  // highest key, so the key stays monotone.
  [[nodiscard]] static constexpr std::uint64_t pool_key(const Score& s) noexcept {
    if (s.primary > 15) return kPoolKeyMax;
    return (s.primary << 55) | saturate_bits(s.secondary, 55);
  }
  static constexpr bool kPoolKeyOrdersScores = false;  // the tick is cut to 55 bits
  static constexpr unsigned kScoreReads = MetaFields::kHash | MetaFields::kTick;
  static constexpr unsigned kExactScoreReads = MetaFields::kUses | MetaFields::kTick;
};

}  // namespace cuckoocache
