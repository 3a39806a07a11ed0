// Cache: a bounded, concurrent key-value cache over libcuckoo with sampled eviction.
//
// Structure (docs/design.md has the full argument):
//  - EntryMap (libcuckoo, keyed by the 64-bit mixed hash) owns keys and values. Every
//    operation on one key locks at most two buckets; nothing takes a global lock.
//  - SlotArena holds each entry's metadata (hash, deadline, last access, state) in an array
//    that eviction samples without locks.
//  - When an insert takes the size past max_size, the inserting thread samples sample_size
//    live slots with its own RNG, the active policy scores them, and the lowest is removed,
//    re-checked under its bucket lock (engine/eviction.h). The size is one atomic counter, so at
//    quiescence size() <= max_size, and while threads race the overshoot is at most the number of
//    threads inserting at that moment.
//  - Recency is measured in inserts: a shared tick advances by one per new entry and a hit
//    stamps the entry with the current tick. Hits therefore read a shared counter but write it
//    only when the stamp changes, so a hot key does not bounce its line between cores. Caches
//    of at most kExactMaxSize (64) entries are exact instead (eviction.h): every use advances
//    the tick and is counted in the entry's slot, and eviction scores every slot.
//  - A FrequencySketch counts hits and writes while LFU, ADAPTIVE or admission is active.
//  - Time is read only where a deadline is involved, from an injectable Clock.
//
// Guarantees (each method says more):
//  - Thread safety: every public method may be called concurrently with every other.
//  - Callbacks the user passes to visit() run under a bucket spinlock: they must be short and
//    must not block or call back into this cache. Key/Value destructors never run under an
//    engine lock: removed entries are moved out and destroyed after the lock is released.
//    Hash and KeyEqual do run under bucket locks (as in libcuckoo).
//  - Exceptions: Hash, KeyEqual, and the Key/Value copy constructors may throw; every method
//    then leaves the cache as it was (strong guarantee) and rethrows. Key and Value must be
//    nothrow-move-constructible.
#pragma once

#include <algorithm>
#include <atomic>
#include <bit>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <new>
#include <optional>
#include <stdexcept>
#include <thread>
#include <type_traits>
#include <unordered_set>
#include <utility>
#include <vector>

#include "../policies/adaptive.h"
#include "../policies/lfu.h"
#include "../policies/lru.h"
#include "../policies/policy.h"
#include "../policies/ttl.h"
#include "arena_compaction.h"
#include "cache_config.h"
#include "clock.h"
#include "entry_map.h"
#include "eviction.h"
#include "expiry.h"
#include "expiry_sweeper.h"
#include "frequency_sketch.h"
#include "hash_mix.h"
#include "random.h"
#include "sampler.h"
#include "shrink_eviction.h"
#include "slot_arena.h"
#include "stats.h"

namespace cuckoocache {

template <class Key, class Value, class Hash = std::hash<Key>, class KeyEqual = std::equal_to<Key>>
class Cache : private ExpirySweeper::Client {
  using Map = EntryMap<Key, Value>;
  using Entry = typename Map::Entry;
  using ChainType = typename Map::ChainType;

 public:
  using key_type = Key;
  using mapped_type = Value;
  using Ttl = std::optional<std::chrono::nanoseconds>;
  // The entries that share one 64-bit hash (see entry_map.h); handed to inspect() callbacks
  // and to the guards of put_guarded().
  using EntryChain = ChainType;

  // What put_guarded() did.
  enum class PutResult {
    kInserted,  // the key was absent (or expired) and is now stored
    kUpdated,   // the key was present; its value was replaced (kOverwrite only)
    kPresent,   // the key was present and kept its value (kIfAbsent only)
    kRefused,   // the guard refused to add the key to an existing chain: nothing changed
  };
  enum class WriteMode { kOverwrite, kIfAbsent };

  // Throws std::invalid_argument (naming the field) if the config is invalid.
  explicit Cache(CacheConfig config = {}, Hash hash = Hash(), KeyEqual equal = KeyEqual())
      : config_(checked(std::move(config))),
        clock_(config_.clock ? config_.clock : std::make_shared<SteadyClock>()),
        hasher_(std::move(hash)),
        equal_(std::move(equal)),
        max_size_(config_.max_size),
        default_ttl_ns_(config_.default_ttl ? config_.default_ttl->count() : 0),
        ttl_in_use_(config_.default_ttl.has_value()),
        policy_(config_.policy),
        exact_(config_.max_size <= kExactMaxSize),
        map_(config_.max_size + slack_for(config_.max_size)),
        arena_(initial_slots(config_.max_size)),
        sketch_(std::make_unique<FrequencySketch>(initial_sketch_size(config_.max_size))),
        current_sketch_(sketch_.get()),
        eviction_(config_.seed ? *config_.seed : fresh_seed()),
        adaptive_(config_.max_size, config_.adaptive_threshold) {
    if (config_.policy == Policy::kAdaptive) adaptive_.activate(config_.max_size);
    if (ttl_in_use_.load(std::memory_order_relaxed)) note_ttl_in_use();
    refresh_hit_mode();
    if (config_.expiry_interval) start_expiry_thread(*config_.expiry_interval);
  }

  Cache(const Cache&) = delete;
  Cache& operator=(const Cache&) = delete;

  ~Cache() { detach_sweeper(); }

  // ---- Lookups ---------------------------------------------------------------------------

  // Calls fn(const Value&) under the key's bucket lock if the key is present and not expired;
  // returns whether it did. Counts a hit or a miss and marks the entry used. fn must be short
  // and must not block or use this cache. Exceptions from Hash/KeyEqual/fn propagate and leave
  // the stats as they were (the lookup is not counted), so get() keeps the strong guarantee
  // when copying the value throws.
  template <class F>
  [[gnu::always_inline]] inline bool visit(const Key& key, F&& fn) {
    // One load says what this lookup needs beyond finding and stamping the entry: with no
    // deadline in the cache and a sampled (not exact) cache, it skips the clock read and every
    // policy test, and counts the frequency (LFU, ADAPTIVE, admission) only if its bit says so.
    const std::uint32_t mode = hit_mode_.load(std::memory_order_relaxed);
    if ((mode & (kHitReadsClock | kHitExact)) != 0) [[unlikely]]
      return visit_with_extras(key, fn, mode);
    const std::uint64_t hash = hash_of(key);
    const auto stamp = static_cast<std::uint32_t>(tick_.load(std::memory_order_relaxed)) >>
                       (mode >> kStampShiftBit);
    // kMissed, kNoSlot (a hit whose entry's stamp is current already), or the slot of
    // a hit whose stamp was older: that slot's access tick is written after the lock is released.
    std::uint32_t found = kMissed;
    // A word-sized trivially copyable key is compared from a copy (kept in a register or one
    // spill slot), not reloaded through the caller's reference after the lock call.
    const std::conditional_t<std::is_trivially_copyable_v<Key> && sizeof(Key) <= sizeof(void*), Key,
                             const Key&>
        probe = key;
    map_.find(hash, [&, stamp](const ChainType& chain) {
      const Entry* e = chain.find(probe, equal_);
      if (e == nullptr) return;
      found = kNoSlot;
      if (e->stamp != stamp) {
        e->stamp = stamp;
        found = e->slot;
      }
      fn(e->value);
    });
    // One compare for the commonest outcome, a hit whose stamp was current.
    if (found != kNoSlot) [[unlikely]] {
      if (found == kMissed) {
        after_miss(hash, policy(), Lookup{}, 0);
        return false;
      }
      // Stamped after the lock is released (see visit_with_extras()), with the tick as it is
      // now (a racing insert may have moved it: the entry is that recent).
      arena_[found].access_tick.store(
          static_cast<std::uint32_t>(tick_.load(std::memory_order_relaxed)),
          std::memory_order_relaxed);
    }
    stats_.add(Counter::kHits);
    // (Read again rather than kept live across the lookup's lock calls.)
    if ((hit_mode_.load(std::memory_order_relaxed) & kHitCountsFrequency) != 0) {
      count_hit(hash, policy(), found != kNoSlot);
    }
    return true;
  }

