// ADAPTIVE under real interleavings. Must run clean in Release and under -fsanitize=thread.
//  - adaptive_concurrency/window_count_matches_window_slots (issue 13 item 20): 4 threads
//    overwrite, insert and erase a small key space while an admin thread toggles the policy
//    between ADAPTIVE and LRU; at quiescence the window count equals the live slots whose
//    window bit is set (it drifted: 46 counted against 68 live window slots after 20 s).
//  - adaptive_concurrency/first_switch_to_adaptive_races_with_writers (issue 13 item 21): a
//    cache created with LRU is switched to ADAPTIVE while writers run; the ring's mask was a
//    plain field that writers read with nothing ordering it after the switch (TSan reported a
//    data race).
// Time-bounded (CUCKOOCACHE_STRESS_MS, default 1000 ms per case, at most 2 s here).
#include <algorithm>
#include <atomic>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <thread>
#include <vector>

#include "engine/cache.h"
#include "engine/random.h"

namespace {

using cuckoocache::Cache;
using cuckoocache::CacheConfig;
using cuckoocache::Policy;

std::chrono::milliseconds Budget() {
  const char* env = std::getenv("CUCKOOCACHE_STRESS_MS");
  const long ms = env != nullptr ? std::atol(env) : 1000;
  return std::chrono::milliseconds(std::clamp(ms, 50L, 2000L));
}

template <class Work>
void RunFor(int threads, Work work) {
  std::atomic<bool> stop{false};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      cuckoocache::FastRandom rng(static_cast<std::uint64_t>(t) + 1);
      while (!stop.load(std::memory_order_relaxed)) work(t, rng);
    });
  }
  std::this_thread::sleep_for(Budget());
  stop.store(true);
  for (auto& th : pool) th.join();
}

}  // namespace

BOOST_AUTO_TEST_SUITE(adaptive_concurrency)

BOOST_AUTO_TEST_CASE(window_count_matches_window_slots) {
  CacheConfig config;
  config.max_size = 256;
  config.policy = Policy::kAdaptive;
  Cache<std::uint64_t, std::uint64_t> cache(config);
  RunFor(5, [&](int t, cuckoocache::FastRandom& rng) {
    if (t == 4) {
      cache.set_policy((rng.next() & 1) != 0 ? Policy::kAdaptive : Policy::kLru);
      std::this_thread::sleep_for(std::chrono::microseconds(200));
      return;
    }
    for (int i = 0; i < 64; ++i) {
      const std::uint64_t k = rng.below(600);
      switch (rng.below(8)) {
        case 0:
          cache.erase(k);
          break;
        case 1:
        case 2:
          (void)cache.get(k);
          break;
        default:
          cache.put(k, k);  // mostly overwrites of live keys
      }
    }
  });
  cache.set_policy(Policy::kAdaptive);
  const auto w = cache.adaptive_window();
  BOOST_TEST(w.count == w.live_window_slots);
  BOOST_TEST(cache.size() <= 256u);
}

BOOST_AUTO_TEST_CASE(first_switch_to_adaptive_races_with_writers) {
  for (int round = 0; round < 4; ++round) {
    CacheConfig config;
    config.max_size = 128;
    config.policy = Policy::kLru;
    Cache<std::uint64_t, std::uint64_t> cache(config);
    std::atomic<bool> stop{false};
    std::vector<std::thread> writers;
    for (int t = 0; t < 2; ++t) {
      writers.emplace_back([&, t] {
        cuckoocache::FastRandom rng(static_cast<std::uint64_t>(round * 10 + t) + 1);
        while (!stop.load(std::memory_order_relaxed)) {
          const std::uint64_t k = rng.below(1000);
          if (!cache.get(k)) cache.put(k, k);
        }
      });
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    cache.set_policy(Policy::kAdaptive);
    std::this_thread::sleep_for(Budget() / 8);
    stop.store(true);
    for (auto& th : writers) th.join();
    const auto w = cache.adaptive_window();
    BOOST_TEST(w.count == w.live_window_slots);
    BOOST_TEST(cache.size() <= 128u);
  }
}

BOOST_AUTO_TEST_SUITE_END()
