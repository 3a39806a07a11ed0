// Exact reference replacement policies for hit-ratio comparisons.
//
// These are the yardsticks the concurrent engine's sampled/approximate policies are measured
// against: single-threaded, deterministic, and simple enough to be obviously right. Each online
// model has `bool access(key)` which returns true on a hit and on a miss admits the key,
// evicting one resident first if the cache is full (a capacity of 0 never holds anything).
//
//   ExactLru  unordered_map<key, slot> + an intrusive doubly linked list threaded through a
//             slot array (indices, not pointers); O(1) per access.
//   ExactLfu  evicts the resident with the lowest access count. The count is in-cache only: it
//             starts at 1 on admission and is forgotten on eviction. Ties go to the least
//             recently used. O(1) per access with one LRU list per count ("frequency buckets"):
//             an entry enters bucket f at the access that makes its count f, which is also its
//             latest access, so the head of the lowest non-empty bucket is the LRU entry among
//             the least frequent. This is the variant that reproduces the reference table in
//             /work/shared/traces/README.md; FIFO tie-breaking, lowest-key tie-breaking and
//             counts remembered across evictions (perfect LFU) all miss at least one cell.
//   opt_hits  Belady's OPT (MIN) over a whole trace: on a miss with a full cache, evict the
//             resident whose next use is farthest in the future (never = infinitely far). The
//             missed key is always admitted (no bypass), again as in the reference table.
//             Keys are mapped to dense ids, next uses are precomputed in one backward pass, and
//             a max-heap of (next use, id) with lazy deletion picks victims: O(n log n).
//
// replay_hit_ratio() runs any online model over a trace and returns the hit ratio in percent.
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <queue>
#include <span>
#include <unordered_map>
#include <utility>
#include <vector>

namespace cuckoocache::perf {

// Hit ratio in percent; 0 for an empty trace.
[[nodiscard]] inline double hit_ratio_percent(std::size_t hits, std::size_t requests) noexcept {
  return requests == 0 ? 0.0 : 100.0 * static_cast<double>(hits) / static_cast<double>(requests);
}

template <typename Model>
concept OnlineCacheModel = requires(Model& m, std::uint64_t key) {
  { m.access(key) } -> std::convertible_to<bool>;
};

// Number of hits when `model` serves every request of `trace` in order.
template <OnlineCacheModel Model>
[[nodiscard]] std::size_t replay_hits(Model& model, std::span<const std::uint64_t> trace) {
  std::size_t hits = 0;
  for (const std::uint64_t key : trace) hits += model.access(key) ? 1 : 0;
  return hits;
}

// Hit ratio (percent) when `model` serves every request of `trace` in order.
template <OnlineCacheModel Model>
[[nodiscard]] double replay_hit_ratio(Model& model, std::span<const std::uint64_t> trace) {
  return hit_ratio_percent(replay_hits(model, trace), trace.size());
}

class ExactLru {
 public:
  explicit ExactLru(std::size_t capacity) : capacity_(capacity) {
    index_.reserve(capacity);
    nodes_.reserve(capacity);
  }

  bool access(std::uint64_t key) {
    if (capacity_ == 0) return false;
    if (const auto it = index_.find(key); it != index_.end()) {
      unlink(it->second);
      push_back(it->second);
      return true;
    }
    std::uint32_t slot;
    if (nodes_.size() < capacity_) {
      slot = static_cast<std::uint32_t>(nodes_.size());
      nodes_.push_back({key, kNil, kNil});
    } else {
      slot = head_;  // Least recently used.
      unlink(slot);
      index_.erase(nodes_[slot].key);
      nodes_[slot].key = key;
    }
    push_back(slot);
    index_.emplace(key, slot);
    return false;
  }

  [[nodiscard]] bool contains(std::uint64_t key) const { return index_.contains(key); }
  [[nodiscard]] std::size_t size() const noexcept { return index_.size(); }
  [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }

 private:
  static constexpr std::uint32_t kNil = std::numeric_limits<std::uint32_t>::max();
  struct Node {
    std::uint64_t key;
    std::uint32_t prev;
    std::uint32_t next;
  };

  void unlink(std::uint32_t i) {
    Node& n = nodes_[i];
    (n.prev == kNil ? head_ : nodes_[n.prev].next) = n.next;
    (n.next == kNil ? tail_ : nodes_[n.next].prev) = n.prev;
  }
  void push_back(std::uint32_t i) {
    nodes_[i].prev = tail_;
    nodes_[i].next = kNil;
    (tail_ == kNil ? head_ : nodes_[tail_].next) = i;
    tail_ = i;
  }

  std::size_t capacity_;
  std::unordered_map<std::uint64_t, std::uint32_t> index_;
  std::vector<Node> nodes_;
  std::uint32_t head_ = kNil;  // LRU end.
  std::uint32_t tail_ = kNil;  // MRU end.
};

class ExactLfu {
 public:
  explicit ExactLfu(std::size_t capacity) : capacity_(capacity) {
    index_.reserve(capacity);
    nodes_.reserve(capacity);
    buckets_.resize(2);
  }

