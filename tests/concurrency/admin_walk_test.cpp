// Admin walks (clear, snapshot, for_each_entry) racing with inserts that grow the table, and
// the background sweeper racing with everything (issue 13.22). libcuckoo 0.3.1 reads its lock
// list without a lock while a growing insert appends to it; tables are now sized so that they
// never append (entry_map.h) and walks go through the slot arena, so TSan must stay silent.
// Checked too:
// every entry a walk reports is a live one (key and value agree), and at quiescence the walks
// agree with size().
#include <atomic>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include "engine/cache.h"

namespace {

using IntCache = cuckoocache::Cache<std::uint64_t, std::uint64_t>;

}  // namespace

BOOST_AUTO_TEST_SUITE(admin_walk)

BOOST_AUTO_TEST_CASE(walks_race_table_growth_and_the_sweeper) {
  for (int round = 0; round < 4; ++round) {
    cuckoocache::CacheConfig config;
    // Small caches' tables are sized for max_size; this one's starts at 2^16 buckets and
    // doubles once on the way to 300,000 entries (entry_map.h).
    config.max_size = round < 2 ? 400'000 : 50'000;
    config.expiry_interval = std::chrono::milliseconds(1);
    IntCache cache(config);
    std::atomic<bool> stop{false};
    std::atomic<std::uint64_t> bad{0};
    std::vector<std::thread> writers;
    for (std::uint64_t t = 0; t < 2; ++t) {
      writers.emplace_back([&, t] {
        for (std::uint64_t k = t; k < 300'000 && !stop.load(); k += 2) {
          if (k % 3 == 0) {
            cache.put(k, k * 7, std::chrono::microseconds(50));
          } else {
            cache.put(k, k * 7);
          }
        }
      });
    }
    std::thread admin([&] {
      int i = 0;
      while (!stop.load()) {
        if (i % 3 == 0) {
          for (const auto& [k, v] : cache.snapshot()) {
            if (v != k * 7) bad.fetch_add(1);
          }
        } else if (i % 3 == 1) {
          cache.for_each_entry([&](std::uint64_t k, std::uint64_t v) {
            if (v != k * 7) bad.fetch_add(1);
          });
        } else if (round % 2 == 0) {
          cache.clear();
        }
        ++i;
      }
    });
    for (std::thread& w : writers) w.join();
    stop.store(true);
    admin.join();
    BOOST_TEST(bad.load() == 0u);
    cache.stop_expiry_thread();
    static_cast<void>(cache.cleanup());
    std::size_t walked = 0;
    cache.for_each_entry([&](std::uint64_t, std::uint64_t) { ++walked; });
    BOOST_TEST(walked == cache.size());
    BOOST_TEST(cache.snapshot().size() == cache.size());
    cache.clear();
    BOOST_TEST(cache.size() == 0u);
    BOOST_TEST(cache.snapshot().empty());
  }
}

BOOST_AUTO_TEST_SUITE_END()
