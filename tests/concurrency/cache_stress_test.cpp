// Concurrency stress tests for cuckoocache::Cache (engine/cache.h). Must run clean in Release
// and under -fsanitize=thread and -fsanitize=address,undefined.
//
// What this file pins down, under real interleavings (4+ threads on a 2-core machine):
//  1. cache_stress/mixed_stream (per policy x admission): a random mix of get / get(out) /
//     visit / put / put_if_absent / get_or_insert / erase / contains over a key space 4x
//     max_size, with some entries carrying TTLs on a ManualClock that a monitor advances.
//      - every value read belongs to its key and is not torn (key, checksum and payload agree);
//      - while racing, size() <= max_size + number of inserting threads (sampled by a monitor);
//      - at quiescence size() <= max_size;
//      - stats are exact: hits + misses == lookups performed (get, visit, get_or_insert each
//        count one), and inserts - evictions - rejections - expirations - successful erase()s
//        == size() (clear() is the only other uncounted removal, and is not used here);
//      - cleanup() returns exactly the expirations it adds; snapshot() then agrees with size()
//        and with contains() over the whole key space.
//  2. cache_stress/admin_churn: clear / set_max_size(16..512) / set_policy (all four) /
//     cleanup / stats / snapshot from an admin thread while 3 workers read and write; values stay
//     intact, lookups are counted exactly, and after restoring max_size the bound holds after
//     one more put and a put/get round trip works.
//  3. cache_stress/ttl_race: per-entry TTLs, a thread advancing a ManualClock and the
//     background expiry thread (1 ms): an entry whose deadline is <= the clock read *before* a
//     lookup started is never returned (get, get(out), visit, get_or_insert). The clock never
//     moves while a write is in progress (ClockGate), so the deadline the engine computes inside
//     a write is exactly the one the writer stored in the value.
//     cache_stress/put_if_absent_over_expired_entry_stores_and_counts_as_new pins the
//     (single-threaded) revival semantics this and the stats identity rely on.
//     cache_stress/refreshed_entry_survives_concurrent_expiry: a put() that refreshes an
//     expired entry is not undone by an expiry removal racing with it (the removal re-checks
//     the deadline under the bucket lock).
//     cache_stress/get_or_insert_callers_agree: threads missing on one key at once all get the
//     one value that was kept.
//  4. cache_stress/single_key_linearizable: writers store (thread, seq) with increasing seq
//     under one key; every observed value was written, a reader never sees a writer's seq go
//     backwards, and no lookup sees a value older than one already observed (or written) by a
//     lookup that finished before it started.
//
// Duration: CUCKOOCACHE_STRESS_MS milliseconds per timed phase (default 1000; each policy gets
// that much in total). Runs are time-bounded, so sanitizer builds simply do fewer operations.
// A hang (an engine deadlock) aborts the process with a message instead of stalling CTest.
#include <algorithm>
#include <array>
#include <atomic>
#include <boost/test/data/monomorphic.hpp>
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <ostream>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "engine/cache.h"

namespace {

using cuckoocache::Cache;
using cuckoocache::CacheConfig;
using cuckoocache::CacheStats;
using cuckoocache::ManualClock;
using cuckoocache::Policy;
using std::chrono::nanoseconds;

#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif

constexpr std::array<Policy, 4> kAllPolicies = {Policy::kLru, Policy::kLfu, Policy::kTtl,
                                                Policy::kAdaptive};

// Milliseconds per timed phase, from CUCKOOCACHE_STRESS_MS (default 1000).
std::chrono::milliseconds StressDuration() {
  constexpr std::chrono::milliseconds kDefault{1000};
  const char* env = std::getenv("CUCKOOCACHE_STRESS_MS");
  if (env == nullptr || *env == '\0') return kDefault;
  char* end = nullptr;
  const long ms = std::strtol(env, &end, 10);
  if (end == env || *end != '\0' || ms <= 0) return kDefault;
  return std::chrono::milliseconds(ms);
}

std::uint64_t Mix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// ---- Values that know their key ----------------------------------------------------------

// A cached value. `tag` is test-specific (a write generation, a deadline, or thread/seq);
// `check` and `payload` are functions of (key, tag), so a value returned for the wrong key, or
// a copy torn between two writes, is detected. The payload is usually longer than the SSO
// buffer, so copies allocate (and ASan sees them).
struct Value {
  std::uint64_t key = 0;
  std::uint64_t tag = 0;
  std::uint64_t check = 0;
  std::string payload;
};

std::uint64_t CheckOf(std::uint64_t key, std::uint64_t tag) {
  return Mix(key ^ Mix(tag));
}

char PayloadChar(std::uint64_t seed, std::size_t i) {
  return static_cast<char>('a' + ((seed >> ((i % 8) * 8)) + i) % 26);
}

std::size_t PayloadLength(std::uint64_t seed) {
  return 8 + seed % 57;
}

Value MakeValue(std::uint64_t key, std::uint64_t tag) {
  Value v;
  v.key = key;
  v.tag = tag;
  v.check = CheckOf(key, tag);
  v.payload.resize(PayloadLength(v.check));
  for (std::size_t i = 0; i < v.payload.size(); ++i) v.payload[i] = PayloadChar(v.check, i);
  return v;
}

bool Intact(const Value& v, std::uint64_t key) {
  if (v.key != key || v.check != CheckOf(key, v.tag)) return false;
  if (v.payload.size() != PayloadLength(v.check)) return false;
  for (std::size_t i = 0; i < v.payload.size(); ++i) {
    if (v.payload[i] != PayloadChar(v.check, i)) return false;
  }
  return true;
}

std::string Describe(const Value& v) {
  std::ostringstream os;
  os << "{key=" << v.key << " tag=" << v.tag << " check=" << v.check
     << " payload.size=" << v.payload.size() << "}";
  return os.str();
}

using TestCache = Cache<std::uint64_t, Value>;

// ---- Thread plumbing ---------------------------------------------------------------------

// Boost.Test assertions are not thread-safe: threads record failures here and the test reports
// them after joining.
class Failures {
 public:
  void Add(std::string what) {
    if (count_.fetch_add(1, std::memory_order_relaxed) < kKept) {
      std::lock_guard<std::mutex> lock(mutex_);
      messages_.push_back(std::move(what));
    }
  }

