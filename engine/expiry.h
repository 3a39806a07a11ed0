// ExpiryWatch: knows, without locks, when the earliest deadline of a cache can be due, and
// where the background expiry pass over the slot arena stands.
//
// Why: sampling random slots (Redis's active expiry) cannot find a few thousand expired
// entries among a large, mostly unexpired or empty arena in reasonable time (5,000 entries in
// a 65,536-slot arena took minutes). Instead a background pass walks the arena in order and
// removes every expired entry it meets: sequential 32-byte slot reads, about a millisecond per
// million slots. To keep an idle cache free, the pass runs only when some deadline may be due:
// the watch keeps a lower bound of the deadlines of live entries.
//
// The bound: after a complete pass it is the earliest deadline the pass saw among entries it
// kept, lowered by every deadline noted since the pass began (note() is called by every write
// that stores a deadline, after the entry is in the map). An entry published before a pass
// begins is seen by that pass; one noted after the pass began lowers `noted_`, which is only
// reset when the next pass begins (and that pass sees the entry). So the bound never exceeds
// the deadline of a live entry; removals and refreshes can only leave it early, which costs
// one pass that finds nothing. note() reads a shared line and writes it only when a deadline
// is earlier than any noted since the pass began (rare: deadlines mostly grow with time).
//
// Threads: note() from anywhere; due(), begin_pass()/saw()/end_pass() and the cursor from one
// sweeping thread at a time (the cache serializes them).
#pragma once

#include <atomic>
#include <cstdint>

namespace cuckoocache {

class ExpiryWatch {
 public:
  static constexpr std::uint64_t kNever = UINT64_MAX;

  // An entry with `deadline` (nonzero) became live or got this deadline in place.
  void note(std::uint64_t deadline) noexcept {
    std::uint64_t seen = noted_.load(std::memory_order_relaxed);
    while (deadline < seen &&
           !noted_.compare_exchange_weak(seen, deadline, std::memory_order_acq_rel)) {
    }
  }

  // Whether some live entry may have expired by `now`, or a pass is unfinished. Sweeper only.
  [[nodiscard]] bool due(std::uint64_t now) const noexcept {
    return running_ || earliest_.load(std::memory_order_relaxed) <= now ||
           noted_.load(std::memory_order_acquire) <= now;
  }

  [[nodiscard]] bool running() const noexcept { return running_; }
  [[nodiscard]] std::uint32_t cursor() const noexcept { return cursor_; }
  void advance_to(std::uint32_t index) noexcept { cursor_ = index; }

  void begin_pass() noexcept {
    // acq_rel: the slots of every entry noted before this point are visible to the pass.
    noted_.exchange(kNever, std::memory_order_acq_rel);
    seen_ = kNever;
    cursor_ = 0;
    running_ = true;
  }

  // The pass kept an entry with this (nonzero) deadline.
  void saw(std::uint64_t deadline) noexcept {
    if (deadline < seen_) seen_ = deadline;
  }

  void end_pass() noexcept {
    earliest_.store(seen_, std::memory_order_relaxed);
    running_ = false;
  }

 private:
  std::atomic<std::uint64_t> earliest_{kNever};  // written by the sweeping thread only
  alignas(64) std::atomic<std::uint64_t> noted_{kNever};
  // Pass state: the sweeping thread only.
  std::uint64_t seen_ = kNever;
  std::uint32_t cursor_ = 0;
  bool running_ = false;
};

}  // namespace cuckoocache
