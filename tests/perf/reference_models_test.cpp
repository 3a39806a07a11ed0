// Tests for perf/reference_models.h: hand-checked sequences for each policy, OPT against a
// brute-force Belady on random traces, and the reference table of /work/shared/traces/README.md
// (exact to 2 decimals) when the shared traces are present.
#include "perf/reference_models.h"

#include <algorithm>
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <map>
#include <ostream>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "perf/trace.h"

namespace {

using cuckoocache::perf::ExactLfu;
using cuckoocache::perf::ExactLru;
using cuckoocache::perf::hit_ratio_percent;
using cuckoocache::perf::opt_hit_ratio;
using cuckoocache::perf::opt_hits;
using cuckoocache::perf::replay_hit_ratio;
using cuckoocache::perf::replay_hits;
using Keys = std::vector<std::uint64_t>;

// Hit (1) / miss (0) for each request.
template <typename Model>
std::vector<int> outcomes(Model& model, const Keys& trace) {
  std::vector<int> out;
  for (const std::uint64_t k : trace) out.push_back(model.access(k) ? 1 : 0);
  return out;
}

// Belady by definition: on a miss with a full cache, scan forward for each resident's next use.
std::size_t brute_force_opt_hits(const Keys& trace, std::size_t capacity) {
  std::vector<std::uint64_t> cache;
  std::size_t hits = 0;
  for (std::size_t i = 0; i < trace.size(); ++i) {
    if (std::find(cache.begin(), cache.end(), trace[i]) != cache.end()) {
      ++hits;
      continue;
    }
    if (capacity == 0) continue;
    if (cache.size() == capacity) {
      std::size_t victim = 0;
      std::size_t farthest = 0;
      for (std::size_t c = 0; c < cache.size(); ++c) {
        std::size_t next = i + 1;
        while (next < trace.size() && trace[next] != cache[c]) ++next;
        if (next > farthest) {
          farthest = next;
          victim = c;
        }
      }
      cache.erase(cache.begin() + static_cast<std::ptrdiff_t>(victim));
    }
    cache.push_back(trace[i]);
  }
  return hits;
}

Keys random_trace(std::size_t n, std::uint64_t universe, std::uint32_t seed) {
  std::mt19937 rng(seed);
  // Skewed: half the requests go to a tenth of the keys.
  std::uniform_int_distribution<std::uint64_t> all(0, universe - 1);
  std::uniform_int_distribution<std::uint64_t> hot(0, universe / 10);
  Keys t(n);
  for (auto& k : t) k = (rng() & 1) ? hot(rng) : all(rng);
  return t;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(perf_reference_models)

BOOST_AUTO_TEST_CASE(hit_ratio_helpers) {
  BOOST_TEST(hit_ratio_percent(0, 0) == 0.0);
  BOOST_TEST(hit_ratio_percent(1, 4) == 25.0);
  ExactLru lru(2);
  BOOST_TEST(replay_hit_ratio(lru, Keys{}) == 0.0);
  BOOST_TEST(replay_hit_ratio(lru, Keys{1, 1, 1, 1}) == 75.0);
  BOOST_TEST(opt_hit_ratio(Keys{}, 3) == 0.0);
}

BOOST_AUTO_TEST_CASE(lru_hand_checked) {
  ExactLru lru(2);
  // 1m 2m 1h 3m(evicts 2) 2m(evicts 1) 1m(evicts 3) 2h
  BOOST_TEST(outcomes(lru, Keys{1, 2, 1, 3, 2, 1, 2}) == (std::vector<int>{0, 0, 1, 0, 0, 0, 1}),
             boost::test_tools::per_element());
  BOOST_TEST(lru.size() == 2U);
  BOOST_TEST(lru.contains(1));
  BOOST_TEST(lru.contains(2));
  BOOST_TEST(!lru.contains(3));
}

BOOST_AUTO_TEST_CASE(lru_capacity_one_and_zero) {
  ExactLru one(1);
  BOOST_TEST(outcomes(one, Keys{5, 5, 6, 5, 5}) == (std::vector<int>{0, 1, 0, 0, 1}),
             boost::test_tools::per_element());
  ExactLru zero(0);
  BOOST_TEST(replay_hits(zero, Keys{1, 1, 1}) == 0U);
  BOOST_TEST(zero.size() == 0U);
}

BOOST_AUTO_TEST_CASE(lfu_evicts_least_frequent) {
  ExactLfu lfu(2);
  // 1m 1h (1:2) 2m (2:1) 3m evicts 2 (3:1) 2m evicts 3 (LRU among count 1) 1h
  BOOST_TEST(outcomes(lfu, Keys{1, 1, 2, 3, 2, 1}) == (std::vector<int>{0, 1, 0, 0, 0, 1}),
             boost::test_tools::per_element());
  BOOST_TEST(lfu.frequency(1) == 3U);
  BOOST_TEST(lfu.frequency(2) == 1U);
  BOOST_TEST(lfu.frequency(3) == 0U);
}

BOOST_AUTO_TEST_CASE(lfu_ties_go_to_least_recently_used) {
  ExactLfu lfu(2);
  // 1 and 2 both reach count 2; 1 was inserted first (FIFO and lowest-key victim) but 2 was
  // used less recently (LRU victim).
  (void)replay_hits(lfu, Keys{1, 2, 2, 1});
  BOOST_TEST(lfu.frequency(1) == 2U);
  BOOST_TEST(lfu.frequency(2) == 2U);
  BOOST_TEST(!lfu.access(3));
  BOOST_TEST(lfu.contains(1));
  BOOST_TEST(!lfu.contains(2));
  BOOST_TEST(lfu.contains(3));
}

BOOST_AUTO_TEST_CASE(lfu_forgets_counts_on_eviction) {
  ExactLfu lfu(1);
  (void)replay_hits(lfu, Keys{1, 1, 1});
  BOOST_TEST(lfu.frequency(1) == 3U);
  BOOST_TEST(!lfu.access(2));  // Only slot: 1 goes despite its count.
  BOOST_TEST(!lfu.access(1));
  BOOST_TEST(lfu.frequency(1) == 1U);  // Not 4: in-cache counts only.

  ExactLfu zero(0);
  BOOST_TEST(replay_hits(zero, Keys{1, 1}) == 0U);
}

BOOST_AUTO_TEST_CASE(opt_textbook_reference_string) {
  // Classic example: 3 frames, OPT takes 7 faults (LRU 10).
  const Keys t{1, 2, 3, 4, 1, 2, 5, 1, 2, 3, 4, 5};
  BOOST_TEST(opt_hits(t, 3) == 5U);
  ExactLru lru(3);
  BOOST_TEST(replay_hits(lru, t) == 2U);
  BOOST_TEST(opt_hits(t, 0) == 0U);
  BOOST_TEST(opt_hits(t, 5) == 7U);  // Everything fits: only cold misses.
}

BOOST_AUTO_TEST_CASE(opt_always_admits_the_missed_key) {
  // With bypass OPT would keep 1 and hit on the last request; the reference OPT admits 2.
  BOOST_TEST(opt_hits(Keys{1, 2, 1}, 1) == 0U);
  // Evicts the resident never used again.
  BOOST_TEST(opt_hits(Keys{1, 2, 3, 1, 3}, 2) == 2U);
}

BOOST_AUTO_TEST_CASE(opt_matches_brute_force_and_bounds_online_policies) {
  for (std::uint32_t seed = 1; seed <= 4; ++seed) {
    const Keys t = random_trace(3000, 80, seed);
    for (std::size_t cap : {1, 2, 5, 17, 40, 79, 80, 100}) {
      BOOST_TEST_CONTEXT("seed " << seed << " capacity " << cap) {
        const std::size_t opt = opt_hits(t, cap);
        BOOST_TEST(opt == brute_force_opt_hits(t, cap));
        ExactLru lru(cap);
        ExactLfu lfu(cap);
        BOOST_TEST(replay_hits(lru, t) <= opt);
        BOOST_TEST(replay_hits(lfu, t) <= opt);
        BOOST_TEST(lru.size() <= cap);
        BOOST_TEST(lfu.size() <= cap);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(capacity_above_key_count_gives_only_cold_misses) {
  const Keys t = random_trace(2000, 50, 7);
  const std::size_t distinct = std::set<std::uint64_t>(t.begin(), t.end()).size();
  ExactLru lru(50);
  ExactLfu lfu(64);
  BOOST_TEST(replay_hits(lru, t) == t.size() - distinct);
  BOOST_TEST(replay_hits(lfu, t) == t.size() - distinct);
  BOOST_TEST(opt_hits(t, 50) == t.size() - distinct);
}

namespace {

struct ReadmeRow {
  const char* file;
  std::size_t size;
  double lru;
  double lfu;
  double opt;
};
std::ostream& operator<<(std::ostream& os, const ReadmeRow& r) {
  return os << r.file << " @ " << r.size;
}

// /work/shared/traces/README.md, "Exact reference hit ratios (%), whole trace, cold start".
const ReadmeRow kReadmeTable[] = {
    {"oltp.lis.gz", 1000, 32.83, 13.83, 53.61},  {"oltp.lis.gz", 2000, 42.47, 18.15, 60.40},
    {"gli.lirs.gz", 1000, 11.21, 31.34, 53.13},  {"multi2.lirs.gz", 1000, 47.80, 50.71, 62.16},
    {"sprite.lirs.gz", 200, 39.88, 8.96, 68.86}, {"loop.lirs.gz", 500, 0.00, 0.00, 49.36},
};

std::string two_decimals(double percent) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", percent);
  return buf;
}

// Traces are loaded once per process (oltp serves two rows).
const Keys& cached_trace(const std::string& path) {
  static std::map<std::string, Keys> cache;
  auto it = cache.find(path);
  if (it == cache.end()) it = cache.emplace(path, cuckoocache::perf::load_trace(path)).first;
  return it->second;
}

// Precondition of the real-trace tests: they are skipped, with this message, without traces.
boost::test_tools::assertion_result traces_available(boost::unit_test::test_unit_id) {
  boost::test_tools::assertion_result ok(!cuckoocache::perf::traces_dir().empty());
  if (!ok) ok.message() << "no traces directory (set CUCKOOCACHE_TRACES); skipped";
  return ok;
}

}  // namespace

BOOST_TEST_DECORATOR(*boost::unit_test::precondition(traces_available))
BOOST_DATA_TEST_CASE(readme_reference_table, boost::unit_test::data::make(kReadmeTable), row) {
  const std::string dir = cuckoocache::perf::traces_dir();
  const Keys& t = cached_trace(dir + "/" + row.file);
  ExactLru lru(row.size);
  ExactLfu lfu(row.size);
  BOOST_TEST(two_decimals(replay_hit_ratio(lru, t)) == two_decimals(row.lru));
  BOOST_TEST(two_decimals(replay_hit_ratio(lfu, t)) == two_decimals(row.lfu));
  BOOST_TEST(two_decimals(opt_hit_ratio(t, row.size)) == two_decimals(row.opt));
}

BOOST_AUTO_TEST_SUITE_END()
