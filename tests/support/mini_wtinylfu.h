// MiniWTinyLfu: an exact, single-threaded W-TinyLFU cache of keys only: the reference model
// for one miniature of policies/mini_cache_set.h (which WindowSim runs, several over one shared
// index, to learn which window share ADAPTIVE should run). It is a textbook W-TinyLFU
// (Einziger, Friedman & Manes, 2017): an LRU window of `window` entries in front of an LRU
// main region; when the window overflows, its LRU entry joins the main region
// if there is room, and otherwise duels the main region's LRU victim: the candidate is
// admitted (and the victim dropped) only if the frequency sketch counts it strictly more often.
// window == capacity makes it plain LRU; window == 0 sends every newcomer straight to the duel.
// Nodes live in one vector linked by index (no allocation per access once warm); a hash map
// finds a key's node. Not thread-safe.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <unordered_map>
#include <vector>

#include "engine/frequency_sketch.h"

namespace cuckoocache {

class MiniWTinyLfu {
 public:
  MiniWTinyLfu(std::size_t capacity, std::size_t window) : capacity_(capacity), window_(window) {
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

}  // namespace cuckoocache
