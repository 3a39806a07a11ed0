// Sampler: picks an eviction victim by looking at a few random live slots.
//
// This is Redis's approximated eviction: rather than keeping every entry in a global order
// (a list every access must lock), look at `sample_size` random live entries and evict the one
// the policy scores lowest. The slots are read with relaxed loads and no lock (see
// slot_arena.h for why a stale read is harmless). An entry past its deadline is always the
// first choice, whatever the policy.
//
// Like Redis, each thread keeps a pool of the 32 best candidates it has seen in earlier
// rounds: a victim is then the lowest of the pool and the fresh samples, which behaves like a
// larger sample. Pool scores are remembered, not re-read, so before a pooled candidate is
// returned its score is recomputed; if the entry was used since (its score rose) it goes back
// into the pool with the new score and the choice is made again. The pool is kept sorted, worst
// first: a fresh sample worse than the worst pooled one is turned away with one comparison, the
// best is taken from the back, and an insertion is a branchless binary search plus a shift of
// 8-byte words (a 64-bit pool key per candidate, engine/entry_meta.h). Pools are striped by
// thread index and guarded by a try-lock: a thread that finds its stripe busy samples without a
// pool.
//
// Randomness: each stripe has its own generator, seeded from the cache's seed, used while the
// stripe is held; a thread that finds its stripe busy uses its thread's generator. A
// single-threaded run with a fixed seed therefore makes the same choices every time.
//
// Exact mode (pick_exact): a cache small enough that looking at every slot costs about what a
// sampled round costs scores all of them, so its policy is exact.
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <type_traits>

#include "entry_meta.h"
#include "random.h"
#include "slot_arena.h"
#include "thread_index.h"

namespace cuckoocache {

struct Candidate {
  std::uint32_t slot = kNoSlot;
  std::uint32_t identity = 0;
  std::uint64_t hash = 0;
  Score score;
  bool expired = false;
};

// Rebuilds a 64-bit tick from the 32 low bits stored in a slot, assuming it is in the past and
// less than 2^32 ticks old.
[[nodiscard]] constexpr std::uint64_t widen_tick(std::uint32_t stored, std::uint64_t now) noexcept {
  return now - static_cast<std::uint32_t>(static_cast<std::uint32_t>(now) - stored);
}

// What slot `s` says about its entry (relaxed loads), its tick widened against `tick_now`.
// `uses` is the slot's use count where the caller keeps one (exact caches: SlotArena::uses).
[[nodiscard, gnu::always_inline]] inline EntryMeta read_meta(const Slot& s, std::uint64_t tick_now,
                                                             std::uint32_t uses = 0) noexcept {
  EntryMeta meta;
  meta.hash = s.hash.load(std::memory_order_relaxed);
  meta.deadline_ns = s.deadline_ns.load(std::memory_order_relaxed);
  meta.access_tick = widen_tick(s.access_tick.load(std::memory_order_relaxed), tick_now);
  meta.uses = uses;
  return meta;
}

// read_meta() of only the fields in `Fields` (MetaFields), plus the deadline when `deadline`
// (entries may have expired); the others stay 0. `uses` as in read_meta().
template <unsigned Fields>
[[nodiscard, gnu::always_inline]] inline EntryMeta read_meta_fields(const Slot& s,
                                                                    std::uint64_t tick_now,
                                                                    bool deadline,
                                                                    std::uint32_t uses = 0) noexcept {
  EntryMeta meta;
  if constexpr ((Fields & MetaFields::kHash) != 0) {
    meta.hash = s.hash.load(std::memory_order_relaxed);
  }
  if ((Fields & MetaFields::kDeadline) != 0 || deadline) {
    meta.deadline_ns = s.deadline_ns.load(std::memory_order_relaxed);
  }
  if constexpr ((Fields & MetaFields::kTick) != 0) {
    meta.access_tick = widen_tick(s.access_tick.load(std::memory_order_relaxed), tick_now);
  }
  if constexpr ((Fields & MetaFields::kUses) != 0) {
    meta.uses = uses;
  }
  return meta;
}

// Reads slot `index`; returns false if it is not live or `accept(state, slot)` says no.
template <class Accept>
[[nodiscard]] inline bool read_candidate(const SlotArena& arena, std::uint32_t index,
                                         std::uint64_t now_ns, std::uint64_t tick_now,
                                         const Accept& accept, EntryMeta& meta,
                                         Candidate& out) noexcept {
  const Slot& s = arena[index];
  const std::uint32_t state = s.state.load(std::memory_order_acquire);
  if (!SlotState::live(state) || !accept(state, s)) return false;
  meta = read_meta(s, tick_now);
  out.slot = index;
  out.identity = SlotState::identity(state);
  out.hash = meta.hash;
  out.expired = meta.deadline_ns != 0 && now_ns != 0 && meta.deadline_ns <= now_ns;
  return true;
}

static_assert(std::is_trivially_copyable_v<Candidate>);

class Sampler {
 public:
  static constexpr std::size_t kPoolSize = 32;
  static constexpr std::size_t kStripes = 8;
  static constexpr std::size_t kMaxBatch = 16;

