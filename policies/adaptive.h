// ADAPTIVE: W-TinyLFU by sampling, with a window sized by simulation (policies/window_sim.h).
//
// Pure LRU loses on frequency-skewed and looping workloads; pure LFU loses on recency-heavy
// ones and on shifting popularity. W-TinyLFU (Einziger, Friedman & Manes, "TinyLFU", 2017;
// Caffeine) gets close to the better of the two on both by splitting the cache:
//  - a *window* that admits every newcomer and keeps it for a while, whatever its frequency,
//    so recency bursts get hits;
//  - a *main* region that an entry leaving the window enters only if the frequency sketch says
//    it is used more often than the main region's own victim (TinyLFU admission).
// The split is not fixed. WindowSim replays a sample of the lookups through miniature caches
// with window shares from 1% to 100% and points the window at the share that hit most over
// the last periods (Caffeine's "MiniSim"); a guard falls back to a window of 100% (plain
// recency, close to LRU) for a doubling number of periods whenever the real cache hits less
// than the miniature LRU did, so the policy is never far behind LRU even where the
// miniatures mispredict it. The window can span the whole cache.
//
// Doing this without a global lock: the window is a CLOCK queue, not a list. Every window
// insert appends (slot, insert tick) to a lock-free ring striped by thread (WindowRing,
// policies/window_ring.h: FIFO per stripe, stripes drained at the same pace); taking a cell
// skips cells whose slot has left the window since. An entry used while queued (its slot's
// access tick moved past the queued tick) is appended again instead of leaving: a second
// chance, which makes the window behave close to LRU. Taking a candidate clears the slot's
// window bit with a CAS, so two threads never take the same one. The main region's victim is
// chosen by the sampler among non-window slots, least frequent first.
//
// The window count follows the slots' window bits exactly: it is raised by whoever sets a bit
// (join_window(), once the new entry is in the map) and lowered by whoever clears one (a take,
// a release of a window slot, set_policy leaving ADAPTIVE).
//
// The engine calls: activate() before first use, on_lookup() for every get, join_window() and
// maintain() after an insert, on_window_leave() when a window slot is released, main_region()
// to filter eviction samples.
//
// adaptive_threshold: the share of the cache given to the main region at start (the seed's
// knob, kept meaningful): the window starts at (1 - adaptive_threshold) of max_size until the
// simulation's first decision, one period (up to 1,024 sampled lookups) later.
#pragma once

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>

#include "../engine/cache_config.h"
#include "../engine/frequency_sketch.h"
#include "../engine/random.h"
#include "../engine/sampler.h"
#include "../engine/slot_arena.h"
#include "../engine/stats.h"
#include "policy.h"
#include "window_ring.h"
#include "window_sim.h"

namespace cuckoocache {

class AdaptivePolicy {
 public:
  static constexpr unsigned kHashFloodThreshold = 6;
  static constexpr int kMaxMovesPerInsert = 8;
  // Caches up to this size count every hit in the sketch (on_hit); its table is 32 KiB here.
  static constexpr std::size_t kCountEveryHitUpTo = 4096;

  AdaptivePolicy(std::size_t max_size, double main_share) : sim_(max_size, 1.0 - main_share) {
    reset(max_size, main_share);
  }

  // Reserves the window ring (once; it is never freed before the policy object). Call before
  // the cache starts using ADAPTIVE. The ring's stripes hold twice max_size cells each, so a
  // window of the whole cache fits with room for second-chance re-appends; only the cells
  // queued cost memory (policies/window_ring.h).
  void activate(std::size_t max_size) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (ring_.ready()) return;
    ring_.reserve(2 * max_size);
    set_target(static_cast<double>(window_target_.load(std::memory_order_relaxed)));
  }

  // Main-region score: least frequent first, least recent among equals.
  [[nodiscard]] static Score main_score(const EntryMeta& m, const ScoreContext& ctx) noexcept {
    return {ctx.sketch.estimate(m.hash), m.access_tick};
  }
  // The sketch estimate a main_score() holds (a victim the sampler returns carries its score).
  [[nodiscard]] static unsigned main_frequency(const Candidate& c) noexcept {
    return static_cast<unsigned>(c.score.primary);
  }

