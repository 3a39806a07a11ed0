// Large shrinks and regrowths (engine/arena_compaction.h, engine/shrink_eviction.h) racing with
// puts, gets, erases, snapshots and the background sweeper, for every policy. Entries move
// between slots while other threads use them: TSan must stay silent, every value read is the
// key's own, and at quiescence the size bound holds, walks agree with size(), the stats are
// exact and the arena follows max_size down.
#include <atomic>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <cstdint>
#include <optional>
#include <thread>
#include <vector>

#include "engine/cache.h"
#include "support/policy_tags.h"

namespace {

using IntCache = cuckoocache::Cache<std::uint64_t, std::uint64_t>;

}  // namespace

BOOST_AUTO_TEST_SUITE(arena_compaction_concurrency)

BOOST_AUTO_TEST_CASE_TEMPLATE(shrink_and_regrow_under_load, P, policy::All) {
  cuckoocache::CacheConfig config;
  config.policy = P::kPolicy;
  config.max_size = 20'000;
  config.expiry_interval = std::chrono::milliseconds(1);
  IntCache cache(config);
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> bad{0};
  std::atomic<std::uint64_t> erased{0};
  std::vector<std::thread> workers;
  for (std::uint64_t t = 0; t < 2; ++t) {
    workers.emplace_back([&, t] {
      std::uint64_t k = t;
      while (!stop.load(std::memory_order_relaxed)) {
        k += 2;
        const std::uint64_t key = k % 60'000;
        if (k % 5 == 0) {
          cache.put(key, key * 3, std::chrono::microseconds(200));
        } else {
          cache.put(key, key * 3);
        }
        if (const std::optional<std::uint64_t> v = cache.get((k * 7) % 60'000)) {
          if (*v != ((k * 7) % 60'000) * 3) bad.fetch_add(1);
        }
        if (k % 11 == 0 && cache.erase((k * 13) % 60'000)) erased.fetch_add(1);
        if (k % 4001 == 0) {
          for (const auto& [key2, value] : cache.snapshot()) {
            if (value != key2 * 3) bad.fetch_add(1);
          }
        }
      }
    });
  }
  for (int round = 0; round < 6; ++round) {
    cache.set_max_size(20'000);
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    cache.set_max_size(round % 2 == 0 ? 100 : 1000);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  stop.store(true);
  for (std::thread& w : workers) w.join();
  cache.stop_expiry_thread();  // quiescent from here: nothing removes entries behind our back
  cache.set_max_size(1000);    // compaction completes

  BOOST_TEST(bad.load() == 0u);
  BOOST_TEST(cache.size() <= 1000u);
  std::size_t walked = 0;  // expired entries included (snapshot() leaves them out)
  cache.for_each_entry([&](std::uint64_t key, std::uint64_t value) {
    walked += 1;
    if (value != key * 3) bad.fetch_add(1);
  });
  BOOST_TEST(walked == cache.size());
  BOOST_TEST(bad.load() == 0u);
  BOOST_TEST(cache.arena_slots() <= 2048u);
  const cuckoocache::CacheStats s = cache.stats();
  BOOST_TEST(s.evictions + s.rejections + s.expirations + erased.load() == s.inserts - s.size);
  const std::uint64_t scans = cache.eviction_scans();
  for (std::uint64_t k = 100'000; k < 110'000; ++k) cache.put(k, k * 3);
  BOOST_TEST(cache.eviction_scans() == scans);
  BOOST_TEST(cache.size() == 1000u);
}

BOOST_AUTO_TEST_SUITE_END()
