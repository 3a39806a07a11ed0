// EntryMap: the concurrent hash table that owns the entries. The only file that includes
// libcuckoo.
//
// The map is keyed by the entry's 64-bit mixed hash, not by the user's key. Each table value is
// a Chain of every entry whose key mixes to that hash: almost always one entry stored inline,
// with an overflow vector allocated only on a genuine 64-bit collision (for the usual entry
// types the vector's pointer is overlaid on the inline entry, so a chain is one entry's bytes).
// Two things follow:
//  - libcuckoo never sees equal keys, so "more than 8 keys with the same hash" cannot make its
//    inserts fail; a user Hash with few distinct values only makes chains long (slower, still
//    correct).
//  - A slot of the arena, which stores the mixed hash, leads straight back to its entry, so
//    eviction can remove an entry it found by sampling.
//
// Shards. The map is S independent libcuckoo tables (S from 2 to 64, fixed at construction
// from the planned size; the high bits of the hash pick the shard, its low bits the bucket):
//  - Growth stalls. libcuckoo doubles a table by taking every one of its locks and, below
//    2^16 buckets, rehashing it inline; with S shards that stop-the-world step covers 1/S of
//    the entries and stalls only the keys of that shard (issue 13.25).
//  - Memory follows the entries. A shard is created on the first insert that needs it
//    (published with a CAS; a reader of an absent shard sees a miss) and starts small, so an
//    empty map costs S pointers; compact() (called by clear()) shrinks every table to fit.
//  - No lock-list race (issue 13.22). libcuckoo 0.3.1 appends to a table's lock list, which
//    every operation reads without synchronization, when a table with fewer than 2^16 locks
//    grows past its lock count. A shard is therefore built with the lock array of its planned
//    size (constructed at that size, then rehashed down: shrinking keeps the lock array, so
//    regrowing to it appends nothing), and its maximum hashpower is capped at that size. A
//    shard that outgrows its plan (max_size raised, or an unlucky spread) is replaced, under
//    all of its locks, by a table with a bigger lock array; the old table is emptied, marked
//    retired and kept until the map dies. A thread that raced the swap and still holds the
//    old table sees a miss there (every lookup that misses re-reads the shard pointer) or,
//    inserting, is refused by the retired flag inside the bucket lock and retries.
//  Tables with 2^16 locks never append, so they grow uncapped (libcuckoo then migrates lazily).
//
// Locking: every method below locks the (at most two) buckets of one hash with libcuckoo's
// spinlocks and runs the callback while holding them. Only shard growth, compact() and shard
// replacement take every lock of ONE shard. Whole-map walks (clear, snapshot, traversal) go
// through the slot arena one hash at a time. Callbacks must be short and must not block, wait
// for another lock, or run code that might (in the Python binding: no Python code). Exceptions
// thrown by a callback propagate after the locks are released (libcuckoo holds them in RAII
// managers); the callback is responsible for leaving the chain consistent.
//
// Nothing is destroyed under a lock by this design: removals move the entry out of the chain
// into storage the caller owns (destroyed after the lock is released), and libcuckoo then
// destroys only the moved-from husk. Key and Value must be nothrow-move-constructible.
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <libcuckoo/cuckoohash_map.hh>
#include <memory>
#include <mutex>
#include <new>
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
  // The entry's slot in the arena; slot and hash together name the entry. Never kNoSlot: the
  // compact Chain below marks its collision form with that value in this field.
  std::uint32_t slot;
  // The stamp block (the insert tick shifted right by log2(max_size / 256), see Cache::visit)
  // of the entry's last slot write by a hit, or Cache::kNoStamp for a new entry. Kept here, in
  // the line the lookup already holds, so that a hit touches the slot arena only when the block
  // has moved since. Guarded by the bucket lock, like the rest of the entry.
  mutable std::uint32_t stamp = 0;
};