  // A hit on `hash`. `first_use`: the entry's first use since the insert tick left the block
  // of its stamp (the engine's per-entry stamp, see Cache::stamp_shift_for: blocks of
  // max_size / 256 inserts). In a cache of more than kCountEveryHitUpTo entries only such hits
  // are counted in the frequency sketch: admission compares counts only when an insert
  // happens, so a key counts once per block of inserts however often it is hit in it. Repeated hits
  // on a hot key then cost no sketch line (a cache miss once the sketch outgrows L1; the key's
  // counters saturate anyway), while keys hit about once per interval, the ones admission decides
  // between, keep their counts. Smaller caches, whose sketch stays in L1 and whose few counts each
  // weigh more, count every hit. Every hit feeds the simulation. Call outside every engine lock.
  void on_hit(std::uint64_t hash, bool first_use, FrequencySketch& sketch) {
    if (first_use || count_every_hit_.load(std::memory_order_relaxed)) sketch.increment(hash);
    on_lookup(hash, true, sketch);
  }

  // Whether on_hit(hash, first_use, ...) would do anything: the engine skips the call if not.
  [[nodiscard]] bool hit_has_work(std::uint64_t hash, bool first_use) const noexcept {
    return first_use || count_every_hit_.load(std::memory_order_relaxed) || sim_.sampled(hash);
  }

  // A lookup (hit or miss) of `hash`: feeds the window simulation, which may move the window.
  // Call outside every engine lock.
  void on_lookup(std::uint64_t hash, bool hit, const FrequencySketch& sketch) {
    if (const std::optional<double> share = sim_.record(hash, hit, sketch)) {
      set_target(*share * static_cast<double>(max_size_.load(std::memory_order_relaxed)));
    }
  }

  // The entry of `slot` (published with `identity`) was just inserted into the map at `tick`:
  // sets its window bit (unless another thread removed it meanwhile: the identity changed),
  // counts it and queues it in the window ring. Returns whether it joined.
  bool join_window(const SlotArena& arena, std::uint32_t slot, std::uint32_t identity,
                   std::uint64_t tick) noexcept {
    if (!set_window_bit(arena, slot, identity)) return false;
    window_count_.fetch_add(1, std::memory_order_relaxed);
    append(slot, tick);
    return true;
  }

  // After the insert of `slot` (published with `identity`) into the map at `tick`: joins the
  // window and moves window overflow to the main region (join_window() then maintain(), but
  // the newcomer's join is counted only if no window entry leaves for it: in the steady state,
  // one joins and one leaves, and the shared window count is not written at all).
  template <class Host>
  void on_insert(Host& host, std::uint32_t slot, std::uint32_t identity, std::uint64_t tick) {
    std::int64_t uncounted = 0;
    if (set_window_bit(host.arena_, slot, identity)) {
      uncounted = 1;
      append(slot, tick);
    }
    maintain(host, slot, uncounted);
    if (uncounted != 0) window_count_.fetch_add(uncounted, std::memory_order_relaxed);
  }

  // A window bit was cleared (slot released, promoted, or folded into main).
  void on_window_leave() noexcept { window_count_.fetch_sub(1, std::memory_order_relaxed); }

  [[nodiscard]] bool window_over_target() const noexcept {
    return window_count_.load(std::memory_order_relaxed) >
           window_target_.load(std::memory_order_relaxed);
  }

  // Entries in the window and the window's current target size.
  [[nodiscard]] std::int64_t window_count() const noexcept {
    return window_count_.load(std::memory_order_relaxed);
  }
  [[nodiscard]] std::int64_t window_target() const noexcept {
    return window_target_.load(std::memory_order_relaxed);
  }

