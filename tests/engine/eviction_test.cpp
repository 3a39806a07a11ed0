// The eviction path (engine/eviction.h) through the cache's public API: a put never evicts
// its own key (including through the scan fallback), caches of up to kExactMaxSize entries
// are exact LRU / LFU (checked against perf/reference_models.h and against cachetools' and
// CPython's order tests), and sampling is seeded: a fixed CacheConfig::seed replays the same
// choices, and unseeded caches draw different seeds.
#include "engine/eviction.h"

#include <boost/test/unit_test.hpp>
#include <cstddef>
#include <cstdint>
#include <set>
#include <vector>

#include "engine/cache.h"
#include "engine/random.h"
#include "perf/reference_models.h"
#include "support/policy_tags.h"

namespace {

using cuckoocache::Cache;
using cuckoocache::CacheConfig;
using cuckoocache::FastRandom;
using cuckoocache::Policy;
using IntCache = Cache<std::uint64_t, std::uint64_t>;
using SampledPolicies = std::tuple<policy::Lru, policy::Lfu, policy::Ttl>;

CacheConfig Config(Policy policy, std::size_t max_size) {
  CacheConfig config;
  config.policy = policy;
  config.max_size = max_size;
  return config;
}

bool Hit(IntCache& cache, std::uint64_t key) {
  return cache.visit(key, [](const std::uint64_t&) {});
}

// Look-aside replay (a miss stores the key) of a random trace over 2 * size keys: hits per
// request, for the cache and for an exact reference model.
template <class Model>
std::size_t CountMismatches(Policy policy, std::size_t size, std::uint64_t seed) {
  IntCache cache(Config(policy, size));
  Model model(size);
  FastRandom rng(seed);
  std::size_t mismatches = 0;
  for (int i = 0; i < 4000; ++i) {
    // Skewed keys, so that frequencies differ and LFU has something to order.
    const std::uint64_t r = rng.below(static_cast<std::uint32_t>(2 * size + 1));
    const std::uint64_t key = r < size / 2 ? r % 4 : r;
    const bool expected = model.access(key);
    const bool got = Hit(cache, key);
    if (!got) cache.put(key, key);
    mismatches += expected != got ? 1 : 0;
  }
  return mismatches;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(eviction)

// Issue 13.23: the scan fallback accepted any slot, so at max_size 1 a put could evict the key
// it had just stored (2,234 of 200,000 put-then-get missed).
BOOST_AUTO_TEST_CASE_TEMPLATE(put_never_evicts_its_own_key, P, SampledPolicies) {
  for (const std::size_t max_size : {std::size_t{1}, std::size_t{2}, std::size_t{100}}) {
    IntCache cache(Config(P::kPolicy, max_size));
    std::size_t lost = 0;
    for (std::uint64_t k = 0; k < 100'000; ++k) {
      cache.put(k, k);
      lost += cache.get(k).has_value() ? 0 : 1;
    }
    BOOST_TEST(lost == 0u, "max_size " << max_size);
  }
}

// Small caches are exact: every hit of a random look-aside trace matches exact LRU / LFU, for
// every size up to kExactMaxSize, with fresh (unseeded) sampling every time.
BOOST_AUTO_TEST_CASE(small_lru_is_exact) {
  for (std::size_t size = 1; size <= cuckoocache::kExactMaxSize; size += size < 8 ? 1 : 7) {
    BOOST_TEST(CountMismatches<cuckoocache::perf::ExactLru>(Policy::kLru, size, size) == 0u,
               "size " << size);
  }
}

BOOST_AUTO_TEST_CASE(small_lfu_is_exact) {
  for (std::size_t size = 1; size <= cuckoocache::kExactMaxSize; size += size < 8 ? 1 : 7) {
    BOOST_TEST(CountMismatches<cuckoocache::perf::ExactLfu>(Policy::kLfu, size, size) == 0u,
               "size " << size);
  }
}

// cachetools' order tests (test_lru_update_existing, test_lru_clear, test_lfu, test_lfu_tie,
// written against the C++ API), each on 2,000 fresh caches: they must pass every time.
BOOST_AUTO_TEST_CASE(cachetools_order_tests_pass_every_time) {
  std::size_t failures = 0;
  for (int round = 0; round < 2000; ++round) {
    {  // Inserting 1, 2, 3 into two entries evicts 1.
      IntCache c(Config(Policy::kLru, 2));
      c.put(1, 1);
      c.put(2, 2);
      c.put(3, 3);
      failures += c.contains(1) || !c.contains(2) || !c.contains(3) ? 1 : 0;
    }
    {  // test_lru_update_existing: an update is a use.
      IntCache c(Config(Policy::kLru, 2));
      c.put(1, 1);
      c.put(2, 2);
      c.put(1, 10);
      c.put(3, 3);
      failures += !c.contains(1) || c.contains(2) || !c.contains(3) ? 1 : 0;
    }
    {  // A read is a use too (test_lru, test_lru_clear's refill).
      IntCache c(Config(Policy::kLru, 2));
      c.put(1, 1);
      c.put(2, 2);
      static_cast<void>(c.get(1));
      c.put(3, 3);
      failures += !c.contains(1) || c.contains(2) || !c.contains(3) ? 1 : 0;
      c.clear();
      c.put(4, 4);
      c.put(5, 5);
      static_cast<void>(c.get(4));
      c.put(6, 6);
      failures += !c.contains(4) || c.contains(5) || !c.contains(6) ? 1 : 0;
    }
    {  // test_lfu: 1 was read, so 2 and then 3 go.
      IntCache c(Config(Policy::kLfu, 2));
      c.put(1, 1);
      static_cast<void>(c.get(1));
      c.put(2, 2);
      c.put(3, 3);
      failures += !c.contains(1) || c.contains(2) || !c.contains(3) ? 1 : 0;
      static_cast<void>(c.get(1));
      c.put(4, 4);
      failures += !c.contains(1) || c.contains(3) || !c.contains(4) ? 1 : 0;
    }
    {  // test_lfu_tie: equal counts go least recently used first.
      IntCache c(Config(Policy::kLfu, 2));
      c.put(1, 1);
      c.put(2, 2);
      static_cast<void>(c.get(1));
      static_cast<void>(c.get(2));
      c.put(3, 3);
      failures += c.contains(1) || !c.contains(2) || !c.contains(3) ? 1 : 0;
    }
  }
  BOOST_TEST(failures == 0u);
}

// CPython's test_lru_method pattern: a cache of 4 entries fed 1, 2, 3, 4, 1, 2, 5 ... through
// get-or-put; exact LRU's hits and misses.
BOOST_AUTO_TEST_CASE(small_lru_matches_functools_hit_counts) {
  for (int round = 0; round < 200; ++round) {
    IntCache cache(Config(Policy::kLru, 4));
    cuckoocache::perf::ExactLru model(4);
    std::size_t hits = 0;
    std::size_t expected = 0;
    for (const std::uint64_t k : {1, 2, 3, 4, 1, 2, 5, 1, 2, 3, 4, 5, 6, 1, 6, 5, 4, 3}) {
      expected += model.access(k) ? 1 : 0;
      if (Hit(cache, k)) {
        ++hits;
      } else {
        cache.put(k, k);
      }
    }
    BOOST_TEST_REQUIRE(hits == expected);
  }
}

// A fixed seed replays the same eviction choices (single-threaded); different seeds differ.
BOOST_AUTO_TEST_CASE(seed_fixes_eviction_choices) {
  const auto survivors = [](std::uint64_t seed) {
    CacheConfig config = Config(Policy::kLru, 500);
    config.seed = seed;
    IntCache cache(config);
    std::uint64_t x = 1;
    for (int i = 0; i < 20'000; ++i) {
      x = x * 6364136223846793005ULL + 1442695040888963407ULL;
      const std::uint64_t key = (x >> 33) % 2000;
      if (!Hit(cache, key)) cache.put(key, key);
    }
    std::set<std::uint64_t> keys;
    for (const auto& [k, v] : cache.snapshot()) keys.insert(k);
    return keys;
  };
  BOOST_TEST((survivors(7) == survivors(7)));
  BOOST_TEST((survivors(7) != survivors(8)));
}

BOOST_AUTO_TEST_CASE(fresh_seeds_differ) {
  std::set<std::uint64_t> seeds;
  for (int i = 0; i < 100; ++i) seeds.insert(cuckoocache::fresh_seed());
  BOOST_TEST(seeds.size() == 100u);
}

BOOST_AUTO_TEST_SUITE_END()
