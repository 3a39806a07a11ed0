// zipf_get_or_put_hit_ratio: the hit ratio of a look-aside replay of zipf-distributed keys on a
// cache that already exists (warm, shrunk, resized...), for a benchmark and a test to compare
// two caches on the same request stream (perf/micro/shrink_bench.cpp,
// tests/engine/arena_compaction_test.cpp).
//
// Each request is `if (!cache.get(k)) cache.put(k, k)` on key `key_base + zipf(rng)`, zipf
// over `keys` keys with the exponent given; the first `ops` requests warm the cache and are
// not counted, the next `ops` are. The key sequence is fixed by `seed` (workload.h's Rng), so
// the same cache state and seed give the same ratio on every run (single-threaded, with a
// seeded cache). ratio_runner.h replays a whole sequence from a cold start instead.
#pragma once

#include <cstdint>

#include "perf/harness/workload.h"

namespace cuckoocache::perf::harness {

template <class Cache>
[[nodiscard]] double zipf_get_or_put_hit_ratio(Cache& cache, std::uint64_t ops, std::uint64_t keys,
                                               double exponent, std::uint64_t key_base,
                                               std::uint64_t seed = 42) {
  const ZipfSampler zipf(keys, exponent);
  Rng rng(seed);
  std::uint64_t hits = 0;
  for (std::uint64_t i = 0; i < 2 * ops; ++i) {
    const std::uint64_t key = key_base + zipf(rng);
    if (cache.get(key)) {
      hits += i >= ops ? 1 : 0;
    } else {
      cache.put(key, key);
    }
  }
  return ops == 0 ? 0.0 : static_cast<double>(hits) / static_cast<double>(ops);
}

}  // namespace cuckoocache::perf::harness
