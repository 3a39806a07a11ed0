// EntryMap: the concurrent hash table that owns the entries. The only file that includes
// libcuckoo.
//
// The libcuckoo table is keyed by the entry's 64-bit mixed hash, not by the user's key. Each
// table value is a Chain of every entry whose key mixes to that hash: almost always one entry
// stored inline, with an overflow vector allocated only on a genuine 64-bit collision. Two
// things follow:
//  - libcuckoo never sees equal keys, so "more than 8 keys with the same hash" cannot make its
//    inserts fail; a user Hash with few distinct values only makes chains long (slower, still
//    correct).
//  - A slot of the arena, which stores the mixed hash, leads straight back to its entry, so
//    eviction can remove an entry it found by sampling.
//
// Locking: every method below locks the (at most two) buckets of one hash with libcuckoo's
// spinlocks and runs the callback while holding them. No method takes every lock
// (libcuckoo's lock_table()): in libcuckoo 0.3.1 that reads the lock list without a lock
// while a growing insert may append to it (a data race, issue 13.22), so whole-table walks
// (clear, snapshot, traversal) go through the slot arena one hash at a time instead.
// Callbacks must be short and must not
// block, wait for another lock, or run code that might (in the Python binding: no Python
// code). Exceptions thrown by a callback propagate after the locks are released (libcuckoo
// holds them in RAII managers); the callback is responsible for leaving the chain consistent.
//
// Nothing is destroyed under a lock by this design: removals move the entry out of the chain
// into storage the caller owns (destroyed after the lock is released), and libcuckoo then
// destroys only the moved-from husk. Key and Value must be nothrow-move-constructible.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <libcuckoo/cuckoohash_map.hh>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>
#include <vector>

#include "page_allocator.h"

namespace cuckoocache {

template <class Key, class Value>
struct MapEntry {
  Key key;
  Value value;
  std::uint32_t slot;  // the entry's slot in the arena; slot and hash together name the entry
  // The insert tick last written to the slot's access_tick by a hit. Kept here, in the line
  // the lookup already holds, so that a hit touches the slot arena only when the tick has
  // moved since (see Cache::visit). Guarded by the bucket lock, like the rest of the entry.
  mutable std::uint32_t stamp = 0;
};

template <class Key, class Value>
class Chain {
 public:
  using Entry = MapEntry<Key, Value>;

  explicit Chain(Entry&& first) noexcept : head_(std::move(first)) {}

  // First entry whose key equals `key` under `eq`, or nullptr. `eq` may throw.
  template <class KeyEqual>
  [[nodiscard]] Entry* find(const Key& key, const KeyEqual& eq) {
    if (eq(head_.key, key)) return &head_;
    if (overflow_) {
      for (Entry& e : *overflow_) {
        if (eq(e.key, key)) return &e;
      }
    }
    return nullptr;
  }
  template <class KeyEqual>
  [[nodiscard]] const Entry* find(const Key& key, const KeyEqual& eq) const {
    return const_cast<Chain*>(this)->find(key, eq);
  }

  [[nodiscard]] Entry* find_slot(std::uint32_t slot) noexcept {
    if (head_.slot == slot) return &head_;
    if (overflow_) {
      for (Entry& e : *overflow_) {
        if (e.slot == slot) return &e;
      }
    }
    return nullptr;
  }
  [[nodiscard]] const Entry* find_slot(std::uint32_t slot) const noexcept {
    return const_cast<Chain*>(this)->find_slot(slot);
  }

  // May throw std::bad_alloc, leaving the chain unchanged.
  void push(Entry&& e) {
    if (!overflow_) overflow_ = std::make_unique<std::vector<Entry>>();
    overflow_->push_back(std::move(e));
  }

  // Moves `*e` (an entry of this chain) into `out`. Returns true if the chain is now empty, in
  // which case the caller must erase the whole chain from the table.
  bool remove(Entry* e, std::optional<Entry>& out) noexcept {
    out.emplace(std::move(*e));
    if (!overflow_ || overflow_->empty()) return true;
    Entry& last = overflow_->back();
    if (e != &last) {
      std::destroy_at(e);
      std::construct_at(e, std::move(last));
    }
    overflow_->pop_back();
    if (overflow_->empty()) overflow_.reset();
    return false;
  }

