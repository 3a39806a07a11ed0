// Eviction: how a cache over max_size chooses its victims and removes them.
//
// The cache (the "host") owns the entries; this class owns the decision. A victim is chosen by
// the Sampler (a few random live slots scored by the active policy, see sampler.h) and, when
// sampling finds nothing (live slots too sparse), by a linear scan from a random point. The
// victim is then removed through the host, which re-checks it under its bucket lock, so a
// stale choice costs a worse victim, never an inconsistent removal. Nothing here takes a lock
// shared by all threads: each thread samples with its own random stream.
//
// The entry whose insert caused an eviction (the "newcomer") is never a candidate: a put must
// not evict the key it just stored. With admission on, the newcomer may still be dropped in
// place of the victim when the frequency sketch says it is used less often.
//
// Host requirements (engine/cache.h provides them and befriends this class):
//   policy(), pick_victim(policy, accept), sample_now(), current_tick(), sketch(), arena_,
//   config_, over_capacity(),
//   excess(), main_region(), remove_entry(hash, slot, why), remove_expired(hash, slot, now).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <optional>

#include "../policies/adaptive.h"
#include "../policies/lfu.h"
#include "../policies/lru.h"
#include "../policies/policy.h"
#include "../policies/ttl.h"
#include "cache_config.h"
#include "frequency_sketch.h"
#include "random.h"
#include "sampler.h"
#include "slot_arena.h"
#include "stats.h"

namespace cuckoocache {

// Caches of at most this many entries are exact: eviction scores every slot (the arena is then
// a few cache lines) and the recency tick advances on every use, not only on inserts, so LRU
// evicts exactly the least recently used entry and LFU exactly the least frequently used one
// (uses counted per entry since its insertion, ties to the least recently used). Larger caches
// sample, and a hit there writes no shared line.
inline constexpr std::size_t kExactMaxSize = 64;
// ... as long as their arena is at most this long (a cache shrunk from a large size samples).
inline constexpr std::uint32_t kExactMaxSlots = 512;

class Eviction {
 public:
  // `seed` seeds the sampler's generators (CacheConfig::seed, or fresh_seed()).
  explicit Eviction(std::uint64_t seed) noexcept : sampler_(seed) {}

  // A random number in [0, bound) from this cache's seeded streams (policy coin flips).
  [[nodiscard]] std::uint32_t random_below(std::uint32_t bound) noexcept {
    return sampler_.random_below(bound);
  }

  // Picks a victim with policy `p` among live slots accepted by `accept(state, slot)`; `exact`
  // scores every slot instead of sampling (kExactMaxSize).
  template <class Accept>
  [[nodiscard]] std::optional<Candidate> pick(Policy p, bool exact, const SlotArena& arena,
                                              const FrequencySketch& sketch,
                                              std::size_t sample_size, std::uint64_t now,
                                              std::uint64_t tick, const Accept& accept) noexcept {
    const ScoreContext ctx{sketch, exact};
    // Pool keys (engine/entry_meta.h). ADAPTIVE's main score has LFU's shape.
    const auto lru_key = [](const Score& s) { return LruPolicy::pool_key(s); };
    const auto lfu_key = [](const Score& s) { return LfuPolicy::pool_key(s); };
    const auto ttl_key = [](const Score& s) { return TtlPolicy::pool_key(s); };
    switch (p) {
      case Policy::kLru:
        return pick_with<LruPolicy::kScoreReads, LruPolicy::kExactScoreReads,
                         LruPolicy::kPoolKeyOrdersScores>(
            p, exact, arena, sample_size, now, tick, accept,
            [&](const EntryMeta& m) { return LruPolicy::score(m, ctx); }, lru_key);
      case Policy::kLfu:
        return pick_with<LfuPolicy::kScoreReads, LfuPolicy::kExactScoreReads,
                         LfuPolicy::kPoolKeyOrdersScores>(
            p, exact, arena, sample_size, now, tick, accept,
            [&](const EntryMeta& m) { return LfuPolicy::score(m, ctx); }, lfu_key);
      case Policy::kTtl:
        return pick_with<TtlPolicy::kScoreReads, TtlPolicy::kExactScoreReads,
                         TtlPolicy::kPoolKeyOrdersScores>(
            p, exact, arena, sample_size, now, tick, accept,
            [&](const EntryMeta& m) { return TtlPolicy::score(m, ctx); }, ttl_key);
      case Policy::kAdaptive:
        return pick_with<MetaFields::kAll, MetaFields::kAll, false>(
            p, exact, arena, sample_size, now, tick, accept,
            [&](const EntryMeta& m) { return AdaptivePolicy::main_score(m, ctx); }, lfu_key);
    }
    return std::nullopt;
  }

