// Contract of cuckoocache::Cache that every eviction policy must honour, run once per policy
// (LRU, LFU, TTL, ADAPTIVE): the basic map operations and their return values, get_or_insert's
// factory rules, visit and snapshot, the max_size bound (also across set_max_size and
// set_policy), exact single-threaded statistics, config and ttl validation, and the memory
// overhead of a small cache.
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "engine/cache.h"
#include "support/policy_tags.h"

namespace {

using AllPolicies = policy::All;
using cuckoocache::Cache;
using cuckoocache::CacheConfig;
using cuckoocache::CacheStats;
using cuckoocache::Policy;
using std::chrono::nanoseconds;

constexpr Policy kEveryPolicy[] = {Policy::kLru, Policy::kLfu, Policy::kTtl, Policy::kAdaptive};

using IntCache = Cache<std::uint64_t, std::uint64_t>;

CacheConfig Config(Policy policy, std::size_t max_size) {
  CacheConfig config;
  config.policy = policy;
  config.max_size = max_size;
  return config;
}

std::map<std::uint64_t, std::uint64_t> Contents(IntCache& cache) {
  std::map<std::uint64_t, std::uint64_t> out;
  for (const auto& [k, v] : cache.snapshot()) {
    BOOST_TEST_REQUIRE(out.emplace(k, v).second, "snapshot holds key " << k << " twice");
  }
  return out;
}

constexpr std::uint64_t kAbsent = std::numeric_limits<std::uint64_t>::max();

// The value under `key`, or kAbsent on a miss (a counted lookup, like get()).
std::uint64_t ValueOf(IntCache& cache, std::uint64_t key) {
  return cache.get(key).value_or(kAbsent);
}

// A lookup whose result does not matter (it still counts in the stats and marks the entry).
void Read(IntCache& cache, std::uint64_t key) {
  static_cast<void>(cache.get(key));
}

// Puts `count` distinct keys starting at `first` and checks the bound after every put.
// Returns the number of puts after which size() exceeded max_size() (0 when the bound held).
std::size_t FillCheckingBound(IntCache& cache, std::uint64_t first, std::size_t count) {
  std::size_t violations = 0;
  for (std::uint64_t k = first; k < first + count; ++k) {
    cache.put(k, k * 10);
    if (cache.size() > cache.max_size()) ++violations;
  }
  return violations;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(cache_contract)

// ---- Basic operations -------------------------------------------------------------------

BOOST_AUTO_TEST_CASE_TEMPLATE(put_get_contains_erase_clear_size, P, AllPolicies) {
  IntCache cache(Config(P::kPolicy, 100));
  BOOST_TEST(cache.size() == 0u);
  BOOST_TEST(cache.max_size() == 100u);
  BOOST_TEST(cuckoocache::to_string(cache.policy()) == cuckoocache::to_string(P::kPolicy));
  BOOST_TEST(!cache.contains(1));
  BOOST_TEST(!cache.get(1).has_value());

  for (std::uint64_t k = 1; k <= 50; ++k) BOOST_TEST_REQUIRE(cache.put(k, k * 10));
  BOOST_TEST(cache.size() == 50u);
  for (std::uint64_t k = 1; k <= 50; ++k) {
    BOOST_TEST_REQUIRE(cache.contains(k));
    const std::optional<std::uint64_t> v = cache.get(k);
    BOOST_TEST_REQUIRE(v.has_value());
    BOOST_TEST_REQUIRE(*v == k * 10);
    std::uint64_t out = 0;
    BOOST_TEST_REQUIRE(cache.get(k, out));
    BOOST_TEST_REQUIRE(out == k * 10);
  }
  std::uint64_t untouched = 7;
  BOOST_TEST(!cache.get(999, untouched));
  BOOST_TEST(untouched == 7u);  // a miss leaves `out` alone

  BOOST_TEST(cache.erase(10));
  BOOST_TEST(!cache.erase(10));  // already gone
  BOOST_TEST(!cache.erase(999));
  BOOST_TEST(!cache.contains(10));
  BOOST_TEST(!cache.get(10).has_value());
  BOOST_TEST(cache.size() == 49u);

  // An erased key can come back.
  BOOST_TEST(cache.put(10, 1234));
  BOOST_TEST(ValueOf(cache, 10) == 1234u);
  BOOST_TEST(cache.size() == 50u);

  cache.clear();
  BOOST_TEST(cache.size() == 0u);
  BOOST_TEST(cache.snapshot().empty());
  for (std::uint64_t k = 1; k <= 50; ++k) BOOST_TEST_REQUIRE(!cache.contains(k));
  // Usable after clear, up to the full capacity.
  BOOST_TEST(FillCheckingBound(cache, 1000, 100) == 0u);
  BOOST_TEST(cache.size() == 100u);
  for (std::uint64_t k = 1000; k < 1100; ++k) BOOST_TEST_REQUIRE(cache.contains(k));
}

BOOST_AUTO_TEST_CASE_TEMPLATE(put_reports_new_key_and_overwrite_keeps_size, P, AllPolicies) {
  IntCache cache(Config(P::kPolicy, 64));
  BOOST_TEST(cache.put(1, 10));
  BOOST_TEST(cache.put(2, 20));
  BOOST_TEST(!cache.put(1, 11));  // overwrite
  BOOST_TEST(!cache.put(1, 12));
  BOOST_TEST(cache.size() == 2u);
  BOOST_TEST(ValueOf(cache, 1) == 12u);
  BOOST_TEST(ValueOf(cache, 2) == 20u);

  // Overwrites of a full cache neither grow it nor evict anything.
  for (std::uint64_t k = 3; k <= 64; ++k) BOOST_TEST_REQUIRE(cache.put(k, k));
  BOOST_TEST(cache.size() == 64u);
  const std::uint64_t evictions = cache.stats().evictions;
  for (int round = 0; round < 3; ++round) {
    for (std::uint64_t k = 1; k <= 64; ++k) BOOST_TEST_REQUIRE(!cache.put(k, k + 1000));
  }
  BOOST_TEST(cache.size() == 64u);
  BOOST_TEST(cache.stats().evictions == evictions);
  const auto contents = Contents(cache);
  BOOST_TEST(contents.size() == 64u);
  for (std::uint64_t k = 1; k <= 64; ++k) BOOST_TEST_REQUIRE(contents.at(k) == k + 1000);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(put_if_absent_stores_only_absent_keys, P, AllPolicies) {
  IntCache cache(Config(P::kPolicy, 64));
  BOOST_TEST(cache.put_if_absent(1, 10));
  BOOST_TEST(!cache.put_if_absent(1, 11));
  BOOST_TEST(ValueOf(cache, 1) == 10u);
  BOOST_TEST(cache.size() == 1u);
  const CacheStats s = cache.stats();
  BOOST_TEST(s.inserts == 1u);
  BOOST_TEST(s.updates == 0u);  // a refused put_if_absent is not an update

  BOOST_TEST(cache.erase(1));
  BOOST_TEST(cache.put_if_absent(1, 12));
  BOOST_TEST(ValueOf(cache, 1) == 12u);
  // put still overwrites what put_if_absent stored.
  BOOST_TEST(!cache.put(1, 13));
  BOOST_TEST(ValueOf(cache, 1) == 13u);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(get_or_insert_calls_factory_only_on_a_miss, P, AllPolicies) {
  IntCache cache(Config(P::kPolicy, 64));
  int calls = 0;
  auto factory = [&calls] {
    ++calls;
    return std::uint64_t{42};
  };
  BOOST_TEST(cache.get_or_insert(5, factory) == 42u);
  BOOST_TEST(calls == 1);
  BOOST_TEST(ValueOf(cache, 5) == 42u);
  BOOST_TEST(cache.size() == 1u);

  // Present: the stored value, factory not called.
  BOOST_TEST(cache.get_or_insert(5, factory) == 42u);
  BOOST_TEST(calls == 1);
  cache.put(5, 7);
  BOOST_TEST(cache.get_or_insert(5, factory) == 7u);
  BOOST_TEST(calls == 1);
  BOOST_TEST(cache.size() == 1u);

  // A throwing factory stores nothing and the exception reaches the caller.
  auto throwing = []() -> std::uint64_t { throw std::runtime_error("factory failed"); };
  BOOST_CHECK_THROW(cache.get_or_insert(6, throwing), std::runtime_error);
  BOOST_TEST(!cache.contains(6));
  BOOST_TEST(cache.size() == 1u);
  const CacheStats s = cache.stats();
  BOOST_TEST(s.inserts == 1u);  // 5 by get_or_insert; 6 never
  // After the failure the key can still be filled.
  BOOST_TEST(cache.get_or_insert(6, factory) == 42u);
  BOOST_TEST(calls == 2);
  BOOST_TEST(ValueOf(cache, 6) == 42u);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(visit_sees_the_value_only_on_a_hit, P, AllPolicies) {
  IntCache cache(Config(P::kPolicy, 64));
  cache.put(1, 100);
  int calls = 0;
  std::uint64_t seen = 0;
  BOOST_TEST(cache.visit(1, [&](const std::uint64_t& v) {
    ++calls;
    seen = v;
  }));
  BOOST_TEST(calls == 1);
  BOOST_TEST(seen == 100u);
  BOOST_TEST(!cache.visit(2, [&](const std::uint64_t&) { ++calls; }));
  BOOST_TEST(calls == 1);
  const CacheStats s = cache.stats();
  BOOST_TEST(s.hits == 1u);
  BOOST_TEST(s.misses == 1u);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(snapshot_holds_exactly_the_live_entries, P, AllPolicies) {
  IntCache cache(Config(P::kPolicy, 500));
  std::map<std::uint64_t, std::uint64_t> expected;
  for (std::uint64_t k = 0; k < 300; ++k) {
    cache.put(k, k * 3);
    expected[k] = k * 3;
  }
  for (std::uint64_t k = 0; k < 300; k += 3) {
    cache.erase(k);
    expected.erase(k);
  }
  for (std::uint64_t k = 1; k < 300; k += 3) {
    cache.put(k, k + 7);
    expected[k] = k + 7;
  }
  BOOST_TEST(cache.size() == expected.size());
  const auto snapshot = cache.snapshot();
  BOOST_TEST(snapshot.size() == expected.size());
  BOOST_TEST((Contents(cache) == expected));
}

// ---- Capacity ---------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE_TEMPLATE(size_never_exceeds_max_size_single_threaded, P, AllPolicies) {
  for (const std::size_t max_size : {1, 2, 7, 128, 1000}) {
    BOOST_TEST_CONTEXT("max_size " << max_size) {
      IntCache cache(Config(P::kPolicy, max_size));
      BOOST_TEST(FillCheckingBound(cache, 0, 10 * max_size) == 0u);
      BOOST_TEST(cache.size() == max_size);  // full, not emptier than needed
      BOOST_TEST(cache.snapshot().size() == cache.size());
      const CacheStats s = cache.stats();
      BOOST_TEST(s.inserts == 10 * max_size);
      BOOST_TEST(s.evictions + s.rejections == s.inserts - s.size);
    }
  }
}

// LRU: the entry inserted just before the newest one is the most recently used apart from
// the newcomer, so the newcomer's eviction never takes it.
BOOST_AUTO_TEST_CASE(lru_recently_inserted_key_survives_the_next_insert) {
  IntCache cache(Config(Policy::kLru, 128));
  std::size_t lost = 0;
  for (std::uint64_t k = 1; k < 5000; ++k) {
    cache.put(k, k);
    if (k >= 2 && (!cache.contains(k - 1) || !cache.contains(k))) ++lost;
  }
  BOOST_TEST(lost == 0u);
}

// LRU: a key read on every step is never evicted by a stream of one-time keys.
BOOST_AUTO_TEST_CASE(lru_hot_key_survives_a_stream) {
  IntCache cache(Config(Policy::kLru, 64));
  cache.put(0, 0);
  for (std::uint64_t k = 1; k < 5000; ++k) {
    BOOST_TEST_REQUIRE(cache.get(0).has_value(), "hot key lost after " << k << " inserts");
    cache.put(k, k);
  }
}

BOOST_AUTO_TEST_CASE_TEMPLATE(set_max_size_shrinks_at_once_and_grows, P, AllPolicies) {
  IntCache cache(Config(P::kPolicy, 1000));
  BOOST_TEST(FillCheckingBound(cache, 0, 1000) == 0u);
  BOOST_TEST(cache.size() == 1000u);

  cache.set_max_size(100);
  BOOST_TEST(cache.max_size() == 100u);
  BOOST_TEST(cache.size() <= 100u);
  BOOST_TEST(cache.snapshot().size() == cache.size());
  BOOST_TEST(FillCheckingBound(cache, 10000, 500) == 0u);
  BOOST_TEST(cache.size() == 100u);

  cache.set_max_size(7);
  BOOST_TEST(cache.size() <= 7u);
  BOOST_TEST(FillCheckingBound(cache, 20000, 100) == 0u);

  cache.set_max_size(1);
  BOOST_TEST(cache.size() <= 1u);
  BOOST_TEST(FillCheckingBound(cache, 30000, 10) == 0u);
  BOOST_TEST(cache.size() == 1u);

  // Growth: now the cache holds more than before, up to the new bound, and no more.
  cache.set_max_size(5000);
  BOOST_TEST(cache.max_size() == 5000u);
  BOOST_TEST(FillCheckingBound(cache, 40000, 4999) == 0u);
  BOOST_TEST(cache.size() == 5000u);
  for (std::uint64_t k = 40000; k < 44999; ++k) BOOST_TEST_REQUIRE(cache.contains(k));
  BOOST_TEST(FillCheckingBound(cache, 50000, 20000) == 0u);
  BOOST_TEST(cache.size() == 5000u);

  const CacheStats s = cache.stats();
  BOOST_TEST(s.evictions + s.rejections == s.inserts - s.size);
  BOOST_TEST(s.max_size == 5000u);

  BOOST_CHECK_THROW(cache.set_max_size(0), std::invalid_argument);
  BOOST_CHECK_THROW(cache.set_max_size((std::size_t{1} << 31) + 1), std::invalid_argument);
  BOOST_TEST(cache.max_size() == 5000u);
  BOOST_TEST(cache.size() == 5000u);
}

// Every (from, to) pair, switched while the cache is full: no entry is lost by the switch,
// and the bound holds for the inserts that follow under the new policy.
BOOST_AUTO_TEST_CASE_TEMPLATE(set_policy_at_run_time_while_full, P, AllPolicies) {
  for (const Policy to : kEveryPolicy) {
    BOOST_TEST_CONTEXT("to " << cuckoocache::to_string(to)) {
      IntCache cache(Config(P::kPolicy, 200));
      BOOST_TEST_REQUIRE(FillCheckingBound(cache, 0, 600) == 0u);
      for (std::uint64_t k = 0; k < 600; k += 5) Read(cache, k);  // some history
      const auto before = Contents(cache);
      BOOST_TEST_REQUIRE(before.size() == 200u);

      cache.set_policy(to);
      BOOST_TEST(cuckoocache::to_string(cache.policy()) == cuckoocache::to_string(to));
      BOOST_TEST(cache.size() == 200u);
      BOOST_TEST((Contents(cache) == before));
      for (const auto& [k, v] : before) BOOST_TEST_REQUIRE(ValueOf(cache, k) == v);

      BOOST_TEST(FillCheckingBound(cache, 1000, 1000) == 0u);
      BOOST_TEST(cache.size() == 200u);
      // And back again.
      cache.set_policy(P::kPolicy);
      BOOST_TEST(FillCheckingBound(cache, 5000, 1000) == 0u);
      BOOST_TEST(cache.size() == 200u);
      const CacheStats s = cache.stats();
      BOOST_TEST(s.evictions + s.rejections == s.inserts - s.size);
    }
  }
}

// ---- Statistics -------------------------------------------------------------------------

// A deterministic single-threaded mix of operations, with every outcome the cache reports
// tallied by the test: the stats must match the tally exactly.
BOOST_AUTO_TEST_CASE_TEMPLATE(stats_are_exact_single_threaded, P, AllPolicies) {
  for (const bool admission : {false, true}) {
    BOOST_TEST_CONTEXT("admission " << admission) {
      CacheConfig config = Config(P::kPolicy, 100);
      config.admission = admission;
      IntCache cache(config);
      std::uint64_t hits = 0, misses = 0, inserts = 0, updates = 0, erased = 0;
      std::uint64_t x = 12345;
      for (int i = 0; i < 20000; ++i) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        const std::uint64_t key = (x >> 33) % 300;
        switch ((x >> 20) % 8) {
          case 0:
          case 1:
          case 2:
            (cache.get(key).has_value() ? hits : misses) += 1;
            break;
          case 3:
          case 4:
            (cache.put(key, key) ? inserts : updates) += 1;
            break;
          case 5:
            if (cache.put_if_absent(key, key)) ++inserts;
            break;
          case 6: {
            int calls = 0;
            cache.get_or_insert(key, [&] {
              ++calls;
              return key;
            });
            if (calls == 0) {
              ++hits;
            } else {
              ++misses;
              ++inserts;
            }
            break;
          }
          default:
            erased += cache.erase(key) ? 1 : 0;
            break;
        }
      }
      const CacheStats s = cache.stats();
      BOOST_TEST(s.hits == hits);
      BOOST_TEST(s.misses == misses);
      BOOST_TEST(s.inserts == inserts);
      BOOST_TEST(s.updates == updates);
      BOOST_TEST(s.expirations == 0u);
      BOOST_TEST(s.size == cache.size());
      BOOST_TEST(s.max_size == 100u);
      BOOST_TEST(s.evictions + s.rejections == s.inserts - s.size - erased);
      if (!admission && P::kPolicy != Policy::kAdaptive) BOOST_TEST(s.rejections == 0u);
      BOOST_TEST(s.hit_rate() == static_cast<double>(hits) / static_cast<double>(hits + misses));

      // clear() removes entries without counting them as evictions, and keeps the stats.
      const std::uint64_t evictions = s.evictions;
      const std::size_t size = cache.size();
      cache.clear();
      const CacheStats after = cache.stats();
      BOOST_TEST(after.size == 0u);
      BOOST_TEST(after.evictions == evictions);
      BOOST_TEST(after.inserts == inserts);
      BOOST_TEST(after.evictions + after.rejections + size == after.inserts - erased);

      cache.reset_stats();
      const CacheStats reset = cache.stats();
      BOOST_TEST(reset.hits + reset.misses + reset.inserts + reset.updates + reset.evictions +
                     reset.expirations + reset.rejections ==
                 0u);
    }
  }
}

BOOST_AUTO_TEST_CASE_TEMPLATE(stats_count_expirations, P, AllPolicies) {
  auto clock = std::make_shared<cuckoocache::ManualClock>();
  CacheConfig config = Config(P::kPolicy, 100);
  config.clock = clock;
  IntCache cache(config);
  for (std::uint64_t k = 0; k < 10; ++k) cache.put(k, k, nanoseconds(100));
  for (std::uint64_t k = 10; k < 20; ++k) cache.put(k, k);
  clock->advance(nanoseconds(100));
  for (std::uint64_t k = 0; k < 20; ++k) Read(cache, k);
  const CacheStats s = cache.stats();
  BOOST_TEST(s.hits == 10u);
  BOOST_TEST(s.misses == 10u);
  BOOST_TEST(s.expirations == 10u);
  BOOST_TEST(s.size == 10u);
  BOOST_TEST(s.inserts == 20u);
  BOOST_TEST(s.evictions == 0u);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(contains_does_not_change_stats, P, AllPolicies) {
  IntCache cache(Config(P::kPolicy, 100));
  for (std::uint64_t k = 0; k < 50; ++k) cache.put(k, k);
  Read(cache, 1);
  Read(cache, 500);
  const CacheStats before = cache.stats();
  for (std::uint64_t k = 0; k < 100; ++k) BOOST_TEST_REQUIRE(cache.contains(k) == (k < 50));
  BOOST_TEST(cache.stats() == before);
}

// ---- Validation -------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE_TEMPLATE(invalid_config_throws_invalid_argument, P, AllPolicies) {
  auto rejects = [](auto&& mutate) {
    CacheConfig config = Config(P::kPolicy, 100);
    mutate(config);
    bool threw = false;
    try {
      IntCache cache(config);
    } catch (const std::invalid_argument&) {
      threw = true;
    }
    return threw;
  };
  BOOST_TEST(rejects([](CacheConfig& c) { c.max_size = 0; }));
  BOOST_TEST(rejects([](CacheConfig& c) { c.max_size = (std::size_t{1} << 31) + 1; }));
  BOOST_TEST(rejects([](CacheConfig& c) { c.sample_size = 0; }));
  BOOST_TEST(rejects([](CacheConfig& c) { c.sample_size = 65; }));
  BOOST_TEST(rejects([](CacheConfig& c) { c.default_ttl = nanoseconds(-1); }));
  BOOST_TEST(rejects([](CacheConfig& c) { c.default_ttl = nanoseconds(0); }));
  BOOST_TEST(rejects([](CacheConfig& c) { c.adaptive_threshold = 0.0; }));
  BOOST_TEST(rejects([](CacheConfig& c) { c.adaptive_threshold = 1.5; }));
  BOOST_TEST(rejects([](CacheConfig& c) { c.adaptive_threshold = -0.5; }));
  BOOST_TEST(rejects(
      [](CacheConfig& c) { c.adaptive_threshold = std::numeric_limits<double>::quiet_NaN(); }));
  BOOST_TEST(rejects([](CacheConfig& c) { c.expiry_interval = nanoseconds(0); }));

  // The boundaries themselves are valid.
  BOOST_TEST(!rejects([](CacheConfig& c) { c.max_size = 1; }));
  BOOST_TEST(!rejects([](CacheConfig& c) { c.sample_size = 1; }));
  BOOST_TEST(!rejects([](CacheConfig& c) { c.sample_size = 64; }));
  BOOST_TEST(!rejects([](CacheConfig& c) { c.adaptive_threshold = 1.0; }));
  BOOST_TEST(!rejects([](CacheConfig& c) { c.default_ttl = nanoseconds(1); }));
}

BOOST_AUTO_TEST_CASE_TEMPLATE(non_positive_entry_ttl_throws_and_changes_nothing, P, AllPolicies) {
  auto clock = std::make_shared<cuckoocache::ManualClock>();
  CacheConfig config = Config(P::kPolicy, 10);
  config.clock = clock;
  IntCache cache(config);
  for (std::uint64_t k = 0; k < 10; ++k) cache.put(k, k);
  Read(cache, 3);
  const auto contents = Contents(cache);
  const CacheStats stats = cache.stats();
  for (const nanoseconds bad : {nanoseconds(0), nanoseconds(-1), nanoseconds::min()}) {
    BOOST_CHECK_THROW(cache.put(100, 1, bad), std::invalid_argument);  // new key, full cache
    BOOST_CHECK_THROW(cache.put(3, 1, bad), std::invalid_argument);    // overwrite
    BOOST_CHECK_THROW(cache.put_if_absent(101, 1, bad), std::invalid_argument);
    BOOST_CHECK_THROW(cache.set_default_ttl(bad), std::invalid_argument);
  }
  BOOST_TEST(cache.size() == 10u);
  BOOST_TEST((Contents(cache) == contents));
  BOOST_TEST(cache.stats() == stats);
  BOOST_TEST(!cache.default_ttl().has_value());
  // Nothing got a deadline either.
  clock->advance(std::chrono::hours(24 * 365));
  BOOST_TEST((Contents(cache) == contents));
}

// ---- Memory -----------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE_TEMPLATE(small_cache_overhead_is_under_64_kib, P, AllPolicies) {
  IntCache cache(Config(P::kPolicy, 128));
  for (std::uint64_t k = 0; k < 1000; ++k) cache.put(k, k);
  const std::size_t bytes = cache.overhead_bytes();
  BOOST_TEST_MESSAGE(cuckoocache::to_string(P::kPolicy)
                     << ": overhead of a 128-entry cache " << bytes << " bytes");
  BOOST_TEST(bytes > 0u);
  BOOST_TEST(bytes < 64u * 1024u);
}

// A hit takes a shorter path while no entry can expire, the cache is not exact and no
// frequency is counted (Cache::visit). The first deadline, however it arrives, and a shrink into
// exact mode must switch every later hit to the full path.
BOOST_AUTO_TEST_CASE_TEMPLATE(hits_see_deadlines_that_arrive_after_plain_hits, P, AllPolicies) {
  for (int how = 0; how < 2; ++how) {
    auto clock = std::make_shared<cuckoocache::ManualClock>();
    CacheConfig config = Config(P::kPolicy, 100);
    config.clock = clock;
    IntCache cache(config);
    cache.put(1, 1);
    BOOST_TEST(cache.get(1).has_value());  // a plain hit
    if (how == 0) {
      cache.put(2, 2, nanoseconds(100));
    } else {
      cache.set_default_ttl(nanoseconds(100));
      cache.put(2, 2);
    }
    BOOST_TEST(cache.get(2).has_value());
    clock->advance(nanoseconds(100));
    BOOST_TEST(!cache.get(2).has_value(), "expired entry returned, way " << how);
    BOOST_TEST(cache.get(1).has_value());
    BOOST_TEST(cache.stats().expirations == 1u);
  }
}

BOOST_AUTO_TEST_CASE(lru_hits_are_exact_after_a_shrink_into_exact_size) {
  // Four keys hit in a rotated order after their inserts: the first one hit is the least
  // recently used. Exact hits advance the tick, so it is the one evicted; plain hits would
  // stamp all four with the same tick and the victim would not follow the order.
  for (std::uint64_t first = 0; first < 4; ++first) {
    IntCache cache(Config(Policy::kLru, 1000));
    cache.set_max_size(4);
    for (std::uint64_t k = 0; k < 4; ++k) cache.put(k, k);
    for (std::uint64_t i = 0; i < 4; ++i) BOOST_TEST(cache.get((first + i) % 4).has_value());
    cache.put(99, 99);
    for (std::uint64_t k = 0; k < 4; ++k) {
      BOOST_TEST(cache.contains(k) == (k != first), "key " << k << ", first hit " << first);
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()

// get_or_insert rejects a non-positive ttl before any effect: no lookup counted, no factory
// call, whether or not the key is present (as put and put_if_absent do).
BOOST_AUTO_TEST_SUITE(cache_contract_ttl_validation)

BOOST_AUTO_TEST_CASE(get_or_insert_rejects_bad_ttl_before_any_effect) {
  IntCache cache(Config(Policy::kLru, 10));
  cache.put(1, 1);
  const CacheStats stats = cache.stats();
  int calls = 0;
  auto factory = [&calls] {
    ++calls;
    return std::uint64_t{5};
  };
  BOOST_CHECK_THROW(cache.get_or_insert(2, factory, nanoseconds(0)), std::invalid_argument);
  BOOST_TEST(calls == 0);
  BOOST_TEST(cache.stats() == stats);
  BOOST_CHECK_THROW(cache.get_or_insert(1, factory, nanoseconds(0)), std::invalid_argument);
}

BOOST_AUTO_TEST_SUITE_END()
