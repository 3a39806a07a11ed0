// MiniCacheSet: several miniature W-TinyLFU caches of keys over one shared key index.
//
// WindowSim (policies/window_sim.h) replays a sample of a cache's lookups through one
// miniature cache per candidate window share. Seven separate caches, each with its own hash
// map, cost seven hash lookups and seven allocations per simulated miss; this set pays one.
// Every key resident in at least one miniature has one *entry* (an id below n * capacity + 1);
// each miniature links its entries in two intrusive LRU lists (window, main) through its own
// array of 16-bit links indexed by entry id, and an entry's bit masks say which miniatures hold
// it and in which region. One open-addressing index maps a key's hash to its entry. A lookup
// is one index probe plus, per miniature, a move to the front of a list (hit) or an insert
// that may run one window-versus-main duel (miss).
//
// Each miniature behaves exactly as a textbook W-TinyLFU (Einziger, Friedman & Manes, 2017):
// an LRU window of `window` entries in front of an LRU main region; when the window overflows,
// its LRU entry joins the main region if there is room, and otherwise duels the main region's
// LRU victim: the candidate is admitted (and the victim dropped) only if the frequency sketch
// counts it strictly more often. window == capacity makes it plain LRU; window == 0 sends every
// newcomer straight to the duel. tests/support/mini_wtinylfu.h is the one-cache reference
// model, and tests/policies/mini_cache_set_test.cpp checks this set hit for hit against it.
//
// Sketch estimates are memoised per lookup (the sketch does not change during one), since the
// miniatures often duel the same entries. Not thread-safe: WindowSim serialises access.
#pragma once

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <vector>

#include "../engine/frequency_sketch.h"

namespace cuckoocache {

class MiniCacheSet {
 public:
  static constexpr std::size_t kMaxMinis = 8;  // miniatures per set (one bit each in a mask)

  // One miniature per element of `windows` (each at most `capacity`), all of `capacity` keys.
  // capacity * windows.size() must stay below 65,535 (16-bit links).
  MiniCacheSet(std::size_t capacity, std::span<const std::size_t> windows)
      : capacity_(capacity),
        minis_(windows.size()),
        entries_(capacity * windows.size() + 1),
        index_mask_(std::bit_ceil(2 * entries_) - 1) {
    if (minis_ == 0 || minis_ > kMaxMinis || capacity == 0 || entries_ + 2 >= kNone) {
      throw std::invalid_argument("MiniCacheSet: 1..8 miniatures of 1..65534/n keys");
    }
    const std::size_t stride = entries_ + 2;  // two sentinels per miniature
    links_.resize(minis_ * stride);
    for (std::size_t i = 0; i < minis_; ++i) {
      Mini& m = mini_[i];
      m.links = &links_[i * stride];
      m.window = std::min(windows[i], capacity);
      for (std::uint16_t head : {WindowHead(), MainHead()}) m.links[head] = {head, head};
    }
    hash_.resize(entries_);
    member_.resize(entries_);
    in_window_.resize(entries_);
    memo_stamp_.resize(entries_);
    memo_value_.resize(entries_);
    index_.assign(index_mask_ + 1, kNone);
    free_.reserve(entries_);
    for (std::size_t e = entries_; e-- > 0;) free_.push_back(static_cast<std::uint16_t>(e));
  }

  [[nodiscard]] std::size_t size() const noexcept { return minis_; }

  // Simulates a lookup of `hash` in every miniature (a miss inserts it there). Returns a mask
  // with bit i set when miniature i hit.
  std::uint32_t access(std::uint64_t hash, const FrequencySketch& sketch) {
    if (++stamp_ == 0) {  // the memo stamps wrapped: forget every memoised estimate
      std::fill(memo_stamp_.begin(), memo_stamp_.end(), 0);
      stamp_ = 1;
    }
    std::size_t pos = Find(hash);
    std::uint16_t e = index_[pos];
    if (e == kNone) {
      e = free_.back();
      free_.pop_back();
      index_[pos] = e;
      hash_[e] = hash;
      member_[e] = 0;
      in_window_[e] = 0;
    }
    const std::uint32_t hits = member_[e];
    for (std::size_t i = 0; i < minis_; ++i) {
      const auto bit = static_cast<std::uint8_t>(1u << i);
      Mini& m = mini_[i];
      if ((hits & bit) != 0) {
        const std::uint16_t head = (in_window_[e] & bit) != 0 ? WindowHead() : MainHead();
        if (m.links[head].next != e) {  // a hot key is often at the front already
          Unlink(m, e);
          PushFront(m, head, e);
        }
      } else {
        Insert(m, bit, e, sketch);
      }
    }
    if (member_[e] == 0) Release(e);  // every miniature turned the newcomer away
    return hits;
  }

  // Keys held by miniature i.
  [[nodiscard]] std::size_t size_of(std::size_t i) const noexcept { return mini_[i].size; }

  // Heap bytes of the set.
  [[nodiscard]] std::size_t memory_bytes() const noexcept {
    // Per entry: hash, member and window masks, memo stamp and value.
    return links_.size() * sizeof(Link) + entries_ * (sizeof(std::uint64_t) + 2 + 4 + 1) +
           index_.size() * sizeof(std::uint16_t) + free_.capacity() * sizeof(std::uint16_t);
  }

