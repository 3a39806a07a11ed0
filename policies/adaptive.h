// ADAPTIVE: W-TinyLFU by sampling, with a hill climber that sizes the recency window.
//
// Pure LRU loses on frequency-skewed and looping workloads; pure LFU loses on recency-heavy
// ones and on shifting popularity. W-TinyLFU (Einziger, Friedman & Manes, "TinyLFU", 2017;
// Caffeine) gets close to the better of the two on both by splitting the cache:
//  - a *window* that admits every newcomer and keeps it for a while, whatever its frequency,
//    so recency bursts get hits;
//  - a *main* region that an entry leaving the window enters only if the frequency sketch says
//    it is used more often than the main region's own victim (TinyLFU admission).
// The split is not fixed: every period (10 * max_size lookups, as in Caffeine) a hill climber
// compares the period's hit rate with the last one and moves the window size a step in the
// direction that helped, with a step that decays and restarts when the workload shifts.
//
// Doing this without a global lock: the window is a CLOCK queue, not a list. Every window
// insert appends (slot, insert tick) to a ring; the oldest cell is taken by advancing a shared
// cursor with CAS, skipping cells whose slot has left the window since. An entry used while
// queued (its slot's access tick moved past the queued tick) is appended again instead of
// leaving: a second chance, which makes the window behave close to LRU. Taking a candidate
// clears the slot's window bit with a CAS, so two threads never take the same one. The main
// region's victim is chosen by the sampler among non-window slots, least frequent first.
//
// adaptive_threshold: the share of the cache given to the main region at start (the seed's
// knob, kept meaningful): the window starts at (1 - adaptive_threshold) of max_size, and the
// climber moves it from there within [0, 80%] of max_size.
#pragma once

#include <algorithm>
#include <atomic>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>

#include "engine/frequency_sketch.h"
#include "engine/page_allocator.h"
#include "engine/random.h"
#include "engine/sampler.h"
#include "engine/slot_arena.h"
#include "policies/policy.h"

namespace cuckoocache {

class AdaptivePolicy {
 public:
  static constexpr double kMaxWindowShare = 0.8;
  static constexpr double kStepShare = 0.0625;
  static constexpr double kStepDecay = 0.98;
  static constexpr double kRestartThreshold = 0.05;
  static constexpr unsigned kHashFloodThreshold = 6;

  AdaptivePolicy(std::size_t max_size, double main_share) { reset(max_size, main_share); }

  // Allocates the window ring (once; it is never freed before the policy object). Call before
  // the cache starts using ADAPTIVE; caches that never use it do not pay for the ring.
  void activate(std::size_t max_size) {
    std::lock_guard<std::mutex> lock(climb_mutex_);
    if (ring_owner_) return;
    ring_mask_ = std::bit_ceil(max_size + 64) - 1;
    ring_owner_ = HugePageArray<std::atomic<std::uint64_t>>(ring_mask_ + 1);
    ring_.store(ring_owner_.get(), std::memory_order_release);
    window_ = std::min(window_, max_window());
    window_target_.store(static_cast<std::size_t>(window_), std::memory_order_relaxed);
  }

  // Main-region score: least frequent first, least recent among equals.
  [[nodiscard]] static Score main_score(const EntryMeta& m, const ScoreContext& ctx) noexcept {
    return {ctx.sketch.estimate(m.hash), m.access_tick};
  }

  // Records a new window entry; `tick` is the cache's insert tick, which the entry's slot
  // also holds as its last access.
  void on_window_insert(std::uint64_t tick, std::uint32_t slot) noexcept {
    append(slot, tick);
    window_count_.fetch_add(1, std::memory_order_relaxed);
  }

  // A window entry left (removed, or its window bit cleared by a promotion).
  void on_window_leave() noexcept { window_count_.fetch_sub(1, std::memory_order_relaxed); }

  [[nodiscard]] bool window_over_target() const noexcept {
    return window_count_.load(std::memory_order_relaxed) >
           static_cast<std::int64_t>(window_target_.load(std::memory_order_relaxed));
  }

  // Takes the window's oldest entry that was not used since it was queued: clears its window
  // bit (it now counts as main) and returns it. An entry used since (its slot's access tick
  // moved past the tick queued with it) gets a second chance instead: it is queued again at
  // the head, so the window behaves like CLOCK (close to LRU), not FIFO. nullopt if nothing
  // can be taken now.
  [[nodiscard]] std::optional<Candidate> take_window_candidate(const SlotArena& arena,
                                                               std::uint64_t tick_now) noexcept {
    std::atomic<std::uint64_t>* ring = ring_.load(std::memory_order_acquire);
    if (ring == nullptr) return std::nullopt;
    for (int tries = 0; tries < 256; ++tries) {
      std::uint64_t c = cursor_.load(std::memory_order_acquire);
      const std::uint64_t head = head_.load(std::memory_order_acquire);
      // Stay a few cells behind the head: a writer that has taken a cell may not have filled
      // it yet.
      if (c + kWriterLag >= head) return std::nullopt;
      if (head - c > ring_mask_) {  // cells this old were overwritten
        cursor_.compare_exchange_weak(c, head - ring_mask_, std::memory_order_acq_rel);
        continue;
      }
      const std::uint64_t item = ring[c & ring_mask_].load(std::memory_order_acquire);
      if (!cursor_.compare_exchange_weak(c, c + 1, std::memory_order_acq_rel)) continue;
      if (item == 0) continue;
      const auto slot = static_cast<std::uint32_t>(item >> 32);
      const auto queued_tick = static_cast<std::uint32_t>(item);
      if (slot >= arena.capacity()) continue;
      Slot& s = arena[slot];
      std::uint32_t state = s.state.load(std::memory_order_acquire);
      if (!SlotState::live(state) || !SlotState::window(state)) continue;  // gone or promoted
      const std::uint32_t used = s.access_tick.load(std::memory_order_relaxed);
      if (static_cast<std::int32_t>(used - queued_tick) > 0) {
        append(slot, tick_now);  // used while in the window: second chance
        continue;
      }
      if (!s.state.compare_exchange_strong(state, state & ~SlotState::kWindow,
                                           std::memory_order_acq_rel)) {
        continue;
      }
      on_window_leave();
      Candidate cand;
      cand.slot = slot;
      cand.identity = SlotState::identity(state);
      cand.hash = s.hash.load(std::memory_order_relaxed);
      return cand;
    }
    return std::nullopt;
  }

