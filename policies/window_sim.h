// WindowSim: chooses ADAPTIVE's window size by simulating small caches (Caffeine's "MiniSim").
//
// ADAPTIVE (policies/adaptive.h) is W-TinyLFU: a recency window in front of a frequency-
// filtered main region. The best window share depends on the workload: about 1% when
// frequency predicts reuse (Zipf, loops larger than the cache, scans), close to 100% when
// recency does (a sweep back and forth, a working set that just fits). A hill climber that
// compares the real hit rate period to period moves too slowly and too noisily to find that
// within a few hundred requests. Instead, this replays a sample of the lookups through a few
// miniature W-TinyLFU caches, each with a fixed window share from kShares, and points the real
// window at the share whose miniature hit the most recently (Einziger, Eytan, Friedman & Manes,
// "Adaptive Software Cache Management", Middleware 2018).
//
// Sampling: a key is simulated when its mixed hash falls in the sampled fraction of the hash
// space (SHARDS, Waldspurger et al., FAST 2015): each miniature has capacity
// max_size * rate, and a sampled key sees every one of its lookups, so the miniatures' hit
// ratios estimate the full-size ones. rate is 1 up to kSimCapacity entries, so small caches are
// simulated exactly. Miniature admission asks the real cache's frequency sketch.
//
// Decisions: every period (one miniature capacity of sampled lookups, at least 64), each
// miniature's hits in the period are folded into a decayed score (weight kDecay on the past)
// and the best score wins if it beats the current share's by kSwitch of the lookups behind the
// scores (hysteresis: every switch reshapes the real cache's regions, which costs hits).
//
// Guard: the miniatures model an exact W-TinyLFU, and the real cache samples its victims, so on
// some workloads (a sweep back and forth, where only an exact LRU order in the main region
// keeps the right keys) a small window is much worse in the real cache than its miniature
// predicts. The miniature with a 100% window is plain LRU, which the real cache reproduces
// closely. So when the real cache hit less than that miniature in a period (by more than
// kGuard of the period's lookups) while running a smaller window, every smaller share is
// barred for a number of periods that grows 4x at each such miss (up to kMaxBackoff) and the
// window goes to 100%. This makes "never far behind LRU" a measured property rather than a
// hope.
//
// The miniatures are one MiniCacheSet (policies/mini_cache_set.h): one key index shared by all
// of them, so a simulated lookup costs one hash probe plus a list move per miniature.
//
// Concurrency: the miniatures are plain single-threaded structures behind a busy flag that the
// lookup path only tries: a sampled lookup that finds it busy is skipped (a lost sample, never
// a wait), and it reads the flag before writing it, so threads that skip do not bounce its
// cache line. Only reset() (set_max_size, a policy switch) waits for it. Unsampled lookups
// touch nothing but one comparison on the hash.
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "../engine/frequency_sketch.h"
#include "mini_cache_set.h"

namespace cuckoocache {

class WindowSim {
 public:
  // Window shares simulated, as a fraction of the cache.
  static constexpr std::array<double, 7> kShares = {0.01, 0.05, 0.15, 0.3, 0.5, 0.75, 1.0};
  static constexpr std::size_t kSimCapacity = 1024;  // miniature size cap (and period)
  static constexpr double kDecay = 0.9;              // weight of the past in a share's score
  static constexpr double kGuard = 0.01;             // of a period's lookups
  static constexpr double kSwitch = 0.01;            // of the lookups behind a score
  static constexpr std::size_t kMaxBackoff = 64;     // periods

  // `initial_share`: the share in force until the first decision.
  WindowSim(std::size_t max_size, double initial_share) { reset(max_size, initial_share); }

  void reset(std::size_t max_size, double initial_share) {
    std::lock_guard<BusyFlag> lock(busy_);
    const std::size_t capacity = std::min(max_size, kSimCapacity);
    // sampled when (hash >> 32) < threshold_: rate = capacity / max_size
    threshold_.store(capacity == max_size
                         ? (std::uint64_t{1} << 32)
                         : static_cast<std::uint64_t>(static_cast<double>(std::uint64_t{1} << 32) *
                                                      static_cast<double>(capacity) /
                                                      static_cast<double>(max_size)),
                     std::memory_order_relaxed);
    capacity_ = capacity;
    minis_.reset();
    period_ = std::max<std::size_t>(capacity, 64);
    seen_ = 0;
    hits_.fill(0);
    scores_.fill(0);
    penalty_.fill(0);
    backoff_ = 0;
    real_hits_ = 0;
    share_ = initial_share;
  }

  [[nodiscard]] bool sampled(std::uint64_t hash) const noexcept {
    return (hash >> 32) < threshold_.load(std::memory_order_relaxed);
  }

