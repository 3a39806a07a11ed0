// Unit tests for engine/frequency_sketch.h (single-threaded behaviour).
#include "engine/frequency_sketch.h"

#include <boost/test/unit_test.hpp>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "engine/hash_mix.h"

namespace {

using cuckoocache::FrequencySketch;

// The sketch expects an already mixed 64-bit hash: splitmix64 of a counter gives that, which is
// the engine's own finalizer applied to the counter plus the golden-ratio increment.
std::uint64_t Mix(std::uint64_t x) {
  return cuckoocache::mix_hash(x + 0x9e3779b97f4a7c15ULL);
}

// Hash of the i-th key of a test-specific key space.
std::uint64_t Key(std::uint64_t space, std::uint64_t i) {
  return Mix((space << 40) ^ i);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(frequency_sketch)

BOOST_AUTO_TEST_CASE(empty_sketch_estimates_zero) {
  FrequencySketch sketch(1000);
  for (std::uint64_t i = 0; i < 10000; ++i) BOOST_TEST_REQUIRE(sketch.estimate(Key(1, i)) == 0u);
  BOOST_TEST(sketch.additions() == 0u);
  BOOST_TEST(sketch.reset_count() == 0u);
}

BOOST_AUTO_TEST_CASE(increments_count_up_and_saturate_at_15) {
  FrequencySketch sketch(1000);
  const std::uint64_t key = Key(2, 7);
  for (unsigned n = 1; n <= 15; ++n) {
    sketch.increment(key);
    BOOST_TEST_REQUIRE(sketch.estimate(key) == n);
  }
  for (int n = 0; n < 100; ++n) sketch.increment(key);
  BOOST_TEST(sketch.estimate(key) == 15u);
  // Saturated increments change nothing, so they are not counted as additions.
  BOOST_TEST(sketch.additions() <= 15u);
  // The neighbouring nibbles must not have received a carry: other keys still read ~0.
  unsigned nonzero = 0;
  for (std::uint64_t i = 0; i < 1000; ++i) nonzero += sketch.estimate(Key(3, i)) != 0 ? 1 : 0;
  BOOST_TEST(nonzero == 0u);
}

// A replaced sketch gives its pages back but stays usable by a racing thread: its counters
// read zero, and counting still works.
BOOST_AUTO_TEST_CASE(released_counters_read_zero_and_count_again) {
  FrequencySketch sketch(1 << 20);  // 8 MiB of counters: whole pages to give back
  const std::uint64_t key = Key(5, 3);
  for (int n = 0; n < 5; ++n) sketch.increment(key);
  BOOST_TEST_REQUIRE(sketch.estimate(key) == 5u);
  sketch.release_counters();
  BOOST_TEST(sketch.estimate(key) == 0u);
  sketch.increment(key);
  BOOST_TEST(sketch.estimate(key) == 1u);
}

BOOST_AUTO_TEST_CASE(tiny_sketch_works) {
  FrequencySketch sketch(1);
  BOOST_TEST(sketch.reset_period() == 10u);
  BOOST_TEST(sketch.table_words() == 8u);
  sketch.increment(Key(4, 1));
  BOOST_TEST(sketch.estimate(Key(4, 1)) == 1u);
}

BOOST_AUTO_TEST_CASE(distinct_keys_are_mostly_independent) {
  constexpr std::size_t kSize = 10000;
  FrequencySketch sketch(kSize);
  for (std::uint64_t i = 0; i < kSize; ++i) sketch.increment(Key(5, i));
  BOOST_TEST(sketch.reset_count() == 0u);  // 10k increments < period of 100k

  std::size_t exact = 0;
  std::size_t total_error = 0;
  for (std::uint64_t i = 0; i < kSize; ++i) {
    const unsigned e = sketch.estimate(Key(5, i));
    BOOST_TEST_REQUIRE(e >= 1u);  // count-min never undercounts without aging or saturation
    exact += e == 1 ? 1 : 0;
    total_error += e - 1;
  }
  std::size_t false_positives = 0;
  for (std::uint64_t i = 0; i < kSize; ++i) {
    false_positives += sketch.estimate(Key(6, i)) != 0 ? 1 : 0;
  }
  BOOST_TEST_MESSAGE("exact " << exact << "/" << kSize << ", total over-count " << total_error
                              << ", unseen keys with nonzero estimate " << false_positives);
  // Expected: well over 99% exact and < 1% false positives; bounds are generous.
  BOOST_TEST(exact >= kSize * 97 / 100);
  BOOST_TEST(false_positives <= kSize * 3 / 100);
}

BOOST_AUTO_TEST_CASE(counters_halve_after_reset_period) {
  constexpr std::size_t kSize = 512;
  FrequencySketch sketch(kSize);
  BOOST_TEST(sketch.reset_period() == 10 * kSize);

  // A set of tracked keys with known counts 1..15.
  constexpr std::uint64_t kTracked = 64;
  for (std::uint64_t i = 0; i < kTracked; ++i) {
    for (std::uint64_t n = 0; n <= i % 15; ++n) sketch.increment(Key(7, i));
  }
  const std::uint64_t hot = Key(7, 1000);
  for (int n = 0; n < 12; ++n) sketch.increment(hot);

  // Feed distinct filler keys until the first halving. Just before the increment that triggers
  // it, remember every tracked estimate; that increment can raise an estimate by at most one.
  std::vector<unsigned> before(kTracked);
  unsigned hot_before = 0;
  std::uint64_t filler = 0;
  while (sketch.reset_count() == 0) {
    BOOST_TEST_REQUIRE(filler < 2 * sketch.reset_period());
    for (std::uint64_t i = 0; i < kTracked; ++i) before[i] = sketch.estimate(Key(7, i));
    hot_before = sketch.estimate(hot);
    sketch.increment(Key(8, filler++));
  }
  BOOST_TEST_MESSAGE("first halving after " << filler << " filler increments");
  BOOST_TEST(filler <= sketch.reset_period());  // the tracked keys also counted as additions

  std::uint64_t sum_before = 0;
  std::uint64_t sum_after = 0;
  for (std::uint64_t i = 0; i < kTracked; ++i) {
    const unsigned after = sketch.estimate(Key(7, i));
    BOOST_TEST_REQUIRE((after == before[i] / 2 || after == (before[i] + 1) / 2));
    sum_before += before[i];
    sum_after += after;
  }
  BOOST_TEST(sum_after * 2 <= sum_before + kTracked);
  BOOST_TEST(sum_after * 2 + kTracked >= sum_before);
  const unsigned hot_after = sketch.estimate(hot);
  BOOST_TEST((hot_after == hot_before / 2 || hot_after == (hot_before + 1) / 2));
  BOOST_TEST(hot_after >= 6u);

  // The addition count was halved too (minus Caffeine's odd-counter correction), so the next
  // halving comes after a bit more than half a period of new distinct increments.
  const std::uint64_t additions_after = sketch.additions();
  BOOST_TEST(additions_after <= sketch.reset_period() / 2 + 16);
  std::uint64_t more = 0;
  while (sketch.reset_count() == 1) {
    BOOST_TEST_REQUIRE(more < sketch.reset_period());
    sketch.increment(Key(9, more++));
  }
  BOOST_TEST_MESSAGE("second halving after " << more << " more increments");
  BOOST_TEST(more >= sketch.reset_period() / 4);
  BOOST_TEST(more <= sketch.reset_period() * 3 / 4);
}

// A large sketch ages in pieces (one per fold of 16 increments) rather than all at once on the
// increment that crosses the period: every counter is still halved exactly once per period,
// and the halving completes within a few hundred increments of starting.
BOOST_AUTO_TEST_CASE(large_sketch_ages_in_pieces_each_counter_halved_once) {
  FrequencySketch sketch(1 << 16);  // 8,192 blocks: 16 pieces
  const std::uint64_t hot = Key(11, 0);
  for (int i = 0; i < 20; ++i) sketch.increment(hot);
  BOOST_TEST(sketch.estimate(hot) == 15u);
  std::uint64_t n = 0;
  while (sketch.additions() < sketch.reset_period() - 32) sketch.increment(Key(12, n++));
  BOOST_TEST(sketch.reset_count() == 0u);
  // Cross the period: the halving starts, but is not complete after one fold.
  std::uint64_t after_start = 0;
  while (sketch.reset_count() == 0) {
    BOOST_TEST_REQUIRE(after_start < 100'000u);
    sketch.increment(Key(12, n++));
    ++after_start;
  }
  BOOST_TEST_MESSAGE("halving completed " << after_start << " increments after the last check");
  BOOST_TEST(after_start > 32u);             // more than one fold: done in pieces
  BOOST_TEST(after_start <= 32u + 16 * 17);  // 16 pieces, one per fold of 16
  BOOST_TEST(sketch.estimate(hot) == 7u);    // halved exactly once
  for (int i = 0; i < 5000; ++i) sketch.increment(Key(12, n++));
  BOOST_TEST(sketch.estimate(hot) == 7u);  // and not again before the next period
  BOOST_TEST(sketch.reset_count() == 1u);
}

BOOST_AUTO_TEST_CASE(heavy_hitter_ranks_above_light_key) {
  // Many trials: in each, a sketch loaded with background traffic; key A seen 10x, key B 2x.
  constexpr std::size_t kSize = 1000;
  constexpr int kTrials = 200;
  int correct = 0;
  std::uint64_t noise = 0;
  for (int t = 0; t < kTrials; ++t) {
    FrequencySketch sketch(kSize);
    // Background: 5 * kSize increments over 2 * kSize keys (half a period, no halving).
    for (std::size_t i = 0; i < 5 * kSize; ++i) sketch.increment(Key(11, noise++ % (2 * kSize)));
    const std::uint64_t a = Key(12, static_cast<std::uint64_t>(t));
    const std::uint64_t b = Key(13, static_cast<std::uint64_t>(t));
    for (int n = 0; n < 10; ++n) sketch.increment(a);
    for (int n = 0; n < 2; ++n) sketch.increment(b);
    correct += sketch.estimate(a) > sketch.estimate(b) ? 1 : 0;
  }
  BOOST_TEST_MESSAGE("heavy hitter ranked first in " << correct << "/" << kTrials << " trials");
  BOOST_TEST(correct >= kTrials * 95 / 100);
}

BOOST_AUTO_TEST_CASE(sizing) {
  FrequencySketch small(128);
  BOOST_TEST(small.table_words() == 128u);
  BOOST_TEST(small.memory_bytes() <= 8u * 1024);  // 1 KiB table + stripes
  BOOST_TEST(small.reset_period() == 1280u);

  FrequencySketch rounded(1000);
  BOOST_TEST(rounded.table_words() == 1024u);

  FrequencySketch large(1'000'000);
  BOOST_TEST(large.table_words() == (std::size_t{1} << 20));
  BOOST_TEST(large.memory_bytes() >= 8u * 1000 * 1000);
  BOOST_TEST(large.memory_bytes() <= 8u * 1024 * 1024 + 8u * 1024);  // ~8 MiB
  BOOST_TEST(large.reset_period() == 10'000'000u);
}

BOOST_AUTO_TEST_CASE(shrink_keeps_every_estimate_and_gives_memory_back) {
  FrequencySketch sketch(1 << 20);
  std::vector<std::uint64_t> before(2000);
  for (std::uint64_t i = 0; i < before.size(); ++i) {
    for (std::uint64_t n = 0; n < i % 16; ++n) sketch.increment(Key(9, i));
  }
  for (std::uint64_t i = 0; i < before.size(); ++i) before[i] = sketch.estimate(Key(9, i));
  const std::size_t bytes = sketch.memory_bytes();
  BOOST_TEST(!sketch.shrink_to(std::size_t{1} << 21));  // larger: nothing to do
  BOOST_TEST_REQUIRE(sketch.shrink_to(1000));
  BOOST_TEST(sketch.table_words() == 1024u);
  BOOST_TEST(sketch.reset_period() == 10'000u);
  BOOST_TEST(sketch.memory_bytes() < bytes / 100);
  // Folding takes the larger counter, so no estimate drops (count-min never undercounts).
  for (std::uint64_t i = 0; i < before.size(); ++i) {
    BOOST_TEST_REQUIRE(sketch.estimate(Key(9, i)) >= before[i]);
  }
  sketch.increment(Key(10, 1));
  BOOST_TEST(sketch.estimate(Key(10, 1)) >= 1u);
}

BOOST_AUTO_TEST_SUITE_END()