  bool access(std::uint64_t key) {
    if (capacity_ == 0) return false;
    if (const auto it = index_.find(key); it != index_.end()) {
      const std::uint32_t i = it->second;
      const std::uint64_t f = nodes_[i].freq;
      unlink(i);
      if (f == min_freq_ && buckets_[f].head == kNil) min_freq_ = f + 1;
      nodes_[i].freq = f + 1;
      push_back(i);
      return true;
    }
    std::uint32_t slot;
    if (nodes_.size() < capacity_) {
      slot = static_cast<std::uint32_t>(nodes_.size());
      nodes_.push_back({key, 1, kNil, kNil});
    } else {
      slot = buckets_[min_freq_].head;  // Least recently used among the least frequent.
      unlink(slot);
      index_.erase(nodes_[slot].key);
      nodes_[slot].key = key;
      nodes_[slot].freq = 1;
    }
    min_freq_ = 1;
    push_back(slot);
    index_.emplace(key, slot);
    return false;
  }

  [[nodiscard]] bool contains(std::uint64_t key) const { return index_.contains(key); }
  // In-cache access count of a resident key, 0 if not resident.
  [[nodiscard]] std::uint64_t frequency(std::uint64_t key) const {
    const auto it = index_.find(key);
    return it == index_.end() ? 0 : nodes_[it->second].freq;
  }
  [[nodiscard]] std::size_t size() const noexcept { return index_.size(); }
  [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }

 private:
  static constexpr std::uint32_t kNil = std::numeric_limits<std::uint32_t>::max();
  struct Node {
    std::uint64_t key;
    std::uint64_t freq;
    std::uint32_t prev;
    std::uint32_t next;
  };
  struct Bucket {
    std::uint32_t head = kNil;  // Least recently used with this count.
    std::uint32_t tail = kNil;
  };

  void unlink(std::uint32_t i) {
    Node& n = nodes_[i];
    Bucket& b = buckets_[n.freq];
    (n.prev == kNil ? b.head : nodes_[n.prev].next) = n.next;
    (n.next == kNil ? b.tail : nodes_[n.next].prev) = n.prev;
  }
  void push_back(std::uint32_t i) {
    Node& n = nodes_[i];
    if (n.freq >= buckets_.size()) buckets_.resize(n.freq + 1);
    Bucket& b = buckets_[n.freq];
    n.prev = b.tail;
    n.next = kNil;
    (b.tail == kNil ? b.head : nodes_[b.tail].next) = i;
    b.tail = i;
  }

  std::size_t capacity_;
  std::unordered_map<std::uint64_t, std::uint32_t> index_;
  std::vector<Node> nodes_;
  std::vector<Bucket> buckets_;  // Indexed by access count; grows to the highest count seen.
  std::uint64_t min_freq_ = 1;   // Lowest non-empty bucket while the cache is non-empty.
};

// Hits of Belady's OPT with `capacity` entries over the whole `trace` (cold start).
[[nodiscard]] inline std::size_t opt_hits(std::span<const std::uint64_t> trace,
                                          std::size_t capacity) {
  const std::size_t n = trace.size();
  if (capacity == 0 || n == 0) return 0;

  // Dense ids, then next use of each request in one backward pass.
  std::vector<std::uint32_t> ids(n);
  std::uint32_t distinct = 0;
  {
    std::unordered_map<std::uint64_t, std::uint32_t> dense;
    dense.reserve(n / 4 + 16);
    for (std::size_t i = 0; i < n; ++i) {
      const auto [it, inserted] = dense.try_emplace(trace[i], distinct);
      if (inserted) ++distinct;
      ids[i] = it->second;
    }
  }
  constexpr std::size_t kNever = std::numeric_limits<std::size_t>::max();
  std::vector<std::size_t> next_use(n);
  {
    std::vector<std::size_t> upcoming(distinct, kNever);
    for (std::size_t i = n; i-- > 0;) {
      next_use[i] = upcoming[ids[i]];
      upcoming[ids[i]] = i;
    }
  }

  // resident_next[id]: next use of a resident id, kNotResident otherwise. Heap entries whose
  // next use no longer matches are stale and skipped when they surface.
  constexpr std::size_t kNotResident = kNever - 1;
  std::vector<std::size_t> resident_next(distinct, kNotResident);
  using Entry = std::pair<std::size_t, std::uint32_t>;  // (next use, id); max-heap on next use.
  std::vector<Entry> storage;
  storage.reserve(n);
  std::priority_queue<Entry, std::vector<Entry>> heap({}, std::move(storage));
  std::size_t resident = 0;
  std::size_t hits = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint32_t id = ids[i];
    if (resident_next[id] != kNotResident) {
      ++hits;
    } else {
      if (resident == capacity) {
        while (resident_next[heap.top().second] != heap.top().first) heap.pop();
        resident_next[heap.top().second] = kNotResident;
        heap.pop();
      } else {
        ++resident;
      }
    }
    resident_next[id] = next_use[i];
    heap.emplace(next_use[i], id);
  }
  return hits;
}

// Hit ratio (percent) of Belady's OPT with `capacity` entries over the whole `trace`.
[[nodiscard]] inline double opt_hit_ratio(std::span<const std::uint64_t> trace,
                                          std::size_t capacity) {
  return hit_ratio_percent(opt_hits(trace, capacity), trace.size());
}

}  // namespace cuckoocache::perf
