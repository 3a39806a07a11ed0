// Micro-benchmarks of the engine's hot paths against raw libcuckoo and a mutex-guarded LRU.
//
// Every case runs at 1 and 2 threads with real time, so items_per_second is the aggregate
// throughput of all threads and the reported time is wall-clock ns per operation of the whole
// group (1e9 / items_per_second). Keys and values are uint64; every key sequence is generated
// before the timed loop, and every table is built and filled once per configuration (static,
// shared by the repetitions and thread counts, never freed).
//
//   get_hit/<impl>/<entries>     get of a resident key, uniform over the residents
//   get_miss/<impl>/<entries>    get of an absent key (same tables as get_hit)
//       impl: engine (LRU, default config), libcuckoo (raw cuckoohash_map::find, table sized
//       up front with the engine's headroom), mutex_lru (perf/micro/mutex_lru.h)
//   put_full/<impl>/<capacity>   put of a never-seen key into a full cache: insert + evict
//       impl: engine_lru, engine_adaptive, mutex_lru, and
//       libcuckoo_insert_erase_standin: raw libcuckoo has no eviction, so each op inserts the
//       new key and erases the key inserted `capacity` ops earlier (FIFO, no policy work).
//   mix90_zipf/<impl>            90% get / 10% put over 1M keys drawn from zipf(0.99), cache
//       of 100k entries; impl: engine_lru, engine_adaptive, mutex_lru.
//
// Counters: hit% (share of gets that hit; kAvgThreads), new% (share of puts that inserted a
// new key, which should be ~100 for put_full).
//
// Typical run (about 2-3 minutes on 2 cores):
//   micro_bench --benchmark_filter='get_|put_|mix90' --benchmark_min_time=0.2
//       --benchmark_repetitions=3 --benchmark_report_aggregates_only=true  (one line)
#include <benchmark/benchmark.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <libcuckoo/cuckoohash_map.hh>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <vector>

#include "engine/cache.h"
#include "engine/cache_config.h"
#include "engine/page_allocator.h"
#include "perf/micro/mutex_lru.h"