  [[nodiscard]] std::size_t entry_count() const noexcept {
    return 1 + (overflow_ ? overflow_->size() : 0);
  }

  template <class F>
  void for_each(F&& fn) const {
    fn(head_);
    if (overflow_) {
      for (const Entry& e : *overflow_) fn(e);
    }
  }

 private:
  Entry head_;
  std::unique_ptr<std::vector<Entry>> overflow_;
};

struct IdentityHash {
  [[nodiscard]] std::size_t operator()(std::uint64_t h) const noexcept {
    return static_cast<std::size_t>(h);
  }
};

template <class Key, class Value>
class EntryMap {
  static_assert(std::is_nothrow_move_constructible_v<Key>,
                "Key must be nothrow-move-constructible");
  static_assert(std::is_nothrow_move_constructible_v<Value>,
                "Value must be nothrow-move-constructible");

 public:
  using Entry = MapEntry<Key, Value>;
  using ChainType = Chain<Key, Value>;

  // Sized so that `planned_entries` fit without the table growing (growth takes every lock),
  // up to the size at which libcuckoo's lock array is complete (see initial_table_slots).
  explicit EntryMap(std::size_t planned_entries) : table_(initial_table_slots(planned_entries)) {}

  // Calls fn(const Chain&) under the bucket lock if some key has this hash.
  template <class F>
  bool find(std::uint64_t hash, F&& fn) const {
    return table_.find_fn(hash, std::forward<F>(fn));
  }

  // Calls fn(Chain&) under the bucket lock; if fn returns true the (empty) chain is erased.
  template <class F>
  bool modify(std::uint64_t hash, F&& fn) {
    return table_.erase_fn(hash, std::forward<F>(fn));
  }

  // If a chain exists for `hash`, calls on_existing(Chain&) under the lock (returning true
  // erases the chain). Otherwise stores a new chain holding `fresh` (moved from only then).
  // Returns true if a new chain was stored. May throw if the table must grow and cannot.
  template <class F>
  bool insert_or_modify(std::uint64_t hash, F&& on_existing, Entry& fresh) {
    return table_.uprase_fn(hash, std::forward<F>(on_existing), std::move(fresh));
  }

  [[nodiscard]] std::size_t bucket_bytes() const {
    return table_.bucket_count() * table_.slot_per_bucket() *
               (sizeof(std::uint64_t) + sizeof(ChainType) + 2) +
           lock_bytes();
  }

 private:
  // Cuckoo hashing with 4-slot buckets fills to ~95% before inserts start failing; keep the
  // planned load under about 80% so the table does not grow at capacity.
  static std::size_t table_size_for(std::size_t n) { return n + n / 4 + 16; }

  // libcuckoo sizes its lock array at construction (one lock per bucket, at most 2^16) and,
  // when a table with fewer than 2^16 locks doubles, appends a bigger array to a std::list
  // that every operation reads without synchronization: a data race (issue 13.22) that no
  // caller-side lock short of a global one can prevent. So a table never doubles while it has
  // fewer than 2^16 locks: it is sized for everything it is planned to hold, or, for plans
  // beyond 2^16 buckets' worth, starts at 2^16 buckets (about 13 MiB) and grows from there
  // (those doublings append nothing). The one exception left is a cache whose max_size is
  // raised above what it was built for while it holds few entries (docs/guarantees.md).
  static constexpr std::size_t kFullLockSlots = (std::size_t{1} << 16) * 4;
  static std::size_t initial_table_slots(std::size_t n) {
    return std::min(table_size_for(n), kFullLockSlots);
  }

  [[nodiscard]] std::size_t lock_bytes() const {
    return std::min<std::size_t>(table_.bucket_count(), std::size_t{1} << 16) * 64;
  }

  libcuckoo::cuckoohash_map<std::uint64_t, ChainType, IdentityHash, std::equal_to<std::uint64_t>,
                            HugePageAllocator<std::pair<const std::uint64_t, ChainType>>>
      table_;
};

}  // namespace cuckoocache