  // Feeds one lookup of `hash`; `real_hit` is whether the real cache hit. Returns the window
  // share to use when this lookup ended a period, nullopt otherwise. Never waits: a lookup
  // that finds the simulation busy (another thread feeding it) is not simulated.
  [[nodiscard]] std::optional<double> record(std::uint64_t hash, bool real_hit,
                                             const FrequencySketch& sketch) {
    if (!sampled(hash)) return std::nullopt;
    return record_sampled(hash, real_hit, sketch);
  }

  // Bytes held by the miniatures (about 7 x 40 bytes per simulated entry once used).
  [[nodiscard]] std::size_t memory_bytes() const noexcept {
    return (minis_ ? minis_->memory_bytes() : 0) + sizeof(*this);
  }

 private:
  // A try-lock that a failed try does not write: lookups skip while it is held.
  class BusyFlag {
   public:
    bool try_lock() noexcept {
      return !busy_.load(std::memory_order_relaxed) &&
             !busy_.exchange(true, std::memory_order_acquire);
    }
    void lock() noexcept {  // admin paths only (reset)
      while (!try_lock()) std::this_thread::yield();
    }
    void unlock() noexcept { busy_.store(false, std::memory_order_release); }

   private:
    std::atomic<bool> busy_{false};
  };

  std::optional<double> record_sampled(std::uint64_t hash, bool real_hit,
                                       const FrequencySketch& sketch) {
    std::unique_lock<BusyFlag> lock(busy_, std::try_to_lock);
    if (!lock.owns_lock()) return std::nullopt;
    if (!minis_) build();  // first use: caches that never run ADAPTIVE allocate nothing
    const std::uint32_t hit_mask = minis_->access(hash, sketch);
    for (std::size_t i = 0; i < kShares.size(); ++i) hits_[i] += (hit_mask >> i) & 1u;
    real_hits_ += real_hit;
    if (++seen_ < period_) return std::nullopt;
    const std::size_t current = current_index();
    constexpr std::size_t kLruIndex = kShares.size() - 1;
    for (auto& p : penalty_) p = p > 0 ? p - 1 : 0;
    // Beyond kGuard of the lookups and two standard deviations of the LRU miniature's hit
    // count (Poisson), so that noise in a short period does not trip the guard.
    const double margin = kGuard * static_cast<double>(period_) +
                          2.0 * std::sqrt(static_cast<double>(hits_[kLruIndex]));
    const bool behind_lru =
        static_cast<double>(real_hits_) + margin < static_cast<double>(hits_[kLruIndex]);
    if (current != kLruIndex && behind_lru) {
      // The real cache did worse than plain LRU would have at this share: distrust it.
      backoff_ = std::min<std::size_t>(4 * backoff_ + 2, kMaxBackoff);
      for (std::size_t i = 0; i < kLruIndex; ++i) penalty_[i] = backoff_;
    }
    real_hits_ = 0;
    for (std::size_t i = 0; i < kShares.size(); ++i) {
      scores_[i] = kDecay * scores_[i] + static_cast<double>(hits_[i]);
      hits_[i] = 0;
    }
    std::size_t best = penalty_[current] == 0 ? current : kLruIndex;
    // Hysteresis: a share replaces the current one only if it scored more by kSwitch of the
    // lookups the scores summarise; each switch reshapes the real cache's regions.
    const double need = kSwitch * static_cast<double>(period_) / (1 - kDecay);
    for (std::size_t i = 0; i < kShares.size(); ++i) {
      if (penalty_[i] == 0 && scores_[i] > scores_[best] + (best == current ? need : 0)) best = i;
    }
    seen_ = 0;
    share_ = kShares[best];
    return share_;
  }

  void build() {
    std::array<std::size_t, kShares.size()> windows{};
    for (std::size_t i = 0; i < kShares.size(); ++i) {
      windows[i] = static_cast<std::size_t>(kShares[i] * static_cast<double>(capacity_) + 0.5);
    }
    minis_ = std::make_unique<MiniCacheSet>(capacity_, windows);
  }

  [[nodiscard]] std::size_t current_index() const noexcept {
    std::size_t best = 0;
    for (std::size_t i = 1; i < kShares.size(); ++i) {
      if (std::abs(kShares[i] - share_) < std::abs(kShares[best] - share_)) best = i;
    }
    return best;
  }

  // Read by every lookup without the busy flag: kept off the flag's cache line.
  alignas(64) std::atomic<std::uint64_t> threshold_{0};
  alignas(64) BusyFlag busy_;
  std::size_t capacity_ = 0;
  std::unique_ptr<MiniCacheSet> minis_;
  std::size_t period_ = 0;
  std::size_t seen_ = 0;
  std::array<std::size_t, kShares.size()> hits_{};
  std::array<double, kShares.size()> scores_{};
  std::array<std::size_t, kShares.size()> penalty_{};
  std::size_t backoff_ = 0;
  std::size_t real_hits_ = 0;
  double share_ = 0;
};

}  // namespace cuckoocache
