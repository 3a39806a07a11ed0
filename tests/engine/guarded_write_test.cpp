// The engine API the Python binding builds its "compare outside the lock" path on:
// put_guarded() refuses to join an existing chain when its guard says no and then changes
// nothing; inspect() shows every entry sharing a key's hash without calling KeyEqual; take()
// removes and returns a value. Keys here hash to one of two values, so chains are shared.
#include <boost/test/unit_test.hpp>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <set>

#include "engine/cache.h"

namespace {

using cuckoocache::Cache;
using cuckoocache::CacheConfig;

struct TwoValuesHash {
  std::size_t operator()(std::uint64_t key) const noexcept { return key % 2; }
};
using SharedChainCache = Cache<std::uint64_t, int, TwoValuesHash>;

CacheConfig Config(std::size_t max_size) {
  CacheConfig config;
  config.max_size = max_size;
  return config;
}

std::set<std::uint64_t> ChainKeys(SharedChainCache& cache, std::uint64_t probe) {
  std::set<std::uint64_t> keys;
  cache.inspect(probe, [&](const SharedChainCache::EntryChain& chain, std::uint64_t) {
    chain.for_each([&](const auto& entry) { keys.insert(entry.key); });
  });
  return keys;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(guarded_write)

BOOST_AUTO_TEST_CASE(refused_join_changes_nothing) {
  SharedChainCache cache(Config(16));
  BOOST_TEST(cache.put(std::uint64_t{2}, 20));  // chain of even keys exists
  const auto before = cache.stats();
  const auto refuse = [](const SharedChainCache::EntryChain&) { return false; };
  const auto result = cache.put_guarded(std::uint64_t{4}, 40, std::nullopt,
                                        SharedChainCache::WriteMode::kOverwrite, refuse);
  BOOST_TEST((result == SharedChainCache::PutResult::kRefused));
  BOOST_TEST(!cache.contains(4));
  BOOST_TEST(cache.size() == 1u);
  BOOST_TEST(cache.stats().inserts == before.inserts);
}

BOOST_AUTO_TEST_CASE(guard_is_not_asked_for_a_new_chain_or_a_present_key) {
  SharedChainCache cache(Config(16));
  const auto refuse = [](const SharedChainCache::EntryChain&) { return false; };
  using WriteMode = SharedChainCache::WriteMode;
  using PutResult = SharedChainCache::PutResult;
  BOOST_TEST((cache.put_guarded(std::uint64_t{1}, 10, std::nullopt, WriteMode::kOverwrite,
                                refuse) == PutResult::kInserted));
  BOOST_TEST((cache.put_guarded(std::uint64_t{1}, 11, std::nullopt, WriteMode::kOverwrite,
                                refuse) == PutResult::kUpdated));
  std::optional<int> existing;
  BOOST_TEST((cache.put_guarded(std::uint64_t{1}, 12, std::nullopt, WriteMode::kIfAbsent, refuse,
                                &existing) == PutResult::kPresent));
  BOOST_TEST(existing.value_or(0) == 11);
  BOOST_TEST(cache.get(1).value_or(0) == 11);
}

BOOST_AUTO_TEST_CASE(guard_sees_the_chain_it_would_join) {
  SharedChainCache cache(Config(16));
  BOOST_TEST(cache.put(std::uint64_t{2}, 20));
  BOOST_TEST(cache.put(std::uint64_t{6}, 60));
  std::set<std::uint64_t> seen;
  const auto record = [&](const SharedChainCache::EntryChain& chain) {
    chain.for_each([&](const auto& entry) { seen.insert(entry.key); });
    return true;
  };
  BOOST_TEST((cache.put_guarded(std::uint64_t{8}, 80, std::nullopt,
                                SharedChainCache::WriteMode::kOverwrite,
                                record) == SharedChainCache::PutResult::kInserted));
  BOOST_TEST((seen == std::set<std::uint64_t>{2, 6}));
  BOOST_TEST((ChainKeys(cache, 0) == std::set<std::uint64_t>{2, 6, 8}));
  BOOST_TEST(ChainKeys(cache, 1).empty());
}

BOOST_AUTO_TEST_CASE(take_returns_the_value_once) {
  SharedChainCache cache(Config(16));
  BOOST_TEST(cache.put(std::uint64_t{3}, 30));
  BOOST_TEST(cache.take(3).value_or(0) == 30);
  BOOST_TEST(!cache.take(3).has_value());
  BOOST_TEST(cache.size() == 0u);
}

BOOST_AUTO_TEST_SUITE_END()
