// Eviction in a large cache (16,384 entries) under racing threads: several writers and readers,
// some entries with deadlines. While they race, size() stays within max_size plus the number of
// writers; at quiescence it is within max_size, and the stats are exact: every insert is still
// present, evicted or expired. Run under TSan by tools/test's tsan stage.
#include <atomic>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <thread>
#include <vector>

#include "engine/cache.h"
#include "engine/random.h"

namespace {

using cuckoocache::Cache;
using cuckoocache::CacheConfig;
using cuckoocache::FastRandom;
using cuckoocache::Policy;

}  // namespace

BOOST_AUTO_TEST_SUITE(large_cache_eviction_concurrency)

BOOST_AUTO_TEST_CASE(racing_writers_stay_within_the_bound_and_count_exactly) {
  constexpr std::size_t kMax = 16'384;
  constexpr int kWriters = 3;
  constexpr int kOpsPerWriter = 30'000;
  for (const Policy policy : {Policy::kLru, Policy::kTtl}) {
    CacheConfig config;
    config.max_size = kMax;
    config.policy = policy;
    Cache<std::uint64_t, std::uint64_t> cache(config);
    std::atomic<bool> done{false};
    std::atomic<std::size_t> worst{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kWriters; ++t) {
      threads.emplace_back([&cache, t] {
        FastRandom rng(100 + static_cast<std::uint64_t>(t));
        for (int i = 0; i < kOpsPerWriter; ++i) {
          const std::uint64_t key = rng.below(4 * kMax);
          if (i % 16 == 0) {
            cache.put(key, key, std::chrono::microseconds(50));  // some expire meanwhile
          } else if (i % 3 == 0) {
            static_cast<void>(cache.get(key));
          } else {
            cache.put(key, key);
          }
        }
      });
    }
    std::thread monitor([&] {
      while (!done.load()) {
        const std::size_t s = cache.size();
        std::size_t w = worst.load();
        while (s > w && !worst.compare_exchange_weak(w, s)) {
        }
        std::this_thread::yield();
      }
    });
    for (std::thread& t : threads) t.join();
    done.store(true);
    monitor.join();
    BOOST_TEST(worst.load() <= kMax + kWriters);
    BOOST_TEST(cache.size() <= kMax);
    const auto stats = cache.stats();
    BOOST_TEST(stats.inserts == stats.evictions + stats.expirations + cache.size(),
               stats << " size " << cache.size());
  }
}

BOOST_AUTO_TEST_SUITE_END()