  // Takes the window's oldest entry that was not used since it was queued: clears its window
  // bit (it now counts as main) and returns it. An entry used since gets a second chance (it
  // is queued again at the head), so the window behaves like CLOCK (close to LRU), not FIFO.
  // nullopt if nothing can be taken now.
  [[nodiscard]] std::optional<Candidate> take_window_candidate(const SlotArena& arena,
                                                               std::uint64_t tick_now) noexcept {
    std::optional<Candidate> taken = take_uncounted(arena, tick_now);
    if (taken) on_window_leave();
    return taken;
  }

 private:
  // take_window_candidate() without lowering the window count (the caller does).
  [[nodiscard]] std::optional<Candidate> take_uncounted(const SlotArena& arena,
                                                        std::uint64_t tick_now) noexcept {
    for (int tries = 0; tries < 256; ++tries) {
      const std::uint64_t item = ring_.pop();
      if (item == 0) return std::nullopt;
      const auto slot = static_cast<std::uint32_t>(item >> 32) - 1;
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
      Candidate cand;
      cand.slot = slot;
      cand.identity = SlotState::identity(state);
      cand.hash = s.hash.load(std::memory_order_relaxed);
      return cand;
    }
    return std::nullopt;
  }

  // Sets the window bit of `slot` unless its entry is gone (the identity changed).
  static bool set_window_bit(const SlotArena& arena, std::uint32_t slot,
                             std::uint32_t identity) noexcept {
    auto& state = arena[slot].state;
    std::uint32_t s = state.load(std::memory_order_acquire);
    for (;;) {
      if (!SlotState::live(s) || SlotState::identity(s) != identity) return false;
      if (state.compare_exchange_weak(s, s | SlotState::kWindow, std::memory_order_acq_rel)) {
        return true;
      }
    }
  }

 public:
  // Ticks a window entry can go unused before it is presumed lost by the ring (its cell
  // overwritten after the cursor jumped) and may be evicted like a main entry.
  [[nodiscard]] std::uint64_t lost_after() const noexcept {
    return 2 * static_cast<std::uint64_t>(ring_.cells());
  }

  // Accepts main-region slots, and window slots unused for so long that the ring must have
  // lost track of them; never the slot `own` (the entry whose insert is being served).
  [[nodiscard]] auto main_region(std::uint64_t tick, const Slot* own) const noexcept {
    return [tick, own, lost = lost_after()](std::uint32_t state, const Slot& s) {
      return &s != own &&
             (!SlotState::window(state) ||
              tick - widen_tick(s.access_tick.load(std::memory_order_relaxed), tick) > lost);
    };
  }

  // TinyLFU admission: should the window candidate replace the main victim? `random_below(n)`
  // draws from the cache's own seeded streams, so a replay with a fixed seed decides alike.
  template <class RandomBelow>
  [[nodiscard]] static bool admit(unsigned candidate_freq, unsigned victim_freq,
                                  RandomBelow&& random_below) noexcept {
    if (candidate_freq > victim_freq) return true;
    // A little randomness so an attacker cannot pin a victim by inflating its hash's count.
    return candidate_freq >= kHashFloodThreshold && random_below(128u) == 0;
  }
  [[nodiscard]] static bool admit(unsigned candidate_freq, unsigned victim_freq,
                                  FastRandom& rng) noexcept {
    return admit(candidate_freq, victim_freq,
                 [&rng](std::uint32_t bound) { return rng.below(bound); });
  }

  // After an insert of `own` into the window: moves window overflow to the main region, each
  // window candidate dueling the main region's sampled victim for its place when the cache is
  // full (the loser is evicted). The newcomer `own` is never evicted here. Host: the cache
  // (remove_entry, remove_expired, pick_victim, over_capacity, sample_now, current_tick,
  // sketch, is_expired_slot, main_region).
  template <class Host>
  void maintain(Host& host, std::uint32_t own) {
    std::int64_t uncounted = 0;
    maintain(host, own, uncounted);
  }