// Whether Chain can keep its overflow list in the inline entry's bytes (CompactChain below):
// the entry must be standard-layout (so its slot field sits at a fixed offset) with room for a
// pointer before that field.
template <class E>
consteval bool compact_chain_fits() {
  if constexpr (std::is_standard_layout_v<E>) {
    return offsetof(E, slot) >= sizeof(void*) && alignof(E) >= alignof(void*);
  } else {
    return false;
  }
}

template <class Key, class Value, bool Compact = compact_chain_fits<MapEntry<Key, Value>>()>
class Chain;

// The compact chain (the common case: uint64 keys and values, the Python binding's entries):
// exactly one entry's bytes. One entry is stored inline. On a genuine 64-bit collision the
// same bytes instead hold a pointer to a vector of all the chain's entries, and the inline
// slot field holds kNoSlot, which no stored entry has (every entry owns an arena slot). So a
// table slot costs sizeof(Entry) (24 bytes for uint64/uint64) instead of Entry plus a pointer
// (32): 8 bytes less in every table slot, paid for by one compare in find().
template <class Key, class Value>
class Chain<Key, Value, true> {
 public:
  using Entry = MapEntry<Key, Value>;

  explicit Chain(Entry&& first) noexcept { std::construct_at(head(), std::move(first)); }

  // What EntryMap passes to libcuckoo for a new chain: the chain is built under the bucket
  // lock, so this is where an insert into a retired shard is refused (by throwing Retired,
  // before anything moved; libcuckoo's setKV leaves the slot empty).
  struct Retired {};
  struct Seed {
    Entry* fresh;
    const std::atomic<bool>* retired;
  };
  explicit Chain(Seed seed) {
    if (seed.retired->load(std::memory_order_relaxed)) throw Retired{};
    std::construct_at(head(), std::move(*seed.fresh));
  }

  // libcuckoo moves chains between table slots; the moved-from chain keeps nothing to free.
  Chain(Chain&& other) noexcept {
    if (other.single()) {
      std::construct_at(head(), std::move(*other.head()));
    } else {
      set_list(other.list());
      other.set_list(nullptr);
    }
  }
  Chain(const Chain&) = delete;
  Chain& operator=(const Chain&) = delete;
  Chain& operator=(Chain&&) = delete;
  ~Chain() {
    if (single()) {
      std::destroy_at(head());
    } else {
      std::unique_ptr<List> owner(list());
    }
  }

  // First entry whose key equals `key` under `eq`, or nullptr. `eq` may throw.
  template <class KeyEqual>
  [[nodiscard]] Entry* find(const Key& key, const KeyEqual& eq) {
    if (!single()) [[unlikely]] {
      return find_in_list(key, eq);
    }
    Entry* h = head();
    if (eq(h->key, key)) return h;
    return nullptr;
  }
  template <class KeyEqual>
  [[nodiscard]] const Entry* find(const Key& key, const KeyEqual& eq) const {
    return const_cast<Chain*>(this)->find(key, eq);
  }

  [[nodiscard]] Entry* find_slot(std::uint32_t slot) noexcept {
    if (single()) [[likely]] {
      return head()->slot == slot ? head() : nullptr;
    }
    for (Entry& e : *list()) {
      if (e.slot == slot) return &e;
    }
    return nullptr;
  }
  [[nodiscard]] const Entry* find_slot(std::uint32_t slot) const noexcept {
    return const_cast<Chain*>(this)->find_slot(slot);
  }

  // May throw std::bad_alloc, leaving the chain unchanged.
  void push(Entry&& e) {
    if (!single()) {
      list()->push_back(std::move(e));
      return;
    }
    auto fresh = std::make_unique<List>();
    fresh->reserve(2);  // the only step that may throw: nothing has moved yet
    fresh->push_back(std::move(*head()));
    fresh->push_back(std::move(e));
    std::destroy_at(head());
    set_list(fresh.release());
  }

