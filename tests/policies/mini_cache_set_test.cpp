// MiniCacheSet (policies/mini_cache_set.h), the miniatures WindowSim runs: each of its
// miniatures must hit exactly when a stand-alone reference W-TinyLFU (tests/support/
// mini_wtinylfu.h) with the same capacity and window hits, lookup for lookup, on workloads that
// exercise hits, window-to-main moves, duels won and lost, and index deletions (many distinct
// keys through a small set). Also: size bounds and the argument checks.
#include "policies/mini_cache_set.h"

#include <array>
#include <boost/test/unit_test.hpp>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <vector>

#include "engine/frequency_sketch.h"
#include "engine/hash_mix.h"
#include "engine/random.h"
#include "support/mini_wtinylfu.h"

namespace {

using cuckoocache::FastRandom;
using cuckoocache::FrequencySketch;
using cuckoocache::MiniCacheSet;
using cuckoocache::MiniWTinyLfu;
using cuckoocache::mix_hash;

// Replays `keys` through a set and through one reference model per window; every lookup must
// give the same hit pattern.
void CheckAgainstReference(std::size_t capacity, const std::vector<std::size_t>& windows,
                           const std::vector<std::uint64_t>& keys) {
  MiniCacheSet set(capacity, windows);
  std::vector<MiniWTinyLfu> refs;
  for (std::size_t w : windows) refs.emplace_back(capacity, w);
  FrequencySketch sketch(capacity);
  std::size_t mismatches = 0;
  std::size_t hits = 0;
  for (std::uint64_t k : keys) {
    const std::uint64_t h = mix_hash(k);
    sketch.increment(h);
    const std::uint32_t mask = set.access(h, sketch);
    for (std::size_t i = 0; i < refs.size(); ++i) {
      const bool hit = refs[i].access(h, sketch);
      hits += hit ? 1 : 0;
      mismatches += hit != (((mask >> i) & 1u) != 0) ? 1 : 0;
    }
  }
  BOOST_TEST(mismatches == 0u);
  BOOST_TEST(hits > 0u);
  for (std::size_t i = 0; i < refs.size(); ++i) {
    BOOST_TEST(set.size_of(i) == refs[i].size());
    BOOST_TEST(set.size_of(i) <= capacity);
  }
}

// Skewed keys over a space `space` times the capacity, with a scan every so often.
std::vector<std::uint64_t> Mixed(std::size_t capacity, std::size_t space, std::size_t n,
                                 std::uint64_t seed) {
  FastRandom rng(seed);
  std::vector<std::uint64_t> keys;
  std::uint64_t scan = 1'000'000;
  for (std::size_t i = 0; i < n; ++i) {
    if (i % 5000 < 300) {
      keys.push_back(scan++);  // a one-time scan
    } else {
      // Squaring a uniform draw skews it toward small keys.
      const std::uint64_t r = rng.below(static_cast<std::uint32_t>(space * capacity));
      keys.push_back(r * r / (space * capacity));
    }
  }
  return keys;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(mini_cache_set)

BOOST_AUTO_TEST_CASE(every_miniature_matches_its_reference_model) {
  const std::vector<std::size_t> windows = {1, 5, 15, 30, 50, 75, 100};
  CheckAgainstReference(100, windows, Mixed(100, 4, 60'000, 1));
}

BOOST_AUTO_TEST_CASE(matches_with_a_zero_window_and_a_tiny_capacity) {
  CheckAgainstReference(3, {0, 1, 2, 3}, Mixed(3, 3, 20'000, 2));
  CheckAgainstReference(1, {0, 1}, Mixed(1, 5, 5'000, 3));
}

BOOST_AUTO_TEST_CASE(matches_at_the_size_window_sim_uses) {
  const std::vector<std::size_t> windows = {10, 51, 154, 307, 512, 768, 1024};
  CheckAgainstReference(1024, windows, Mixed(1024, 3, 100'000, 4));
}

BOOST_AUTO_TEST_CASE(rejects_shapes_it_cannot_index) {
  const std::array<std::size_t, 1> one = {1};
  BOOST_CHECK_THROW(MiniCacheSet(0, one), std::invalid_argument);
  BOOST_CHECK_THROW(MiniCacheSet(70'000, one), std::invalid_argument);
  const std::array<std::size_t, 9> nine = {};
  BOOST_CHECK_THROW(MiniCacheSet(10, nine), std::invalid_argument);
  BOOST_CHECK_THROW(MiniCacheSet(10, std::span<const std::size_t>{}), std::invalid_argument);
}

BOOST_AUTO_TEST_SUITE_END()