  explicit Sampler(std::uint64_t seed) noexcept {
    for (std::size_t i = 0; i < kStripes; ++i) pools_[i].rng = FastRandom(seed + i);
  }

  Sampler(const Sampler&) = delete;
  Sampler& operator=(const Sampler&) = delete;

  // Picks a victim among live slots accepted by `accept(state, slot)`, scored by `score(meta)`;
  // the pool orders candidates by `key(score)`, a monotone 64-bit image of the score below
  // 2^kPoolKeyBits (engine/entry_meta.h). `now_ns` is 0 when no entry can have expired.
  // Returns nullopt if no acceptable live slot was found in a bounded number of probes.
  // `Fields` (MetaFields) are what `score` reads; with `KeyOrders`, key(a) < key(b) exactly when
  // a < b, and samples are compared by key rather than by their 128-bit scores.
  template <unsigned Fields = MetaFields::kAll, bool KeyOrders = false, class ScoreFn, class Accept,
            class KeyFn = PrimaryPoolKey>
  [[nodiscard]] std::optional<Candidate> pick(const SlotArena& arena, std::size_t sample_size,
                                              std::uint64_t now_ns, std::uint64_t tick_now,
                                              unsigned pool_tag, const ScoreFn& score,
                                              const Accept& accept,
                                              const KeyFn& key = KeyFn{}) noexcept {
    Pool& pool = pools_[thread_index() % kStripes];
    if (pool.busy.test_and_set(std::memory_order_acquire)) {
      // The stripe is busy (another thread of the same stripe is evicting): sample without a
      // pool, with this thread's generator.
      Round round;
      sample<Fields, KeyOrders>(arena, sample_size, now_ns, tick_now, score, accept, key,
                                thread_random(), nullptr, round);
      return round.result();
    }
    if (pool.tag != pool_tag) {
      pool.clear();
      pool.tag = pool_tag;
    }
    Round round;
    FastRandom rng = pool.rng;  // a local copy stays in registers through the round
    sample<Fields, KeyOrders>(arena, sample_size, now_ns, tick_now, score, accept, key, rng, &pool,
                              round);
    pool.rng = rng;
    if (round.expired) {
      pool.busy.clear(std::memory_order_release);
      return round.result();
    }

    // Take the pool's best if its score is still current; if the entry was used since it was
    // pooled, re-rank it and look again. A pooled entry that is this round's best sample was
    // read just now: it is current without a second read.
    std::optional<Candidate> best;
    for (int attempt = 0; attempt < 8 && pool.count > 0; ++attempt) {
      const PoolCell e = pool.take_best();
      if (round.found && e.slot == round.best.slot && e.identity == round.best.identity &&
          e.score == round.best.score) {
        best = round.best;
        break;
      }
      const Slot& s = arena[e.slot];
      const std::uint32_t state = s.state.load(std::memory_order_acquire);
      if (!SlotState::live(state) || SlotState::identity(state) != e.identity ||
          !accept(state, s)) {
        continue;  // gone, reused or now refused
      }
      const EntryMeta meta = read_meta_fields<Fields | MetaFields::kHash>(s, tick_now, now_ns != 0);
      if (is_expired(meta, now_ns)) {
        best = Candidate{e.slot, e.identity, meta.hash, Score{}, true};
        break;
      }
      const Score sc = score(meta);
      if (sc == e.score) {
        best = Candidate{e.slot, e.identity, meta.hash, sc, false};
        break;
      }
      const std::uint64_t k = key(sc);
      if (pool.admits(k)) pool.insert(k, PoolCell{sc, e.slot, e.identity});
    }
    // Every pooled candidate tried had been used since it was pooled (scores move all the time
    // under LFU): fall back on this round's best sample rather than on no choice at all.
    if (!best && round.found) best = round.best;
    pool.busy.clear(std::memory_order_release);
    return best;
  }