  // The value for `key` (a copy), or nullopt on a miss. See visit().
  [[nodiscard]] std::optional<Value> get(const Key& key) {
    std::optional<Value> out;
    visit(key, [&](const Value& v) { out.emplace(v); });
    return out;
  }

  // Copies the value into `out` and returns true on a hit; leaves `out` alone on a miss.
  bool get(const Key& key, Value& out) {
    return visit(key, [&](const Value& v) { out = v; });
  }

  // Calls fn(const Value&) under the bucket lock if `key` is present and not expired, like
  // visit(), but counts nothing and does not mark the entry used (a read for bookkeeping, such
  // as a single-flight loader re-checking the cache).
  template <class F>
  bool peek(const Key& key, F&& fn) const {
    const std::uint64_t hash = hash_of(key);
    const std::uint64_t now = sample_now();
    bool present = false;
    map_.find(hash, [&](const ChainType& chain) {
      const Entry* e = chain.find(key, equal_);
      if (e == nullptr || (now != 0 && expired(arena_[e->slot], now))) return;
      present = true;
      fn(e->value);
    });
    return present;
  }

  // Whether `key` is present and not expired. Does not count as a lookup in the stats and
  // does not mark the entry used.
  [[nodiscard]] bool contains(const Key& key) const {
    const std::uint64_t hash = hash_of(key);
    const std::uint64_t now = sample_now();
    bool present = false;
    map_.find(hash, [&](const ChainType& chain) {
      const Entry* e = chain.find(key, equal_);
      present = e != nullptr && (now == 0 || !expired(arena_[e->slot], now));
    });
    return present;
  }

  // ---- Writes ----------------------------------------------------------------------------

  // Stores `value` under `key`, replacing any current value. `ttl` overrides the cache's
  // default time-to-live for this entry (it must be positive). Returns true if the key was
  // new (absent or expired). If the cache is then over max_size, this thread evicts before
  // returning. Strong guarantee: if hashing, comparing or copying throws, the cache is unchanged.
  template <class K, class V>
  bool put(K&& key, V&& value, Ttl ttl = std::nullopt) {
    const WriteOutcome outcome =
        write(std::forward<K>(key), std::forward<V>(value), ttl, WriteMode::kOverwrite, nullptr);
    return outcome == WriteOutcome::kInserted || outcome == WriteOutcome::kRevived;
  }

  // Stores the entry only if `key` is absent (or expired). Returns true if it stored it.
  template <class K, class V>
  bool put_if_absent(K&& key, V&& value, Ttl ttl = std::nullopt) {
    return write(std::forward<K>(key), std::forward<V>(value), ttl, WriteMode::kIfAbsent,
                 nullptr) != WriteOutcome::kPresent;
  }

  // Returns the value for `key`; on a miss calls factory() (outside every lock) and stores
  // its result unless another thread stored a value first, in which case that value is
  // returned. Concurrent misses on one key may each call factory(); exactly one result is
  // kept and every caller gets that one. Exceptions from factory() propagate; nothing is
  // stored then.
  template <class Factory>
  Value get_or_insert(const Key& key, Factory&& factory, Ttl ttl = std::nullopt) {
    check_ttl(ttl);
    if (std::optional<Value> hit = get(key)) return std::move(*hit);
    Value made = std::forward<Factory>(factory)();
    std::optional<Value> existing;
    if (write(key, made, ttl, WriteMode::kIfAbsent, &existing) == WriteOutcome::kPresent &&
        existing) {
      return std::move(*existing);
    }
    return made;
  }

  // put() / put_if_absent() for callers whose KeyEqual cannot always decide under a lock (the
  // Python binding: a key whose __eq__ is Python code). When `key` is not found in an existing
  // chain for its hash, may_join(const EntryChain&) is called under the bucket lock before the
  // key is added to that chain; if it returns false nothing changes and kRefused is returned,
  // so the caller can resolve equality outside the lock and retry. may_join must not throw.
  // With kIfAbsent and a live entry present, its value is copied into *existing if given.
  template <class K, class V, class MayJoin>
  PutResult put_guarded(K&& key, V&& value, Ttl ttl, WriteMode mode, const MayJoin& may_join,
                        std::optional<Value>* existing = nullptr) {
    switch (write(std::forward<K>(key), std::forward<V>(value), ttl, mode, existing, may_join)) {
      case WriteOutcome::kInserted:
      case WriteOutcome::kRevived:
        return PutResult::kInserted;
      case WriteOutcome::kUpdated:
        return PutResult::kUpdated;
      case WriteOutcome::kPresent:
        return PutResult::kPresent;
      case WriteOutcome::kRefused:
        break;
    }
    return PutResult::kRefused;
  }

  // Calls fn(const EntryChain&, std::uint64_t now_ns) under the bucket lock if some entry has
  // the same hash as `key` (KeyEqual is not called). `now_ns` is 0 when no entry can expire;
  // is_expired(entry, now_ns) tells whether an entry of the chain is. For callers that must
  // compare keys outside the lock. Counts nothing. fn must be short and must not block.
  template <class F>
  bool inspect(const Key& key, F&& fn) const {
    const std::uint64_t hash = hash_of(key);
    const std::uint64_t now = sample_now();
    return map_.find(hash, [&](const ChainType& chain) { fn(chain, now); });
  }

  [[nodiscard]] bool is_expired(const Entry& e, std::uint64_t now_ns) const noexcept {
    return expired(arena_[e.slot], now_ns);
  }

  // Removes `key` and returns its value, or nullopt if it was absent or expired (an expired
  // entry is removed all the same and counted as an expiration).
  std::optional<Value> take(const Key& key) {
    const std::uint64_t hash = hash_of(key);
    const std::uint64_t now = sample_now();
    std::optional<Entry> removed;
    bool was_expired = false;
    map_.modify(hash, [&](ChainType& chain) {
      Entry* e = chain.find(key, equal_);
      if (e == nullptr) return false;
      was_expired = expired(arena_[e->slot], now);
      return chain.remove(e, removed);
    });
    if (!removed) return std::nullopt;
    finish_removal(removed->slot, was_expired ? Counter::kExpirations : Counter::kCount);
    if (was_expired) return std::nullopt;
    return std::optional<Value>(std::move(removed->value));
  }

  // Removes `key`. Returns true if it was present (an expired entry counts as absent, but is
  // removed all the same).
  bool erase(const Key& key) { return take(key).has_value(); }