  // Moves `*e` (an entry of this chain) into `out`. Returns true if the chain is now empty, in
  // which case the caller must erase the whole chain from the table.
  bool remove(Entry* e, std::optional<Entry>& out) noexcept {
    out.emplace(std::move(*e));
    if (single()) return true;
    List& entries = *list();
    Entry& last = entries.back();
    if (e != &last) {
      std::destroy_at(e);
      std::construct_at(e, std::move(last));
    }
    entries.pop_back();
    if (entries.size() == 1) {  // back to one inline entry
      std::unique_ptr<List> owner(list());
      std::construct_at(head(), std::move(entries.front()));
    }
    return false;
  }

  [[nodiscard]] std::size_t entry_count() const noexcept { return single() ? 1 : list()->size(); }

  template <class F>
  void for_each(F&& fn) const {
    if (single()) {
      fn(*head());
      return;
    }
    for (const Entry& e : *list()) fn(e);
  }

 private:
  using List = std::vector<Entry>;
  static constexpr std::uint32_t kListMarker = UINT32_MAX;  // kNoSlot (slot_arena.h)
  static constexpr std::size_t kSlotOffset = offsetof(Entry, slot);

  template <class KeyEqual>
  [[gnu::noinline, gnu::cold]] Entry* find_in_list(const Key& key, const KeyEqual& eq) {
    for (Entry& e : *list()) {
      if (eq(e.key, key)) return &e;
    }
    return nullptr;
  }
  [[nodiscard]] bool single() const noexcept {
    std::uint32_t slot = 0;
    std::memcpy(&slot, bytes_ + kSlotOffset, sizeof(slot));
    return slot != kListMarker;
  }
  [[nodiscard]] Entry* head() const noexcept {
    return std::launder(reinterpret_cast<Entry*>(const_cast<std::byte*>(bytes_)));
  }
  [[nodiscard]] List* list() const noexcept {
    List* l = nullptr;
    std::memcpy(&l, bytes_, sizeof(l));
    return l;
  }
  // Ends the inline entry's use of the bytes (the caller destroyed or moved it).
  void set_list(List* l) noexcept {
    std::memcpy(bytes_, &l, sizeof(l));
    std::memcpy(bytes_ + kSlotOffset, &kListMarker, sizeof(kListMarker));
  }

  alignas(Entry) std::byte bytes_[sizeof(Entry)];
};

// The general chain: the inline entry and a pointer to the overflow vector.
template <class Key, class Value>
class Chain<Key, Value, false> {
 public:
  using Entry = MapEntry<Key, Value>;

  explicit Chain(Entry&& first) noexcept : head_(std::move(first)) {}

  // What EntryMap passes to libcuckoo for a new chain: the chain is built under the bucket
  // lock, so this is where an insert into a retired shard is refused (by throwing Retired,
  // before anything moved; libcuckoo's setKV leaves the slot empty).
  struct Retired {};
  struct Seed {
    Entry* fresh;
    const std::atomic<bool>* retired;
  };
  explicit Chain(Seed seed) : head_(take(seed)) {}

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
  static Entry&& take(Seed seed) {
    if (seed.retired->load(std::memory_order_relaxed)) throw Retired{};
    return std::move(*seed.fresh);
  }

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

  static constexpr std::size_t kMaxShards = 64;
  // A shard is planned at 2^13 buckets (about 28k entries at 85% load; more buckets only when
  // 64 such shards are not enough): its native doublings (an inline rehash under all its locks
  // while it has fewer than 2^16 buckets) then move at most ~14k entries, about a millisecond.
  static constexpr unsigned kShardHp = 13;

  // Nothing is allocated for the tables until the first insert into a shard.
  explicit EntryMap(std::size_t planned_entries)
      : shard_count_(shard_count_for(planned_entries)),
        lock_hp_(lock_hp_for(planned_entries, shard_count_)) {}

