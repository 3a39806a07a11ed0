// Time-to-live in cuckoocache::Cache, driven by a ManualClock (no test sleeps, except the
// bounded poll for the background sweeper): the exact deadline, how an expired read is
// counted and cleaned up, per-entry versus default ttl, cleanup() and expire_sample(), the
// preference of eviction for expired entries, writes over expired keys, and the background
// sweeper thread (including destroying the cache while it runs).
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <thread>
#include <tuple>

#include "engine/cache.h"
#include "support/policy_tags.h"

namespace {

using cuckoocache::Cache;
using cuckoocache::CacheConfig;
using cuckoocache::CacheStats;
using cuckoocache::ManualClock;
using cuckoocache::Policy;
using AllPolicies = policy::All;
using std::chrono::nanoseconds;

using IntCache = Cache<std::uint64_t, std::uint64_t>;

// A cache on its own manual clock.
struct Clocked {
  explicit Clocked(std::size_t max_size = 1000, Policy policy = Policy::kLru,
                   std::optional<nanoseconds> default_ttl = std::nullopt,
                   std::optional<std::uint64_t> seed = std::nullopt)
      : clock(std::make_shared<ManualClock>(1'000'000)),
        cache(Make(clock, max_size, policy, default_ttl, seed)) {}

  static CacheConfig Make(const std::shared_ptr<ManualClock>& clock, std::size_t max_size,
                          Policy policy, std::optional<nanoseconds> default_ttl,
                          std::optional<std::uint64_t> seed = std::nullopt) {
    CacheConfig config;
    config.max_size = max_size;
    config.policy = policy;
    config.default_ttl = default_ttl;
    config.clock = clock;
    config.seed = seed;
    return config;
  }

  std::shared_ptr<ManualClock> clock;
  IntCache cache;
};

bool Present(IntCache& cache, std::uint64_t key) {
  return cache.get(key).has_value();
}

}  // namespace

BOOST_AUTO_TEST_SUITE(expiry)

BOOST_AUTO_TEST_CASE_TEMPLATE(entry_expires_exactly_at_its_deadline, P, AllPolicies) {
  Clocked c(100, P::kPolicy);
  IntCache& cache = c.cache;
  BOOST_TEST(cache.put(1, 10, nanoseconds(1000)));
  BOOST_TEST(cache.put(2, 20));  // no ttl: never expires

  c.clock->advance(nanoseconds(999));  // deadline - 1ns
  BOOST_TEST(cache.contains(1));
  BOOST_TEST(cache.get(1).value_or(0) == 10u);
  BOOST_TEST(cache.size() == 2u);
  CacheStats s = cache.stats();
  BOOST_TEST(s.hits == 1u);
  BOOST_TEST(s.misses == 0u);
  BOOST_TEST(s.expirations == 0u);

  c.clock->advance(nanoseconds(1));  // exactly the deadline
  BOOST_TEST(!cache.contains(1));
  BOOST_TEST(cache.size() == 2u);  // contains() neither counts nor removes
  BOOST_TEST(cache.stats().misses == 0u);
  int calls = 0;
  BOOST_TEST(!cache.visit(1, [&](const std::uint64_t&) { ++calls; }));
  BOOST_TEST(calls == 0);
  s = cache.stats();
  BOOST_TEST(s.hits == 1u);
  BOOST_TEST(s.misses == 1u);       // the expired read is a miss...
  BOOST_TEST(s.expirations == 1u);  // ...and an expiration...
  BOOST_TEST(cache.size() == 1u);   // ...and it removed the entry
  BOOST_TEST(s.size == 1u);
  BOOST_TEST(!cache.get(1).has_value());
  s = cache.stats();
  BOOST_TEST(s.misses == 2u);
  BOOST_TEST(s.expirations == 1u);  // counted once
  BOOST_TEST(cache.snapshot().size() == 1u);

  c.clock->advance(std::chrono::hours(24 * 365 * 100));
  BOOST_TEST(cache.get(2).value_or(0) == 20u);
}

