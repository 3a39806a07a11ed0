// Hit ratios of the engine's sampled policies against the exact reference models of
// perf/reference_models.h. On the real traces (skipped when perf::traces_dir() finds none):
// sampled LRU (sample_size 5) stays within 3 points of exact LRU, and ADAPTIVE within 1 point
// of the better of exact LRU and exact LFU, with absolute floors on oltp@2000 and gli@1000.
// On seeded synthetic workloads that need no files: LFU and ADAPTIVE beat LRU on Zipf(0.9),
// and ADAPTIVE tracks the better exact policy on recency workloads with scans.
//
// Replay: for each key, `if (!cache.visit(k, noop)) cache.put(k, k)`. Traces are loaded once
// and every replay is memoised, so each (trace, size, policy) runs once per process.
#include <algorithm>
#include <boost/test/data/monomorphic.hpp>
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <map>
#include <ostream>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "engine/cache.h"
#include "engine/hash_mix.h"
#include "perf/reference_models.h"
#include "perf/trace.h"

namespace {

using cuckoocache::Cache;
using cuckoocache::CacheConfig;
using cuckoocache::Policy;
using Keys = std::vector<std::uint64_t>;

// ---- Replays ----------------------------------------------------------------------------

double EngineHitRatio(const Keys& trace, std::size_t max_size, Policy policy) {
  CacheConfig config;
  config.max_size = max_size;
  config.policy = policy;  // sample_size stays at its default of 5
  config.seed = 1;         // sampling is seeded: every run gives the same ratios
  Cache<std::uint64_t, std::uint64_t> cache(config);
  std::size_t hits = 0;
  for (const std::uint64_t k : trace) {
    if (cache.visit(k, [](const std::uint64_t&) {})) {
      ++hits;
    } else {
      cache.put(k, k);
    }
  }
  return cuckoocache::perf::hit_ratio_percent(hits, trace.size());
}

double ExactLruHitRatio(const Keys& trace, std::size_t size) {
  cuckoocache::perf::ExactLru model(size);
  return cuckoocache::perf::replay_hit_ratio(model, trace);
}

double ExactLfuHitRatio(const Keys& trace, std::size_t size) {
  cuckoocache::perf::ExactLfu model(size);
  return cuckoocache::perf::replay_hit_ratio(model, trace);
}

// ---- Real traces ------------------------------------------------------------------------

struct TraceCase {
  const char* name;
  const char* file;
  std::size_t size;
};

std::ostream& operator<<(std::ostream& os, const TraceCase& c) {
  return os << c.name << "@" << c.size;
}

// The 46 cells of docs/benchmarks.md: every shared trace at its README size (or one holding a
// tenth to a quarter of its keys) and at 2x and 4x, oltp also at 8x. ADAPTIVE must stay within
// 1 point of the better exact policy on each, except the three known gaps below.
const TraceCase kTraceCases[] = {
    {"oltp", "oltp.lis.gz", 1000},
    {"oltp", "oltp.lis.gz", 2000},
    {"oltp", "oltp.lis.gz", 4000},
    {"oltp", "oltp.lis.gz", 8000},
    {"gli", "gli.lirs.gz", 1000},
    {"gli", "gli.lirs.gz", 4000},
    {"multi2", "multi2.lirs.gz", 1000},
    {"multi2", "multi2.lirs.gz", 2000},
    {"multi2", "multi2.lirs.gz", 4000},
    {"sprite", "sprite.lirs.gz", 200},
    {"sprite", "sprite.lirs.gz", 400},
    {"sprite", "sprite.lirs.gz", 800},
    {"loop", "loop.lirs.gz", 500},
    {"loop", "loop.lirs.gz", 1000},
    {"loop", "loop.lirs.gz", 2000},
    {"multi1", "multi1.lirs.gz", 1000},
    {"multi1", "multi1.lirs.gz", 2000},
    {"multi1", "multi1.lirs.gz", 4000},
    {"multi3", "multi3.lirs.gz", 1000},
    {"multi3", "multi3.lirs.gz", 2000},
    {"multi3", "multi3.lirs.gz", 4000},
    {"2_pools", "2_pools.lirs.gz", 1000},
    {"2_pools", "2_pools.lirs.gz", 2000},
    {"2_pools", "2_pools.lirs.gz", 4000},
    {"cpp", "cpp.lirs.gz", 200},
    {"cpp", "cpp.lirs.gz", 400},
    {"cpp", "cpp.lirs.gz", 800},
    {"cs", "cs.lirs.gz", 200},
    {"cs", "cs.lirs.gz", 400},
    {"cs", "cs.lirs.gz", 800},
    {"ps", "ps.lirs.gz", 500},
    {"ps", "ps.lirs.gz", 1000},
    {"ps", "ps.lirs.gz", 2000},
    {"scan", "scan.lirs.gz", 500},
    {"scan", "scan.lirs.gz", 1000},
    {"scan", "scan.lirs.gz", 2000},
    {"zigzag", "zigzag.lirs.gz", 2000},
    {"web07", "web07.keys.gz", 2000},
    {"web07", "web07.keys.gz", 4000},
    {"web07", "web07.keys.gz", 8000},
    {"web12", "web12.keys.gz", 2000},
    {"web12", "web12.keys.gz", 4000},
    {"web12", "web12.keys.gz", 8000},
};

// Known gaps (docs/design.md, ADAPTIVE): asserted at the bound they meet today, so that they
// cannot get worse; the 1-point versions are disabled in hit_ratio_engine_bugs below.
struct GapCase {
  TraceCase trace;
  double bound;  // points below max(exact LRU, exact LFU)
};
const GapCase kAdaptiveGaps[] = {
    {{"gli", "gli.lirs.gz", 2000}, 4.5},
    {{"zigzag", "zigzag.lirs.gz", 500}, 3.0},
    {{"zigzag", "zigzag.lirs.gz", 1000}, 2.5},
};
std::ostream& operator<<(std::ostream& os, const GapCase& g) {
  return os << g.trace;
}

// Sampled LRU on multi2@1000 sits right at the 3-point bound (see the disabled test below);
// it is checked separately.
const TraceCase kSampledLruCases[] = {
    {"oltp", "oltp.lis.gz", 1000},     {"oltp", "oltp.lis.gz", 2000}, {"gli", "gli.lirs.gz", 1000},
    {"sprite", "sprite.lirs.gz", 200}, {"loop", "loop.lirs.gz", 500},
};

// The trace named by `file`, loaded once per process; nullptr when there are no traces.
const Keys* SharedTrace(const std::string& file) {
  static const std::string dir = cuckoocache::perf::traces_dir();
  static std::map<std::string, Keys> loaded;
  if (dir.empty()) return nullptr;
  auto it = loaded.find(file);
  if (it == loaded.end()) {
    it = loaded.emplace(file, cuckoocache::perf::load_trace(dir + "/" + file)).first;
  }
  return &it->second;
}

enum class Which { kExactLru, kExactLfu, kSampledLru, kAdaptive };

// The hit ratio of one model on one (trace, size) case, computed on first use.
double Ratio(const TraceCase& c, Which which) {
  static std::map<std::tuple<std::string, std::size_t, Which>, double> memo;
  const auto key = std::make_tuple(std::string(c.file), c.size, which);
  if (const auto it = memo.find(key); it != memo.end()) return it->second;
  const Keys& trace = *SharedTrace(c.file);
  double r = 0;
  switch (which) {
    case Which::kExactLru:
      r = ExactLruHitRatio(trace, c.size);
      break;
    case Which::kExactLfu:
      r = ExactLfuHitRatio(trace, c.size);
      break;
    case Which::kSampledLru:
      r = EngineHitRatio(trace, c.size, Policy::kLru);
      break;
    case Which::kAdaptive:
      r = EngineHitRatio(trace, c.size, Policy::kAdaptive);
      break;
  }
  memo.emplace(key, r);
  return r;
}

bool HaveTraces() {
  if (!cuckoocache::perf::traces_dir().empty()) return true;
  BOOST_TEST_MESSAGE("no trace directory (set CUCKOOCACHE_TRACES): skipping the trace hit ratios");
  return false;
}

// ---- Synthetic workloads ----------------------------------------------------------------

// SplitMix64: a small seeded generator whose sequence is the same on every platform.
class SplitMix {
 public:
  explicit SplitMix(std::uint64_t seed) : state_(seed) {}
  std::uint64_t Next() {
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  double Uniform() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }  // [0, 1)

