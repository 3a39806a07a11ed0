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
// best is taken from the back, and an insertion is a binary search plus a shift of a byte
// permutation (candidates stay where they were written). Pools are striped by
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
[[nodiscard]] inline EntryMeta read_meta(const Slot& s, std::uint64_t tick_now) noexcept {
  EntryMeta meta;
  meta.hash = s.hash.load(std::memory_order_relaxed);
  meta.deadline_ns = s.deadline_ns.load(std::memory_order_relaxed);
  meta.access_tick = widen_tick(s.access_tick.load(std::memory_order_relaxed), tick_now);
  meta.uses = s.uses.load(std::memory_order_relaxed);
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

  // Picks a victim among live slots accepted by `accept(state, slot)`, scored by `score(meta)`.
  // `now_ns` is 0 when no entry can have expired. Returns nullopt if no acceptable live slot
  // was found in a bounded number of probes.
  template <class ScoreFn, class Accept>
  [[nodiscard]] std::optional<Candidate> pick(const SlotArena& arena, std::size_t sample_size,
                                              std::uint64_t now_ns, std::uint64_t tick_now,
                                              unsigned pool_tag, const ScoreFn& score,
                                              const Accept& accept) noexcept {
    Pool& pool = pools_[thread_index() % kStripes];
    const bool have_pool = !pool.busy.test_and_set(std::memory_order_acquire);
    if (have_pool && pool.tag != pool_tag) {
      pool.count = 0;
      pool.tag = pool_tag;
    }

    // Fresh samples go into the pool (or, without one, compete directly). Only the ranks are
    // compared per sample; a Candidate is written only for the round's best and for samples
    // that enter the pool.
    FastRandom& rng = have_pool ? pool.rng : thread_random();
    const std::uint32_t capacity = arena.capacity();
    Candidate fresh_best;  // the lowest of this round's samples: current scores
    Rank fresh_rank = 0;
    bool have_fresh = false;
    std::size_t found = 0;
    std::size_t probes_left = 4 * sample_size + 16;
    std::array<std::uint32_t, kMaxBatch> batch;
    std::array<const Slot*, kMaxBatch> slots;
    while (found < sample_size && probes_left > 0) {
      // Pick a batch of indices and prefetch them all first, so the slots' cache misses
      // overlap instead of following one another.
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
        const EntryMeta meta = read_meta(s, tick_now);
        if (meta.deadline_ns != 0 && now_ns != 0 && meta.deadline_ns <= now_ns) {
          // Nothing beats an expired entry.
          if (have_pool) pool.busy.clear(std::memory_order_release);
          return Candidate{batch[i], SlotState::identity(state), meta.hash, Score{}, true};
        }
        const Score sc = score(meta);
        const Rank r = rank(sc);
        const bool new_fresh = !have_fresh || r < fresh_rank;
        const bool pooled = have_pool && pool.admits(r);
        if (!new_fresh && !pooled) continue;
        const Candidate c{batch[i], SlotState::identity(state), meta.hash, sc, false};
        if (new_fresh) {
          fresh_best = c;
          fresh_rank = r;
          have_fresh = true;
        }
        if (pooled) pool.insert(r, c);
      }
    }
    if (!have_pool) return have_fresh ? std::optional<Candidate>(fresh_best) : std::nullopt;

    // Take the pool's best if its score is still current; if
    // the entry was used since it was pooled, re-rank it and look again.
    std::optional<Candidate> best;
    EntryMeta meta;
    for (int attempt = 0; attempt < 8 && pool.count > 0; ++attempt) {
      const Candidate c = pool.take_best();
      Candidate fresh;
      if (!read_candidate(arena, c.slot, now_ns, tick_now, accept, meta, fresh) ||
          fresh.identity != c.identity) {
        continue;  // gone or reused
      }
      if (fresh.expired) {
        best = fresh;
        break;
      }
      fresh.score = score(meta);
      if (fresh.score == c.score) {
        best = fresh;
        break;
      }
      pool.offer(fresh);
    }
    // Every pooled candidate tried had been used since it was pooled (scores move all the time
    // under LFU): fall back on this round's best sample rather than on no choice at all.
    if (!best && have_fresh) best = fresh_best;
    pool.busy.clear(std::memory_order_release);
    return best;
  }

  // Scores every live slot accepted by `accept` and returns the lowest (an expired one at
  // once), or nullopt if there is none. For arenas of a few hundred slots (exact caches).
  template <class ScoreFn, class Accept>
  [[nodiscard]] static std::optional<Candidate> pick_exact(const SlotArena& arena,
                                                           std::uint64_t now_ns,
                                                           std::uint64_t tick_now,
                                                           const ScoreFn& score,
                                                           const Accept& accept) noexcept {
    Candidate best;
    Rank best_rank = ~Rank{0};
    bool found = false;
    bool done = false;
    arena.for_each_slot([&](std::uint32_t i, const Slot& s) {
      if (done) return;
      const std::uint32_t state = s.state.load(std::memory_order_acquire);
      if (!SlotState::live(state) || !accept(state, s)) return;
      EntryMeta meta;
      meta.hash = s.hash.load(std::memory_order_relaxed);
      meta.deadline_ns = s.deadline_ns.load(std::memory_order_relaxed);
      meta.access_tick = widen_tick(s.access_tick.load(std::memory_order_relaxed), tick_now);
      meta.uses = s.uses.load(std::memory_order_relaxed);
      const bool expired = meta.deadline_ns != 0 && now_ns != 0 && meta.deadline_ns <= now_ns;
      const Score sc = score(meta);
      const Rank r = rank(sc);
      if (!found || expired || r < best_rank) {
        best = Candidate{i, SlotState::identity(state), meta.hash, sc, expired};
        best_rank = r;
        found = true;
        done = expired;  // nothing beats an expired entry
      }
    });
    if (!found) return std::nullopt;
    return best;
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

  struct alignas(kCacheLine) Pool {
    std::atomic_flag busy = ATOMIC_FLAG_INIT;
    unsigned tag = 0;
    std::uint32_t count = 0;
    FastRandom rng{0};
    // Candidates stay in the cell they were written to; only `order`, a permutation of the
    // cell numbers, is kept sorted by rank, highest (worst) first, so the best is taken from
    // the back. order[0, count) names the pooled cells and order[count, kPoolSize) the free
    // ones, so an insertion is a binary search plus a shift of at most 31 bytes (shifting the
    // 56-byte candidates themselves cost about 1,100 instructions per eviction).
    std::array<std::uint8_t, kPoolSize> order = identity_order();
    std::array<Rank, kPoolSize> ranks{};
    std::array<Candidate, kPoolSize> items{};

    // Keeps the kPoolSize lowest-scored candidates. A slot sampled again while pooled may
    // appear twice; the second copy fails the identity check once the first was evicted, so
    // offers skip a duplicate scan.
    void offer(const Candidate& c) noexcept {
      const Rank r = rank(c.score);
      if (admits(r)) insert(r, c);
    }

    // Whether a candidate of rank r would enter the pool: one comparison when it is full.
    [[nodiscard]] bool admits(Rank r) const noexcept {
      return count < kPoolSize || r < ranks[order[0]];
    }

    // Adds c (of rank r, which admits(r)), dropping the worst when the pool is full.
    void insert(Rank r, const Candidate& c) noexcept {
      if (count == kPoolSize) {
        // Drop the worst (front), reuse its cell, and slide the ones worse than c forward.
        const std::uint32_t pos = first_not_worse(1, r);
        const std::uint8_t cell = order[0];
        shift(0, 1, pos - 1);
        order[pos - 1] = cell;
        ranks[cell] = r;
        items[cell] = c;
        return;
      }
      const std::uint32_t pos = first_not_worse(0, r);
      const std::uint8_t cell = order[count];  // a free cell
      shift(pos + 1, pos, count - pos);
      order[pos] = cell;
      ranks[cell] = r;
      items[cell] = c;
      ++count;
    }

    Candidate take_best() noexcept { return items[order[--count]]; }

   private:
    static constexpr std::array<std::uint8_t, kPoolSize> identity_order() noexcept {
      std::array<std::uint8_t, kPoolSize> o{};
      for (std::size_t i = 0; i < kPoolSize; ++i) o[i] = static_cast<std::uint8_t>(i);
      return o;
    }

    // First position in [from, count) whose rank is <= r (c goes just before it).
    [[nodiscard]] std::uint32_t first_not_worse(std::uint32_t from, Rank r) const noexcept {
      std::uint32_t lo = from;
      std::uint32_t n = count - from;
      while (n > 0) {
        const std::uint32_t half = n / 2;
        if (r < ranks[order[lo + half]]) {
          lo += half + 1;
          n -= half + 1;
        } else {
          n = half;
        }
      }
      return lo;
    }

    void shift(std::uint32_t to, std::uint32_t from, std::uint32_t n) noexcept {
      std::memmove(&order[to], &order[from], n);
    }
  };

  std::array<Pool, kStripes> pools_{};
};

}  // namespace cuckoocache