  EntryMap(const EntryMap&) = delete;
  EntryMap& operator=(const EntryMap&) = delete;
  ~EntryMap() {
    for (std::size_t i = 0; i < shard_count_; ++i) {
      std::unique_ptr<Shard> owner(shards_[i].load(std::memory_order_relaxed));
    }
  }

  // Calls fn(const Chain&) under the bucket lock if some key has this hash.
  template <class F>
  bool find(std::uint64_t hash, F&& fn) const {
    const std::atomic<Shard*>& slot = shard_slot(hash);
    const Shard* s = slot.load(std::memory_order_acquire);
    while (s != nullptr) {
      if (s->table.find_fn(hash, fn)) return true;
      const Shard* again = slot.load(std::memory_order_acquire);
      if (again == s) return false;
      s = again;  // replaced meanwhile: the entry may have moved
    }
    return false;
  }

  // Calls fn(Chain&) under the bucket lock; if fn returns true the (empty) chain is erased.
  template <class F>
  bool modify(std::uint64_t hash, F&& fn) {
    std::atomic<Shard*>& slot = shard_slot(hash);
    Shard* s = slot.load(std::memory_order_acquire);
    while (s != nullptr) {
      if (s->table.erase_fn(hash, fn)) return true;
      Shard* again = slot.load(std::memory_order_acquire);
      if (again == s) return false;
      s = again;
    }
    return false;
  }

  // If a chain exists for `hash`, calls on_existing(Chain&) under the lock (returning true
  // erases the chain). Otherwise stores a new chain holding `fresh` (moved from only then).
  // Returns true if a new chain was stored. May throw std::bad_alloc (nothing changed).
  template <class F>
  bool insert_or_modify(std::uint64_t hash, F&& on_existing, Entry& fresh) {
    const std::size_t index = shard_index(hash);
    for (;;) {
      Shard* s = shards_[index].load(std::memory_order_acquire);
      if (s == nullptr) s = create_shard(index);
      try {
        return s->table.uprase_fn(hash, on_existing, typename ChainType::Seed{&fresh, &s->retired});
      } catch (const typename ChainType::Retired&) {
        // replaced meanwhile: retry on the new table
      } catch (const libcuckoo::maximum_hashpower_exceeded&) {
        replace_shard(index, s);
      }
    }
  }

  // Plans for `entries` from now on (set_max_size): shards created later get lock arrays for
  // it, and existing shards are replaced when they outgrow their own plan.
  void plan(std::size_t entries) {
    const unsigned hp = lock_hp_for(entries, shard_count_);
    unsigned cur = lock_hp_.load(std::memory_order_relaxed);
    while (cur < hp && !lock_hp_.compare_exchange_weak(cur, hp, std::memory_order_relaxed)) {
    }
  }

  // Shrinks every shard's table to fit its live entries (taking every lock of one shard at a
  // time). The lock arrays stay (libcuckoo never shrinks them), so the shards can regrow to
  // their plan without appending locks. Not for hot paths.
  void compact() {
    std::lock_guard<std::mutex> guard(grow_mutex_);
    for (std::size_t i = 0; i < shard_count_; ++i) {
      Shard* s = shards_[i].load(std::memory_order_acquire);
      if (s == nullptr) continue;
      // Under every lock of the shard: libcuckoo's size() reads the per-lock counters, which
      // writers change under their bucket locks.
      auto locked = s->table.lock_table();
      const unsigned fit = std::max(kMinHp, hp_for(locked.size()));
      if (fit < locked.hashpower()) locked.rehash(fit);
    }
  }

  [[nodiscard]] std::size_t shard_count() const noexcept { return shard_count_; }
  [[nodiscard]] std::size_t live_shards() const noexcept {
    std::size_t n = 0;
    for (std::size_t i = 0; i < shard_count_; ++i) {
      n += shards_[i].load(std::memory_order_acquire) != nullptr ? 1 : 0;
    }
    return n;
  }
  [[nodiscard]] std::size_t retired_shards() const {
    std::lock_guard<std::mutex> guard(grow_mutex_);
    return retired_.size();
  }