  // Scores every live slot accepted by `accept` and returns the lowest (an expired one at
  // once), or nullopt if there is none. For arenas of a few hundred slots (exact caches).
  template <unsigned Fields = MetaFields::kAll, bool KeyOrders = false, class ScoreFn, class Accept,
            class KeyFn = PrimaryPoolKey>
  [[nodiscard]] static std::optional<Candidate> pick_exact(
      const SlotArena& arena, std::uint64_t now_ns, std::uint64_t tick_now, const ScoreFn& score,
      const Accept& accept, const KeyFn& key = KeyFn{}) noexcept {
    // Without a clock reading (no entry has a deadline) the scan skips the expiry test. A scan
    // whose winner changed hands before it was read again is repeated (a few times at most).
    std::optional<Candidate> c;
    bool raced = true;
    for (int attempt = 0; attempt < 4 && raced; ++attempt) {
      raced = false;
      c = now_ns == 0 ? scan_all<false, Fields, KeyOrders>(arena, now_ns, tick_now, score, accept,
                                                           key, raced)
                      : scan_all<true, Fields, KeyOrders>(arena, now_ns, tick_now, score, accept,
                                                          key, raced);
    }
    return c;
  }

  // A random index in [0, bound) from the calling thread's stripe generator when it is free.
  [[nodiscard]] std::uint32_t random_below(std::uint32_t bound) noexcept {
    Pool& pool = pools_[thread_index() % kStripes];
    if (pool.busy.test_and_set(std::memory_order_acquire)) return thread_random().below(bound);
    const std::uint32_t r = pool.rng.below(bound);
    pool.busy.clear(std::memory_order_release);
    return r;
  }

 private:
  __extension__ typedef unsigned __int128 Rank;  // a Score as one comparable number

  [[nodiscard]] static constexpr Rank rank(const Score& s) noexcept {
    return (Rank{s.primary} << 64) | s.secondary;
  }

  [[nodiscard]] static bool is_expired(const EntryMeta& meta, std::uint64_t now_ns) noexcept {
    return meta.deadline_ns - 1 < now_ns;  // deadline_ns != 0 && deadline_ns <= now_ns
  }

  // pick_exact's scan. Only the best so far is remembered (its slot, state and rank), and
  // only when a slot beats it.
  template <bool kCheckExpiry, unsigned Fields, bool KeyOrders, class ScoreFn, class Accept,
            class KeyFn>
  [[nodiscard]] static std::optional<Candidate> scan_all(const SlotArena& arena,
                                                         std::uint64_t now_ns,
                                                         std::uint64_t tick_now,
                                                         const ScoreFn& score, const Accept& accept,
                                                         const KeyFn& key, bool& raced) noexcept {
    // Ranked by key when it orders scores exactly (KeyOrders), else by the 128-bit score.
    using ScanRank = std::conditional_t<KeyOrders, std::uint64_t, Rank>;
    ScanRank best_rank = 0;
    std::uint32_t best_slot = kNoSlot;
    std::uint32_t best_state = 0;
    bool expired = false;
    const std::atomic<std::uint32_t>* counts = arena.use_counts();
    const auto uses = [counts](std::uint32_t i) -> std::uint32_t {
      return counts != nullptr && i < SlotArena::kCountedSlots
                 ? counts[i].load(std::memory_order_relaxed)
                 : 0;
    };
    arena.for_each_slot([&](std::uint32_t i, const Slot& s) {
      if constexpr (kCheckExpiry) {
        if (expired) return;  // nothing beats an expired entry
      }
      const std::uint32_t state = s.state.load(std::memory_order_acquire);
      if (!SlotState::live(state) || !accept(state, s)) return;
      const EntryMeta meta = read_meta_fields<Fields>(
          s, tick_now, kCheckExpiry, (Fields & MetaFields::kUses) != 0 ? uses(i) : 0);
      if constexpr (kCheckExpiry) {
        if (is_expired(meta, now_ns)) {
          best_slot = i;
          best_state = state;
          expired = true;
          return;
        }
      }
      ScanRank r;
      if constexpr (KeyOrders) {
        r = key(score(meta));
      } else {
        r = rank(score(meta));
      }
      if (r < best_rank || best_slot == kNoSlot) {
        best_rank = r;
        best_slot = i;
        best_state = state;
      }
    });
    if (best_slot == kNoSlot) return std::nullopt;
    // Read the winner's hash and score again rather than carrying them through the scan; if
    // its slot changed hands meanwhile (a racing removal and insert), the caller scans again.
    const Slot& s = arena[best_slot];
    const EntryMeta meta = read_meta(s, tick_now, uses(best_slot));
    if (s.state.load(std::memory_order_acquire) != best_state) {
      raced = true;
      return std::nullopt;
    }
    return Candidate{best_slot, SlotState::identity(best_state), meta.hash,
                     expired ? Score{} : score(meta), expired};
  }