  // Main thread, after join.
  void Report() const {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const std::string& m : messages_) BOOST_ERROR(m);
    BOOST_TEST(count_.load(std::memory_order_relaxed) == 0u);
  }

 private:
  static constexpr std::uint64_t kKept = 20;
  std::atomic<std::uint64_t> count_{0};
  mutable std::mutex mutex_;
  std::vector<std::string> messages_;
};

// Threads that record escaping exceptions as failures, joined under a watchdog: if they do not
// all finish within `limit` after being asked to stop, the engine is hung and the process aborts
// with a message (a stalled CTest run says nothing).
class ThreadGroup {
 public:
  explicit ThreadGroup(Failures& failures) : failures_(failures) {}
  ThreadGroup(const ThreadGroup&) = delete;
  ThreadGroup& operator=(const ThreadGroup&) = delete;
  ~ThreadGroup() {
    for (std::thread& t : threads_) {
      if (t.joinable()) t.join();
    }
  }

  template <class F>
  void Spawn(std::string name, F body) {
    threads_.emplace_back([this, name = std::move(name), body = std::move(body)]() mutable {
      try {
        body();
      } catch (const std::exception& e) {
        failures_.Add(name + ": exception: " + e.what());
      } catch (...) {
        failures_.Add(name + ": unknown exception");
      }
      finished_.fetch_add(1, std::memory_order_release);
    });
  }