  // Bytes the tables allocate: buckets, lock arrays and shard records, retired ones included.
  [[nodiscard]] std::size_t bucket_bytes() const {
    std::size_t bytes = 0;  // the shard pointers are part of sizeof(EntryMap)
    for (std::size_t i = 0; i < shard_count_; ++i) {
      const Shard* s = shards_[i].load(std::memory_order_acquire);
      if (s != nullptr) bytes += s->bytes();
    }
    std::lock_guard<std::mutex> guard(grow_mutex_);
    for (const auto& s : retired_) bytes += s->bytes();
    return bytes;
  }

 private:
  using Table =
      libcuckoo::cuckoohash_map<std::uint64_t, ChainType, IdentityHash,
                                std::equal_to<std::uint64_t>,
                                HugePageAllocator<std::pair<const std::uint64_t, ChainType>>>;

  static constexpr unsigned kMaxLockHp = 16;  // libcuckoo's kMaxNumLocks is 2^16
  static constexpr unsigned kMinHp = 2;       // 4 buckets, 16 slots: a new shard's size
  static constexpr std::size_t kSlotsPerBucket = 4;

  struct Shard {
    // A table with the lock array of 2^lock_hp buckets, holding 2^start_hp buckets.
    Shard(unsigned lock_hp, unsigned start_hp)
        : table(kSlotsPerBucket << lock_hp), lock_hp(lock_hp) {
      table.minimum_load_factor(0.0);
      if (start_hp < lock_hp) (void)table.rehash(start_hp);
    }
    // From now on the table may be shared: cap its growth at its lock array (a table that
    // grew past it while private appended locks to match), unless that is complete.
    void seal() {
      lock_hp = std::max<unsigned>(lock_hp, static_cast<unsigned>(table.hashpower()));
      if (lock_hp < kMaxLockHp) table.maximum_hashpower(lock_hp);
    }
    [[nodiscard]] std::size_t bytes() const {
      return table.bucket_count() * kSlotsPerBucket *
                 (sizeof(std::uint64_t) + sizeof(ChainType) + 2) +
             (std::size_t{1} << lock_hp) * 64 + sizeof(*this);
    }

    Table table;
    unsigned lock_hp;
    std::atomic<bool> retired{false};
  };

  // Buckets (as a power of two) for n entries at a load of at most ~90%.
  static unsigned hp_for(std::size_t n) noexcept {
    const std::size_t buckets = (n + n / 8 + kSlotsPerBucket - 1) / kSlotsPerBucket;
    return static_cast<unsigned>(std::bit_width(std::max<std::size_t>(buckets, 1) - 1));
  }
  // Entries a shard of 2^hp buckets is planned for (85% load).
  static std::size_t planned_per_shard(unsigned hp) noexcept {
    return (kSlotsPerBucket << hp) / 20 * 17;
  }
  // Shards of 2^kShardHp buckets (more only when 64 of them are too few), as many as the plan
  // needs at 85% load. Not a power of two, so the planned buckets exceed the entries by ~18%,
  // not up to 2.4x (the lock arrays cost 64 bytes per planned bucket). Planning the fewest
  // buckets instead (tried: 3 shards of 128 buckets at 1,000 entries) saved 10-30 bytes per
  // entry below 100,000 entries but filled the tables to ~87%, where libcuckoo's inserts
  // search cuckoo paths: put at capacity cost 1,814 / 2,296 instructions at 1,000 / 100,000
  // entries against 1,755 / 1,953 with this plan (perf/callgrind/run.sh).
  static std::size_t shard_count_for(std::size_t planned) noexcept {
    unsigned hp = kShardHp;
    while (hp < kMaxLockHp && planned_per_shard(hp) * kMaxShards < planned) ++hp;
    const std::size_t per = planned_per_shard(hp);
    return std::clamp<std::size_t>((planned + per - 1) / per, 2, kMaxShards);
  }
  static unsigned lock_hp_for(std::size_t planned, std::size_t shards) noexcept {
    // A few percent over the even share covers the spread of a random hash between shards;
    // the shard may then fill to 95% before it outgrows its lock array.
    const std::size_t share = (planned + shards - 1) / shards;
    const std::size_t slots = (share + share / 16 + 64) / 19 * 20 + kSlotsPerBucket;
    const auto hp = static_cast<unsigned>(std::bit_width((slots - 1) / kSlotsPerBucket));
    return std::clamp(hp, kMinHp, kMaxLockHp);
  }