namespace {

using cuckoocache::CacheConfig;
using cuckoocache::Policy;
using EngineCache = cuckoocache::Cache<std::uint64_t, std::uint64_t>;
using RawMap = libcuckoo::cuckoohash_map<std::uint64_t, std::uint64_t>;
// The same table on the engine's huge-page allocator: separates what the engine adds from what
// transparent huge pages save (the engine backs its own table with them).
using RawHugeMap = libcuckoo::cuckoohash_map<
    std::uint64_t, std::uint64_t, std::hash<std::uint64_t>, std::equal_to<std::uint64_t>,
    cuckoocache::HugePageAllocator<std::pair<const std::uint64_t, std::uint64_t>>>;
using LruCache = cuckoocache::perf::MutexLru<std::uint64_t, std::uint64_t>;

// ---- Keys ------------------------------------------------------------------------------------

// murmur3's fmix64: a bijection, so distinct counters give distinct, uniformly spread keys.
constexpr std::uint64_t KeyAt(std::uint64_t n) noexcept {
  n ^= n >> 33;
  n *= 0xff51afd7ed558ccdULL;
  n ^= n >> 33;
  n *= 0xc4ceb9fe1a85ec53ULL;
  n ^= n >> 33;
  return n;
}

// Disjoint counter ranges, hence disjoint key sets.
constexpr std::uint64_t kResidentBase = 0;
constexpr std::uint64_t kAbsentBase = std::uint64_t{1} << 40;
constexpr std::uint64_t kStreamBase = std::uint64_t{2} << 40;
constexpr std::uint64_t kZipfBase = std::uint64_t{3} << 40;

constexpr std::size_t kLookupLen = std::size_t{1} << 20;  // per-size lookup sequences
constexpr std::size_t kStreamLen = std::size_t{1} << 23;  // fresh keys for put_full
constexpr std::size_t kPutChunk = 1024;                   // stream positions claimed at once
constexpr std::size_t kZipfKeys = 1'000'000;
constexpr double kZipfSkew = 0.99;
constexpr std::size_t kMixCapacity = 100'000;
constexpr std::size_t kMixOps = std::size_t{1} << 21;
constexpr double kMixWriteShare = 0.10;

// One object per `id`, built by make() on first use and kept for the whole run. Each call
// site (distinct T/Make) has its own registry. Threads of one benchmark wait for the builder.
template <class T, class Make>
T& Memo(std::size_t id, Make make) {
  static std::mutex mu;
  static std::map<std::size_t, std::unique_ptr<T>> items;
  std::lock_guard<std::mutex> lock(mu);
  std::unique_ptr<T>& item = items[id];
  if (!item) item = make();
  return *item;
}

struct KeySet {
  std::vector<std::uint64_t> residents;  // the n keys every table of this size holds
  std::vector<std::uint64_t> hits;       // kLookupLen residents, uniform random order
  std::vector<std::uint64_t> misses;     // kLookupLen distinct absent keys
};

const KeySet& Keys(std::size_t n) {
  return Memo<KeySet>(n, [n] {
    auto k = std::make_unique<KeySet>();
    k->residents.resize(n);
    for (std::size_t i = 0; i < n; ++i) k->residents[i] = KeyAt(kResidentBase + i);
    std::mt19937_64 rng(n);
    std::uniform_int_distribution<std::size_t> pick(0, n - 1);
    k->hits.resize(kLookupLen);
    for (auto& key : k->hits) key = k->residents[pick(rng)];
    k->misses.resize(kLookupLen);
    for (std::size_t i = 0; i < kLookupLen; ++i) k->misses[i] = KeyAt(kAbsentBase + i);
    return k;
  });
}

const std::vector<std::uint64_t>& Stream() {
  return Memo<std::vector<std::uint64_t>>(0, [] {
    auto s = std::make_unique<std::vector<std::uint64_t>>(kStreamLen);
    for (std::size_t i = 0; i < kStreamLen; ++i) (*s)[i] = KeyAt(kStreamBase + i);
    return s;
  });
}

struct Op {
  std::uint64_t key;
  bool write;
};

// kMixOps operations: keys zipf(kZipfSkew) over kZipfKeys ranks (rank r has weight
// 1/(r+1)^skew; ranks map to scattered keys), kMixWriteShare of them puts.
const std::vector<Op>& MixOps() {
  return Memo<std::vector<Op>>(0, [] {
    std::vector<double> cdf(kZipfKeys);
    double total = 0;
    for (std::size_t r = 0; r < kZipfKeys; ++r) {
      total += 1.0 / std::pow(static_cast<double>(r + 1), kZipfSkew);
      cdf[r] = total;
    }
    std::mt19937_64 rng(42);
    std::uniform_real_distribution<double> u(0.0, total);
    std::bernoulli_distribution write(kMixWriteShare);
    auto ops = std::make_unique<std::vector<Op>>(kMixOps);
    for (Op& op : *ops) {
      const auto r =
          static_cast<std::size_t>(std::lower_bound(cdf.begin(), cdf.end(), u(rng)) - cdf.begin());
      op.key = KeyAt(kZipfBase + std::min(r, kZipfKeys - 1));
      op.write = write(rng);
    }
    return ops;
  });
}

// ---- Implementations under test --------------------------------------------------------------
// Each: Table, Make(capacity), Get(table, key, out) -> hit, Put(table, key, value) -> new key,
// and kEvicts (false: the table does not bound itself; put_full erases an old key instead).

template <Policy kPolicy>
struct EngineImpl {
  using Table = EngineCache;
  static constexpr bool kEvicts = true;
  static std::unique_ptr<Table> Make(std::size_t capacity) {
    CacheConfig config;
    config.max_size = capacity;
    config.policy = kPolicy;
    return std::make_unique<Table>(config);
  }
  static bool Get(Table& t, std::uint64_t key, std::uint64_t& out) { return t.get(key, out); }
  static bool Put(Table& t, std::uint64_t key, std::uint64_t value) { return t.put(key, value); }
};
using EngineLru = EngineImpl<Policy::kLru>;
using EngineAdaptive = EngineImpl<Policy::kAdaptive>;

template <class Map>
struct RawCuckooOn {
  using Table = Map;
  static constexpr bool kEvicts = false;
  // Sized up front with the engine's headroom (engine/entry_map.h: n + n/4 + 16), so both
  // tables have the same bucket count and neither grows or runs at ~95% load, where libcuckoo
  // inserts need long cuckoo paths (cuckoohash_map(n) alone rounds 1M entries to 2^20 slots).
  static std::unique_ptr<Table> Make(std::size_t capacity) {
    return std::make_unique<Table>(capacity + capacity / 4 + 16);
  }
  static bool Get(Table& t, std::uint64_t key, std::uint64_t& out) { return t.find(key, out); }
  static bool Put(Table& t, std::uint64_t key, std::uint64_t value) {
    return t.insert_or_assign(key, value);
  }
};

using RawCuckoo = RawCuckooOn<RawMap>;
using RawCuckooHuge = RawCuckooOn<RawHugeMap>;

struct MutexLruImpl {
  using Table = LruCache;
  static constexpr bool kEvicts = true;
  static std::unique_ptr<Table> Make(std::size_t capacity) {
    return std::make_unique<Table>(capacity);
  }
  static bool Get(Table& t, std::uint64_t key, std::uint64_t& out) { return t.get(key, out); }
  static bool Put(Table& t, std::uint64_t key, std::uint64_t value) { return t.put(key, value); }
};

template <class Impl>
typename Impl::Table& FilledTable(std::size_t n) {
  return Memo<typename Impl::Table>(n, [n] {
    auto t = Impl::Make(n);
    for (const std::uint64_t key : Keys(n).residents) Impl::Put(*t, key, key);
    return t;
  });
}

// Where each thread starts in a shared sequence, so threads do not walk in lockstep.
std::size_t StartOffset(const benchmark::State& state, std::size_t len) {
  return static_cast<std::size_t>(state.thread_index()) * (len / 2) + 7919;
}

void SetPercent(benchmark::State& state, const char* name, std::size_t part, std::size_t whole) {
  state.counters[name] = benchmark::Counter(
      whole == 0 ? 0.0 : 100.0 * static_cast<double>(part) / static_cast<double>(whole),
      benchmark::Counter::kAvgThreads);
}

// ---- get_hit / get_miss ------------------------------------------------------------------------

template <class Impl>
void RunLookups(benchmark::State& state, const std::vector<std::uint64_t>& keys) {
  typename Impl::Table& table = FilledTable<Impl>(static_cast<std::size_t>(state.range(0)));
  const std::size_t mask = keys.size() - 1;
  std::size_t i = StartOffset(state, keys.size());
  std::size_t hits = 0;
  for (auto _ : state) {
    std::uint64_t out = 0;
    hits += Impl::Get(table, keys[i++ & mask], out) ? 1 : 0;
    benchmark::DoNotOptimize(out);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  SetPercent(state, "hit%", hits, static_cast<std::size_t>(state.iterations()));
}

template <class Impl>
void BM_GetHit(benchmark::State& state) {
  RunLookups<Impl>(state, Keys(static_cast<std::size_t>(state.range(0))).hits);
}

template <class Impl>
void BM_GetMiss(benchmark::State& state) {
  RunLookups<Impl>(state, Keys(static_cast<std::size_t>(state.range(0))).misses);
}

// ---- put_full ----------------------------------------------------------------------------------

template <class Impl>
struct PutFixture {
  std::unique_ptr<typename Impl::Table> table;
  std::size_t capacity = 0;
  // Next unused stream position; persists across runs so every put sees a fresh key.
  std::atomic<std::uint64_t> cursor{0};
};

template <class Impl>
PutFixture<Impl>& FullTable(std::size_t capacity) {
  return Memo<PutFixture<Impl>>(capacity, [capacity] {
    const std::vector<std::uint64_t>& stream = Stream();
    auto f = std::make_unique<PutFixture<Impl>>();
    f->table = Impl::Make(capacity);
    f->capacity = capacity;
    for (std::size_t i = 0; i < capacity; ++i) Impl::Put(*f->table, stream[i], stream[i]);
    f->cursor.store(capacity, std::memory_order_relaxed);
    return f;
  });
}

template <class Impl>
void BM_PutFull(benchmark::State& state) {
  PutFixture<Impl>& f = FullTable<Impl>(static_cast<std::size_t>(state.range(0)));
  typename Impl::Table& table = *f.table;
  const std::vector<std::uint64_t>& stream = Stream();
  constexpr std::uint64_t kMask = kStreamLen - 1;
  static_assert((kStreamLen & kMask) == 0 && kStreamLen % kPutChunk == 0);
  std::uint64_t pos = 0;
  std::uint64_t end = 0;
  std::size_t fresh = 0;
  for (auto _ : state) {
    if (pos == end) {
      pos = f.cursor.fetch_add(kPutChunk, std::memory_order_relaxed);
      end = pos + kPutChunk;
    }
    const std::uint64_t key = stream[pos & kMask];
    fresh += Impl::Put(table, key, key) ? 1 : 0;
    if constexpr (!Impl::kEvicts) table.erase(stream[(pos - f.capacity) & kMask]);
    ++pos;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  SetPercent(state, "new%", fresh, static_cast<std::size_t>(state.iterations()));
  if constexpr (!Impl::kEvicts) state.SetLabel("stand-in: insert new + erase old, no eviction");
}

// ---- mix90_zipf --------------------------------------------------------------------------------

template <class Impl>
typename Impl::Table& MixTable() {
  return Memo<typename Impl::Table>(kMixCapacity, [] {
    auto t = Impl::Make(kMixCapacity);
    for (const Op& op : MixOps()) Impl::Put(*t, op.key, op.key);  // warm: one pass as puts
    return t;
  });
}

template <class Impl>
void BM_Mix90Zipf(benchmark::State& state) {
  typename Impl::Table& table = MixTable<Impl>();
  const std::vector<Op>& ops = MixOps();
  const std::size_t mask = ops.size() - 1;
  std::size_t i = StartOffset(state, ops.size());
  std::size_t gets = 0;
  std::size_t hits = 0;
  for (auto _ : state) {
    const Op& op = ops[i++ & mask];
    if (op.write) {
      Impl::Put(table, op.key, op.key);
    } else {
      std::uint64_t out = 0;
      ++gets;
      hits += Impl::Get(table, op.key, out) ? 1 : 0;
      benchmark::DoNotOptimize(out);
    }
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  SetPercent(state, "hit%", hits, gets);
}

// ---- Registration ------------------------------------------------------------------------------

void Sizes(benchmark::internal::Benchmark* b) {
  b->Arg(10'000)->Arg(1'000'000)->Threads(1)->Threads(2)->UseRealTime();
}
void PutCapacities(benchmark::internal::Benchmark* b) {
  b->Arg(100'000)->Arg(1'000'000)->Threads(1)->Threads(2)->UseRealTime();
}

BENCHMARK_TEMPLATE(BM_GetHit, EngineLru)->Name("get_hit/engine")->Apply(Sizes);
BENCHMARK_TEMPLATE(BM_GetHit, RawCuckoo)->Name("get_hit/libcuckoo")->Apply(Sizes);
BENCHMARK_TEMPLATE(BM_GetHit, RawCuckooHuge)->Name("get_hit/libcuckoo_hugepages")->Apply(Sizes);
BENCHMARK_TEMPLATE(BM_GetHit, MutexLruImpl)->Name("get_hit/mutex_lru")->Apply(Sizes);

BENCHMARK_TEMPLATE(BM_GetMiss, EngineLru)->Name("get_miss/engine")->Apply(Sizes);
BENCHMARK_TEMPLATE(BM_GetMiss, RawCuckoo)->Name("get_miss/libcuckoo")->Apply(Sizes);
BENCHMARK_TEMPLATE(BM_GetMiss, MutexLruImpl)->Name("get_miss/mutex_lru")->Apply(Sizes);

BENCHMARK_TEMPLATE(BM_PutFull, EngineLru)->Name("put_full/engine_lru")->Apply(PutCapacities);
BENCHMARK_TEMPLATE(BM_PutFull, EngineAdaptive)
    ->Name("put_full/engine_adaptive")
    ->Apply(PutCapacities);
BENCHMARK_TEMPLATE(BM_PutFull, MutexLruImpl)->Name("put_full/mutex_lru")->Apply(PutCapacities);
BENCHMARK_TEMPLATE(BM_PutFull, RawCuckoo)
    ->Name("put_full/libcuckoo_insert_erase_standin")
    ->Apply(PutCapacities);

BENCHMARK_TEMPLATE(BM_Mix90Zipf, EngineLru)
    ->Name("mix90_zipf/engine_lru")
    ->Threads(1)
    ->Threads(2)
    ->UseRealTime();
BENCHMARK_TEMPLATE(BM_Mix90Zipf, EngineAdaptive)
    ->Name("mix90_zipf/engine_adaptive")
    ->Threads(1)
    ->Threads(2)
    ->UseRealTime();
BENCHMARK_TEMPLATE(BM_Mix90Zipf, MutexLruImpl)
    ->Name("mix90_zipf/mutex_lru")
    ->Threads(1)
    ->Threads(2)
    ->UseRealTime();

}  // namespace
