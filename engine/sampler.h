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
// larger sample at the cost of one more cache line per round. Pool scores are remembered, not
// re-read, so before a pooled candidate is returned its score is recomputed; if the entry was
// used since (its score rose) it goes back into the pool with the new score and the choice is
// made again. Pools are striped by thread index and guarded by a try-lock: a thread that finds
// its stripe busy simply samples without a pool.
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <optional>

#include "engine/random.h"
#include "engine/slot_arena.h"
#include "engine/thread_index.h"
#include "policies/policy.h"

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

// Reads slot `index`; returns false if it is not live or `accept(state, slot)` says no.
template <class Accept>
[[nodiscard]] inline bool read_candidate(const SlotArena& arena, std::uint32_t index,
                                         std::uint64_t now_ns, std::uint64_t tick_now,
                                         const Accept& accept, EntryMeta& meta,
                                         Candidate& out) noexcept {
  const Slot& s = arena[index];
  const std::uint32_t state = s.state.load(std::memory_order_acquire);
  if (!SlotState::live(state) || !accept(state, s)) return false;
  meta.hash = s.hash.load(std::memory_order_relaxed);
  meta.deadline_ns = s.deadline_ns.load(std::memory_order_relaxed);
  meta.access_tick = widen_tick(s.access_tick.load(std::memory_order_relaxed), tick_now);
  out.slot = index;
  out.identity = SlotState::identity(state);
  out.hash = meta.hash;
  out.expired = meta.deadline_ns != 0 && now_ns != 0 && meta.deadline_ns <= now_ns;
  return true;
}

class Sampler {
 public:
  static constexpr std::size_t kPoolSize = 32;
  static constexpr std::size_t kStripes = 8;
  static constexpr std::size_t kMaxBatch = 16;

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

    // Fresh samples go into the pool (or, without one, compete directly).
    std::optional<Candidate> best;
    std::optional<Candidate> fresh_best;  // the lowest of this round's samples: current scores
    FastRandom& rng = thread_random();
    const std::uint32_t capacity = arena.capacity();
    EntryMeta meta;
    std::size_t found = 0;
    std::size_t probes_left = 4 * sample_size + 16;
    std::array<std::uint32_t, kMaxBatch> batch;
    while (found < sample_size && probes_left > 0) {
      // Pick a batch of indices and prefetch them all first, so the slots' cache misses
      // overlap instead of following one another.
      const std::size_t n = std::min({sample_size - found, probes_left, kMaxBatch});
      probes_left -= n;
      for (std::size_t i = 0; i < n; ++i) {
        batch[i] = rng.below(capacity);
        __builtin_prefetch(&arena[batch[i]]);
      }
      for (std::size_t i = 0; i < n; ++i) {
        Candidate c;
        if (!read_candidate(arena, batch[i], now_ns, tick_now, accept, meta, c)) continue;
        ++found;
        if (c.expired) {  // nothing beats an expired entry
          if (have_pool) pool.busy.clear(std::memory_order_release);
          return c;
        }
        c.score = score(meta);
        if (!fresh_best || c.score < fresh_best->score) fresh_best = c;
        if (have_pool) pool.offer(c);
      }
    }
    if (!have_pool) return fresh_best;

    // Take the pool's best if its score is still current; if
    // the entry was used since it was pooled, re-rank it and look again.
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
    if (!best) best = fresh_best;
    pool.busy.clear(std::memory_order_release);
    return best;
  }

 private:
  struct alignas(kCacheLine) Pool {
    std::atomic_flag busy = ATOMIC_FLAG_INIT;
    unsigned tag = 0;
    std::size_t count = 0;
    std::array<Candidate, kPoolSize> items{};  // sorted by score, highest first

    // Keeps the kPoolSize lowest-scored candidates. A slot sampled again while pooled may
    // appear twice; the second copy fails the identity check once the first was evicted, so
    // offers skip a duplicate scan.
    void offer(const Candidate& c) noexcept {
      if (count == kPoolSize) {
        if (!(c.score < items[0].score)) return;
        // Drop the worst (front) and slide the ones worse than c down to make room for it.
        std::size_t pos = 1;
        while (pos < count && c.score < items[pos].score) {
          items[pos - 1] = items[pos];
          ++pos;
        }
        items[pos - 1] = c;
        return;
      }
      std::size_t pos = count;
      while (pos > 0 && items[pos - 1].score < c.score) {
        items[pos] = items[pos - 1];
        --pos;
      }
      items[pos] = c;
      ++count;
    }

    Candidate take_best() noexcept { return items[--count]; }
  };

  std::array<Pool, kStripes> pools_{};
};

}  // namespace cuckoocache
