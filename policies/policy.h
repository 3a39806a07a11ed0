// What every eviction policy sees: a sampled entry's metadata, and how it is scored.
//
// A policy is a small stateless type with a static score(): the lower the score, the sooner
// the entry should go. Eviction samples a few live slots, scores each with the active policy
// and removes the lowest. Scores are plain values so they can be kept between rounds in the
// sampler's candidate pool and compared later. ADAPTIVE is the one policy with state (its
// window and its simulation), and it uses these scores for its main region.
#pragma once

#include <compare>
#include <cstdint>

#include "engine/frequency_sketch.h"

namespace cuckoocache {

// A sampled entry, read from its slot with relaxed loads (possibly slightly stale).
struct EntryMeta {
  std::uint64_t hash = 0;
  std::uint64_t deadline_ns = 0;  // 0: never expires
  std::uint64_t access_tick = 0;  // recency tick of the last access (reconstructed to 64 bits)
  std::uint32_t uses = 0;         // uses since insertion; kept only when `exact` (see below)
};

struct ScoreContext {
  const FrequencySketch& sketch;
  // The cache is small enough to be exact (engine/eviction.h): every slot is scored, the
  // recency tick advances on every use, and `uses` counts an entry's uses exactly.
  bool exact = false;
};

// Lexicographic: primary first, then secondary. Lower is evicted first.
struct Score {
  std::uint64_t primary = 0;
  std::uint64_t secondary = 0;
  friend constexpr auto operator<=>(const Score&, const Score&) = default;
};

}  // namespace cuckoocache
