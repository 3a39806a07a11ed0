// EntryMeta and Score: what a sampled slot says about its entry, and how candidates compare.
//
// The sampler (sampler.h) reads an EntryMeta from each slot it looks at and keeps the best
// candidates' Scores in its pool, ordered by a 64-bit pool key; the policies (policies/) turn
// an EntryMeta into a Score and a Score into its pool key.
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

// Which EntryMeta fields a score reads (a policy's kScoreReads when sampled, kExactScoreReads in
// an exact cache, where ScoreContext::exact changes what LFU reads). The sampler loads only those
// from a sampled slot (plus the deadline whenever entries may have expired, and the hash of the
// round's best), so a policy that reads the tick alone costs one load per sample, not four.
struct MetaFields {
  static constexpr unsigned kHash = 1;
  static constexpr unsigned kDeadline = 2;
  static constexpr unsigned kTick = 4;
  static constexpr unsigned kUses = 8;
  static constexpr unsigned kAll = kHash | kDeadline | kTick | kUses;
};

// Lexicographic: primary first, then secondary. Lower is evicted first.
struct Score {
  std::uint64_t primary = 0;
  std::uint64_t secondary = 0;
  friend constexpr auto operator<=>(const Score&, const Score&) = default;
};

// The sampler's candidate pool orders by a 64-bit key below 2^kPoolKeyBits rather than by the
// 128-bit Score (a pool insertion then costs a search and a shift over 8-byte words). A
// policy's pool_key(Score) must be monotone: a < b implies key(a) <= key(b). Equal keys of
// unequal scores are ordered arbitrarily among themselves, and only inside the pool: the
// choice among fresh samples and the re-check of a pooled candidate compare whole Scores.
inline constexpr unsigned kPoolKeyBits = 59;
inline constexpr std::uint64_t kPoolKeyMax = (std::uint64_t{1} << kPoolKeyBits) - 1;

[[nodiscard]] constexpr std::uint64_t saturate_bits(std::uint64_t v, unsigned bits) noexcept {
  const std::uint64_t max = (std::uint64_t{1} << bits) - 1;
  return v < max ? v : max;
}

// The pool key of a score whose order is decided by `primary` (scores like LRU's tick, whose
// secondary is constant); for others a monotone but coarse key (the default in Sampler).
struct PrimaryPoolKey {
  [[nodiscard]] constexpr std::uint64_t operator()(const Score& s) const noexcept {
    return saturate_bits(s.primary, kPoolKeyBits);
  }
};

}  // namespace cuckoocache
