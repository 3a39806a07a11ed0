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
//   policy(), sample_now(), current_tick(), sketch(), arena_, config_, over_capacity(),
//   excess(), main_region(), remove_entry(hash, slot, why), remove_expired(hash, slot, now).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "engine/cache_config.h"
#include "engine/frequency_sketch.h"
#include "engine/random.h"
#include "engine/sampler.h"
#include "engine/slot_arena.h"
#include "engine/stats.h"
#include "policies/adaptive.h"
#include "policies/lfu.h"
#include "policies/lru.h"
#include "policies/policy.h"
#include "policies/ttl.h"

namespace cuckoocache {

class Eviction {
 public:
  // Picks a victim with policy `p` among live slots accepted by `accept(state, slot)`.
  template <class Accept>
  [[nodiscard]] std::optional<Candidate> pick(Policy p, const SlotArena& arena,
                                              const FrequencySketch& sketch,
                                              std::size_t sample_size, std::uint64_t now,
                                              std::uint64_t tick, const Accept& accept) noexcept {
    const ScoreContext ctx{sketch};
    const auto tag = static_cast<unsigned>(p);
    switch (p) {
      case Policy::kLru:
        return sampler_.pick(
            arena, sample_size, now, tick, tag,
            [&](const EntryMeta& m) { return LruPolicy::score(m, ctx); }, accept);
      case Policy::kLfu:
        return sampler_.pick(
            arena, sample_size, now, tick, tag,
            [&](const EntryMeta& m) { return LfuPolicy::score(m, ctx); }, accept);
      case Policy::kTtl:
        return sampler_.pick(
            arena, sample_size, now, tick, tag,
            [&](const EntryMeta& m) { return TtlPolicy::score(m, ctx); }, accept);
      case Policy::kAdaptive:
        return sampler_.pick(
            arena, sample_size, now, tick, tag,
            [&](const EntryMeta& m) { return AdaptivePolicy::main_score(m, ctx); }, accept);
    }
    return std::nullopt;
  }

  // Sampling finds nothing when live slots are very sparse (right after a large shrink): walk
  // the arena from a random point to the first live slot accepted by `accept` instead.
  template <class Accept>
  [[nodiscard]] static std::optional<Candidate> scan(const SlotArena& arena, std::uint64_t now,
                                                     std::uint64_t tick,
                                                     const Accept& accept) noexcept {
    const std::uint32_t capacity = arena.capacity();
    const std::uint32_t start = thread_random().below(capacity);
    EntryMeta meta;
    Candidate c;
    for (std::uint32_t i = 0; i < capacity; ++i) {
      const std::uint32_t index = start + i < capacity ? start + i : start + i - capacity;
      if (read_candidate(arena, index, now, tick, accept, meta, c)) return c;
    }
    return std::nullopt;
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
      victim = scan(host.arena_, host.sample_now(), host.current_tick(),
                    [](std::uint32_t, const Slot&) { return true; });
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
  Sampler sampler_;
};

}  // namespace cuckoocache
