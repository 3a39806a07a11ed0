// WindowRing (policies/window_ring.h) under real interleavings; must run clean in Release and
// under -fsanitize=thread. 4 threads each append their own cells and take cells (their own
// stripe's or, every 8th take and when theirs is empty, another's), with chunks given back
// behind the cursors (the ring is large enough to release pages); then the main thread drains
// the rest. No cell is taken twice or invented; all but a few are taken (a cell whose writer
// was preempted for kStallCells appends of its stripe may be skipped, by design).
// And an ADAPTIVE cache cleared again and again while writers run (clear() lets the ring forget
// its cells when the window is empty): at quiescence the window count equals the live window
// slots, the size bound holds, and the cache still evicts through its window.
#include <algorithm>
#include <atomic>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <cstdint>
#include <thread>
#include <vector>

#include "engine/cache.h"
#include "policies/window_ring.h"

BOOST_AUTO_TEST_SUITE(window_ring_concurrency)

BOOST_AUTO_TEST_CASE(every_cell_is_taken_at_most_once) {
  constexpr std::uint32_t kThreads = 4;
  constexpr std::uint32_t kPerThread = 60'000;
  cuckoocache::WindowRing ring;
  ring.reserve(std::size_t{1} << 16);  // 64k cells per stripe, released in 64 KiB chunks
  std::vector<std::vector<std::uint64_t>> taken(kThreads + 1);
  std::vector<std::thread> pool;
  for (std::uint32_t t = 0; t < kThreads; ++t) {
    pool.emplace_back([&ring, &taken, t] {
      for (std::uint32_t i = 0; i < kPerThread; ++i) {
        // (slot + 1) << 32 | tick, as AdaptivePolicy queues them; unique per thread and i.
        ring.append((std::uint64_t{t * kPerThread + i + 1} << 32) | (i + 1));
        if (i % 4 != 3) {  // take a little less than is queued, so cells pile up and wrap
          if (const std::uint64_t item = ring.pop()) taken[t].push_back(item);
        }
      }
    });
  }
  for (auto& th : pool) th.join();
  while (const std::uint64_t item = ring.pop()) taken[kThreads].push_back(item);
  std::vector<std::uint64_t> all;
  for (const auto& v : taken) all.insert(all.end(), v.begin(), v.end());
  std::sort(all.begin(), all.end());
  BOOST_TEST((std::adjacent_find(all.begin(), all.end()) == all.end()));  // none twice
  for (const std::uint64_t item : all) {
    const std::uint64_t id = (item >> 32) - 1;
    BOOST_TEST_REQUIRE(id < kThreads * kPerThread);
    BOOST_TEST_REQUIRE(static_cast<std::uint32_t>(item) == id % kPerThread + 1);
  }
  // Cells overwritten when a stripe ran a whole ring ahead of its cursor are lost by design;
  // with 64k cells per stripe and 15k cells left queued per thread, none should be.
  BOOST_TEST(all.size() >= kThreads * kPerThread - kThreads * 1024);
}

BOOST_AUTO_TEST_CASE(clear_races_with_adaptive_writers) {
  cuckoocache::CacheConfig config;
  config.max_size = 20'000;  // a ring large enough to give chunks back
  config.policy = cuckoocache::Policy::kAdaptive;
  cuckoocache::Cache<std::uint64_t, std::uint64_t> cache(config);
  std::atomic<bool> stop{false};
  std::vector<std::thread> writers;
  for (std::uint64_t t = 0; t < 3; ++t) {
    writers.emplace_back([&cache, &stop, t] {
      for (std::uint64_t k = t; !stop.load(std::memory_order_relaxed); k += 3) {
        cache.put(k % 60'000, k);
        (void)cache.get((k * 7) % 60'000);
      }
    });
  }
  for (int i = 0; i < 20; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    cache.clear();
  }
  stop.store(true);
  for (auto& th : writers) th.join();
  const auto w = cache.adaptive_window();
  BOOST_TEST(w.count == w.live_window_slots);
  BOOST_TEST(cache.size() <= config.max_size);
  for (std::uint64_t k = 100'000; k < 140'000; ++k) cache.put(k, k);
  BOOST_TEST(cache.size() <= config.max_size);
  const auto after = cache.adaptive_window();
  BOOST_TEST(after.count == after.live_window_slots);
}

BOOST_AUTO_TEST_SUITE_END()