  // Removes every entry present when it starts (entries written meanwhile may stay). Walks the
  // slot arena and removes one entry at a time under its bucket lock, each destroyed after the
  // lock is released, then shrinks the table's shards to what is left (taking every lock of
  // one shard at a time, see entry_map.h), so a cleared cache gives its table memory back.
  // Stats and the frequency history are kept.
  void clear() {
    // Top down, like walk_entries(): a concurrent shrink only moves entries to lower slots,
    // so an entry moved while this runs is still ahead of the walk.
    for (std::uint32_t i = arena_.capacity(); i-- > 0;) {
      const Slot& s = arena_[i];
      if (!SlotState::live(s.state.load(std::memory_order_acquire))) continue;
      remove_entry(s.hash.load(std::memory_order_relaxed), i, Counter::kCount);
    }
    map_.compact();
    adaptive_.on_cleared();  // ADAPTIVE's window ring gives its cells back
  }

  // ---- Expiry ----------------------------------------------------------------------------

  // Removes every expired entry and returns how many. Walks the slot arena without a global
  // lock; entries that expire while it runs may or may not be counted.
  std::size_t cleanup() {
    if (!ttl_in_use_.load(std::memory_order_relaxed)) return 0;
    const std::uint64_t now = clock_->now_ns();
    std::size_t removed = 0;
    const std::uint32_t capacity = arena_.capacity();
    for (std::uint32_t i = 0; i < capacity; ++i) {
      removed += remove_if_expired(i, now) ? 1 : 0;
    }
    return removed;
  }

  // One round of sampled active expiry (Redis's algorithm): samples `samples` slots, removes
  // the expired ones, and repeats while more than a quarter of a round was expired, up to
  // `max_rounds`. Returns how many it removed. Used by the write path (a few samples now and
  // then); the background sweeper uses sweep_expired(), which finds every expired entry.
  std::size_t expire_sample(std::size_t samples = 20, std::size_t max_rounds = 16) {
    if (!ttl_in_use_.load(std::memory_order_relaxed)) return 0;
    std::size_t removed = 0;
    // Drawn from the cache's seeded stream (CacheConfig::seed), not the thread's, so a
    // fixed-seed single-threaded run expires the same entries every time; one draw per call
    // seeds the call's generator (the stream's stripe is taken once, not once per sample).
    FastRandom rng(random_below(UINT32_MAX));
    for (std::size_t round = 0; round < max_rounds; ++round) {
      const std::uint64_t now = clock_->now_ns();
      const std::uint32_t capacity = arena_.capacity();
      std::size_t this_round = 0;
      for (std::size_t i = 0; i < samples; ++i) {
        this_round += remove_if_expired(rng.below(capacity), now) ? 1 : 0;
      }
      removed += this_round;
      if (this_round * 4 <= samples) break;
    }
    return removed;
  }

  // The background sweeper's share of work (ExpirySweeper::Client): if some deadline may be
  // due (see ExpiryWatch), continues the pass over the slot arena, removing every expired
  // entry, until the pass is complete or the steady clock reaches `budget_end` (the pass then
  // resumes at the next call). Costs one clock read when nothing is due. Returns how many it
  // removed. Concurrent calls do not wait: all but one return 0.
  std::size_t sweep_expired(ExpirySweeper::Deadline budget_end) override {
    if (!ttl_in_use_.load(std::memory_order_relaxed)) return 0;
    std::unique_lock<std::mutex> lock(pass_mutex_, std::try_to_lock);
    if (!lock.owns_lock()) return 0;
    const std::uint64_t now = clock_->now_ns();
    if (!watch_.due(now)) return 0;
    if (!watch_.running()) watch_.begin_pass();
    std::size_t removed = 0;
    constexpr std::uint32_t kChunk = 1024;
    for (;;) {
      const std::uint32_t capacity = arena_.capacity();
      // (A shrink may have lowered the capacity below the cursor.)
      const std::uint32_t begin = std::min(watch_.cursor(), capacity);
      const std::uint32_t end = capacity - begin > kChunk ? begin + kChunk : capacity;
      for (std::uint32_t i = begin; i < end; ++i) {
        const Slot& s = arena_[i];
        if (!SlotState::live(s.state.load(std::memory_order_acquire))) continue;
        const std::uint64_t deadline = s.deadline_ns.load(std::memory_order_relaxed);
        if (deadline == 0) continue;
        if (deadline > now) {
          watch_.saw(deadline);
        } else if (remove_expired(s.hash.load(std::memory_order_relaxed), i, now)) {
          ++removed;
        }
        // An expired slot this pass could not remove was removed by someone else, refreshed
        // in place (noted), or is not in the map yet (noted once it is): nothing to keep.
      }
      watch_.advance_to(end);
      if (end >= capacity) {
        watch_.end_pass();
        break;
      }
      if (std::chrono::steady_clock::now() >= budget_end) break;
    }
    return removed;
  }

  // Sweeps this cache in the background with `sweeper` (shared with other caches) until
  // detach_sweeper() or destruction. Replaces any sweeper attached before.
  void attach_sweeper(ExpirySweeper& sweeper) {
    detach_sweeper();
    sweeper.add(this);
    std::lock_guard<std::mutex> lock(admin_mutex_);
    sweeper_ = &sweeper;
  }

  // Stops background sweeping; returns once no sweep of this cache is running. Idempotent.
  void detach_sweeper() noexcept {
    ExpirySweeper* sweeper = nullptr;
    std::unique_ptr<ExpirySweeper> own;
    {
      std::lock_guard<std::mutex> lock(admin_mutex_);
      sweeper = std::exchange(sweeper_, nullptr);
      own = std::move(own_sweeper_);
    }
    if (sweeper != nullptr) sweeper->remove(this);
  }  // a private sweeper stops and joins here

  // Sweeps this cache in the background with a sweeper thread of its own, every `interval`
  // (what CacheConfig::expiry_interval does). Restarting replaces the previous one.
  void start_expiry_thread(std::chrono::nanoseconds interval) {
    if (interval.count() <= 0) throw std::invalid_argument("expiry interval must be positive");
    auto own = std::make_unique<ExpirySweeper>(interval);
    attach_sweeper(*own);
    std::lock_guard<std::mutex> lock(admin_mutex_);
    own_sweeper_ = std::move(own);
  }

  // Same as detach_sweeper().
  void stop_expiry_thread() noexcept { detach_sweeper(); }

  [[nodiscard]] Ttl default_ttl() const noexcept {
    const auto ns = default_ttl_ns_.load(std::memory_order_relaxed);
    return ns == 0 ? Ttl() : Ttl(std::chrono::nanoseconds(ns));
  }

  // Changes the time-to-live of entries stored from now on (existing entries keep theirs).
  void set_default_ttl(Ttl ttl) {
    if (ttl && ttl->count() <= 0) throw std::invalid_argument("default_ttl must be positive");
    if (ttl) note_ttl_in_use();
    default_ttl_ns_.store(ttl ? ttl->count() : 0, std::memory_order_relaxed);
  }

  // ---- Capacity and policy ---------------------------------------------------------------

  // Live entries. O(1).
  [[nodiscard]] std::size_t size() const noexcept {
    const auto n = size_.load(std::memory_order_relaxed);
    return n < 0 ? 0 : static_cast<std::size_t>(n);
  }

  [[nodiscard]] std::size_t max_size() const noexcept {
    return max_size_.load(std::memory_order_relaxed);
  }

