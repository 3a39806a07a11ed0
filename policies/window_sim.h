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
// Decisions: every period (kSimCapacity sampled lookups, at least ~one miniature capacity),
// each miniature's hits in the period are folded into a decayed score (weight kDecay on the
// past) and the best score wins; ties go to the current choice, so the choice only moves on
// evidence.
//
// Concurrency: the miniatures are plain single-threaded structures behind a mutex that the
// lookup path only try-locks: a sampled lookup that finds it busy is skipped (a lost sample,
// never a wait). Unsampled lookups touch nothing but one comparison on the hash.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <vector>

#include "engine/frequency_sketch.h"

namespace cuckoocache {

// One miniature W-TinyLFU cache: an LRU window of `window` entries in front of an LRU main
// region; a window overflow duels the main LRU victim by sketch frequency when full.
class MiniWTinyLfu {
 public:
  MiniWTinyLfu(std::size_t capacity, std::size_t window)
      : capacity_(capacity), window_(window) {
    nodes_.reserve(capacity + 2);
    index_.reserve(2 * capacity + 2);
    for (Region r : {kWindowRegion, kMainRegion}) {
      heads_[r] = new_node(0);  // sentinels
      nodes_[heads_[r]].prev = nodes_[heads_[r]].next = heads_[r];
    }
  }

  // Simulates a lookup of `hash` (a miss inserts it); returns whether it hit.
  bool access(std::uint64_t hash, const FrequencySketch& sketch) {
    if (auto it = index_.find(hash); it != index_.end()) {
      const std::uint32_t n = it->second;
      unlink(n);
      push_front(nodes_[n].region, n);
      return true;
    }
    const std::uint32_t n = new_node(hash);
    index_.emplace(hash, n);
    push_front(kWindowRegion, n);
    ++size_;
    while (sizes_[kWindowRegion] > window_) {
      const std::uint32_t cand = nodes_[heads_[kWindowRegion]].prev;
      unlink(cand);
      if (size_ <= capacity_) {
        push_front(kMainRegion, cand);
        continue;
      }
      const std::uint32_t victim = nodes_[heads_[kMainRegion]].prev;
      if (victim == heads_[kMainRegion] ||
          sketch.estimate(nodes_[cand].hash) <= sketch.estimate(nodes_[victim].hash)) {
        drop(cand);
      } else {
        unlink(victim);
        drop(victim);
        push_front(kMainRegion, cand);
      }
    }
    if (size_ > capacity_) {  // the window holds everything (window == capacity)
      const std::uint32_t victim = nodes_[heads_[kMainRegion]].prev != heads_[kMainRegion]
                                       ? nodes_[heads_[kMainRegion]].prev
                                       : nodes_[heads_[kWindowRegion]].prev;
      unlink(victim);
      drop(victim);
    }
    return false;
  }

  [[nodiscard]] std::size_t size() const noexcept { return size_; }

 private:
  enum Region : std::uint8_t { kWindowRegion = 0, kMainRegion = 1 };
  struct Node {
    std::uint64_t hash;
    std::uint32_t prev = 0;
    std::uint32_t next = 0;
    Region region = kWindowRegion;
  };

  std::uint32_t new_node(std::uint64_t hash) {
    if (!free_.empty()) {
      const std::uint32_t n = free_.back();
      free_.pop_back();
      nodes_[n] = Node{hash};
      return n;
    }
    nodes_.push_back(Node{hash});
    return static_cast<std::uint32_t>(nodes_.size() - 1);
  }
  void unlink(std::uint32_t n) {
    Node& node = nodes_[n];
    nodes_[node.prev].next = node.next;
    nodes_[node.next].prev = node.prev;
    --sizes_[node.region];
  }
  void push_front(Region r, std::uint32_t n) {
    const std::uint32_t head = heads_[r];
    Node& node = nodes_[n];
    node.region = r;
    node.prev = head;
    node.next = nodes_[head].next;
    nodes_[node.next].prev = n;
    nodes_[head].next = n;
    ++sizes_[r];
  }
  void drop(std::uint32_t n) {  // n is already unlinked
    index_.erase(nodes_[n].hash);
    free_.push_back(n);
    --size_;
  }