  // maintain() when `uncounted` window entries are not in the window count yet: each entry
  // taken from the window lowers `uncounted` first, the shared count only once it is 0.
  template <class Host>
  void maintain(Host& host, std::uint32_t own, std::int64_t& uncounted) {
    for (int moved = 0;
         moved < kMaxMovesPerInsert && window_count_.load(std::memory_order_relaxed) + uncounted >
                                           window_target_.load(std::memory_order_relaxed);
         ++moved) {
      const std::optional<Candidate> candidate =
          take_uncounted(host.arena_, host.current_tick() + 1);
      if (!candidate) break;
      if (uncounted > 0) {
        --uncounted;
      } else {
        on_window_leave();
      }
      if (candidate->slot == own || !host.over_capacity()) continue;  // it simply joins main
      const std::uint64_t now = host.sample_now();
      if (host.is_expired_slot(candidate->slot, now) &&
          host.remove_expired(candidate->hash, candidate->slot, now)) {
        continue;  // an expired window entry leaves as an expiration, not a duel loser
      }
      const auto victim = host.pick_victim(Policy::kAdaptive, host.main_region(own));
      if (!victim || victim->slot == candidate->slot) {
        host.remove_entry(candidate->hash, candidate->slot, Counter::kEvictions);
        continue;
      }
      if (victim->expired) {
        host.remove_expired(victim->hash, victim->slot, host.sample_now());
        continue;
      }
      // The victim's frequency is its main_score (read by the sampler a moment ago).
      const bool admitted =
          admit(host.sketch().estimate(candidate->hash), main_frequency(*victim),
                [&host](std::uint32_t bound) { return host.random_below(bound); });
      const Candidate& loser = admitted ? *victim : *candidate;
      host.remove_entry(loser.hash, loser.slot, Counter::kEvictions);
    }
  }

  // Restarts the learning for a new capacity (set_max_size) or a switch to ADAPTIVE.
  void reset(std::size_t max_size, double main_share) {
    std::lock_guard<std::mutex> lock(mutex_);
    max_size_.store(max_size, std::memory_order_relaxed);
    count_every_hit_.store(max_size <= kCountEveryHitUpTo, std::memory_order_relaxed);
    const double share = 1.0 - main_share;
    sim_.reset(max_size, share);
    set_target(share * static_cast<double>(max_size));
  }

  // Forgets queued cells (after the window was folded into main).
  void restart_cursor() noexcept { ring_.clear(); }

  // After the cache removed every entry (Cache::clear()): if no window entry is left, every
  // queued cell is stale, so the ring forgets them and gives their pages back (memory follows
  // the entries down). A window entry inserted meanwhile keeps them.
  void on_cleared() noexcept {
    if (window_count_.load(std::memory_order_relaxed) == 0) ring_.clear();
  }

  [[nodiscard]] std::size_t memory_bytes() const noexcept {
    return ring_.memory_bytes() + sim_.memory_bytes() - sizeof(sim_) +
           sizeof(*this);  // sim_ is inside *this
  }

 private:
  // The window target, at least 1 entry (a newcomer always has a window place) and at most
  // the cache, and at most half the ring (which bounds it after set_max_size grew the cache).
  void set_target(double entries) noexcept {
    double top = static_cast<double>(max_size_.load(std::memory_order_relaxed));
    if (const std::size_t cells = ring_.cells(); cells != 0) {
      top = std::min(top, static_cast<double>(cells) / 2);
    }
    const double clamped = std::clamp(entries, 1.0, std::max(1.0, top));
    window_target_.store(static_cast<std::int64_t>(clamped), std::memory_order_relaxed);
  }

  // Cells: (slot + 1) << 32 | the low 32 bits of the queue tick (never 0).
  void append(std::uint32_t slot, std::uint64_t tick) noexcept {
    ring_.append((std::uint64_t{slot + 1} << 32) | static_cast<std::uint32_t>(tick));
  }

  std::mutex mutex_;  // activate() and reset() (admin paths); never on get/put
  WindowRing ring_;
  alignas(64) std::atomic<std::int64_t> window_count_{0};
  std::atomic<std::int64_t> window_target_{0};
  std::atomic<std::size_t> max_size_{0};
  std::atomic<bool> count_every_hit_{true};
  WindowSim sim_;
};

}  // namespace cuckoocache