  // Changes the capacity. Shrinking evicts down to the new size before returning (by this
  // thread, with the active policy's scores; a large shrink by a few passes over the slot arena,
  // engine/shrink_eviction.h), then compacts the slot arena so that the survivors are dense
  // enough to sample and gives the memory of the arena and the frequency sketch above the new
  // size back (engine/arena_compaction.h): afterwards eviction costs what it costs in a fresh
  // cache of the new size. Other threads may use the cache meanwhile. Growing only re-plans the
  // table: each shard that later outgrows its old plan is replaced once, under its own locks
  // (entry_map.h). Throws std::invalid_argument for 0 or more than 2^31.
  void set_max_size(std::size_t new_max) {
    CacheConfig probe = config_;
    probe.max_size = new_max;
    probe.validate();
    std::lock_guard<std::mutex> resize(resize_mutex_);  // one resize at a time; never on get/put
    {
      std::lock_guard<std::mutex> lock(admin_mutex_);
      grow_sketch_locked(std::min<std::size_t>(new_max, arena_.capacity()));
      map_.plan(new_max + slack_for(new_max));
      max_size_.store(new_max, std::memory_order_relaxed);
      exact_.store(new_max <= kExactMaxSize, std::memory_order_relaxed);
      refresh_hit_mode();
      adaptive_.reset(new_max, config_.adaptive_threshold);
    }
    if (policy() == Policy::kAdaptive) adaptive_.maintain(*this, kNoSlot);
    // A few evictions: evict as a put would. Many: by passes over the arena.
    if (size() <= new_max + std::max<std::size_t>(64, new_max / 8)) {
      evict_to_capacity();
    } else {
      with_score(policy(), [&](const auto& score) {
        ShrinkEviction::evict_down_to(*this, new_max, score, random_below(UINT32_MAX));
      });
    }
    compact_arena(new_max);
    evict_to_capacity();  // whatever concurrent puts added meanwhile, now by sampling
  }

  [[nodiscard]] Policy policy() const noexcept { return policy_.load(std::memory_order_relaxed); }

  // Switches the eviction policy at run time; entries and their history are kept. Switching
  // to ADAPTIVE restarts its learning; leaving it folds its window into the main region.
  void set_policy(Policy p) {
    std::lock_guard<std::mutex> lock(admin_mutex_);
    if (p == Policy::kAdaptive) adaptive_.activate(max_size());  // before anyone can use it
    const Policy old = policy_.exchange(p, std::memory_order_acq_rel);
    refresh_hit_mode();
    if (old == p) return;
    if (p == Policy::kAdaptive) {
      adaptive_.reset(max_size(), config_.adaptive_threshold);
      adaptive_.restart_cursor();
    } else if (old == Policy::kAdaptive) {
      const std::uint32_t capacity = arena_.capacity();
      for (std::uint32_t i = 0; i < capacity; ++i) {
        auto& state = arena_[i].state;
        std::uint32_t s = state.load(std::memory_order_relaxed);
        while (SlotState::window(s)) {
          if (state.compare_exchange_weak(s, s & ~SlotState::kWindow, std::memory_order_acq_rel)) {
            adaptive_.on_window_leave();
            break;
          }
        }
      }
    }
  }

  // ---- Introspection ---------------------------------------------------------------------

  [[nodiscard]] CacheStats stats() const noexcept {
    CacheStats s;
    stats_.snapshot(s);
    s.size = size();
    s.max_size = max_size();
    return s;
  }

  void reset_stats() noexcept { stats_.reset(); }

  // A copy of every live, unexpired entry. Weakly consistent, like a concurrent map's
  // iteration: every entry present and unexpired throughout the call is in it; one written or
  // removed meanwhile may or may not be. Locks one bucket pair at a time (see entry_map.h).
  [[nodiscard]] std::vector<std::pair<Key, Value>> snapshot() {
    const std::uint64_t now = sample_now();
    std::vector<std::pair<Key, Value>> out;
    out.reserve(size());
    walk_entries([&](const Entry& e) {
      if (!expired(arena_[e.slot], now)) out.emplace_back(e.key, e.value);
    });
    return out;
  }

  // Calls fn(const Key&, const Value&) for every stored entry, expired ones included, under
  // that entry's bucket lock (an admin walk, e.g. a garbage collector's traversal); weakly
  // consistent like snapshot(). fn must be short and must not use this cache.
  template <class F>
  void for_each_entry(F&& fn) {
    walk_entries([&](const Entry& e) { fn(e.key, e.value); });
  }

  // ADAPTIVE's window (introspection for tests and tools): entries counted in it, its current
  // target size, and the live slots whose window bit is set, found by walking the slot arena
  // (O(capacity), not for hot paths; exact at quiescence, when it equals `count`).
  struct AdaptiveWindow {
    std::int64_t count = 0;
    std::int64_t target = 0;
    std::int64_t live_window_slots = 0;
  };
  [[nodiscard]] AdaptiveWindow adaptive_window() const noexcept {
    AdaptiveWindow w{adaptive_.window_count(), adaptive_.window_target(), 0};
    const std::uint32_t capacity = arena_.capacity();
    for (std::uint32_t i = 0; i < capacity; ++i) {
      const std::uint32_t state = arena_[i].state.load(std::memory_order_acquire);
      w.live_window_slots += SlotState::live(state) && SlotState::window(state) ? 1 : 0;
    }
    return w;
  }

  // Bytes the cache allocates beyond the keys and values themselves (table, arena, sketch,
  // window ring, counters), at its current capacity.
  [[nodiscard]] std::size_t overhead_bytes() const {
    return map_.bucket_bytes() + arena_.memory_bytes() + sketch().memory_bytes() +
           adaptive_.memory_bytes() + sizeof(*this);
  }

  [[nodiscard]] const CacheConfig& config() const noexcept { return config_; }

  // How many evictions fell back on a linear walk of the slot arena (engine/eviction.h).
  [[nodiscard]] std::uint64_t eviction_scans() const noexcept { return eviction_.scans(); }

  // Slots eviction samples from (the slot arena's capacity; it follows max_size down after a
  // shrink). For tests and tools.
  [[nodiscard]] std::size_t arena_slots() const noexcept { return arena_.capacity(); }

 private:
  friend class Eviction;         // the eviction path (eviction.h) works on this cache's internals
  friend class AdaptivePolicy;   // ADAPTIVE's maintenance (policies/adaptive.h) likewise
  friend class ShrinkEviction;   // set_max_size's bulk eviction (shrink_eviction.h) likewise
  friend class ArenaCompaction;  // and its compaction (arena_compaction.h)

  // kRevived: the key held an expired entry, which the write replaced (the key was absent).
  // kRefused: a put_guarded() guard declined to add the key to an existing chain.
  enum class WriteOutcome { kInserted, kUpdated, kPresent, kRevived, kRefused };

  struct AlwaysJoin {
    constexpr bool operator()(const ChainType&) const noexcept { return true; }
  };

  struct Lookup {
    enum Outcome { kMiss, kHit, kExpired } outcome = kMiss;
    std::uint32_t slot = kNoSlot;
  };