  // A pooled candidate: its score when it was sampled and the slot's identity then (the hash
  // is read again when the candidate is taken).
  struct PoolCell {
    Score score;
    std::uint32_t slot;
    std::uint32_t identity;
  };

  // What one sampling round found: its best sample (current scores), or an expired entry.
  struct Round {
    Candidate best;
    bool found = false;
    bool expired = false;
    [[nodiscard]] std::optional<Candidate> result() const noexcept {
      return found ? std::optional<Candidate>(best) : std::nullopt;
    }
  };

  struct Pool;

  // Samples `sample_size` live accepted slots (bounded probes) with `rng`; each goes into
  // `pool` if it admits it (when there is one) and competes for round.best. Stops at the first
  // expired entry (round.expired). Each batch of slots is prefetched before any is read, so
  // their cache misses overlap.
  template <unsigned Fields, bool KeyOrders, class ScoreFn, class Accept, class KeyFn>
  [[gnu::always_inline]] static void sample(const SlotArena& arena, std::size_t sample_size,
                                            std::uint64_t now_ns, std::uint64_t tick_now,
                                            const ScoreFn& score, const Accept& accept,
                                            const KeyFn& key, FastRandom& rng, Pool* pool,
                                            Round& round) noexcept {
    const std::uint32_t capacity = arena.capacity();
    std::size_t found = 0;
    std::size_t probes_left = 4 * sample_size + 16;
    std::array<std::uint32_t, kMaxBatch> batch;
    std::array<const Slot*, kMaxBatch> slots;
    const bool check_expiry = now_ns != 0;
    // The round's best so far, kept in locals (written to `round` once, at the end).
    Rank best_rank = ~Rank{0};       // (unless KeyOrders)
    std::uint64_t best_key = ~0ULL;  // (KeyOrders)
    Score best_score;
    std::uint64_t best_hash = 0;
    std::uint32_t best_slot = kNoSlot;
    std::uint32_t best_identity = 0;
    while (found < sample_size && probes_left > 0) {
      const std::size_t n = std::min({sample_size - found, probes_left, kMaxBatch});
      probes_left -= n;
      for (std::size_t i = 0; i < n; ++i) {
        batch[i] = rng.below(capacity);
        slots[i] = &arena[batch[i]];
        __builtin_prefetch(slots[i]);
      }
      for (std::size_t i = 0; i < n; ++i) {
        const Slot& s = *slots[i];
        const std::uint32_t state = s.state.load(std::memory_order_acquire);
        if (!SlotState::live(state) || !accept(state, s)) continue;
        ++found;
        const EntryMeta meta = read_meta_fields<Fields>(s, tick_now, check_expiry);
        if (is_expired(meta, now_ns)) [[unlikely]] {
          // Nothing beats an expired entry.
          round.best = Candidate{batch[i], SlotState::identity(state),
                                 s.hash.load(std::memory_order_relaxed), Score{}, true};
          round.found = true;
          round.expired = true;
          return;
        }
        const Score sc = score(meta);
        const std::uint64_t k = key(sc);
        bool better;
        if constexpr (KeyOrders) {
          better = k < best_key || best_slot == kNoSlot;
          best_key = better ? k : best_key;
        } else {
          const Rank r = rank(sc);
          better = r < best_rank || best_slot == kNoSlot;
          best_rank = better ? r : best_rank;
        }
        if (better) {
          best_score = sc;
          // (Only the best's hash is needed: read here unless the score read it.)
          best_hash = (Fields & MetaFields::kHash) != 0 ? meta.hash
                                                        : s.hash.load(std::memory_order_relaxed);
          best_slot = batch[i];
          best_identity = SlotState::identity(state);
        }
        if (pool != nullptr && pool->admits(k)) {
          pool->insert(k, PoolCell{sc, batch[i], SlotState::identity(state)});
        }
      }
    }
    if (best_slot != kNoSlot) {
      round.best = Candidate{best_slot, best_identity, best_hash, best_score, false};
      round.found = true;
    }
  }

