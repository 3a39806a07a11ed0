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
};

}  // namespace cuckoocache