  // visit() when the cache holds deadlines or is exact (see hit_mode_).
  template <class F>
  bool visit_with_extras(const Key& key, F&& fn, std::uint32_t mode) {
    const std::uint64_t hash = hash_of(key);
    const std::uint64_t now = (mode & kHitReadsClock) != 0 ? clock_->now_ns() : 0;
    const auto tick = static_cast<std::uint32_t>(tick_.load(std::memory_order_relaxed));
    const std::uint32_t stamp = tick >> (mode >> kStampShiftBit);
    const Policy p = policy();  // one read for the whole lookup (a racing set_policy may or
                                // may not see this lookup either way)
    const bool exact = (mode & kHitExact) != 0;
    // found.slot: on a hit, the slot to stamp (kNoSlot if its stamp is current); on an
    // expired entry, its slot.
    Lookup found;
    map_.find(hash, [&](const ChainType& chain) {
      const Entry* e = chain.find(key, equal_);
      if (e == nullptr) return;
      if (now != 0 && expired(arena_[e->slot], now)) {
        found = {Lookup::kExpired, e->slot};
        return;
      }
      if (exact || e->stamp != stamp) {
        e->stamp = stamp;
        found.slot = e->slot;
      }
      found.outcome = Lookup::kHit;
      fn(e->value);
    });
    if (found.outcome == Lookup::kHit) [[likely]] {
      const std::uint32_t stale_slot = found.slot;
      // The slot is stamped after the lock is released, so the lock is never held across the
      // slot's cache miss. If the entry was removed meanwhile and the slot reused, the new
      // owner looks a little more recent than it is: an approximation eviction tolerates.
      if (stale_slot != kNoSlot) {
        if (exact) {
          mark_used_exactly(stale_slot);
        } else {
          arena_[stale_slot].access_tick.store(tick, std::memory_order_relaxed);
        }
      }
      stats_.add(Counter::kHits);
      if ((mode & kHitCountsFrequency) != 0) count_hit(hash, p, stale_slot != kNoSlot);
      return true;
    }
    after_miss(hash, p, found, now);
    return false;
  }

  static CacheConfig checked(CacheConfig c) {
    c.validate();
    return c;
  }

  // Slots beyond max_size for entries in flight: each racing inserter holds at most one.
  static std::size_t slack_for(std::size_t max_size) noexcept {
    const std::size_t threads = std::max(1u, std::thread::hardware_concurrency());
    return std::min<std::size_t>(max_size, 16) + 4 * threads;
  }

  // The slot arena and the table start at this many entries and grow (doubling) as entries
  // arrive, so a cache's memory follows what it holds, not its max_size: an empty cache costs
  // about 100 KiB whatever its max_size (issue 11's budget is 256 KiB). Below the limit the
  // whole capacity is allocated at once: slot lookups stay in one chunk and the table never
  // grows on the hot path.
  static constexpr std::size_t kInitialSlotLimit = std::size_t{1} << 10;
  static std::size_t initial_slots(std::size_t max_size) noexcept {
    return std::min(max_size + slack_for(max_size), kInitialSlotLimit);
  }
  // The sketch is sized for max_size (as in Caffeine) up to 8,192 entries (64 KiB), so caches
  // of the sizes real traces are replayed at never lose their frequency history to a regrowth;
  // larger ones regrow it as they fill.
  static constexpr std::size_t kInitialSketchLimit = std::size_t{1} << 13;
  static std::size_t initial_sketch_size(std::size_t max_size) noexcept {
    return std::min(max_size, kInitialSketchLimit);
  }

  static void check_ttl(const Ttl& ttl) {
    if (ttl && ttl->count() <= 0) throw std::invalid_argument("ttl must be positive");
  }

  [[nodiscard]] std::uint64_t hash_of(const Key& key) const {
    return mix_hash(static_cast<std::uint64_t>(hasher_(key)));
  }

  [[nodiscard]] FrequencySketch& sketch() const noexcept {
    return *current_sketch_.load(std::memory_order_acquire);
  }

  // The sketch is fed only while something reads it (LFU, ADAPTIVE, admission): under plain
  // LRU or TTL a hit then touches no frequency counter. After a switch to a frequency policy
  // the history warms up within one aging period (10 * max_size accesses).
  void record_frequency(std::uint64_t hash) noexcept {
    if (counts_frequency(policy())) sketch().increment(hash);
  }
  [[nodiscard]] bool counts_frequency(Policy p) const noexcept {
    // LFU and ADAPTIVE are the odd policies: one test instead of two compares on every hit.
    static_assert((static_cast<unsigned>(Policy::kLfu) & 1) == 1 &&
                  (static_cast<unsigned>(Policy::kAdaptive) & 1) == 1 &&
                  (static_cast<unsigned>(Policy::kLru) & 1) == 0 &&
                  (static_cast<unsigned>(Policy::kTtl) & 1) == 0);
    return (static_cast<unsigned>(p) & 1) != 0 || config_.admission;
  }

  // A counted hit (kHitCountsFrequency): calls after_counted_hit() unless ADAPTIVE has nothing
  // to do for it. `restamped`: the hit wrote the entry's stamp, which had fallen behind the
  // tick's block (its first use since the block moved; see AdaptivePolicy::on_hit).
  [[gnu::always_inline]] void count_hit(std::uint64_t hash, Policy p, bool restamped) noexcept {
    if (p != Policy::kAdaptive || adaptive_.hit_has_work(hash, restamped)) {
      after_counted_hit(hash, p, restamped);
    }
  }

  // visit()'s work beyond a hit under LRU or TTL, kept out of line so the common hit stays
  // small: the frequency count and ADAPTIVE's window bookkeeping.
  [[gnu::noinline]] void after_counted_hit(std::uint64_t hash, Policy p, bool restamped) noexcept {
    if (p == Policy::kAdaptive) {
      adaptive_.on_hit(hash, restamped, sketch());
    } else {
      sketch().increment(hash);
    }
  }

  // visit()'s miss: the count, ADAPTIVE's bookkeeping, and the removal of an expired entry.
  [[gnu::noinline]] void after_miss(std::uint64_t hash, Policy p, Lookup found, std::uint64_t now) {
    stats_.add(Counter::kMisses);
    if (p == Policy::kAdaptive) adaptive_.on_lookup(hash, false, sketch());
    if (found.outcome == Lookup::kExpired) remove_expired(hash, found.slot, now);
  }

  [[nodiscard]] static bool expired(const Slot& slot, std::uint64_t now) noexcept {
    if (now == 0) return false;
    const std::uint64_t deadline = slot.deadline_ns.load(std::memory_order_relaxed);
    return deadline != 0 && deadline <= now;
  }

  // Whether this cache is small enough to be exact (eviction.h's kExactMaxSize). ADAPTIVE keeps
  // its sampled main region and insert-tick recency whatever the size.
  [[nodiscard]] bool exact_now() const noexcept {
    return exact_.load(std::memory_order_relaxed) && policy() != Policy::kAdaptive;
  }

  // From now on entries may carry deadlines: lookups read the clock. Never undone.
  void note_ttl_in_use() noexcept {
    ttl_in_use_.store(true, std::memory_order_relaxed);
    hit_mode_.fetch_or(kHitReadsClock, std::memory_order_relaxed);
  }

