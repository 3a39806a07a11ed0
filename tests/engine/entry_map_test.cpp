// EntryMap (engine/entry_map.h) alone, and the parts of Cache that depend on its sharding:
// shards are created on first insert (an empty map of any plan costs almost nothing), racing
// first inserts into one shard keep every entry, a shard that outgrows its plan is replaced
// without losing entries (also while other threads read and write it: the TSan stage runs
// these), compact() and Cache::clear() give table memory back, and raising max_size under load
// is race-free (issue 13.22's lock-list race needed a table to grow past its lock array while
// shared; run under TSan this test reported it before the map was sharded).
#include "engine/entry_map.h"

#include <atomic>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <thread>
#include <vector>

#include "engine/cache.h"
#include "engine/hash_mix.h"

namespace {

using Map = cuckoocache::EntryMap<std::uint64_t, std::uint64_t>;
using Entry = Map::Entry;
using ChainType = Map::ChainType;
using cuckoocache::mix_hash;

// Inserts key -> value (slot = key) unless present; returns whether it inserted.
bool Insert(Map& map, std::uint64_t key, std::uint64_t value) {
  Entry fresh{key, value, static_cast<std::uint32_t>(key), 0};
  bool present = false;
  const bool stored = map.insert_or_modify(
      mix_hash(key),
      [&](ChainType& chain) {
        if (chain.find(key, std::equal_to<>()) != nullptr) {
          present = true;
        } else {
          chain.push(std::move(fresh));
        }
        return false;
      },
      fresh);
  return stored || !present;
}

std::optional<std::uint64_t> Find(const Map& map, std::uint64_t key) {
  std::optional<std::uint64_t> out;
  map.find(mix_hash(key), [&](const ChainType& chain) {
    if (const Entry* e = chain.find(key, std::equal_to<>())) out = e->value;
  });
  return out;
}

bool Erase(Map& map, std::uint64_t key) {
  bool erased = false;
  map.modify(mix_hash(key), [&](ChainType& chain) {
    Entry* e = chain.find(key, std::equal_to<>());
    if (e == nullptr) return false;
    erased = true;
    std::optional<Entry> out;
    return chain.remove(e, out);
  });
  return erased;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(entry_map)

BOOST_AUTO_TEST_CASE(an_empty_map_of_any_plan_allocates_no_table) {
  for (std::size_t planned : {std::size_t{16}, std::size_t{1} << 20, std::size_t{1} << 31}) {
    Map map(planned);
    BOOST_TEST(map.live_shards() == 0u);
    BOOST_TEST(map.bucket_bytes() == 0u);
    BOOST_TEST(sizeof(Map) < 4096u);
    BOOST_TEST(!Find(map, 7).has_value());
    BOOST_TEST(!Erase(map, 7));
  }
}

BOOST_AUTO_TEST_CASE(shards_are_created_one_at_a_time_on_first_insert) {
  Map map(std::size_t{1} << 20);
  BOOST_TEST_REQUIRE(map.shard_count() > 1u);
  BOOST_TEST(Insert(map, 1, 10));
  BOOST_TEST(map.live_shards() == 1u);
  BOOST_TEST((Find(map, 1) == std::optional<std::uint64_t>(10)));
  // One shard's table is a small fraction of what the plan would need at once.
  BOOST_TEST(map.bucket_bytes() < (std::size_t{1} << 20) * 8);
  for (std::uint64_t k = 2; k < 5'000; ++k) BOOST_TEST_REQUIRE(Insert(map, k, k));
  BOOST_TEST(map.live_shards() == map.shard_count());
}

BOOST_AUTO_TEST_CASE(racing_first_inserts_keep_every_entry) {
  for (int round = 0; round < 5; ++round) {
    Map map(std::size_t{1} << 16);  // two shards: the four threads race to create each
    constexpr std::uint64_t kThreads = 4;
    constexpr std::uint64_t kPerThread = 200;
    std::atomic<int> ready{0};
    std::vector<std::thread> threads;
    for (std::uint64_t t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        ready.fetch_add(1);
        while (ready.load() < static_cast<int>(kThreads)) {
        }
        for (std::uint64_t i = 0; i < kPerThread; ++i) Insert(map, i * kThreads + t, i);
      });
    }
    for (std::thread& th : threads) th.join();
    for (std::uint64_t k = 0; k < kThreads * kPerThread; ++k) {
      BOOST_TEST_REQUIRE((Find(map, k) == std::optional<std::uint64_t>(k / kThreads)));
    }
    BOOST_TEST(map.live_shards() <= map.shard_count());
  }
}

BOOST_AUTO_TEST_CASE(a_shard_that_outgrows_its_plan_is_replaced_with_its_entries) {
  Map map(16);  // two shards, each planned for a few dozen entries
  BOOST_TEST_REQUIRE(map.shard_count() == 2u);
  for (std::uint64_t k = 0; k < 20'000; ++k) BOOST_TEST_REQUIRE(Insert(map, k, k + 1));
  BOOST_TEST(map.retired_shards() > 0u);
  for (std::uint64_t k = 0; k < 20'000; ++k) {
    BOOST_TEST_REQUIRE((Find(map, k) == std::optional<std::uint64_t>(k + 1)));
  }
}

BOOST_AUTO_TEST_CASE(replacement_under_concurrent_readers_and_writers_loses_nothing) {
  Map map(16);
  constexpr std::uint64_t kWriters = 2;
  constexpr std::uint64_t kPerWriter = 6'000;
  std::atomic<bool> done{false};
  std::atomic<std::uint64_t> misses{0};
  BOOST_TEST_REQUIRE(Insert(map, 0, 1));
  std::thread reader([&] {
    // Key 0 is inserted before the threads start and never removed: every replacement must
    // move it, and a reader racing the move must still find it.
    while (!done.load()) {
      if (!Find(map, 0).has_value()) misses.fetch_add(1);
    }
  });
  std::vector<std::thread> writers;
  for (std::uint64_t t = 0; t < kWriters; ++t) {
    writers.emplace_back([&, t] {
      for (std::uint64_t i = 1; i <= kPerWriter; ++i) Insert(map, i * kWriters + t, i);
    });
  }
  for (std::thread& th : writers) th.join();
  done.store(true);
  reader.join();
  BOOST_TEST(misses.load() == 0u);
  BOOST_TEST(map.retired_shards() > 0u);
  for (std::uint64_t t = 0; t < kWriters; ++t) {
    for (std::uint64_t i = 1; i <= kPerWriter; ++i) {
      BOOST_TEST_REQUIRE((Find(map, i * kWriters + t) == std::optional<std::uint64_t>(i)));
    }
  }
}

BOOST_AUTO_TEST_CASE(compact_gives_table_memory_back_and_keeps_the_entries) {
  Map map(std::size_t{1} << 15);
  for (std::uint64_t k = 0; k < 30'000; ++k) BOOST_TEST_REQUIRE(Insert(map, k, k));
  const std::size_t full = map.bucket_bytes();
  for (std::uint64_t k = 100; k < 30'000; ++k) BOOST_TEST_REQUIRE(Erase(map, k));
  map.compact();
  const std::size_t compacted = map.bucket_bytes();
  BOOST_TEST_MESSAGE("entry map: " << full << " bytes at 30,000 entries, " << compacted
                                   << " after erasing all but 100 and compact()");
  // What stays is the shards' lock arrays (libcuckoo never shrinks them) and 100 entries.
  BOOST_TEST(compacted * 2 < full);
  for (std::uint64_t k = 0; k < 100; ++k) {
    BOOST_TEST_REQUIRE((Find(map, k) == std::optional<std::uint64_t>(k)));
  }
  // The shards regrow to their plan (their lock arrays were kept).
  for (std::uint64_t k = 100; k < 30'000; ++k) BOOST_TEST_REQUIRE(Insert(map, k, k));
  BOOST_TEST(map.retired_shards() == 0u);
}

BOOST_AUTO_TEST_CASE(a_cleared_cache_gives_its_table_memory_back) {
  cuckoocache::CacheConfig config;
  config.max_size = 30'000;
  cuckoocache::Cache<std::uint64_t, std::uint64_t> cache(config);
  const std::size_t empty = cache.overhead_bytes();
  for (std::uint64_t k = 0; k < 30'000; ++k) cache.put(k, k);
  const std::size_t full = cache.overhead_bytes();
  cache.clear();
  const std::size_t cleared = cache.overhead_bytes();
  BOOST_TEST_MESSAGE("cache max_size 30,000: overhead " << empty << " bytes empty, " << full
                                                        << " full, " << cleared
                                                        << " after clear()");
  BOOST_TEST(empty < 256u * 1024u);
  BOOST_TEST(cleared < full - full / 4);
  cache.put(1, 2);
  BOOST_TEST((cache.get(1) == std::optional<std::uint64_t>(2)));
}

BOOST_AUTO_TEST_CASE(raising_max_size_under_load_is_race_free) {
  // Several rounds: before the fix TSan saw the race in about one round in three.
  for (int round = 0; round < 6; ++round) {
    cuckoocache::CacheConfig config;
    config.max_size = 64;  // planned small: the table must outgrow its lock arrays
    cuckoocache::Cache<std::uint64_t, std::uint64_t> cache(config);
    std::atomic<bool> done{false};
    std::vector<std::thread> threads;
    for (std::uint64_t t = 0; t < 2; ++t) {
      threads.emplace_back([&, t] {
        std::uint64_t k = t;
        while (!done.load(std::memory_order_relaxed)) {
          cache.put(k, k);
          (void)cache.get(k / 2);
          k += 2;
        }
      });
    }
    for (std::size_t max = 128; max <= 32'768; max *= 2) {
      cache.set_max_size(max);
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    // Let the cache grow well past its first plan (bounded in time for sanitizer builds).
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(1);
    while (cache.size() < 16'384 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    done.store(true);
    for (std::thread& th : threads) th.join();
    BOOST_TEST(cache.size() <= 32'768u);
    cache.put(1'000'000'007, 3);
    BOOST_TEST((cache.get(1'000'000'007) == std::optional<std::uint64_t>(3)));
  }
}

BOOST_AUTO_TEST_SUITE_END()