  void JoinOrAbort(const char* test_name) {
    const auto limit = std::chrono::seconds(kSanitized ? 120 : 30);
    const auto give_up = std::chrono::steady_clock::now() + limit;
    while (finished_.load(std::memory_order_acquire) < threads_.size()) {
      if (std::chrono::steady_clock::now() > give_up) {
        std::fprintf(stderr,
                     "%s: %zu of %zu threads still running %lld s after stop: engine hang\n",
                     test_name, threads_.size() - finished_.load(), threads_.size(),
                     static_cast<long long>(limit.count()));
        std::fflush(stderr);
        std::abort();
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    for (std::thread& t : threads_) t.join();
  }

 private:
  Failures& failures_;
  std::vector<std::thread> threads_;
  std::atomic<std::size_t> finished_{0};
};

// Keeps a ManualClock still while writes are in progress. Advance() has priority (Dekker-style
// flags, sequentially consistent), so a steady stream of writers cannot starve it, which a
// reader-preferring std::shared_mutex would.
class ClockGate {
 public:
  class Writing {
   public:
    explicit Writing(ClockGate& gate) : gate_(gate) { gate_.EnterWrite(); }
    Writing(const Writing&) = delete;
    Writing& operator=(const Writing&) = delete;
    ~Writing() { gate_.writers_.fetch_sub(1); }

   private:
    ClockGate& gate_;
  };

  void Advance(ManualClock& clock, nanoseconds by) {
    moving_.store(true);
    while (writers_.load() != 0) std::this_thread::yield();
    clock.advance(by);
    moving_.store(false);
  }

 private:
  void EnterWrite() {
    for (;;) {
      while (moving_.load()) std::this_thread::yield();
      writers_.fetch_add(1);
      if (!moving_.load()) return;
      writers_.fetch_sub(1);
    }
  }

  std::atomic<bool> moving_{false};
  std::atomic<int> writers_{0};
};

// Lets threads run for `duration`, then raises `stop` and joins them.
void RunFor(std::chrono::milliseconds duration, std::atomic<bool>& stop, ThreadGroup& group,
            const char* test_name) {
  std::this_thread::sleep_for(duration);
  stop.store(true, std::memory_order_relaxed);
  group.JoinOrAbort(test_name);
}

// ---- 1. Mixed stream per policy ----------------------------------------------------------

struct StressCase {
  Policy policy;
  bool admission;
};

std::ostream& operator<<(std::ostream& os, const StressCase& c) {
  return os << cuckoocache::to_string(c.policy) << (c.admission ? "+admission" : "");
}

std::vector<StressCase> AllStressCases() {
  std::vector<StressCase> cases;
  for (Policy p : kAllPolicies) {
    cases.push_back({p, false});
    // ADAPTIVE always admits through its window; the flag only matters for the others.
    if (p != Policy::kAdaptive) cases.push_back({p, true});
  }
  return cases;
}

// Per-thread counts the stats must agree with.
struct Tally {
  std::uint64_t lookups = 0;  // get, get(out), visit, get_or_insert
  std::uint64_t erased = 0;   // erase() calls that returned true
  std::uint64_t ops = 0;
};

constexpr std::size_t kStressMaxSize = 256;
constexpr std::uint64_t kStressKeys = 4 * kStressMaxSize;
constexpr int kStressWorkers = 4;

// Half the keys come from a hot eighth of the space, so LFU/ADAPTIVE see skew and hits happen.
std::uint64_t PickKey(std::mt19937_64& rng, std::uint64_t keys) {
  const std::uint64_t r = rng();
  return (r & 1) != 0 ? (r >> 1) % (keys / 8) : (r >> 1) % keys;
}

// One worker of the mixed stream; the checks any single read can make are done here.
void MixedWorker(TestCache& cache, int id, const std::atomic<bool>& stop, Failures& failures,
                 Tally& tally) {
  std::mt19937_64 rng(0x5eed0000ULL + static_cast<std::uint64_t>(id));
  std::uint64_t generation = static_cast<std::uint64_t>(id) << 48;
  auto check = [&](const Value& v, std::uint64_t key, const char* op) {
    if (!Intact(v, key)) {
      failures.Add(std::string(op) + ": key " + std::to_string(key) + " returned " + Describe(v));
    }
  };
  auto ttl_for_put = [&]() -> TestCache::Ttl {
    if (rng() % 4 != 0) return std::nullopt;
    return nanoseconds(20'000 + rng() % 2'000'000);
  };
  while (!stop.load(std::memory_order_relaxed)) {
    for (int batch = 0; batch < 64; ++batch, ++tally.ops) {
      const std::uint64_t key = PickKey(rng, kStressKeys);
      switch (rng() % 16) {
        case 0:
        case 1:
        case 2:
        case 3: {
          ++tally.lookups;
          if (std::optional<Value> got = cache.get(key)) check(*got, key, "get");
          break;
        }
        case 4: {
          ++tally.lookups;
          Value out;
          if (cache.get(key, out)) check(out, key, "get(out)");
          break;
        }
        case 5:
        case 6: {
          ++tally.lookups;
          bool intact = true;
          Value seen;
          const bool hit = cache.visit(key, [&](const Value& v) {
            intact = Intact(v, key);
            if (!intact) seen = v;
          });
          if (hit && !intact) check(seen, key, "visit");
          break;
        }
        case 7:
        case 8:
        case 9:
          cache.put(key, MakeValue(key, ++generation), ttl_for_put());
          break;
        case 10:
          cache.put_if_absent(key, MakeValue(key, ++generation), ttl_for_put());
          break;
        case 11: {
          ++tally.lookups;
          const Value got = cache.get_or_insert(
              key, [&] { return MakeValue(key, ++generation); }, ttl_for_put());
          check(got, key, "get_or_insert");
          break;
        }
        case 12:
        case 13:
          if (cache.erase(key)) ++tally.erased;
          break;
        default:
          static_cast<void>(cache.contains(key));
          break;
      }
    }
  }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(cache_stress)

BOOST_DATA_TEST_CASE(mixed_stream, boost::unit_test::data::make(AllStressCases()), param) {
  auto clock = std::make_shared<ManualClock>(1'000'000);
  CacheConfig config;
  config.max_size = kStressMaxSize;
  config.policy = param.policy;
  config.admission = param.admission;
  config.clock = clock;
  TestCache cache(config);

  Failures failures;
  std::atomic<bool> stop{false};
  std::array<Tally, kStressWorkers> tallies{};
  std::size_t max_size_seen = 0;
  std::uint64_t monitor_samples = 0;
  {
    ThreadGroup group(failures);
    for (int id = 0; id < kStressWorkers; ++id) {
      group.Spawn("worker " + std::to_string(id), [&, id] {
        MixedWorker(cache, id, stop, failures, tallies[static_cast<std::size_t>(id)]);
      });
    }
    // Monitor: samples size() against the racing bound and drives the clock.
    group.Spawn("monitor", [&] {
      const std::size_t bound = kStressMaxSize + kStressWorkers;
      while (!stop.load(std::memory_order_relaxed)) {
        const std::size_t size = cache.size();
        max_size_seen = std::max(max_size_seen, size);
        if (size > bound) {
          failures.Add("size() = " + std::to_string(size) + " while racing, bound max_size + " +
                       "threads = " + std::to_string(bound));
        }
        clock->advance(nanoseconds(1000));
        if (++monitor_samples % 512 == 0) static_cast<void>(cache.stats());
        if (monitor_samples % 256 == 0) std::this_thread::yield();
      }
    });
    const auto cases = AllStressCases().size();
    const auto share = StressDuration() * kAllPolicies.size() / cases;
    RunFor(share, stop, group, "mixed_stream");
  }
  failures.Report();

  std::uint64_t lookups = 0;
  std::uint64_t erased = 0;
  std::uint64_t ops = 0;
  for (const Tally& t : tallies) {
    lookups += t.lookups;
    erased += t.erased;
    ops += t.ops;
  }
  BOOST_TEST_MESSAGE(param << ": " << ops << " ops, max size() seen " << max_size_seen << " in "
                           << monitor_samples << " samples");
  BOOST_TEST(ops > 0u);

  // Quiescent: the clock no longer moves.
  BOOST_TEST(cache.size() <= kStressMaxSize);
  CacheStats s = cache.stats();
  BOOST_TEST(s.size == cache.size());
  BOOST_TEST(s.hits + s.misses == lookups);
  BOOST_TEST(s.inserts - s.evictions - s.rejections - s.expirations - erased == cache.size());
  if (!param.admission) BOOST_TEST(s.rejections == 0u);
  BOOST_TEST(s.evictions + s.rejections > 0u);  // the key space forces eviction

  // cleanup() removes every entry past its deadline (the clock is frozen) and counts them.
  const std::uint64_t expirations_before = s.expirations;
  const std::size_t cleaned = cache.cleanup();
  s = cache.stats();
  BOOST_TEST(s.expirations == expirations_before + cleaned);
  BOOST_TEST(s.inserts - s.evictions - s.rejections - s.expirations - erased == cache.size());

  // With no expired entries left, snapshot(), size() and contains() agree.
  const auto snap = cache.snapshot();
  BOOST_TEST(snap.size() == cache.size());
  std::set<std::uint64_t> keys;
  for (const auto& [key, value] : snap) {
    BOOST_TEST(Intact(value, key), "snapshot entry " << key << " " << Describe(value));
    BOOST_TEST(key < kStressKeys);
    BOOST_TEST(keys.insert(key).second, "duplicate key " << key << " in snapshot");
  }
  std::size_t present = 0;
  for (std::uint64_t key = 0; key < kStressKeys; ++key) {
    const bool in = cache.contains(key);
    present += in ? 1 : 0;
    BOOST_TEST(in == (keys.count(key) == 1), "contains(" << key << ") disagrees with snapshot");
  }
  BOOST_TEST(present == cache.size());
  // Every snapshot entry is still readable, and reads still count exactly.
  for (std::uint64_t key : keys) {
    const std::optional<Value> got = cache.get(key);
    BOOST_TEST(got.has_value());
    if (got) BOOST_TEST(Intact(*got, key));
  }
  BOOST_TEST(cache.stats().hits + cache.stats().misses == lookups + keys.size());
}

// ---- 2. Admin operations racing the workers ------------------------------------------------

BOOST_AUTO_TEST_CASE(admin_churn) {
  constexpr std::size_t kMaxSize = 200;  // growing past 2x replaces the frequency sketch
  constexpr std::uint64_t kKeys = 4 * kMaxSize;
  constexpr int kWorkers = 3;
  auto clock = std::make_shared<ManualClock>(1'000'000);
  CacheConfig config;
  config.max_size = kMaxSize;
  config.policy = Policy::kLru;
  config.clock = clock;
  TestCache cache(config);

  Failures failures;
  std::atomic<bool> stop{false};
  std::array<Tally, kWorkers> tallies{};
  std::array<std::uint64_t, 7> admin_ops{};
  {
    ThreadGroup group(failures);
    for (int id = 0; id < kWorkers; ++id) {
      group.Spawn("worker " + std::to_string(id), [&, id] {
        Tally& tally = tallies[static_cast<std::size_t>(id)];
        std::mt19937_64 rng(0xad000000ULL + static_cast<std::uint64_t>(id));
        std::uint64_t generation = static_cast<std::uint64_t>(id) << 48;
        while (!stop.load(std::memory_order_relaxed)) {
          for (int batch = 0; batch < 64; ++batch, ++tally.ops) {
            const std::uint64_t key = PickKey(rng, kKeys);
            const std::uint64_t op = rng() % 10;
            const TestCache::Ttl ttl =
                rng() % 4 == 0 ? TestCache::Ttl(nanoseconds(1 + rng() % 5000)) : std::nullopt;
            if (op < 4) {
              ++tally.lookups;
              if (std::optional<Value> got = cache.get(key); got && !Intact(*got, key)) {
                failures.Add("get: key " + std::to_string(key) + " returned " + Describe(*got));
              }
            } else if (op < 5) {
              ++tally.lookups;
              bool intact = true;
              cache.visit(key, [&](const Value& v) { intact = Intact(v, key); });
              if (!intact) failures.Add("visit: torn value for key " + std::to_string(key));
            } else if (op < 8) {
              cache.put(key, MakeValue(key, ++generation), ttl);
            } else if (op < 9) {
              ++tally.lookups;
              const Value got = cache.get_or_insert(
                  key, [&] { return MakeValue(key, ++generation); }, ttl);
              if (!Intact(got, key)) {
                failures.Add("get_or_insert: key " + std::to_string(key) + " returned " +
                             Describe(got));
              }
            } else {
              if (cache.erase(key)) ++tally.erased;
            }
          }
        }
      });
    }
    group.Spawn("admin", [&] {
      std::mt19937_64 rng(0xad0000ffULL);
      std::size_t next_policy = 0;
      for (std::uint64_t i = 0; !stop.load(std::memory_order_relaxed); ++i) {
        const std::size_t op = i % admin_ops.size();
        ++admin_ops[op];
        switch (op) {
          case 0:
            cache.clear();
            break;
          case 1:
            cache.set_max_size(16 + rng() % (512 - 16 + 1));
            break;
          case 2:
            cache.set_policy(kAllPolicies[next_policy++ % kAllPolicies.size()]);
            break;
          case 3:
            static_cast<void>(cache.cleanup());
            break;
          case 4: {
            const CacheStats s = cache.stats();
            if (s.max_size < 16 || s.max_size > 512) {
              failures.Add("stats().max_size = " + std::to_string(s.max_size));
            }
            break;
          }
          case 5: {
            std::set<std::uint64_t> seen;
            for (const auto& [key, value] : cache.snapshot()) {
              if (!Intact(value, key)) {
                failures.Add("snapshot: key " + std::to_string(key) + " holds " + Describe(value));
              }
              if (!seen.insert(key).second) {
                failures.Add("snapshot: duplicate key " + std::to_string(key));
              }
            }
            break;
          }
          default:
            clock->advance(nanoseconds(1 + rng() % 1000));
            break;
        }
      }
    });
    RunFor(StressDuration(), stop, group, "admin_churn");
  }
  failures.Report();

  std::uint64_t lookups = 0;
  std::uint64_t erased = 0;
  std::uint64_t ops = 0;
  for (const Tally& t : tallies) {
    lookups += t.lookups;
    erased += t.erased;
    ops += t.ops;
  }
  std::ostringstream admin;
  for (std::uint64_t n : admin_ops) admin << n << ' ';
  BOOST_TEST_MESSAGE("admin_churn: " << ops << " worker ops, admin ops (clear, set_max_size, "
                                     << "set_policy, cleanup, stats, snapshot, clock) "
                                     << admin.str());
  BOOST_TEST(ops > 0u);
  BOOST_TEST(admin_ops[1] > 0u);

  CacheStats s = cache.stats();
  BOOST_TEST(s.hits + s.misses == lookups);
  // clear() removes without counting, so only an upper bound on size() is known.
  BOOST_TEST(s.inserts - s.evictions - s.rejections - s.expirations - erased >= cache.size());

  cache.set_policy(Policy::kLru);
  cache.set_max_size(kMaxSize);
  BOOST_TEST(cache.max_size() == kMaxSize);
  BOOST_TEST(cache.size() <= kMaxSize);
  cache.put(kKeys + 1, MakeValue(kKeys + 1, 1));
  BOOST_TEST(cache.size() <= kMaxSize);
  // Still usable: a round trip, and a fill far past capacity stays bounded.
  cache.put(kKeys + 2, MakeValue(kKeys + 2, 7));
  const std::optional<Value> got = cache.get(kKeys + 2);
  BOOST_TEST_REQUIRE(got.has_value());
  BOOST_TEST(Intact(*got, kKeys + 2));
  BOOST_TEST(got->tag == 7u);
  for (std::uint64_t key = 0; key < 3 * kMaxSize; ++key) cache.put(key, MakeValue(key, 9));
  BOOST_TEST(cache.size() <= kMaxSize);
  BOOST_TEST(cache.snapshot().size() <= kMaxSize);
}

// ---- 3. TTL: expired entries are never returned ------------------------------------------

BOOST_AUTO_TEST_CASE(ttl_race) {
  constexpr std::size_t kMaxSize = 256;
  constexpr std::uint64_t kKeys = 320;   // some eviction, mostly expiry
  constexpr std::uint64_t kMaxTtl = 64;  // ns of ManualClock time
  constexpr int kWorkers = 3;
  auto clock = std::make_shared<ManualClock>(1'000'000);
  CacheConfig config;
  config.max_size = kMaxSize;
  config.policy = Policy::kTtl;
  config.clock = clock;
  config.expiry_interval = std::chrono::milliseconds(1);
  TestCache cache(config);

  // The clock never moves while a write is in progress, so the `now` the engine reads inside a
  // write is the `now` the writer read before it, and the value's deadline is exact.
  ClockGate clock_gate;
  Failures failures;
  std::atomic<bool> stop{false};
  std::array<Tally, kWorkers> tallies{};
  std::uint64_t advances = 0;
  std::array<std::uint64_t, kWorkers> hits_checked{};
  {
    ThreadGroup group(failures);
    for (int id = 0; id < kWorkers; ++id) {
      group.Spawn("worker " + std::to_string(id), [&, id] {
        Tally& tally = tallies[static_cast<std::size_t>(id)];
        std::uint64_t& hits = hits_checked[static_cast<std::size_t>(id)];
        std::mt19937_64 rng(0x77100000ULL + static_cast<std::uint64_t>(id));
        // Value tag = the entry's absolute deadline (0: none). Returned after `before` means
        // the engine considered it live at a time >= before.
        auto check = [&](const Value& v, std::uint64_t key, std::uint64_t before, const char* op) {
          ++hits;
          if (!Intact(v, key)) {
            failures.Add(std::string(op) + ": key " + std::to_string(key) + " returned " +
                         Describe(v));
          } else if (v.tag != 0 && v.tag <= before) {
            failures.Add(std::string(op) + ": key " + std::to_string(key) +
                         " returned an expired value: deadline " + std::to_string(v.tag) +
                         " <= clock " + std::to_string(before) + " read before the call");
          }
        };
        auto ttl_ns = [&]() -> std::uint64_t { return rng() % 8 == 0 ? 0 : 1 + rng() % kMaxTtl; };
        while (!stop.load(std::memory_order_relaxed)) {
          for (int batch = 0; batch < 64; ++batch, ++tally.ops) {
            const std::uint64_t key = rng() % kKeys;
            switch (rng() % 12) {
              case 0:
              case 1:
              case 2: {
                ++tally.lookups;
                const std::uint64_t before = clock->now_ns();
                if (std::optional<Value> got = cache.get(key)) check(*got, key, before, "get");
                break;
              }
              case 3: {
                ++tally.lookups;
                const std::uint64_t before = clock->now_ns();
                Value out;
                if (cache.get(key, out)) check(out, key, before, "get(out)");
                break;
              }
              case 4:
              case 5: {
                ++tally.lookups;
                const std::uint64_t before = clock->now_ns();
                Value seen;
                if (cache.visit(key, [&](const Value& v) { seen = v; })) {
                  check(seen, key, before, "visit");
                }
                break;
              }
              case 6:
              case 7:
              case 8:
              case 9: {
                const std::uint64_t ttl = ttl_ns();
                ClockGate::Writing frozen(clock_gate);
                const std::uint64_t now = clock->now_ns();
                Value v = MakeValue(key, ttl == 0 ? 0 : now + ttl);
                const TestCache::Ttl t = ttl == 0 ? TestCache::Ttl() : nanoseconds(ttl);
                if (rng() % 3 == 0) {
                  cache.put_if_absent(key, std::move(v), t);
                } else {
                  cache.put(key, std::move(v), t);
                }
                break;
              }
              case 10: {
                ++tally.lookups;
                const std::uint64_t ttl = ttl_ns();
                ClockGate::Writing frozen(clock_gate);
                const std::uint64_t now = clock->now_ns();
                const Value got = cache.get_or_insert(
                    key, [&] { return MakeValue(key, ttl == 0 ? 0 : now + ttl); },
                    ttl == 0 ? TestCache::Ttl() : TestCache::Ttl(nanoseconds(ttl)));
                check(got, key, now, "get_or_insert");
                break;
              }
              default:
                if (cache.erase(key)) ++tally.erased;
                break;
            }
          }
        }
      });
    }
    group.Spawn("clock", [&] {
      std::mt19937_64 rng(0x77100cccULL);
      while (!stop.load(std::memory_order_relaxed)) {
        clock_gate.Advance(*clock, nanoseconds(1 + rng() % 4));
        ++advances;
        std::this_thread::sleep_for(std::chrono::microseconds(20));
      }
    });
    RunFor(StressDuration(), stop, group, "ttl_race");
  }
  failures.Report();

  std::uint64_t lookups = 0;
  std::uint64_t erased = 0;
  std::uint64_t ops = 0;
  std::uint64_t hits = 0;
  for (std::size_t i = 0; i < tallies.size(); ++i) {
    lookups += tallies[i].lookups;
    erased += tallies[i].erased;
    ops += tallies[i].ops;
    hits += hits_checked[i];
  }
  const CacheStats during = cache.stats();
  BOOST_TEST_MESSAGE("ttl_race: " << ops << " ops, " << advances << " clock advances, " << hits
                                  << " values checked, " << during.expirations << " expirations, "
                                  << during.evictions << " evictions");
  BOOST_TEST(ops > 0u);
  BOOST_TEST(hits > 0u);
  BOOST_TEST(during.expirations > 0u);
  BOOST_TEST(during.hits + during.misses == lookups);
  BOOST_TEST(during.inserts - during.evictions - during.rejections - during.expirations - erased ==
             cache.size());

  // Past every deadline: nothing with a deadline is returned or survives cleanup().
  clock->advance(nanoseconds(10 * kMaxTtl));
  std::uint64_t final_lookups = 0;
  for (std::uint64_t key = 0; key < kKeys; ++key) {
    ++final_lookups;
    if (std::optional<Value> got = cache.get(key)) {
      BOOST_TEST(Intact(*got, key));
      BOOST_TEST(got->tag == 0u, "key " << key << " returned after its deadline " << got->tag);
    }
  }
  cache.cleanup();
  const auto snap = cache.snapshot();
  BOOST_TEST(snap.size() == cache.size());
  for (const auto& [key, value] : snap) {
    BOOST_TEST(value.tag == 0u, "key " << key << " survived cleanup() past its deadline");
  }
  const CacheStats s = cache.stats();
  BOOST_TEST(s.hits + s.misses == lookups + final_lookups);
  BOOST_TEST(s.inserts - s.evictions - s.rejections - s.expirations - erased == cache.size());
}

// The TTL race relies on this: a write over an expired entry treats the key as absent.
// put_if_absent() stores and says so, and the stats count an expiration plus an insert (so the
// size identity used above holds), not an update.
BOOST_AUTO_TEST_CASE(put_if_absent_over_expired_entry_stores_and_counts_as_new) {
  auto clock = std::make_shared<ManualClock>(100);
  CacheConfig config;
  config.max_size = 16;
  config.clock = clock;
  TestCache cache(config);
  cache.put(1, MakeValue(1, 1), nanoseconds(5));
  clock->advance(nanoseconds(10));
  BOOST_TEST(cache.put_if_absent(1, MakeValue(1, 2)));
  const std::optional<Value> got = cache.get(1);
  BOOST_TEST_REQUIRE(got.has_value());
  BOOST_TEST(got->tag == 2u);
  const CacheStats s = cache.stats();
  BOOST_TEST(s.inserts == 2u);
  BOOST_TEST(s.expirations == 1u);
  BOOST_TEST(s.updates == 0u);
  BOOST_TEST(s.inserts - s.evictions - s.rejections - s.expirations == cache.size());
}

// A write that refreshes an expired entry must not be undone by an expiry removal racing with
// it. Each writer owns its keys: it stores a value with a 1 ns TTL, waits until the clock has
// passed that deadline, overwrites it with a value that never expires, and reads it back.
// Nobody else writes or erases those keys and the cache is far below max_size, so the read must
// return the second value. Readers (whose lookups remove expired entries they find), a
// cleanup()/expire_sample() sweeper and the background expiry thread race with it.
//
// Regression: expiry removals re-check the deadline under the bucket lock (remove_expired), so
// a removal that saw the entry expired before the refresh no longer deletes the fresh value.
BOOST_AUTO_TEST_CASE(refreshed_entry_survives_concurrent_expiry) {
  constexpr int kWriters = 2;
  constexpr std::uint64_t kKeysPerWriter = 8;
  constexpr std::uint64_t kKeys = kWriters * kKeysPerWriter;
  auto clock = std::make_shared<ManualClock>(1'000'000);
  CacheConfig config;
  config.max_size = 64;  // more than kKeys: nothing is ever evicted
  config.clock = clock;
  config.expiry_interval = std::chrono::milliseconds(1);
  TestCache cache(config);

  Failures failures;
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> rounds{0};
  {
    ThreadGroup group(failures);
    for (int id = 0; id < kWriters; ++id) {
      group.Spawn("writer " + std::to_string(id), [&, id] {
        const auto first = static_cast<std::uint64_t>(id) * kKeysPerWriter;
        for (std::uint64_t seq = 1; !stop.load(std::memory_order_relaxed); ++seq) {
          const std::uint64_t key = first + seq % kKeysPerWriter;
          const std::uint64_t deadline = clock->now_ns() + 1;
          cache.put(key, MakeValue(key, 2 * seq), nanoseconds(1));
          while (clock->now_ns() <= deadline && !stop.load(std::memory_order_relaxed)) {
            std::this_thread::yield();
          }
          cache.put(key, MakeValue(key, 2 * seq + 1));  // no deadline: lives until removed
          const std::optional<Value> got = cache.get(key);
          if (!got) {
            failures.Add("writer " + std::to_string(id) + ": key " + std::to_string(key) +
                         " lost right after put() stored a value without TTL (seq " +
                         std::to_string(seq) + ")");
          } else if (!Intact(*got, key) || got->tag != 2 * seq + 1) {
            failures.Add("writer " + std::to_string(id) + ": key " + std::to_string(key) +
                         " returned " + Describe(*got) + ", expected tag " +
                         std::to_string(2 * seq + 1));
          }
          rounds.fetch_add(1, std::memory_order_relaxed);
        }
      });
    }
    group.Spawn("reader", [&] {
      std::mt19937_64 rng(0x4ead0000ULL);
      while (!stop.load(std::memory_order_relaxed)) {
        const std::uint64_t key = rng() % kKeys;
        if (std::optional<Value> got = cache.get(key); got && !Intact(*got, key)) {
          failures.Add("reader: key " + std::to_string(key) + " returned " + Describe(*got));
        }
      }
    });
    group.Spawn("sweeper", [&] {
      for (std::uint64_t i = 0; !stop.load(std::memory_order_relaxed); ++i) {
        clock->advance(nanoseconds(1));
        if (i % 2 == 0) {
          static_cast<void>(cache.cleanup());
        } else {
          static_cast<void>(cache.expire_sample());
        }
      }
    });
    RunFor(StressDuration(), stop, group, "refreshed_entry_survives_concurrent_expiry");
  }
  BOOST_TEST_MESSAGE("refreshed_entry_survives_concurrent_expiry: " << rounds.load()
                                                                    << " refresh rounds");
  failures.Report();
  BOOST_TEST(rounds.load() > 0u);
}

// get_or_insert(): "Concurrent misses on one key may each call factory(); exactly one result is
// kept and every caller gets that one." Each round, every thread asks for a fresh key at once
// (each factory makes a different value); all must get the value the cache then holds.
BOOST_AUTO_TEST_CASE(get_or_insert_callers_agree) {
  constexpr int kThreads = 4;
  CacheConfig config;
  config.max_size = 1 << 17;  // more than the rounds: nothing is evicted
  TestCache cache(config);

  Failures failures;
  std::atomic<bool> stop{false};
  // A spinning barrier: each round starts when all threads arrived (or the run stops).
  std::atomic<std::uint64_t> arrived{0};
  std::vector<std::array<std::uint64_t, kThreads>> results(1 << 16);
  std::array<std::uint64_t, kThreads> factory_calls{};
  {
    ThreadGroup group(failures);
    for (int id = 0; id < kThreads; ++id) {
      group.Spawn("thread " + std::to_string(id), [&, id] {
        const auto me = static_cast<std::size_t>(id);
        for (std::uint64_t round = 0; round < results.size(); ++round) {
          const std::uint64_t target = (round + 1) * kThreads;
          arrived.fetch_add(1);
          while (arrived.load() < target) {
            if (stop.load(std::memory_order_relaxed)) return;
            std::this_thread::yield();
          }
          const std::uint64_t key = round;
          const Value got = cache.get_or_insert(key, [&] {
            ++factory_calls[me];
            std::this_thread::yield();  // let the others miss too
            return MakeValue(key, (round << 8) | me);
          });
          if (!Intact(got, key)) {
            failures.Add("get_or_insert: key " + std::to_string(key) + " returned " +
                         Describe(got));
          }
          results[round][me] = got.tag;
          if (stop.load(std::memory_order_relaxed)) return;
        }
      });
    }
    RunFor(StressDuration(), stop, group, "get_or_insert_callers_agree");
  }
  failures.Report();
  // Rounds every thread finished (the last one may be partial).
  const std::uint64_t full_rounds = arrived.load() / kThreads - 1;
  std::uint64_t calls = 0;
  for (std::uint64_t n : factory_calls) calls += n;
  BOOST_TEST_MESSAGE("get_or_insert_callers_agree: " << full_rounds << " rounds, " << calls
                                                     << " factory calls");
  BOOST_TEST(full_rounds > 0u);
  for (std::uint64_t round = 0; round < full_rounds && round < results.size(); ++round) {
    const std::optional<Value> kept = cache.get(round);
    BOOST_TEST_REQUIRE(kept.has_value());
    for (std::size_t t = 0; t < kThreads; ++t) {
      BOOST_TEST(results[round][t] == kept->tag, "round " << round << ": thread " << t
                                                          << " got tag " << results[round][t]
                                                          << " but the cache kept " << kept->tag);
    }
  }
}

// ---- 4. One key, many writers: a linearizable register per writer ----------------------

BOOST_AUTO_TEST_CASE(single_key_linearizable) {
  constexpr int kWriters = 2;
  constexpr int kReaders = 2;
  constexpr std::uint64_t kKey = 42;
  constexpr std::uint64_t kInitialWriter = kWriters;  // tag of the value stored before the run
  CacheConfig config;
  config.max_size = 64;  // one key: never evicted, so every lookup must hit
  TestCache cache(config);
  auto tag_of = [](std::uint64_t writer, std::uint64_t seq) { return (writer << 32) | seq; };
  cache.put(kKey, MakeValue(kKey, tag_of(kInitialWriter, 0)));

  // started[w]: highest seq writer w has begun to write. known[w]: highest seq of w known to be
  // in the register's history before some point in real time (a finished write, or a finished
  // read that returned it). A lookup that starts after that point must not return an older seq
  // of w.
  std::array<std::atomic<std::uint64_t>, kWriters> started{};
  std::array<std::atomic<std::uint64_t>, kWriters> known{};
  auto raise_to = [](std::atomic<std::uint64_t>& a, std::uint64_t v) {
    std::uint64_t cur = a.load();
    while (cur < v && !a.compare_exchange_weak(cur, v)) {
    }
  };

  Failures failures;
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> writes{0};
  std::atomic<std::uint64_t> reads{0};
  std::atomic<std::uint64_t> factory_calls{0};

  // Reads once and checks the value against everything known before the read started.
  auto read_and_check = [&](std::array<std::uint64_t, kWriters>& last_seen, bool use_visit,
                            const std::string& who) -> std::optional<Value> {
    std::array<std::uint64_t, kWriters> known_before{};
    for (int w = 0; w < kWriters; ++w) known_before[w] = known[w].load();
    std::optional<Value> got;
    if (use_visit) {
      cache.visit(kKey, [&](const Value& v) { got.emplace(v); });
    } else {
      got = cache.get(kKey);
    }
    reads.fetch_add(1, std::memory_order_relaxed);
    if (!got) {
      failures.Add(who + ": the only key was missing");
      return got;
    }
    if (!Intact(*got, kKey)) {
      failures.Add(who + ": torn value " + Describe(*got));
      return std::nullopt;
    }
    const std::uint64_t w = got->tag >> 32;
    const std::uint64_t seq = got->tag & 0xffffffffULL;
    if (w == kInitialWriter) {
      if (seq != 0) failures.Add(who + ": bad initial value " + Describe(*got));
      // The initial value may only be seen before any write finished.
      for (int v = 0; v < kWriters; ++v) {
        if (known_before[v] != 0) {
          failures.Add(who + ": initial value returned after writer " + std::to_string(v) +
                       " finished seq " + std::to_string(known_before[v]));
        }
      }
      return got;
    }
    if (w >= kWriters) {
      failures.Add(who + ": value from no writer " + Describe(*got));
      return std::nullopt;
    }
    if (seq == 0 || seq > started[w].load()) {
      failures.Add(who + ": writer " + std::to_string(w) + " never wrote seq " +
                   std::to_string(seq) + " (started " + std::to_string(started[w].load()) + ")");
    }
    if (seq < last_seen[w]) {
      failures.Add(who + ": writer " + std::to_string(w) + " went back from seq " +
                   std::to_string(last_seen[w]) + " to " + std::to_string(seq));
    }
    if (seq < known_before[w]) {
      failures.Add(who + ": stale read of writer " + std::to_string(w) + ": seq " +
                   std::to_string(seq) + " after seq " + std::to_string(known_before[w]) +
                   " was known before the read started");
    }
    last_seen[w] = std::max(last_seen[w], seq);
    raise_to(known[w], seq);
    return got;
  };

  {
    ThreadGroup group(failures);
    for (int id = 0; id < kWriters; ++id) {
      group.Spawn("writer " + std::to_string(id), [&, id] {
        const auto w = static_cast<std::uint64_t>(id);
        const std::string who = "writer " + std::to_string(id);
        std::mt19937_64 rng(0x11110000ULL + w);
        std::array<std::uint64_t, kWriters> last_seen{};
        for (std::uint64_t seq = 1; !stop.load(std::memory_order_relaxed); ++seq) {
          started[w].store(seq);
          cache.put(kKey, MakeValue(kKey, tag_of(w, seq)));
          raise_to(known[w], seq);
          last_seen[w] = seq;
          writes.fetch_add(1, std::memory_order_relaxed);
          switch (rng() % 4) {
            case 0: {
              // Read-your-writes: our own value, if still there, is exactly the last one.
              const std::optional<Value> got = read_and_check(last_seen, false, who);
              if (got && (got->tag >> 32) == w && (got->tag & 0xffffffffULL) != seq) {
                failures.Add(who + ": read own seq " + std::to_string(got->tag & 0xffffffffULL) +
                             " after writing " + std::to_string(seq));
              }
              break;
            }
            case 1:
              // The key is always present: never stored, never replaced.
              if (cache.put_if_absent(kKey, MakeValue(kKey, tag_of(w, 0)))) {
                failures.Add(who + ": put_if_absent stored over a present key");
              }
              break;
            case 2: {
              const Value got = cache.get_or_insert(kKey, [&] {
                factory_calls.fetch_add(1, std::memory_order_relaxed);
                return MakeValue(kKey, tag_of(w, 0));
              });
              const bool initial = got.tag == tag_of(kInitialWriter, 0);
              if (!Intact(got, kKey) || (!initial && (got.tag & 0xffffffffULL) == 0)) {
                failures.Add(who + ": get_or_insert returned " + Describe(got));
              }
              break;
            }
            default:
              break;
          }
        }
      });
    }
    for (int id = 0; id < kReaders; ++id) {
      group.Spawn("reader " + std::to_string(id), [&, id] {
        const std::string who = "reader " + std::to_string(id);
        std::array<std::uint64_t, kWriters> last_seen{};
        for (std::uint64_t i = 0; !stop.load(std::memory_order_relaxed); ++i) {
          static_cast<void>(read_and_check(last_seen, (i & 1) != 0, who));
        }
      });
    }
    RunFor(StressDuration(), stop, group, "single_key_linearizable");
  }
  failures.Report();
  BOOST_TEST_MESSAGE("single_key_linearizable: " << writes.load() << " writes, " << reads.load()
                                                 << " reads");
  BOOST_TEST(writes.load() > 0u);
  BOOST_TEST(reads.load() > 0u);
  BOOST_TEST(factory_calls.load() == 0u);
  BOOST_TEST(cache.size() == 1u);
  // The final value is the last write of one of the writers.
  const std::optional<Value> last = cache.get(kKey);
  BOOST_TEST_REQUIRE(last.has_value());
  BOOST_TEST(Intact(*last, kKey));
  const std::uint64_t w = last->tag >> 32;
  BOOST_TEST_REQUIRE(w < static_cast<std::uint64_t>(kWriters));
  BOOST_TEST((last->tag & 0xffffffffULL) == started[w].load());
  const CacheStats s = cache.stats();
  BOOST_TEST(s.inserts == 1u);
  BOOST_TEST(s.evictions + s.expirations + s.rejections == 0u);
}

BOOST_AUTO_TEST_SUITE_END()