  // Recomputes the hit_mode_ bits that follow the policy and the size (the clock bit is
  // only ever set, by note_ttl_in_use()). Caller holds admin_mutex_ or is the constructor;
  // single-bit atomic or/and, so a concurrent note_ttl_in_use() is never undone.
  void refresh_hit_mode() noexcept {
    const auto set = [this](std::uint32_t bit, bool on) {
      if (on) {
        hit_mode_.fetch_or(bit, std::memory_order_relaxed);
      } else {
        hit_mode_.fetch_and(~bit, std::memory_order_relaxed);
      }
    };
    set(kHitExact, exact_now());
    set(kHitCountsFrequency, counts_frequency(policy()));
    const std::uint32_t shift = stamp_shift_for(max_size()) << kStampShiftBit;
    std::uint32_t cur = hit_mode_.load(std::memory_order_relaxed);
    while (!hit_mode_.compare_exchange_weak(cur, (cur & kHitExtras) | shift,
                                            std::memory_order_relaxed)) {
    }
  }

  // An entry's stamp (MapEntry::stamp) is the tick shifted right by this much, at most
  // log2(max_size / 256): a hit writes the stamp and the slot's access tick only when the tick
  // has left the stamp's block of 2^shift inserts, so an entry looks at most 2^shift - 1 inserts
  // (1/256 of the cache's turnover) older than it is, and a warm entry hit again and again
  // writes neither its bucket's line nor its slot's line more than once per block. Below 512
  // entries the shift is 0: every change of the tick is written, as before.
  [[nodiscard]] static std::uint32_t stamp_shift_for(std::size_t max_size) noexcept {
    const std::size_t span = max_size >> 8;
    return span < 2 ? 0 : static_cast<std::uint32_t>(std::bit_width(span) - 1);
  }

  // Exact caches: a use advances the shared recency tick (so no two uses tie) and counts.
  // The use count is the arena's (small arenas only: see SlotArena::uses).
  static_assert(kExactMaxSlots <= SlotArena::kCountedSlots);
  void mark_used_exactly(std::uint32_t index) noexcept {
    const std::uint64_t tick = tick_.fetch_add(1, std::memory_order_relaxed) + 1;
    arena_[index].access_tick.store(static_cast<std::uint32_t>(tick), std::memory_order_relaxed);
    if (std::atomic<std::uint32_t>* count = arena_.uses(index)) {
      count->fetch_add(1, std::memory_order_relaxed);
    }
  }

  // Stamps the entry as used at `tick`, writing only if the stamp changes.
  static void touch(Slot& slot, std::uint32_t tick) noexcept {
    if (slot.access_tick.load(std::memory_order_relaxed) != tick) {
      slot.access_tick.store(tick, std::memory_order_relaxed);
    }
  }

  template <class K, class V, class MayJoin = AlwaysJoin>
  WriteOutcome write(K&& key, V&& value, Ttl ttl, WriteMode mode,
                     std::optional<Value>* existing_out, const MayJoin& may_join = {}) {
    check_ttl(ttl);
    const std::uint64_t hash = hash_of(key);
    // The entry's time-to-live in ns, 0 for none (check_ttl() made a given one positive).
    const std::int64_t ttl_ns =
        ttl.has_value() ? ttl->count() : default_ttl_ns_.load(std::memory_order_relaxed);
    const bool has_deadline = ttl_ns != 0;
    if (has_deadline && !ttl_in_use_.load(std::memory_order_relaxed)) note_ttl_in_use();
    const std::uint64_t now = sample_now();
    const std::uint64_t deadline =
        !has_deadline ? 0 : deadline_after(now, std::chrono::nanoseconds(ttl_ns));

    // Copies happen here, before any slot or lock is taken: if they throw, nothing changed.
    Entry fresh{Key(std::forward<K>(key)), Value(std::forward<V>(value)), kNoSlot};
    const bool adaptive = policy() == Policy::kAdaptive;
    const std::uint64_t tick_now = tick_.load(std::memory_order_relaxed);
    // No hit has stamped it yet: the first hit writes its slot whatever the block (ADAPTIVE and
    // the sampler tell an entry used since its insert by its access tick).
    fresh.stamp = kNoStamp;
    fresh.slot = allocate_slot();
    // ADAPTIVE's window bit is set only once the entry is in the map (join_window below), so an
    // overwrite, which releases this slot unused, costs ADAPTIVE nothing more than LRU.
    arena_.publish(fresh.slot, hash, deadline, static_cast<std::uint32_t>(tick_now), false);
    const std::uint32_t my_slot = fresh.slot;
    const std::uint32_t my_identity =
        SlotState::identity(arena_[my_slot].state.load(std::memory_order_relaxed));

    WriteOutcome outcome = WriteOutcome::kInserted;
    try {
      map_.insert_or_modify(
          hash,
          [&](ChainType& chain) {
            Entry* e = chain.find(fresh.key, equal_);
            if (e == nullptr) {
              if (!may_join(std::as_const(chain))) {
                outcome = WriteOutcome::kRefused;
                return false;
              }
              chain.push(std::move(fresh));  // may throw bad_alloc: chain unchanged
              outcome = WriteOutcome::kInserted;
              return false;
            }
            Slot& slot = arena_[e->slot];
            const bool was_expired = expired(slot, now);
            if (mode == WriteMode::kIfAbsent && !was_expired) {
              if (existing_out) existing_out->emplace(e->value);
              outcome = WriteOutcome::kPresent;
              return false;
            }
            using std::swap;
            swap(e->value, fresh.value);  // the old value leaves with `fresh`, unlocked
            slot.deadline_ns.store(deadline, std::memory_order_relaxed);
            if (exact_now()) {
              mark_used_exactly(e->slot);
            } else {
              touch(slot, static_cast<std::uint32_t>(tick_now));
            }
            outcome = was_expired ? WriteOutcome::kRevived : WriteOutcome::kUpdated;
            return false;
          },
          fresh);
    } catch (...) {
      release_slot(my_slot);
      throw;
    }
    // The entry is in the map with its deadline: let the background sweeper know when it is due.
    if (deadline != 0 && outcome != WriteOutcome::kPresent && outcome != WriteOutcome::kRefused) {
      watch_.note(deadline);
    }

    if (outcome != WriteOutcome::kInserted) {
      release_slot(my_slot);
      if (outcome == WriteOutcome::kUpdated) {
        stats_.add(Counter::kUpdates);
      } else if (outcome == WriteOutcome::kRevived) {
        // An expired entry was replaced in place: for the stats it expired and a new one came.
        stats_.add(Counter::kExpirations);
        stats_.add(Counter::kInserts);
      }
      if (outcome != WriteOutcome::kPresent && outcome != WriteOutcome::kRefused) {
        record_frequency(hash);
      }
      return outcome;
    }

    const std::uint64_t tick = tick_.fetch_add(1, std::memory_order_relaxed) + 1;
    arena_[my_slot].access_tick.store(static_cast<std::uint32_t>(tick), std::memory_order_relaxed);
    size_.fetch_add(1, std::memory_order_relaxed);
    stats_.add(Counter::kInserts);
    record_frequency(hash);
    std::uint32_t own_slot = my_slot;
    std::uint32_t own_identity = my_identity;
    if (my_slot >= arena_.allocation_limit()) [[unlikely]] {
      // A shrink lowered the arena's limit since this slot was taken: move the entry below it
      // (arena_compaction.h); it joins ADAPTIVE's window from there. If that fails for lack of
      // memory, the put still succeeded: the shrink's own compaction moves the entry later.
      try {
        const std::uint32_t moved = relocate_entry_to_new_slot(hash, my_slot);
        if (moved != kNoSlot) {
          own_slot = moved;
          own_identity = SlotState::identity(arena_[moved].state.load(std::memory_order_relaxed));
        }
      } catch (const std::bad_alloc&) {
      }
    }
    if (adaptive) {
      adaptive_.on_insert(*this, own_slot, own_identity, tick);
      Candidate newcomer;
      newcomer.slot = own_slot;
      newcomer.hash = hash;
      evict_to_capacity(&newcomer);
    } else if (over_capacity()) {
      Candidate newcomer;
      newcomer.slot = own_slot;
      newcomer.hash = hash;
      evict_to_capacity(&newcomer);
    }
    // Active expiry on the write path: a few samples every fourth new entry.
    // (The thread-local counter is touched only once deadlines exist.)
    thread_local unsigned expiry_countdown = 0;
    if (ttl_in_use_.load(std::memory_order_relaxed) && (++expiry_countdown & 3) == 0) {
      expire_sample(4, 1);
    }
    return WriteOutcome::kInserted;
  }

