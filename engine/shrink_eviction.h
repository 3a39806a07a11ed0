// ShrinkEviction: evicts a large share of a cache at once (set_max_size to a much smaller size).
//
// Evicting 999,000 of a million entries one sampled victim at a time took 12 s (issue 13.18):
// each eviction samples, and as live slots thin out sampling finds nothing and falls back on a
// linear walk. Here the victims are chosen by the policy's score over the whole arena in a
// few passes instead:
//  - while more entries are live than can be collected cheaply (kCollectMin, or twice the new
//    size), a random sample of live slots gives a score threshold expected to keep a little
//    more than the target, and one pass removes every live entry scored below it;
//  - then one pass collects every live entry's score and the lowest are removed, exactly down
//    to the target.
// Expired entries go first in both (removed as expirations). A pass reads slots without locks
// and removes through the host (re-checked under the bucket lock), like sampled eviction, so
// other threads may keep using the cache meanwhile; it stops as soon as the cache is within
// its target. Memory: the collection holds 32 bytes per collected entry while it runs.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "entry_meta.h"
#include "random.h"
#include "sampler.h"
#include "slot_arena.h"
#include "stats.h"

namespace cuckoocache {

class ShrinkEviction {
 public:
  static constexpr std::size_t kCollectMin = std::size_t{1} << 16;
  static constexpr std::size_t kThresholdSamples = 4096;

  // Evicts until host.size() <= target, choosing victims by `score(meta)` (lowest first).
  // Host: arena_, size(), sample_now(), current_tick(), remove_entry(hash, slot, Counter),
  // remove_expired(hash, slot, now).
  template <class Host, class ScoreFn>
  static void evict_down_to(Host& host, std::size_t target, const ScoreFn& score,
                            std::uint64_t seed) {
    FastRandom rng(seed);
    const std::size_t collect_limit = std::max(kCollectMin, 2 * target);
    for (int round = 0; round < 8 && host.size() > target; ++round) {
      if (host.size() > collect_limit) {
        threshold_pass(host, target, target + target / 16 + kCollectMin / 2, score, rng);
      } else {
        exact_pass(host, target, score);
      }
    }
  }

 private:
  struct Victim {
    Score score;
    std::uint64_t hash = 0;
    std::uint32_t slot = kNoSlot;
  };

  static constexpr auto kAny = [](std::uint32_t, const Slot&) { return true; };

  // Removes the expired entry or reports its score. Returns false if the slot is not live.
  template <class Host, class ScoreFn>
  static bool read(Host& host, std::uint32_t index, std::uint64_t now, std::uint64_t tick,
                   const ScoreFn& score, Victim& out) {
    EntryMeta meta;
    Candidate c;
    if (!read_candidate(host.arena_, index, now, tick, kAny, meta, c)) return false;
    if (c.expired) {
      host.remove_expired(c.hash, c.slot, now);
      return false;
    }
    out = Victim{score(meta), c.hash, c.slot};
    return true;
  }

  // One pass removing every entry scored below a threshold taken from a sample, chosen so that
  // about `keep` entries stay.
  template <class Host, class ScoreFn>
  static void threshold_pass(Host& host, std::size_t target, std::size_t keep, const ScoreFn& score,
                             FastRandom& rng) {
    const std::uint64_t now = host.sample_now();
    const std::uint64_t tick = host.current_tick();
    const std::uint32_t capacity = host.arena_.capacity();
    const std::size_t live = host.size();
    if (capacity == 0 || keep >= live) return exact_pass(host, target, score);
    std::vector<Score> sample;
    sample.reserve(kThresholdSamples);
    Victim v;
    for (std::size_t probe = 0; probe < 64 * kThresholdSamples && sample.size() < kThresholdSamples;
         ++probe) {
      if (read(host, rng.below(capacity), now, tick, score, v)) sample.push_back(v.score);
    }
    if (sample.empty()) return;
    // The share of the sample to evict is the share of live entries to evict.
    const auto cut =
        static_cast<std::size_t>(static_cast<double>(sample.size()) *
                                 static_cast<double>(live - keep) / static_cast<double>(live));
    std::nth_element(sample.begin(), sample.begin() + static_cast<std::ptrdiff_t>(cut),
                     sample.end());
    const Score threshold = sample[cut];
    for (std::uint32_t i = 0; i < capacity && host.size() > target; ++i) {
      if (read(host, i, now, tick, score, v) && v.score < threshold) {
        host.remove_entry(v.hash, v.slot, Counter::kEvictions);
      }
    }
  }

  // Collects every live entry's score and removes the lowest, down to `target`.
  template <class Host, class ScoreFn>
  static void exact_pass(Host& host, std::size_t target, const ScoreFn& score) {
    const std::uint64_t now = host.sample_now();
    const std::uint64_t tick = host.current_tick();
    std::vector<Victim> all;
    all.reserve(host.size() + 64);
    Victim v;
    const std::uint32_t capacity = host.arena_.capacity();
    for (std::uint32_t i = 0; i < capacity; ++i) {
      if (read(host, i, now, tick, score, v)) all.push_back(v);
    }
    const std::size_t size = host.size();
    if (size <= target) return;
    const std::size_t evict = std::min(size - target, all.size());
    const auto by_score = [](const Victim& a, const Victim& b) { return a.score < b.score; };
    std::nth_element(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(evict), all.end(),
                     by_score);
    std::sort(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(evict), by_score);
    for (std::size_t i = 0; i < evict && host.size() > target; ++i) {
      host.remove_entry(all[i].hash, all[i].slot, Counter::kEvictions);
    }
  }
};

}  // namespace cuckoocache