  // Sampling finds nothing when live slots are very sparse or every live slot is refused:
  // walk the arena from a random point to the first live slot accepted by `accept` instead.
  // A last resort, counted (scans()): set_max_size compacts the arena after a shrink so that
  // live slots stay dense enough to sample (engine/arena_compaction.h).
  template <class Accept>
  [[nodiscard]] std::optional<Candidate> scan(const SlotArena& arena, std::uint64_t now,
                                              std::uint64_t tick, const Accept& accept) noexcept {
    scans_.fetch_add(1, std::memory_order_relaxed);
    const std::uint32_t capacity = arena.capacity();
    const std::uint32_t start = sampler_.random_below(capacity);
    EntryMeta meta;
    Candidate c;
    for (std::uint32_t i = 0; i < capacity; ++i) {
      const std::uint32_t index = start + i < capacity ? start + i : start + i - capacity;
      if (read_candidate(arena, index, now, tick, accept, meta, c)) return c;
    }
    return std::nullopt;
  }

  // How many times the linear scan fallback ran (tests and benchmarks: a cache whose live
  // slots are dense enough to sample never needs it, except at max_size 1-2 when every
  // sampled slot may be refused).
  [[nodiscard]] std::uint64_t scans() const noexcept {
    return scans_.load(std::memory_order_relaxed);
  }

  // Evicts one entry with the host's active policy, never `newcomer` (the entry just inserted)
  // unless admission is on and the newcomer is less frequent than the victim, in which case it
  // is the one dropped. Returns true if an entry was removed.
  template <class Host>
  bool evict_once(Host& host, const Candidate* newcomer) {
    const Policy p = host.policy();
    const Slot* own = newcomer != nullptr ? &host.arena_[newcomer->slot] : nullptr;
    const auto not_own = [own](std::uint32_t, const Slot& s) { return &s != own; };
    std::optional<Candidate> victim =
        p == Policy::kAdaptive
            ? host.pick_victim(p, host.main_region(newcomer ? newcomer->slot : kNoSlot))
            : host.pick_victim(p, not_own);
    if (!victim && p == Policy::kAdaptive) victim = host.pick_victim(p, not_own);
    if (!victim) {
      // The fallback too leaves the newcomer alone (it used to accept any slot, so at
      // max_size 1 a put could evict its own key).
      victim = scan(host.arena_, host.sample_now(), host.current_tick(), not_own);
    }
    if (!victim) return false;
    if (victim->expired) {
      return host.remove_expired(victim->hash, victim->slot, host.sample_now());
    }
    if (newcomer != nullptr && host.config_.admission && newcomer->slot != victim->slot &&
        host.sketch().estimate(newcomer->hash) < host.sketch().estimate(victim->hash) &&
        host.remove_entry(newcomer->hash, newcomer->slot, Counter::kRejections)) {
      return true;
    }
    return host.remove_entry(victim->hash, victim->slot, Counter::kEvictions);
  }

  // Evicts until the host is within max_size. Bounded so that a pathological state (every
  // attempt losing a race) cannot spin forever; the next insert resumes.
  template <class Host>
  void evict_to_capacity(Host& host, const Candidate* newcomer = nullptr) {
    const std::int64_t excess = host.excess();
    if (excess <= 0) return;
    const auto limit = 64 + 4 * static_cast<std::size_t>(excess);
    for (std::size_t attempts = 0; host.over_capacity() && attempts < limit; ++attempts) {
      if (evict_once(host, newcomer)) newcomer = nullptr;
    }
  }

 private:
  // `Fields` / `ExactFields`: what the policy's score reads when sampled / exact (MetaFields).
  template <unsigned Fields, unsigned ExactFields, bool KeyOrders, class Accept, class ScoreFn,
            class KeyFn>
  [[nodiscard]] std::optional<Candidate> pick_with(Policy p, bool exact, const SlotArena& arena,
                                                   std::size_t sample_size, std::uint64_t now,
                                                   std::uint64_t tick, const Accept& accept,
                                                   const ScoreFn& score,
                                                   const KeyFn& key) noexcept {
    if (exact) {
      return Sampler::pick_exact<ExactFields, KeyOrders>(arena, now, tick, score, accept, key);
    }
    return sampler_.pick<Fields, KeyOrders>(arena, sample_size, now, tick, static_cast<unsigned>(p),
                                            score, accept, key);
  }

  Sampler sampler_;
  std::atomic<std::uint64_t> scans_{0};
};

}  // namespace cuckoocache