BOOST_AUTO_TEST_CASE(expired_entries_are_invisible_everywhere) {
  Clocked c;
  IntCache& cache = c.cache;
  for (std::uint64_t k = 0; k < 10; ++k) cache.put(k, k, nanoseconds(50));
  for (std::uint64_t k = 10; k < 20; ++k) cache.put(k, k);
  c.clock->advance(nanoseconds(50));
  BOOST_TEST(cache.snapshot().size() == 10u);
  for (const auto& [k, v] : cache.snapshot()) BOOST_TEST_REQUIRE(k >= 10u);
  // erase of an expired key: reported absent, but removed and counted as an expiration.
  BOOST_TEST(!cache.erase(3));
  BOOST_TEST(cache.size() == 19u);
  BOOST_TEST(cache.stats().expirations == 1u);
  // get_or_insert over an expired key calls the factory and stores the new value.
  int calls = 0;
  BOOST_TEST(cache.get_or_insert(4, [&] {
    ++calls;
    return std::uint64_t{44};
  }) == 44u);
  BOOST_TEST(calls == 1);
  BOOST_TEST(cache.get(4).value_or(0) == 44u);
}

BOOST_AUTO_TEST_CASE(deadline_saturates_instead_of_wrapping) {
  Clocked c;
  c.cache.put(1, 1, nanoseconds::max());
  c.clock->advance(std::chrono::hours(24 * 365 * 200));
  BOOST_TEST(c.cache.contains(1));
}

BOOST_AUTO_TEST_CASE(entry_ttl_overrides_the_default) {
  Clocked c(1000, Policy::kLru, nanoseconds(100));
  IntCache& cache = c.cache;
  BOOST_TEST((cache.default_ttl() == nanoseconds(100)));
  cache.put(1, 1);                     // default: 100
  cache.put(2, 2, nanoseconds(1000));  // longer than the default
  cache.put(3, 3, nanoseconds(10));    // shorter than the default
  c.clock->advance(nanoseconds(10));
  BOOST_TEST(Present(cache, 1));
  BOOST_TEST(Present(cache, 2));
  BOOST_TEST(!Present(cache, 3));
  c.clock->advance(nanoseconds(90));
  BOOST_TEST(!Present(cache, 1));
  BOOST_TEST(Present(cache, 2));
  c.clock->advance(nanoseconds(900));
  BOOST_TEST(!Present(cache, 2));

  // An overwrite takes the new ttl (or the default), not the old deadline.
  cache.put(5, 5, nanoseconds(10));
  cache.put(5, 6, nanoseconds(1000));
  c.clock->advance(nanoseconds(500));
  BOOST_TEST(cache.get(5).value_or(0) == 6u);
  cache.put(5, 7);  // back to the default of 100
  c.clock->advance(nanoseconds(100));
  BOOST_TEST(!Present(cache, 5));
}

BOOST_AUTO_TEST_CASE(set_default_ttl_affects_only_later_puts) {
  Clocked c;
  IntCache& cache = c.cache;
  BOOST_TEST(!cache.default_ttl().has_value());
  cache.put(1, 1);
  cache.set_default_ttl(nanoseconds(50));
  BOOST_TEST((cache.default_ttl() == nanoseconds(50)));
  cache.put(2, 2);
  c.clock->advance(nanoseconds(50));
  BOOST_TEST(Present(cache, 1));  // stored before the default existed
  BOOST_TEST(!Present(cache, 2));

  cache.put(3, 3);  // 50 from now
  cache.set_default_ttl(nanoseconds(1000));
  cache.put(4, 4);  // 1000 from now
  c.clock->advance(nanoseconds(50));
  BOOST_TEST(!Present(cache, 3));  // kept its own deadline
  BOOST_TEST(Present(cache, 4));

  cache.set_default_ttl(std::nullopt);
  BOOST_TEST(!cache.default_ttl().has_value());
  cache.put(5, 5);
  c.clock->advance(std::chrono::hours(1));
  BOOST_TEST(Present(cache, 5));
  BOOST_TEST(Present(cache, 1));
  BOOST_TEST(!Present(cache, 4));

  BOOST_CHECK_THROW(cache.set_default_ttl(nanoseconds(0)), std::invalid_argument);
  BOOST_CHECK_THROW(cache.set_default_ttl(nanoseconds(-5)), std::invalid_argument);
  BOOST_TEST(!cache.default_ttl().has_value());
}