  [[nodiscard]] bool over_capacity() const noexcept {
    return size_.load(std::memory_order_relaxed) > static_cast<std::int64_t>(max_size());
  }

  // A free slot. If none is free (racing inserters hold the slack), makes room by evicting;
  // as a last resort grows the arena.
  std::uint32_t allocate_slot() {
    for (int attempt = 0;; ++attempt) {
      const std::uint32_t slot = arena_.try_allocate();
      if (slot != kNoSlot) return slot;
      const std::size_t full = max_size() + slack_for(max_size());
      const std::size_t capacity = arena_.capacity();
      if (capacity < full) {
        arena_.grow_to(std::min(full, 2 * capacity));  // not yet at max_size: grow, don't evict
        std::lock_guard<std::mutex> lock(admin_mutex_);
        grow_sketch_locked(std::min<std::size_t>(max_size(), arena_.capacity()));
      } else if (attempt < 8) {
        evict_once(nullptr);
      } else {
        arena_.grow_to(capacity + capacity / 4 + 16);  // racing inserters hold every slot
      }
    }
  }

  // Replaces the sketch with one sized for `entries` once the cache has outgrown it twice over
  // (the history restarts, as in Caffeine's ensureCapacity). Caller holds admin_mutex_.
  void grow_sketch_locked(std::size_t entries) {
    if (entries <= 2 * sketch_capacity_) return;
    auto bigger = std::make_unique<FrequencySketch>(entries);
    sketch_capacity_ = entries;
    current_sketch_.store(bigger.get(), std::memory_order_release);
    sketch_->release_counters();  // its pages go back; it stays mapped for racing readers
    retired_sketches_.push_back(std::move(sketch_));  // readers may still hold the old one
    sketch_ = std::move(bigger);
  }

  // Removes the entry of chain `hash` that owns `slot`, if any; `why` is the counter to bump.
  // Returns true if this call removed it. If the slot was reused by a new entry of the same
  // hash since the caller sampled it, that entry is the one removed: still a live entry that
  // owns its slot, so the cache stays consistent; the choice is just less informed.
  bool remove_entry(std::uint64_t hash, std::uint32_t slot, Counter why) {
    std::optional<Entry> removed;
    map_.modify(hash, [&](ChainType& chain) {
      Entry* e = chain.find_slot(slot);
      return e != nullptr && chain.remove(e, removed);
    });
    if (!removed) return false;
    finish_removal(slot, why);
    return true;
  }  // `removed` (key and value) is destroyed here, after the bucket lock was released

  // Removes the entry of chain `hash` that owns `slot` if it is still expired at `now`, judged
  // under the bucket lock: a put that refreshed the entry in place (same slot) since the caller saw
  // it expired wins. Returns true if this call removed it.
  bool remove_expired(std::uint64_t hash, std::uint32_t slot, std::uint64_t now) {
    std::optional<Entry> removed;
    map_.modify(hash, [&](ChainType& chain) {
      Entry* e = chain.find_slot(slot);
      return e != nullptr && expired(arena_[slot], now) && chain.remove(e, removed);
    });
    if (!removed) return false;
    finish_removal(slot, Counter::kExpirations);
    return true;
  }

  bool remove_if_expired(std::uint32_t index, std::uint64_t now) {
    const Slot& s = arena_[index];
    const std::uint32_t state = s.state.load(std::memory_order_acquire);
    if (!SlotState::live(state) || !expired(s, now)) return false;
    return remove_expired(s.hash.load(std::memory_order_relaxed), index, now);
  }

  // Bookkeeping after an entry left the map: free its slot, fix counts.
  void finish_removal(std::uint32_t slot, Counter why) noexcept {
    release_slot(slot);
    size_.fetch_sub(1, std::memory_order_relaxed);
    if (why != Counter::kCount) stats_.add(why);
  }

  // Calls fn(const Entry&) once for every entry of every chain found through a live slot,
  // under the chain's bucket lock; each chain (hash) is visited once, so a key removed and
  // re-inserted into another slot during the walk is not reported twice.
  template <class F>
  void walk_entries(F&& fn) const {
    std::unordered_set<std::uint64_t> visited;
    visited.reserve(size());
    // Top down: an entry moved by a concurrent shrink only moves down (arena_compaction.h).
    for (std::uint32_t i = arena_.capacity(); i-- > 0;) {
      const Slot& s = arena_[i];
      if (!SlotState::live(s.state.load(std::memory_order_acquire))) continue;
      const std::uint64_t hash = s.hash.load(std::memory_order_relaxed);
      if (!visited.insert(hash).second) continue;
      map_.find(hash, [&](const ChainType& chain) { chain.for_each(fn); });
    }
  }

  [[nodiscard]] std::uint64_t sample_now() const noexcept {
    return ttl_in_use_.load(std::memory_order_relaxed) ? clock_->now_ns() : 0;
  }

  [[nodiscard]] std::uint32_t random_below(std::uint32_t bound) noexcept {
    return eviction_.random_below(bound);
  }

  [[nodiscard]] std::uint64_t current_tick() const noexcept {
    return tick_.load(std::memory_order_relaxed);
  }

  // How many entries the cache holds beyond max_size (negative when below it).
  [[nodiscard]] std::int64_t excess() const noexcept {
    return size_.load(std::memory_order_relaxed) - static_cast<std::int64_t>(max_size());
  }

  // Picks a victim with the active policy among slots accepted by `accept` (eviction.h).
  template <class Accept>
  [[nodiscard]] std::optional<Candidate> pick_victim(Policy p, const Accept& accept) {
    // A cache shrunk to a small max_size may still have a large arena: it samples.
    const bool exact = exact_now() && arena_.capacity() <= kExactMaxSlots;
    return eviction_.pick(p, exact, arena_, sketch(), config_.sample_size, sample_now(),
                          current_tick(), accept);
  }

  // ADAPTIVE's main region for eviction samples (policies/adaptive.h), never slot `own`.
  [[nodiscard]] auto main_region(std::uint32_t own = kNoSlot) const noexcept {
    return adaptive_.main_region(current_tick(), own == kNoSlot ? nullptr : &arena_[own]);
  }

  [[nodiscard]] bool is_expired_slot(std::uint32_t slot, std::uint64_t now) const noexcept {
    return expired(arena_[slot], now);
  }