  // Ticks a window entry can go unused before it is presumed lost by the ring (its cell
  // overwritten after the cursor jumped) and may be evicted like a main entry.
  [[nodiscard]] std::uint64_t lost_after() const noexcept { return 2 * (ring_mask_ + 1); }

  // TinyLFU admission: should the window candidate replace the main victim?
  [[nodiscard]] static bool admit(unsigned candidate_freq, unsigned victim_freq,
                                  FastRandom& rng) noexcept {
    if (candidate_freq > victim_freq) return true;
    // A little randomness so an attacker cannot pin a victim by inflating its hash's count.
    return candidate_freq >= kHashFloodThreshold && (rng.next() & 127) == 0;
  }

  // Hill climbing. `hits` and `misses` are the cache's running totals; call now and then from
  // the eviction path. At most one thread climbs at a time; others return at once.
  void maybe_climb(std::uint64_t hits, std::uint64_t misses) noexcept {
    std::unique_lock<std::mutex> lock(climb_mutex_, std::try_to_lock);
    if (!lock.owns_lock()) return;
    const std::uint64_t requests = (hits - last_hits_) + (misses - last_misses_);
    if (requests < period_) return;
    const double hit_rate = static_cast<double>(hits - last_hits_) / static_cast<double>(requests);
    last_hits_ = hits;
    last_misses_ = misses;
    const double change = hit_rate - previous_hit_rate_;
    const double amount = change >= 0 ? step_ : -step_;
    step_ = std::abs(change) >= kRestartThreshold
                ? kStepShare * static_cast<double>(max_size_) * (amount >= 0 ? 1 : -1)
                : kStepDecay * amount;
    previous_hit_rate_ = hit_rate;
    window_ = std::clamp(window_ + amount, 0.0, max_window());
    window_target_.store(static_cast<std::size_t>(window_), std::memory_order_relaxed);
  }

  // Restarts the learning for a new capacity (set_max_size) or a switch to ADAPTIVE.
  void reset(std::size_t max_size, double main_share) {
    std::lock_guard<std::mutex> lock(climb_mutex_);
    max_size_ = max_size;
    period_ = 10 * max_size;
    const double top = max_window();
    window_ =
        std::clamp((1.0 - main_share) * static_cast<double>(max_size), std::min(1.0, top), top);
    window_target_.store(static_cast<std::size_t>(window_), std::memory_order_relaxed);
    step_ = -kStepShare * static_cast<double>(max_size);
    previous_hit_rate_ = 0;
  }

  [[nodiscard]] std::size_t window_target() const noexcept {
    return window_target_.load(std::memory_order_relaxed);
  }
  [[nodiscard]] std::int64_t window_count() const noexcept {
    return window_count_.load(std::memory_order_relaxed);
  }
  // Forgets queued cells (after the window was folded into main).
  void restart_cursor() noexcept {
    cursor_.store(head_.load(std::memory_order_relaxed), std::memory_order_relaxed);
  }

  [[nodiscard]] std::size_t memory_bytes() const noexcept {
    return (ring_owner_ ? (ring_mask_ + 1) * sizeof(std::uint64_t) : 0) + sizeof(*this);
  }

 private:
  // The ring must keep every live window entry's cell from being overwritten: the window may
  // hold at most half the ring (which bounds the window after set_max_size grows the cache).
  [[nodiscard]] double max_window() const noexcept {
    const double by_share = kMaxWindowShare * static_cast<double>(max_size_);
    return ring_owner_ ? std::min(by_share, static_cast<double>(ring_mask_ + 1) / 2) : by_share;
  }

  void append(std::uint32_t slot, std::uint64_t tick) noexcept {
    const std::uint64_t pos = head_.fetch_add(1, std::memory_order_relaxed);
    ring_.load(std::memory_order_acquire)[pos & ring_mask_].store(
        (std::uint64_t{slot} << 32) | static_cast<std::uint32_t>(tick), std::memory_order_release);
  }

  static constexpr std::uint64_t kWriterLag = 8;

  std::size_t ring_mask_ = 0;  // set once, before ring_ is published
  HugePageArray<std::atomic<std::uint64_t>> ring_owner_;
  std::atomic<std::atomic<std::uint64_t>*> ring_{nullptr};
  alignas(64) std::atomic<std::uint64_t> head_{0};    // next ring cell to fill
  alignas(64) std::atomic<std::uint64_t> cursor_{0};  // oldest ring cell not yet examined
  alignas(64) std::atomic<std::int64_t> window_count_{0};
  std::atomic<std::size_t> window_target_{0};

  std::mutex climb_mutex_;  // try-locked from the eviction path; never waited on there
  std::size_t max_size_ = 0;
  std::uint64_t period_ = 0;
  double window_ = 0;
  double step_ = 0;
  double previous_hit_rate_ = 0;
  std::uint64_t last_hits_ = 0;
  std::uint64_t last_misses_ = 0;
};

}  // namespace cuckoocache