  // The high 32 bits of the hash scaled to [0, S): a multiply instead of a mask, so that S need
  // not be a power of two. libcuckoo's bucket index uses the low bits.
  [[nodiscard]] std::size_t shard_index(std::uint64_t hash) const noexcept {
    return static_cast<std::size_t>(((hash >> 32) * shard_count_) >> 32);
  }
  [[nodiscard]] std::atomic<Shard*>& shard_slot(std::uint64_t hash) const noexcept {
    return shards_[shard_index(hash)];
  }

  // Builds the shard off to the side (no lock held) and publishes it; a racing creator's
  // table is discarded before anyone saw it.
  Shard* create_shard(std::size_t index) {
    auto fresh = std::make_unique<Shard>(lock_hp_.load(std::memory_order_relaxed), kMinHp);
    fresh->seal();
    Shard* expected = nullptr;
    if (shards_[index].compare_exchange_strong(expected, fresh.get(), std::memory_order_acq_rel,
                                               std::memory_order_acquire)) {
      return fresh.release();
    }
    return expected;
  }

  // Replaces shard `index`, if it still is `old`, by a table with a bigger lock array holding
  // the same chains. Takes every lock of `old` (which never appends locks: its maximum
  // hashpower is its lock count) for the move; `old` is then empty, retired and kept.
  void replace_shard(std::size_t index, Shard* old) {
    std::lock_guard<std::mutex> guard(grow_mutex_);
    if (shards_[index].load(std::memory_order_acquire) != old) return;
    auto locked = old->table.lock_table();
    const std::size_t n = locked.size();
    const unsigned lock_hp = std::clamp(
        std::max({old->lock_hp + 1, lock_hp_.load(std::memory_order_relaxed), hp_for(2 * n)}),
        kMinHp, kMaxLockHp);
    auto fresh = std::make_unique<Shard>(lock_hp, std::clamp(hp_for(n), kMinHp, lock_hp));
    try {
      for (auto it = locked.begin(); it != locked.end(); ++it) {
        fresh->table.insert(it->first, std::move(it->second));
      }
    } catch (...) {
      // Out of memory while the new table grew: move every chain back over its moved-from husk
      // (still in its old position), so the shard is as it was, and report the failure.
      auto moved = fresh->table.lock_table();
      for (auto& [hash, chain] : moved) {
        auto pos = locked.find(hash);
        std::destroy_at(&pos->second);
        std::construct_at(&pos->second, std::move(chain));
      }
      throw;
    }
    fresh->seal();
    locked.clear();  // destroys moved-from husks only
    locked.rehash(0);
    old->retired.store(true, std::memory_order_relaxed);  // published by the unlock
    shards_[index].store(fresh.release(), std::memory_order_release);
    retired_.push_back(std::unique_ptr<Shard>(old));
  }

  const std::size_t shard_count_;
  mutable std::array<std::atomic<Shard*>, kMaxShards> shards_{};  // [shard_count_, ...) unused
  std::atomic<unsigned> lock_hp_;  // lock array (as a power of two) of shards created next
  mutable std::mutex grow_mutex_;  // replace_shard, compact: never on get/put's fast path
  std::vector<std::unique_ptr<Shard>> retired_;  // grow_mutex_
};

}  // namespace cuckoocache