  // Calls fn(score) with the scoring function of policy `p` (what the sampler ranks by).
  template <class F>
  void with_score(Policy p, F&& fn) {
    const ScoreContext ctx{sketch(), exact_now()};
    switch (p) {
      case Policy::kLru:
        return fn([&](const EntryMeta& m) { return LruPolicy::score(m, ctx); });
      case Policy::kLfu:
        return fn([&](const EntryMeta& m) { return LfuPolicy::score(m, ctx); });
      case Policy::kTtl:
        return fn([&](const EntryMeta& m) { return TtlPolicy::score(m, ctx); });
      case Policy::kAdaptive:
        return fn([&](const EntryMeta& m) { return AdaptivePolicy::main_score(m, ctx); });
    }
  }

  // After a shrink to `new_max`: moves the live entries into the slots a fresh cache of that
  // size would have (arena_compaction.h), lowers the sampled range to them and gives the rest
  // of the arena's pages and the frequency sketch's extra pages back. Caller holds
  // resize_mutex_. If a writer stalls between taking a slot and inserting its entry for the
  // whole retry budget, the arena stays as it is (correct, only sparser) until the next resize.
  void compact_arena(std::size_t new_max) {
    const std::uint32_t limit = arena_.boundary_at_or_above(new_max + slack_for(new_max));
    if (!arena_.begin_shrink(limit)) return;
    std::vector<std::uint32_t> left = ArenaCompaction::compact(*this, arena_);
    for (int round = 0; round < 100'000; ++round) {
      if (left.empty()) {
        arena_.finish_shrink();
        {
          std::lock_guard<std::mutex> lock(admin_mutex_);
          const std::size_t entries = std::min<std::size_t>(new_max, limit);
          if (entries < sketch_capacity_ && sketch().shrink_to(entries)) {
            sketch_capacity_ = entries;
          }
        }
        map_.compact();  // each shard's table shrinks to fit what it holds (entry_map.h)
        return;
      }
      std::this_thread::yield();  // a writer between its publish and its insert: let it finish
      ArenaCompaction::retry(*this, arena_, left);
    }
  }

  // Moves the entry of chain `hash` that owns slot `from` to a free slot below the arena's
  // limit (arena_compaction.h). Returns the new slot, or kNoSlot if the entry does not own
  // `from` (removed, or not in the map yet), in which case nothing changed.
  std::uint32_t relocate_entry_to_new_slot(std::uint64_t hash, std::uint32_t from) {
    const std::uint32_t to = allocate_slot();
    Slot& old_slot = arena_[from];
    Slot& new_slot = arena_[to];
    arena_.publish(to, hash, old_slot.deadline_ns.load(std::memory_order_relaxed),
                   old_slot.access_tick.load(std::memory_order_relaxed), false);
    if (std::atomic<std::uint32_t>* to_uses = arena_.uses(to)) {
      const std::atomic<std::uint32_t>* from_uses = arena_.uses(from);
      to_uses->store(from_uses != nullptr ? from_uses->load(std::memory_order_relaxed) : 1,
                     std::memory_order_relaxed);
    }
    bool moved = false;
    map_.modify(hash, [&](ChainType& chain) {
      Entry* e = chain.find_slot(from);
      if (e == nullptr) return false;
      // Deadlines change only under this lock: copy the current one.
      new_slot.deadline_ns.store(old_slot.deadline_ns.load(std::memory_order_relaxed),
                                 std::memory_order_relaxed);
      e->slot = to;
      moved = true;
      return false;
    });
    if (!moved) {
      release_slot(to);
      return kNoSlot;
    }
    // A recency stamp written to the old slot just before the switch is carried over.
    const std::uint32_t last = old_slot.access_tick.load(std::memory_order_relaxed);
    if (static_cast<std::int32_t>(last - new_slot.access_tick.load(std::memory_order_relaxed)) >
        0) {
      new_slot.access_tick.store(last, std::memory_order_relaxed);
    }
    release_slot(from);  // the entry left it: parked (slot_arena.h)
    return to;
  }

  bool relocate_entry(std::uint64_t hash, std::uint32_t from) {
    return relocate_entry_to_new_slot(hash, from) != kNoSlot;
  }

  // Releases a slot whose entry never entered (or has left) the map, keeping ADAPTIVE's window
  // count equal to the number of window bits set.
  void release_slot(std::uint32_t slot) noexcept {
    if (SlotState::window(arena_.release(slot))) adaptive_.on_window_leave();
  }

  bool evict_once(const Candidate* newcomer) { return eviction_.evict_once(*this, newcomer); }

  void evict_to_capacity(const Candidate* newcomer = nullptr) {
    eviction_.evict_to_capacity(*this, newcomer);
  }

  const CacheConfig config_;
  const std::shared_ptr<const Clock> clock_;
  const Hash hasher_;
  const KeyEqual equal_;

  alignas(kCacheLine) std::atomic<std::int64_t> size_{0};
  std::atomic<std::uint64_t> tick_{0};  // advances by one per new entry
  alignas(kCacheLine) std::atomic<std::size_t> max_size_;
  std::atomic<std::int64_t> default_ttl_ns_;
  std::atomic<bool> ttl_in_use_;
  std::atomic<Policy> policy_;
  std::atomic<bool> exact_;  // max_size <= kExactMaxSize (see exact_now())
  // What a hit needs to know, in one word read once per lookup (a hit racing a change may act on
  // the old word, as it may on the old policy). Low bits: what it must do beyond finding and
  // stamping its entry, one bit per reason; visit() takes its plain path when none is set.
  // Bits from kStampShiftBit up: the stamp shift (stamp_shift_for()).
  static constexpr std::uint32_t kHitReadsClock = 1;       // ttl_in_use_: deadlines exist
  static constexpr std::uint32_t kHitExact = 2;            // exact_now(): every use counts
  static constexpr std::uint32_t kHitCountsFrequency = 4;  // counts_frequency(policy())
  static constexpr std::uint32_t kHitExtras = 7;
  static constexpr unsigned kStampShiftBit = 8;
  static constexpr std::uint32_t kMissed = kNoSlot - 1;  // visit(): not a slot (see kNoSlot)
  // A stamp no tick shifted right by stamp_shift_for() >= 1 reaches (with a shift of 0, a hit
  // 2^32 inserts later skips one write).
  static constexpr std::uint32_t kNoStamp = UINT32_MAX;
  std::atomic<std::uint32_t> hit_mode_{0};

  mutable Map map_;
  SlotArena arena_;
  std::unique_ptr<FrequencySketch> sketch_;
  std::atomic<FrequencySketch*> current_sketch_;
  std::vector<std::unique_ptr<FrequencySketch>> retired_sketches_;  // readers may still hold one
  std::size_t sketch_capacity_ = initial_sketch_size(config_.max_size);  // admin_mutex_
  Eviction eviction_;
  AdaptivePolicy adaptive_;
  StripedStats stats_;
  std::mutex admin_mutex_;   // set_max_size, set_policy, sweeper: never on get/put
  std::mutex resize_mutex_;  // set_max_size as a whole (its evictions and compaction)
  ExpiryWatch watch_;
  std::mutex pass_mutex_;                       // the sweeping thread's: never on get/put
  ExpirySweeper* sweeper_ = nullptr;            // admin_mutex_
  std::unique_ptr<ExpirySweeper> own_sweeper_;  // admin_mutex_
};

}  // namespace cuckoocache