  struct alignas(kCacheLine) Pool {
    std::atomic_flag busy = ATOMIC_FLAG_INIT;
    unsigned tag = 0;
    std::uint32_t count = 0;
    std::uint32_t used = 0;  // bit c: cells[c] holds a pooled candidate
    FastRandom rng{0};
    // order[0, count) holds (key << 5 | cell) of the pooled candidates, by key highest (worst)
    // first, so the best is taken from the back and the worst, which decides admission, is
    // order[0]. Candidates stay in the cell they were written to. An insertion is a branchless
    // binary search over 8-byte words and a shift of the words behind the insertion point
    // (sorting a permutation of cell numbers searched through 128-bit ranks cost about twice as
    // much per insertion).
    std::array<std::uint64_t, kPoolSize> order{};
    std::array<PoolCell, kPoolSize> cells{};

    static constexpr unsigned kCellBits = 5;
    static_assert(kPoolSize == 1u << kCellBits && kPoolKeyBits + kCellBits <= 64);

    void clear() noexcept {
      count = 0;
      used = 0;
      order.fill(0);
    }

    // Whether a candidate of pool key k would enter the pool: one comparison when it is full.
    [[nodiscard]] bool admits(std::uint64_t k) const noexcept {
      return count < kPoolSize || k < (order[0] >> kCellBits);
    }

    // Adds c (of pool key k, which admits(k)), dropping the worst when the pool is full. A slot
    // sampled again while pooled may appear twice; the second copy fails the identity check
    // once the first was evicted, so insertions skip a duplicate scan.
    [[gnu::always_inline]] void insert(std::uint64_t k, const PoolCell& c) noexcept {
      if (count == kPoolSize) {
        // Drop the worst (front), reuse its cell, and slide the ones worse than c forward.
        const std::uint32_t cell = static_cast<std::uint32_t>(order[0]) & (kPoolSize - 1);
        const std::uint64_t word = (k << kCellBits) | cell;
        const std::uint32_t pos = first_not_worse(k);  // >= 1: k is below order[0]'s key
        std::memmove(&order[0], &order[1], (pos - 1) * sizeof(std::uint64_t));
        order[pos - 1] = word;
        cells[cell] = c;
        return;
      }
      const auto cell = static_cast<std::uint32_t>(std::countr_one(used));
      used |= std::uint32_t{1} << cell;
      const std::uint64_t word = (k << kCellBits) | cell;
      const std::uint32_t pos = first_not_worse(k);
      std::memmove(&order[pos + 1], &order[pos], (count - pos) * sizeof(std::uint64_t));
      order[pos] = word;
      cells[cell] = c;
      ++count;
    }

    PoolCell take_best() noexcept {
      const auto cell = static_cast<std::uint32_t>(order[--count]) & (kPoolSize - 1);
      order[count] = 0;
      used &= ~(std::uint32_t{1} << cell);
      return cells[cell];
    }

   private:
    // First position whose key is not above k, at most count: a new candidate goes before
    // those of equal key, so equal keys leave the pool first in, first out. order is sorted by
    // key (the cell bits of equal keys are in insertion order, not sorted), and
    // order[count, kPoolSize) is kept at 0, never above a key, so the search runs over the
    // whole array in a fixed five steps (unrolled) plus one.
    [[nodiscard]] std::uint32_t first_not_worse(std::uint64_t k) const noexcept {
      const std::uint64_t word = (k << kCellBits) | (kPoolSize - 1);  // above k's words only
      std::uint32_t pos = 0;  // order[0, pos) are all above word
      for (std::uint32_t step = kPoolSize / 2; step > 0; step /= 2) {
        pos = order[pos + step - 1] > word ? pos + step : pos;
      }
      return pos + (order[pos] > word ? 1 : 0);  // pos <= kPoolSize - 1 here
    }
  };

  std::array<Pool, kStripes> pools_{};
};

}  // namespace cuckoocache
