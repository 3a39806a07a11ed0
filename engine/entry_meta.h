// EntryMeta and Score: what a sampled slot says about its entry, and how candidates compare.
//
// The sampler (sampler.h) reads an EntryMeta from each slot it looks at and keeps the best
// candidates' Scores in its pool; the policies (policies/) turn an EntryMeta into a Score.
// Both sit here, below the policies, so the engine's primitives never include a policy: the
// layers are primitives (engine/) <- policies (policies/) <- the composition (engine/cache.h,
// engine/eviction.h), checked by tests/layering_test.sh.
#pragma once

#include <compare>
#include <cstdint>

namespace cuckoocache {

// A sampled entry, read from its slot with relaxed loads (possibly slightly stale).
struct EntryMeta {
  std::uint64_t hash = 0;
  std::uint64_t deadline_ns = 0;  // 0: never expires
  std::uint64_t access_tick = 0;  // recency tick of the last access (reconstructed to 64 bits)
  std::uint32_t uses = 0;         // uses since insertion; kept only when `exact` (ScoreContext)
};

// Lexicographic: primary first, then secondary. Lower is evicted first.
struct Score {
  std::uint64_t primary = 0;
  std::uint64_t secondary = 0;
  friend constexpr auto operator<=>(const Score&, const Score&) = default;
};

}  // namespace cuckoocache