 private:
  static constexpr std::uint16_t kNone = 0xFFFF;
  struct Link {
    std::uint16_t prev;
    std::uint16_t next;
  };
  struct Mini {
    Link* links = nullptr;
    std::size_t window = 0;
    std::size_t size = 0;
    std::size_t window_size = 0;
  };

  [[nodiscard]] std::uint16_t WindowHead() const noexcept {
    return static_cast<std::uint16_t>(entries_);
  }
  [[nodiscard]] std::uint16_t MainHead() const noexcept {
    return static_cast<std::uint16_t>(entries_ + 1);
  }

  // The index position of `hash`, or the empty position where it would go (linear probing;
  // the callers' hashes are already mixed, so their low bits are uniform).
  [[nodiscard]] std::size_t Find(std::uint64_t hash) const noexcept {
    for (std::size_t pos = hash & index_mask_;; pos = (pos + 1) & index_mask_) {
      const std::uint16_t e = index_[pos];
      if (e == kNone || hash_[e] == hash) return pos;
    }
  }

  // Frees entry e (in no miniature any more): removes it from the index by backward shift.
  void Release(std::uint16_t e) {
    std::size_t hole = Find(hash_[e]);
    for (std::size_t pos = (hole + 1) & index_mask_;; pos = (pos + 1) & index_mask_) {
      const std::uint16_t other = index_[pos];
      if (other == kNone) break;
      const std::size_t home = hash_[other] & index_mask_;
      // `other` may move into the hole unless its home lies cyclically in (hole, pos].
      if (((pos - home) & index_mask_) >= ((pos - hole) & index_mask_)) {
        index_[hole] = other;
        hole = pos;
      }
    }
    index_[hole] = kNone;
    free_.push_back(e);
  }

  void Unlink(Mini& m, std::uint16_t e) noexcept {
    const Link l = m.links[e];
    m.links[l.prev].next = l.next;
    m.links[l.next].prev = l.prev;
  }

  void PushFront(Mini& m, std::uint16_t head, std::uint16_t e) noexcept {
    const std::uint16_t first = m.links[head].next;
    m.links[e] = {head, first};
    m.links[first].prev = e;
    m.links[head].next = e;
  }

  [[nodiscard]] unsigned Estimate(std::uint16_t e, const FrequencySketch& sketch) {
    if (memo_stamp_[e] != stamp_) {
      memo_stamp_[e] = stamp_;
      memo_value_[e] = static_cast<std::uint8_t>(sketch.estimate(hash_[e]));
    }
    return memo_value_[e];
  }

  // Drops e (already unlinked) from miniature m. The entry itself is released by the caller
  // (access) when it is the key being looked up, else here once no miniature holds it.
  void Drop(Mini& m, std::uint8_t bit, std::uint16_t e, std::uint16_t current) {
    member_[e] = static_cast<std::uint8_t>(member_[e] & ~bit);
    --m.size;
    if (member_[e] == 0 && e != current) Release(e);
  }

  // A miss of e in miniature m: e enters the window; window overflow joins main or duels.
  void Insert(Mini& m, std::uint8_t bit, std::uint16_t e, const FrequencySketch& sketch) {
    PushFront(m, WindowHead(), e);
    member_[e] = static_cast<std::uint8_t>(member_[e] | bit);
    in_window_[e] = static_cast<std::uint8_t>(in_window_[e] | bit);
    ++m.size;
    ++m.window_size;
    while (m.window_size > m.window) {
      const std::uint16_t cand = m.links[WindowHead()].prev;
      Unlink(m, cand);
      --m.window_size;
      in_window_[cand] = static_cast<std::uint8_t>(in_window_[cand] & ~bit);
      if (m.size <= capacity_) {
        PushFront(m, MainHead(), cand);
        continue;
      }
      const std::uint16_t victim = m.links[MainHead()].prev;
      if (victim == MainHead() || Estimate(cand, sketch) <= Estimate(victim, sketch)) {
        Drop(m, bit, cand, e);
      } else {
        Unlink(m, victim);
        Drop(m, bit, victim, e);
        PushFront(m, MainHead(), cand);
      }
    }
    if (m.size > capacity_) {  // the window holds everything (window == capacity)
      std::uint16_t victim = m.links[MainHead()].prev;
      if (victim == MainHead()) {
        victim = m.links[WindowHead()].prev;
        --m.window_size;
        in_window_[victim] = static_cast<std::uint8_t>(in_window_[victim] & ~bit);
      }
      Unlink(m, victim);
      Drop(m, bit, victim, e);
    }
  }

  std::size_t capacity_;
  std::size_t minis_;
  std::size_t entries_;
  std::size_t index_mask_;
  Mini mini_[kMaxMinis];
  std::vector<Link> links_;                // minis_ arrays of entries_ + 2 links
  std::vector<std::uint64_t> hash_;        // per entry: its key's hash
  std::vector<std::uint8_t> member_;       // per entry: bit i = held by miniature i
  std::vector<std::uint8_t> in_window_;    // per entry: bit i = in miniature i's window
  std::vector<std::uint32_t> memo_stamp_;  // per entry: the lookup its memo_value_ is from
  std::vector<std::uint8_t> memo_value_;   // per entry: memoised sketch estimate
  std::vector<std::uint16_t> index_;       // open addressing: entry id or kNone
  std::vector<std::uint16_t> free_;        // free entry ids
  std::uint32_t stamp_ = 0;
};

}  // namespace cuckoocache