 private:
  std::uint64_t state_;
};

// `n` requests over `universe` keys with Zipf(`s`) popularity (rank r has weight 1/r^s); the
// ranks are scrambled into keys so that popularity has nothing to do with key order.
Keys ZipfTrace(std::size_t n, std::size_t universe, double s, std::uint64_t seed) {
  std::vector<double> cdf(universe);
  double total = 0;
  for (std::size_t r = 0; r < universe; ++r) {
    total += 1.0 / std::pow(static_cast<double>(r + 1), s);
    cdf[r] = total;
  }
  SplitMix rng(seed);
  Keys trace(n);
  for (std::uint64_t& k : trace) {
    const double u = rng.Uniform() * total;
    const auto rank =
        static_cast<std::uint64_t>(std::lower_bound(cdf.begin(), cdf.end(), u) - cdf.begin());
    k = cuckoocache::mix_hash(rank + 1);
  }
  return trace;
}

// A working set of `hot` keys drawn uniformly, whose window slides forward by `drift` keys per
// request (so old keys go cold and new ones warm up: recency pays), interrupted every
// `scan_every` requests by a scan of `scan_length` keys that are never seen again.
Keys RecencyScanTrace(std::size_t n, std::size_t hot, double drift, std::size_t scan_every,
                      std::size_t scan_length, std::uint64_t seed) {
  SplitMix rng(seed);
  Keys trace;
  trace.reserve(n + scan_length);
  std::uint64_t fresh = std::uint64_t{1} << 40;
  double base = 0;
  while (trace.size() < n) {
    for (std::size_t i = 0; i < scan_every; ++i) {
      base += drift;
      trace.push_back(static_cast<std::uint64_t>(base) + rng.Next() % hot);
    }
    for (std::size_t i = 0; i < scan_length; ++i) trace.push_back(fresh++);
  }
  return trace;
}

// ADAPTIVE against the better exact policy on a synthetic trace at 1000 entries.
void CheckAdaptiveTracksTheBetterExactPolicy(const char* name, const Keys& trace) {
  constexpr std::size_t kSize = 1000;
  const double lru = ExactLruHitRatio(trace, kSize);
  const double lfu = ExactLfuHitRatio(trace, kSize);
  const double adaptive = EngineHitRatio(trace, kSize, Policy::kAdaptive);
  BOOST_TEST_MESSAGE(name << ": exact LRU " << lru << ", exact LFU " << lfu << ", ADAPTIVE "
                          << adaptive);
  BOOST_TEST(adaptive >= std::max(lru, lfu) - 1.0,
             name << ": ADAPTIVE " << adaptive << " vs exact LRU " << lru << " / LFU " << lfu);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(hit_ratio)

BOOST_DATA_TEST_CASE(sampled_lru_within_3_points_of_exact_lru,
                     boost::unit_test::data::make(kSampledLruCases), c) {
  if (!HaveTraces()) return;
  const double exact = Ratio(c, Which::kExactLru);
  const double sampled = Ratio(c, Which::kSampledLru);
  BOOST_TEST_MESSAGE(c << ": exact LRU " << exact << ", sampled LRU " << sampled);
  BOOST_TEST(sampled >= exact - 3.0, c << ": sampled LRU " << sampled << ", exact " << exact);
}

// Guard for multi2@1000 until hit_ratio_engine_bugs/sampled_lru_on_multi2_within_3_points_
// of_exact_lru passes for every seed: sampled LRU measures 44.77..45.24 here across sampler
// seeds, against an exact LRU of 47.80.
BOOST_AUTO_TEST_CASE(sampled_lru_on_multi2_within_3_5_points_of_exact_lru) {
  if (!HaveTraces()) return;
  const TraceCase c{"multi2", "multi2.lirs.gz", 1000};
  const double exact = Ratio(c, Which::kExactLru);
  const double sampled = Ratio(c, Which::kSampledLru);
  BOOST_TEST_MESSAGE(c << ": exact LRU " << exact << ", sampled LRU " << sampled);
  BOOST_TEST(sampled >= exact - 3.5);
}

BOOST_DATA_TEST_CASE(adaptive_within_1_point_of_the_better_exact_policy,
                     boost::unit_test::data::make(kTraceCases), c) {
  if (!HaveTraces()) return;
  const double lru = Ratio(c, Which::kExactLru);
  const double lfu = Ratio(c, Which::kExactLfu);
  const double adaptive = Ratio(c, Which::kAdaptive);
  BOOST_TEST_MESSAGE(c << ": exact LRU " << lru << ", exact LFU " << lfu << ", ADAPTIVE "
                       << adaptive);
  BOOST_TEST(adaptive >= std::max(lru, lfu) - 1.0,
             c << ": ADAPTIVE " << adaptive << " vs exact LRU " << lru << " / LFU " << lfu);
}

BOOST_DATA_TEST_CASE(adaptive_known_gaps_stay_bounded, boost::unit_test::data::make(kAdaptiveGaps),
                     g) {
  if (!HaveTraces()) return;
  const double best = std::max(Ratio(g.trace, Which::kExactLru), Ratio(g.trace, Which::kExactLfu));
  const double adaptive = Ratio(g.trace, Which::kAdaptive);
  BOOST_TEST_MESSAGE(g << ": ADAPTIVE " << adaptive << ", max(exact) " << best);
  BOOST_TEST(adaptive >= best - g.bound, g << ": ADAPTIVE " << adaptive << " vs " << best);
}

// Floors near W-TinyLFU's published results (about 45.7 on oltp@2000, 50.8 on gli@1000).
BOOST_AUTO_TEST_CASE(adaptive_absolute_floors) {
  if (!HaveTraces()) return;
  const double oltp = Ratio({"oltp", "oltp.lis.gz", 2000}, Which::kAdaptive);
  const double gli = Ratio({"gli", "gli.lirs.gz", 1000}, Which::kAdaptive);
  BOOST_TEST_MESSAGE("ADAPTIVE: oltp@2000 " << oltp << ", gli@1000 " << gli);
  BOOST_TEST(oltp >= 44.7);
  BOOST_TEST(gli >= 42.0);
}

// ---- Synthetic ----------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(lfu_and_adaptive_beat_lru_on_zipf) {
  const Keys trace = ZipfTrace(300'000, 100'000, 0.9, /*seed=*/42);
  constexpr std::size_t kSize = 1000;
  const double exact_lru = ExactLruHitRatio(trace, kSize);
  const double lru = EngineHitRatio(trace, kSize, Policy::kLru);
  const double lfu = EngineHitRatio(trace, kSize, Policy::kLfu);
  const double adaptive = EngineHitRatio(trace, kSize, Policy::kAdaptive);
  BOOST_TEST_MESSAGE("zipf(0.9), 100k keys @1000: exact LRU " << exact_lru << ", LRU " << lru
                                                              << ", LFU " << lfu << ", ADAPTIVE "
                                                              << adaptive);
  BOOST_TEST(lru >= exact_lru - 3.0);
  // Frequency wins by about 8 points on this workload; require a clear 5.
  BOOST_TEST(lfu >= lru + 5.0);
  BOOST_TEST(adaptive >= lru + 5.0);
  BOOST_TEST(adaptive >= exact_lru + 5.0);
}

// Recency wins: a slowly drifting working set (exact LFU clings to keys gone cold), with
// scans of 500 one-time keys every 2000 requests.
BOOST_AUTO_TEST_CASE(adaptive_tracks_lru_on_a_drifting_working_set_with_scans) {
  CheckAdaptiveTracksTheBetterExactPolicy(
      "drifting 500-key working set + scans",
      RecencyScanTrace(300'000, 500, 0.01, 2000, 500, /*seed=*/5));
}

// Frequency wins: a fixed working set that long scans (2000 keys every 5000 requests) flush
// out of an LRU cache.
BOOST_AUTO_TEST_CASE(adaptive_tracks_lfu_on_a_stable_working_set_with_long_scans) {
  CheckAdaptiveTracksTheBetterExactPolicy(
      "stable 500-key working set + long scans",
      RecencyScanTrace(300'000, 500, 0.0, 5000, 2000, /*seed=*/5));
}

// Recency wins, fast: a working set that drifts by a key every 20 requests (issue 12: the
// old hill climber, one step per 10 x max_size lookups, got 79.1 against exact LRU 81.2; the
// window simulation finds the large window this needs).
BOOST_AUTO_TEST_CASE(adaptive_tracks_lru_on_a_fast_drifting_working_set) {
  CheckAdaptiveTracksTheBetterExactPolicy("fast-drifting 800-key working set",
                                          RecencyScanTrace(300'000, 800, 0.05, 10, 1, 5));
}

BOOST_AUTO_TEST_SUITE_END()

// Known engine bugs. Each case fails today and is disabled. They live in a suite of their own
// because naming a suite in --run_test also runs its disabled cases: --run_test=hit_ratio
// stays green, --run_test=hit_ratio_engine_bugs shows the bugs.
BOOST_AUTO_TEST_SUITE(hit_ratio_engine_bugs)

// ENGINE BUG (hit ratio): sampled LRU at the default sample_size 5 on multi2@1000 measures
// 44.77..45.24 at 55911cc (44.70..45.02 before 47693a3), depending on the sampler's
// per-thread seed (engine/random.h seeds from thread_index()), against exact LRU
// 47.80 - 3 = 44.80: it fails for some seeds (2 of 12 tried). Not caused by the insert-tick
// recency or the candidate pool: an idealised sampler with per-access timestamps and a
// Redis-style pool also averages 44.8. It is the sample size (the engine averaged 46.3 at
// sample_size 8, 46.7 at 10, 47.4 at 16).
// Repro: replay multi2.lirs.gz at max_size 1000, Policy::kLru, on fresh threads (new seeds).
BOOST_TEST_DECORATOR(*boost::unit_test::disabled())
BOOST_AUTO_TEST_CASE(sampled_lru_on_multi2_within_3_points_of_exact_lru) {
  if (!HaveTraces()) return;
  const TraceCase c{"multi2", "multi2.lirs.gz", 1000};
  BOOST_TEST(Ratio(c, Which::kSampledLru) >= Ratio(c, Which::kExactLru) - 3.0);
}

// KNOWN GAP (ADAPTIVE hit ratio): gli@2000 53.57 against 57.41 (the first decision of the
// window simulation comes after the cache fills, at request ~4,000 of 6,015, and until then
// the window is the adaptive_threshold default of 30%, which loses here); zigzag@500 21.87
// against 23.99 and zigzag@1000 46.19 against 48.03 (small windows lose in the sampled main
// region; the guard needs a few periods to settle on a full window). Measured at the commit
// that added this comment with perf/report/ratio_table.py.
BOOST_TEST_DECORATOR(*boost::unit_test::disabled())
BOOST_DATA_TEST_CASE(adaptive_gaps_within_1_point, boost::unit_test::data::make(kAdaptiveGaps), g) {
  if (!HaveTraces()) return;
  const double best = std::max(Ratio(g.trace, Which::kExactLru), Ratio(g.trace, Which::kExactLfu));
  BOOST_TEST(Ratio(g.trace, Which::kAdaptive) >= best - 1.0);
}

BOOST_AUTO_TEST_SUITE_END()