BOOST_AUTO_TEST_CASE_TEMPLATE(cleanup_removes_every_expired_entry, P, AllPolicies) {
  Clocked c(1000, P::kPolicy);
  IntCache& cache = c.cache;
  BOOST_TEST(cache.cleanup() == 0u);
  for (std::uint64_t k = 0; k < 300; ++k) cache.put(k, k, nanoseconds(100));
  for (std::uint64_t k = 300; k < 400; ++k) cache.put(k, k, nanoseconds(200));
  for (std::uint64_t k = 400; k < 500; ++k) cache.put(k, k);
  BOOST_TEST(cache.cleanup() == 0u);  // nothing expired yet
  BOOST_TEST(cache.size() == 500u);

  c.clock->advance(nanoseconds(100));
  BOOST_TEST(cache.stats().expirations == 0u);
  BOOST_TEST(cache.cleanup() == 300u);
  BOOST_TEST(cache.size() == 200u);
  BOOST_TEST(cache.stats().expirations == 300u);
  BOOST_TEST(cache.cleanup() == 0u);

  c.clock->advance(nanoseconds(100));
  BOOST_TEST(cache.cleanup() == 100u);
  BOOST_TEST(cache.size() == 100u);
  for (std::uint64_t k = 400; k < 500; ++k) BOOST_TEST_REQUIRE(cache.contains(k));
  const CacheStats s = cache.stats();
  BOOST_TEST(s.expirations == 400u);
  BOOST_TEST(s.evictions == 0u);
  BOOST_TEST(s.misses == 0u);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(expire_sample_removes_expired_entries_proactively, P, AllPolicies) {
  Clocked c(1000, P::kPolicy);
  IntCache& cache = c.cache;
  for (std::uint64_t k = 0; k < 500; ++k) cache.put(k, k, nanoseconds(100));
  for (std::uint64_t k = 500; k < 600; ++k) cache.put(k, k);
  BOOST_TEST(cache.expire_sample() == 0u);
  c.clock->advance(nanoseconds(100));

  const std::size_t first = cache.expire_sample();
  BOOST_TEST(first > 0u);  // 5/6 of the entries are expired: a round cannot miss them all
  BOOST_TEST(cache.size() == 600u - first);
  std::size_t removed = first;
  for (int round = 0; round < 10000 && cache.size() > 100; ++round) {
    removed += cache.expire_sample();
  }
  BOOST_TEST(removed == 500u);
  BOOST_TEST(cache.size() == 100u);
  BOOST_TEST(cache.stats().expirations == 500u);
  BOOST_TEST(cache.stats().misses == 0u);
  for (std::uint64_t k = 500; k < 600; ++k) BOOST_TEST_REQUIRE(cache.contains(k));
  BOOST_TEST(cache.expire_sample() == 0u);
}

// expire_sample draws from the cache's seeded stream: two caches with the same seed and the
// same history expire the same entries, even when their calls interleave on one thread (with
// the thread's stream, each call got the numbers the other cache's call left, so the two
// caches sampled different slots).
BOOST_AUTO_TEST_CASE(expire_sample_is_reproducible_with_a_fixed_seed) {
  Clocked a(2000, Policy::kLru, std::nullopt, 7);
  Clocked b(2000, Policy::kLru, std::nullopt, 7);
  for (Clocked* c : {&a, &b}) {
    for (std::uint64_t k = 0; k < 1000; ++k) {
      c->cache.put(k, k, nanoseconds(k % 2 == 0 ? 100 : 1'000'000));
    }
    c->clock->advance(nanoseconds(100));
  }
  std::size_t removed = 0;
  for (int round = 0; round < 40; ++round) {
    const std::size_t from_a = a.cache.expire_sample(4, 1);
    const std::size_t from_b = b.cache.expire_sample(4, 1);
    BOOST_TEST_REQUIRE(from_a == from_b);
    removed += from_a;
  }
  BOOST_TEST(removed > 0u);
  BOOST_TEST(removed < 500u);
  for (std::uint64_t k = 0; k < 1000; k += 2) {
    BOOST_TEST_REQUIRE(a.cache.contains(k) == b.cache.contains(k));
  }
}

// Half of a full cache expires; the live half is the one a policy ignoring deadlines would
// evict (older, and read less often than the entries that expire). Room for new entries must
// then come from the expired entries first. With the largest sample (64) an expired entry is
// in every sample while a quarter of the cache is expired, so no live entry may go.
BOOST_AUTO_TEST_CASE_TEMPLATE(eviction_prefers_expired_entries, P, AllPolicies) {
  for (const std::size_t sample_size : {64, 5}) {
    BOOST_TEST_CONTEXT("sample_size " << sample_size) {
      auto clock = std::make_shared<ManualClock>(1'000'000);
      CacheConfig config;
      config.max_size = 200;
      config.policy = P::kPolicy;
      config.sample_size = sample_size;
      config.clock = clock;
      IntCache cache(config);
      for (std::uint64_t k = 0; k < 100; ++k) cache.put(k, k);
      for (std::uint64_t k = 1000; k < 1100; ++k) cache.put(k, k, nanoseconds(1000));
      for (int round = 0; round < 3; ++round) {
        for (std::uint64_t k = 1000; k < 1100; ++k) BOOST_TEST_REQUIRE(Present(cache, k));
      }
      clock->advance(nanoseconds(1000));

      for (std::uint64_t k = 2000; k < 2050; ++k) cache.put(k, k);  // half the expired count
      std::size_t live_lost = 0;
      for (std::uint64_t k = 0; k < 100; ++k) live_lost += cache.contains(k) ? 0 : 1;
      for (std::uint64_t k = 2000; k < 2050; ++k) live_lost += cache.contains(k) ? 0 : 1;
      BOOST_TEST_MESSAGE(cuckoocache::to_string(P::kPolicy)
                         << " sample " << sample_size << ": " << live_lost
                         << " live entries evicted, " << cache.stats().expirations
                         << " expired removed");
      BOOST_TEST(cache.size() <= 200u);
      if (sample_size == 64) {
        BOOST_TEST(live_lost == 0u);
        BOOST_TEST(cache.stats().expirations >= 49u);
      } else {
        // Five samples miss every expired entry now and then ((3/4)^5 at worst here), but a
        // policy ignoring deadlines would have evicted 50 live entries.
        BOOST_TEST(live_lost <= 20u);
        BOOST_TEST(cache.stats().expirations >= 30u);
      }
    }
  }
}

// An expired entry counts as absent for writes: put_if_absent stores over it and both
// put_if_absent and put report a new key; the stats see an expiration and an insert.
BOOST_AUTO_TEST_CASE_TEMPLATE(writes_treat_an_expired_key_as_absent, P, AllPolicies) {
  Clocked c(100, P::kPolicy);
  IntCache& cache = c.cache;
  cache.put(1, 10, nanoseconds(100));
  cache.put(2, 20, nanoseconds(100));
  BOOST_TEST(!cache.put_if_absent(1, 11));  // live: refused
  BOOST_TEST(cache.get(1).value_or(0) == 10u);
  c.clock->advance(nanoseconds(100));

  BOOST_TEST(cache.put_if_absent(1, 12));
  BOOST_TEST(cache.put(2, 22));
  BOOST_TEST(cache.size() == 2u);
  const CacheStats s = cache.stats();
  BOOST_TEST(s.inserts == 4u);
  BOOST_TEST(s.updates == 0u);
  BOOST_TEST(s.expirations == 2u);
  BOOST_TEST(s.evictions + s.rejections + s.expirations == s.inserts - s.size);
  // The new entries have no deadline.
  c.clock->advance(std::chrono::hours(1));
  BOOST_TEST(cache.get(1).value_or(0) == 12u);
  BOOST_TEST(cache.get(2).value_or(0) == 22u);
}

// ---- Background sweeper -----------------------------------------------------------------

// sweep_expired() (the background sweeper's work): every expired entry goes in one call while
// the budget lasts, however sparse the entries are in the arena (the old sampled sweep needed
// minutes for 5,000 entries among 65,536 slots); live entries and entries without a deadline
// stay; nothing is done while no deadline is due.
BOOST_AUTO_TEST_CASE_TEMPLATE(sweep_expired_finds_every_expired_entry_in_one_pass, P, AllPolicies) {
  for (const std::size_t max_size : {std::size_t{10'000}, std::size_t{100'000}}) {
    Clocked c(max_size, P::kPolicy);
    IntCache& cache = c.cache;
    const auto unlimited = std::chrono::steady_clock::time_point::max();
    BOOST_TEST(cache.sweep_expired(unlimited) == 0u);  // no TTL in use
    for (std::uint64_t k = 0; k < 5000; ++k) cache.put(k, k, nanoseconds(100));
    for (std::uint64_t k = 5000; k < 5100; ++k) cache.put(k, k, nanoseconds(1000));
    for (std::uint64_t k = 5100; k < 5200; ++k) cache.put(k, k);
    c.clock->advance(nanoseconds(99));
    BOOST_TEST(cache.sweep_expired(unlimited) == 0u);
    c.clock->advance(nanoseconds(1));
    BOOST_TEST(cache.sweep_expired(unlimited) == 5000u);
    BOOST_TEST(cache.size() == 200u);
    BOOST_TEST(cache.stats().expirations == 5000u);
    BOOST_TEST(cache.sweep_expired(unlimited) == 0u);
    c.clock->advance(nanoseconds(900));
    BOOST_TEST(cache.sweep_expired(unlimited) == 100u);
    BOOST_TEST(cache.size() == 100u);
    for (std::uint64_t k = 5100; k < 5200; ++k) BOOST_TEST_REQUIRE(cache.contains(k));
    BOOST_TEST(cache.stats().hits + cache.stats().misses == 0u);
  }
}

// A pass cut short by its budget resumes where it stopped; entries written during a pass
// (before or after the cursor) are found by the next one.
BOOST_AUTO_TEST_CASE(sweep_expired_resumes_an_unfinished_pass_and_sees_writes_made_during_it) {
  Clocked c(100'000);
  IntCache& cache = c.cache;
  for (std::uint64_t k = 0; k < 50'000; ++k) cache.put(k, k, nanoseconds(10));
  c.clock->advance(nanoseconds(10));
  const auto spent = std::chrono::steady_clock::time_point::min();
  std::size_t removed = cache.sweep_expired(spent);  // one chunk, then out of budget
  BOOST_TEST(removed > 0u);
  BOOST_TEST(removed < 50'000u);
  cache.put(1'000'000, 1, nanoseconds(5));  // lands in a freed slot behind the cursor
  int calls = 1;
  while (cache.size() > 1 && calls < 1000) {
    removed += cache.sweep_expired(spent);
    ++calls;
  }
  BOOST_TEST(removed <= 50'000u);  // the put's own active expiry may have taken a few
  BOOST_TEST(cache.stats().expirations == 50'000u);
  BOOST_TEST(cache.size() == 1u);
  c.clock->advance(nanoseconds(5));
  for (int i = 0; i < 200 && cache.size() > 0; ++i) {
    static_cast<void>(cache.sweep_expired(spent));
  }
  BOOST_TEST(cache.size() == 0u);
}

// An entry refreshed in place with a later deadline, or one with an earlier deadline than every
// entry the last pass saw, is still found when it is due.
BOOST_AUTO_TEST_CASE(sweep_expired_tracks_refreshes_and_earlier_deadlines) {
  Clocked c(1000);
  IntCache& cache = c.cache;
  const auto unlimited = std::chrono::steady_clock::time_point::max();
  cache.put(1, 1, nanoseconds(1000));
  c.clock->advance(nanoseconds(1000));
  cache.put(1, 2, nanoseconds(1000));  // refreshed before any sweep: due again at 2000
  BOOST_TEST(cache.sweep_expired(unlimited) == 0u);
  cache.put(2, 2, nanoseconds(10));  // earlier than the bound the pass just computed
  c.clock->advance(nanoseconds(10));
  BOOST_TEST(cache.sweep_expired(unlimited) == 1u);
  BOOST_TEST(cache.contains(1));
  c.clock->advance(nanoseconds(990));
  BOOST_TEST(cache.sweep_expired(unlimited) == 1u);
  BOOST_TEST(cache.size() == 0u);
}

// One ExpirySweeper serves several caches; run_round() does what its thread does.
BOOST_AUTO_TEST_CASE(one_sweeper_serves_several_caches) {
  cuckoocache::ExpirySweeper sweeper(std::chrono::hours(1));  // the thread never wakes by itself
  Clocked a(1000);
  Clocked b(1000, Policy::kAdaptive);
  a.cache.attach_sweeper(sweeper);
  b.cache.attach_sweeper(sweeper);
  for (std::uint64_t k = 0; k < 100; ++k) {
    a.cache.put(k, k, nanoseconds(10));
    b.cache.put(k, k, nanoseconds(10));
  }
  BOOST_TEST(sweeper.run_round() == 0u);
  a.clock->advance(nanoseconds(10));
  b.clock->advance(nanoseconds(10));
  BOOST_TEST(sweeper.run_round() == 200u);
  BOOST_TEST(a.cache.size() + b.cache.size() == 0u);
  a.cache.detach_sweeper();
  a.cache.put(1, 1, nanoseconds(10));
  a.clock->advance(nanoseconds(10));
  BOOST_TEST(sweeper.run_round() == 0u);  // a is no longer swept
  BOOST_TEST(a.cache.size() == 1u);
}

BOOST_AUTO_TEST_CASE(background_sweeper_removes_expired_entries_without_reads) {
  auto clock = std::make_shared<ManualClock>(1'000'000);
  CacheConfig config;
  config.max_size = 1000;
  config.clock = clock;
  config.expiry_interval = std::chrono::milliseconds(1);
  IntCache cache(config);
  for (std::uint64_t k = 0; k < 200; ++k) cache.put(k, k, nanoseconds(100));
  for (std::uint64_t k = 200; k < 250; ++k) cache.put(k, k);
  clock->advance(nanoseconds(99));
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // sweeps that must find nothing
  BOOST_TEST(cache.size() == 250u);
  BOOST_TEST(cache.stats().expirations == 0u);

  clock->advance(nanoseconds(1));
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (cache.size() > 50 && std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  BOOST_TEST(cache.size() == 50u);
  const CacheStats s = cache.stats();
  BOOST_TEST(s.expirations == 200u);
  BOOST_TEST(s.hits + s.misses == 0u);  // nobody read
  cache.stop_expiry_thread();
  for (std::uint64_t k = 200; k < 250; ++k) BOOST_TEST_REQUIRE(cache.contains(k));
}

BOOST_AUTO_TEST_CASE(sweeper_can_be_started_restarted_and_stopped) {
  Clocked c;
  IntCache& cache = c.cache;
  BOOST_CHECK_THROW(cache.start_expiry_thread(nanoseconds(0)), std::invalid_argument);
  BOOST_CHECK_THROW(cache.start_expiry_thread(nanoseconds(-1)), std::invalid_argument);
  cache.start_expiry_thread(std::chrono::microseconds(100));
  cache.start_expiry_thread(std::chrono::microseconds(50));  // restart with a new interval
  for (std::uint64_t k = 0; k < 100; ++k) cache.put(k, k, nanoseconds(10));
  c.clock->advance(nanoseconds(10));
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (cache.size() > 0 && std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  BOOST_TEST(cache.size() == 0u);
  cache.stop_expiry_thread();
  cache.stop_expiry_thread();  // idempotent
  cache.put(1, 1, nanoseconds(10));
  c.clock->advance(nanoseconds(10));
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  BOOST_TEST(cache.size() == 1u);  // stopped: nothing sweeps any more
}

// Destroying a cache while its sweeper runs (mid-sweep, or waiting) must stop and join the
// thread before the entries go. Under ASan this catches a sweep touching a dead cache.
BOOST_AUTO_TEST_CASE(cache_destructs_cleanly_while_the_sweeper_runs) {
  for (int i = 0; i < 50; ++i) {
    auto clock = std::make_shared<ManualClock>(1'000'000);
    CacheConfig config;
    config.max_size = 500;
    config.clock = clock;
    config.expiry_interval = std::chrono::microseconds(1 + i % 5);
    config.policy = i % 2 == 0 ? Policy::kLru : Policy::kAdaptive;
    auto cache = std::make_unique<IntCache>(config);
    for (std::uint64_t k = 0; k < 500; ++k) cache->put(k, k, nanoseconds(1 + k % 7));
    clock->advance(nanoseconds(i % 8));
    if (i % 3 == 0) std::this_thread::sleep_for(std::chrono::microseconds(200));
    cache.reset();
  }
  BOOST_TEST(true);
}

BOOST_AUTO_TEST_SUITE_END()