  std::size_t capacity_;
  std::size_t window_;
  std::size_t size_ = 0;
  std::array<std::size_t, 2> sizes_{};
  std::array<std::uint32_t, 2> heads_{};
  std::vector<Node> nodes_;
  std::vector<std::uint32_t> free_;
  std::unordered_map<std::uint64_t, std::uint32_t> index_;
};

class WindowSim {
 public:
  // Window shares simulated, as a fraction of the cache.
  static constexpr std::array<double, 7> kShares = {0.01, 0.05, 0.15, 0.3, 0.5, 0.75, 1.0};
  static constexpr std::size_t kSimCapacity = 1024;  // miniature size cap (and period)
  static constexpr double kDecay = 0.75;  // weight of the past in a share's score
  static constexpr double kGuard = 0.01;  // of a period's lookups

  // `initial_share`: the share in force until the first decision.
  WindowSim(std::size_t max_size, double initial_share) { reset(max_size, initial_share); }

  void reset(std::size_t max_size, double initial_share) {
    std::lock_guard<std::mutex> lock(mutex_);
    const std::size_t capacity = std::min(max_size, kSimCapacity);
    // sampled when (hash >> 32) < threshold_: rate = capacity / max_size
    threshold_ = capacity == max_size
                     ? (std::uint64_t{1} << 32)
                     : static_cast<std::uint64_t>(static_cast<double>(std::uint64_t{1} << 32) *
                                                  static_cast<double>(capacity) /
                                                  static_cast<double>(max_size));
    capacity_ = capacity;
    minis_.clear();
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
    return (hash >> 32) < threshold_;
  }

  // Feeds one lookup of `hash`; `real_hit` is whether the real cache hit. Returns the window
  // share to use when this lookup ended a period, nullopt otherwise. Never waits: a lookup
  // that finds the simulation busy (another thread feeding it) is not simulated.
  [[nodiscard]] std::optional<double> record(std::uint64_t hash, bool real_hit,
                                             const FrequencySketch& sketch) {
    if (!sampled(hash)) return std::nullopt;
    std::unique_lock<std::mutex> lock(mutex_, std::try_to_lock);
    if (!lock.owns_lock()) return std::nullopt;
    if (minis_.empty()) build();  // first use: caches that never run ADAPTIVE allocate nothing
    for (std::size_t i = 0; i < minis_.size(); ++i) hits_[i] += minis_[i].access(hash, sketch);
    real_hits_ += real_hit;
    if (++seen_ < period_) return std::nullopt;
    std::size_t current = current_index();
    constexpr std::size_t kLruIndex = kShares.size() - 1;
    for (auto& p : penalty_) p = p > 0 ? p - 1 : 0;
    if (kGuard > 0 && current != kLruIndex &&
        static_cast<double>(real_hits_) + kGuard * static_cast<double>(period_) <
            static_cast<double>(hits_[kLruIndex])) {
      // The real cache did worse than plain LRU would have at this share: distrust it.
      backoff_ = std::min<std::size_t>(2 * backoff_ + 1, 64);
      for (std::size_t i = 0; i < kLruIndex; ++i) penalty_[i] = backoff_;
    }
    real_hits_ = 0;
    for (std::size_t i = 0; i < minis_.size(); ++i) {
      scores_[i] = kDecay * scores_[i] + static_cast<double>(hits_[i]);
      hits_[i] = 0;
    }
    std::size_t best = penalty_[current] == 0 ? current : kLruIndex;
    for (std::size_t i = 0; i < minis_.size(); ++i) {
      if (penalty_[i] == 0 && scores_[i] > scores_[best]) best = i;
    }
    seen_ = 0;
    share_ = kShares[best];
    return share_;
  }

  // Bytes held by the miniatures (about 7 x 100 bytes per simulated entry once used).
  [[nodiscard]] std::size_t memory_bytes() const noexcept {
    return kShares.size() * capacity_ * 100 * (minis_.empty() ? 0 : 1) + sizeof(*this);
  }

 private:
  void build() {
    for (double share : kShares) {
      const auto window = static_cast<std::size_t>(share * static_cast<double>(capacity_) + 0.5);
      minis_.emplace_back(capacity_, window);
    }
  }

  [[nodiscard]] std::size_t current_index() const noexcept {
    std::size_t best = 0;
    for (std::size_t i = 1; i < kShares.size(); ++i) {
      if (std::abs(kShares[i] - share_) < std::abs(kShares[best] - share_)) best = i;
    }
    return best;
  }

  std::mutex mutex_;
  std::uint64_t threshold_ = 0;
  std::size_t capacity_ = 0;
  std::vector<MiniWTinyLfu> minis_;
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
