// ArenaCompaction: after a shrink, moves the live entries into the low slots of the arena.
//
// A cache filled to a million entries and shrunk to a thousand keeps its thousand survivors
// scattered over a million slots: sampling then almost never finds one, and every eviction
// fell back on a linear walk (issue 13.18: 2,582 us per put+get instead of 0.31 us, and a
// biased choice). SlotArena::begin_shrink(limit) stops handing out slots at or above `limit`;
// compact() then moves each live entry found there to a free slot below it, and once none is
// left the arena's capacity (the sampled range) drops to the limit (SlotArena::finish_shrink).
//
// A move, done by the host (Cache::relocate_entry), copies the slot's metadata to a new low
// slot, switches the entry's slot index from the old one to the new one under the entry's
// bucket lock (the only place a slot index is read and trusted), then releases the old slot.
// Concurrent operations stay correct: a sampler or sweeper that read either slot at the wrong
// moment finds, when it re-checks under the bucket lock, that the entry does not own that slot
// and removes nothing; a lookup that stamps the old slot after the move only loses a recency
// update. An entry moves downwards only, so a walk from the top of the arena to the bottom
// (Cache::walk_entries) meets every entry at least once while entries move.
//
// A slot above the limit can be live without its entry in the map yet (a writer between its
// publish and its insert). compact() returns those and the caller retries them, while the
// writer itself moves its entry if it sees the new limit after inserting (see
// SlotArena::allocation_limit).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "slot_arena.h"

namespace cuckoocache {

class ArenaCompaction {
 public:
  // Moves every live entry at or above arena.allocation_limit() below it through
  // host.relocate_entry(hash, slot). Returns the live slots still above the limit (entries not
  // yet in the map), for retry(); empty once compaction is complete. Walks from the top down,
  // so entries that other threads move meanwhile are not missed.
  template <class Host>
  [[nodiscard]] static std::vector<std::uint32_t> compact(Host& host, const SlotArena& arena) {
    std::vector<std::uint32_t> left;
    for (std::uint32_t i = arena.capacity(); i > arena.allocation_limit();) {
      --i;
      if (!move(host, arena, i)) left.push_back(i);
    }
    return left;
  }

  // Tries the slots compact() left again; keeps in `left` those still live above the limit.
  // Slots taken after compact() passed need no retry: their writers see the new limit after
  // inserting and move their entries themselves (slot_arena.h).
  template <class Host>
  static void retry(Host& host, const SlotArena& arena, std::vector<std::uint32_t>& left) {
    std::erase_if(left, [&](std::uint32_t i) { return move(host, arena, i); });
  }

 private:
  // Moves the entry of live slot `i`, if any; returns false if the slot is live and its entry
  // could not be moved (not in the map yet).
  template <class Host>
  static bool move(Host& host, const SlotArena& arena, std::uint32_t i) {
    const Slot& s = arena[i];
    // Sequentially consistent: pairs with the publish of a writer that took this slot before
    // the limit was lowered (slot_arena.h).
    if (!SlotState::live(s.state.load(std::memory_order_seq_cst))) return true;
    if (host.relocate_entry(s.hash.load(std::memory_order_relaxed), i)) return true;
    return !SlotState::live(s.state.load(std::memory_order_seq_cst));
  }
};

}  // namespace cuckoocache
