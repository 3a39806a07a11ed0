// A large shrink (engine/arena_compaction.h, engine/shrink_eviction.h, Cache::set_max_size):
// issue 13.18's cliff. After shrinking a full cache to a small size, evictions never fall back
// on the linear arena scan, the sampled range and the memory follow the new size, the hit ratio
// matches a fresh cache of the new size (fixed seed), the size bound and the stats stay exact,
// and the cache grows back correctly.
#include <boost/test/unit_test.hpp>
#include <cstddef>
#include <cstdint>
#include <optional>

#include "engine/cache.h"
#include "perf/harness/zipf_replay.h"
#include "support/policy_tags.h"

namespace {

using cuckoocache::Cache;
using cuckoocache::CacheConfig;
using cuckoocache::CacheStats;
using cuckoocache::Policy;
using IntCache = Cache<std::uint64_t, std::uint64_t>;

constexpr std::uint64_t kWorkloadBase = std::uint64_t{1} << 40;

CacheConfig Config(Policy policy, std::size_t max_size) {
  CacheConfig c;
  c.policy = policy;
  c.max_size = max_size;
  c.seed = 7;
  return c;
}

void Fill(IntCache& cache, std::uint64_t first, std::size_t count) {
  for (std::uint64_t k = first; k < first + count; ++k) cache.put(k, k);
}

// Get-or-put replay of zipf(0.99) over 20k keys: hit ratio of the second half.
double HitRatio(IntCache& cache, std::uint64_t ops) {
  return cuckoocache::perf::harness::zipf_get_or_put_hit_ratio(cache, ops, 20'000, 0.99,
                                                               kWorkloadBase);
}

void CheckStatsExact(const IntCache& cache) {
  const CacheStats s = cache.stats();
  BOOST_TEST(s.size == cache.size());
  BOOST_TEST(s.evictions + s.rejections + s.expirations == s.inserts - s.size);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(arena_compaction)

BOOST_AUTO_TEST_CASE_TEMPLATE(shrunk_cache_samples_a_dense_arena, P, policy::All) {
  IntCache cache(Config(P::kPolicy, 50'000));
  Fill(cache, 0, 50'000);
  const std::size_t slots_before = cache.arena_slots();
  const std::size_t bytes_before = cache.overhead_bytes();
  cache.set_max_size(200);
  BOOST_TEST(cache.size() == 200u);
  BOOST_TEST(cache.snapshot().size() == 200u);
  CheckStatsExact(cache);
  // The sampled range is a fresh cache's of the new size.
  BOOST_TEST(cache.arena_slots() == IntCache(Config(P::kPolicy, 200)).arena_slots());
  BOOST_TEST(cache.arena_slots() < slots_before / 64);
  BOOST_TEST(cache.overhead_bytes() < bytes_before);

  // The old code fell back on a linear scan on nearly every eviction from here.
  const std::uint64_t scans = cache.eviction_scans();
  Fill(cache, 1'000'000, 20'000);
  BOOST_TEST(cache.eviction_scans() == scans);
  BOOST_TEST(cache.size() == 200u);
  CheckStatsExact(cache);
  for (std::uint64_t k = 1'020'000 - 20; k < 1'020'000; ++k) {
    BOOST_TEST_REQUIRE(cache.get(k).value_or(0) == k);
  }

  // Growing again reopens the parked slots: every entry keeps its own slot.
  cache.set_max_size(30'000);
  Fill(cache, 2'000'000, 30'000);
  BOOST_TEST(cache.size() == 30'000u);
  BOOST_TEST(cache.snapshot().size() == 30'000u);
  std::size_t present = 0;
  for (std::uint64_t k = 2'000'000; k < 2'030'000; ++k) {
    const std::optional<std::uint64_t> v = cache.get(k);
    BOOST_TEST_REQUIRE(v.value_or(k) == k);
    present += v ? 1 : 0;
  }
  BOOST_TEST(present >= 29'000u);
  CheckStatsExact(cache);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(shrink_to_an_exact_size_is_exact_again, P, policy::All) {
  IntCache cache(Config(P::kPolicy, 20'000));
  Fill(cache, 0, 20'000);
  cache.set_max_size(8);
  BOOST_TEST(cache.size() == 8u);
  BOOST_TEST(cache.arena_slots() == IntCache(Config(P::kPolicy, 8)).arena_slots());
  const std::uint64_t scans = cache.eviction_scans();
  Fill(cache, 100'000, 2'000);
  BOOST_TEST(cache.eviction_scans() == scans);
  BOOST_TEST(cache.size() == 8u);
  CheckStatsExact(cache);
  if (P::kPolicy == Policy::kLru) {
    // Exact LRU (eviction.h's kExactMaxSize): the key used last survives the next insert.
    static_cast<void>(cache.get(101'992));
    cache.put(200'000, 0);
    BOOST_TEST(cache.contains(101'992));
    BOOST_TEST(!cache.contains(101'993));
  }
}

BOOST_AUTO_TEST_CASE(shrink_keeps_the_highest_scored_entries) {
  // LRU: the survivors are the most recently used ones (a threshold pass, then an exact one).
  IntCache cache(Config(Policy::kLru, 100'000));
  Fill(cache, 0, 100'000);
  for (std::uint64_t k = 0; k < 300; ++k) {
    BOOST_TEST_REQUIRE(cache.contains(k));
    static_cast<void>(cache.get(k));  // the oldest keys, now the most recent
  }
  cache.set_max_size(500);
  BOOST_TEST(cache.size() == 500u);
  for (std::uint64_t k = 0; k < 300; ++k) BOOST_TEST_REQUIRE(cache.contains(k));
  std::size_t newest = 0;
  for (std::uint64_t k = 100'000 - 200; k < 100'000; ++k) newest += cache.contains(k) ? 1 : 0;
  BOOST_TEST(newest == 200u);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(hit_ratio_after_shrink_matches_a_fresh_cache, P, policy::All) {
  IntCache fresh(Config(P::kPolicy, 500));
  const double fresh_ratio = HitRatio(fresh, 60'000);
  IntCache shrunk(Config(P::kPolicy, 100'000));
  Fill(shrunk, 0, 100'000);
  shrunk.set_max_size(500);
  const std::uint64_t scans = shrunk.eviction_scans();
  const double shrunk_ratio = HitRatio(shrunk, 60'000);
  BOOST_TEST_MESSAGE("hit ratio fresh " << fresh_ratio << " shrunk " << shrunk_ratio);
  BOOST_TEST(shrunk_ratio > fresh_ratio - 0.02);
  BOOST_TEST(shrunk.eviction_scans() == scans);
}

BOOST_AUTO_TEST_CASE(expired_entries_leave_first_as_expirations) {
  IntCache cache(Config(Policy::kLru, 100'000));
  for (std::uint64_t k = 0; k < 100'000; ++k) {
    if (k % 2 == 0) {
      cache.put(k, k, std::chrono::nanoseconds(1));  // expired at once
    } else {
      cache.put(k, k);
    }
  }
  cache.set_max_size(1000);
  BOOST_TEST(cache.size() == 1000u);
  const CacheStats s = cache.stats();
  BOOST_TEST(s.expirations >= 49'000u);
  CheckStatsExact(cache);
}

BOOST_AUTO_TEST_SUITE_END()
