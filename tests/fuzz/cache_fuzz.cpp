// Differential fuzz target: cuckoocache::Cache<uint64_t, uint64_t> against a single-threaded
// reference model, driven by libFuzzer (build: tests/fuzz/CMakeLists.txt, run: tools/test's
// `fuzz` stage, format and replay: tests/fuzz/README.md).
//
// The input is a small header (the cache's configuration) followed by a byte-coded sequence
// of operations on a key space of at most 64 keys, so keys repeat. After every operation the
// answer is checked against the model, and the stats and size against their invariants. On a
// mismatch the target prints what went wrong, the configuration and the operations so far, and
// aborts (libFuzzer then saves the input as crash-<sha1>).
//
// The model cannot predict eviction (sampled, random), so for each key it keeps what the
// cache may hold: the last value put and its deadline, or nothing. What it checks:
//  - values: a value returned (get, take, peek, get_or_insert, snapshot, for_each_entry,
//    inspect) is the last one put for that key, and that entry has not expired (deadline
//    <= now means expired); a key the model says is absent (never put, erased, taken,
//    cleared, or seen missing) is never found;
//  - evictions are accounted: a key stays "sure" (must be found, unless expired) from the
//    moment it was stored or seen until an operation that counts an eviction or a rejection;
//    so a key that vanishes without a counted eviction is a bug;
//  - size: size() <= max_size() after every operation; size() equals the entries for_each_entry
//    walks; size() == size at the last reset_stats + inserts - evictions - rejections -
//    expirations - entries removed by erase/take/clear (those are not counted in the stats);
//  - stats: hits + misses grow by exactly one per get/get_or_insert and by nothing else
//    (contains, peek, snapshot, inspect do not count); hits by one exactly on a hit; inserts by
//    one per new key stored, updates by one per overwrite of a live key (an expired key being
//    overwritten counts an expiration and an insert); expirations never exceed the number of
//    expired entries the model allows; clear() keeps the stats; cleanup() and expire_sample()
//    return the expirations they count, and after cleanup() no expired entry is left;
//  - bad arguments (max_size 0 or > 2^31, a non-positive TTL) throw std::invalid_argument and
//    change nothing.
// The reference model is deliberately simple (an std::map), so a mismatch is the engine's
// fault or a misreading of its contract here; the printed log says which operation disagreed.
//
// Set CUCKOOCACHE_FUZZ_TRACE=1 to print every operation while replaying an input.

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "engine/cache.h"
#include "engine/cache_config.h"
#include "engine/clock.h"

namespace {

using cuckoocache::CacheConfig;
using cuckoocache::CacheStats;
using cuckoocache::ManualClock;
using cuckoocache::Policy;
using std::chrono::nanoseconds;

// A hash with three values: every key shares its chain with others, which exercises the
// entry map's overflow chains and put_guarded's refusal (with std::hash, which is a
// bijection on uint64, chains never hold two keys).
struct CollidingHash {
  std::size_t operator()(std::uint64_t k) const noexcept { return static_cast<std::size_t>(k % 3); }
};

// ---- Input decoding -----------------------------------------------------------------------

class Reader {
 public:
  Reader(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}
  // Past the end every byte reads as 0.
  std::uint8_t byte() { return pos_ < size_ ? data_[pos_++] : 0; }
  [[nodiscard]] bool done() const { return pos_ >= size_; }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t pos_ = 0;
};

constexpr std::int64_t kTtlChoices[] = {
    1, 2, 3, 5, 10, 50, 100, 1000, 1'000'000, 1'000'000'000, 60'000'000'000, INT64_MAX,
};
constexpr std::int64_t kAdvanceChoices[] = {
    0, 1, 1, 2, 3, 5, 10, 49, 50, 51, 100, 1000, 1'000'000, 1'000'000'000, INT64_MAX / 4,
};
constexpr std::size_t kBigMaxSizes[] = {100, 1000, 70'000};
constexpr double kThresholds[] = {0.7, 0.01, 0.5, 1.0};

template <class T, std::size_t N>
const T& pick(const T (&table)[N], std::uint8_t b) {
  return table[b % N];
}

enum Op : std::uint8_t {
  kPut,
  kPutTtl,
  kGet,
  kErase,
  kContains,
  kClear,
  kSetMaxSize,
  kSetPolicy,
  kAdvance,
  kCleanup,
  kTake,
  kPutIfAbsent,
  kGetOrInsert,
  kSnapshot,
  kSetDefaultTtl,
  kResetStats,
  kGetOrInsertThrows,
  kBadArgument,
  kExpireSample,
  kPeek,
  kPutGuarded,
  kInspect,
  kForEachEntry,
  kOpCount
};

// Opcode byte -> operation, weighted towards the common ones (puts and gets).
constexpr Op kOpTable[] = {
    kPut,         kPut,           kPut,          kPut,
    kPutTtl,      kPutTtl,        kGet,          kGet,
    kGet,         kGet,           kErase,        kContains,
    kContains,    kClear,         kSetMaxSize,   kSetPolicy,
    kAdvance,     kAdvance,       kCleanup,      kTake,
    kPutIfAbsent, kPutIfAbsent,   kGetOrInsert,  kGetOrInsert,
    kSnapshot,    kSetDefaultTtl, kResetStats,   kGetOrInsertThrows,
    kBadArgument, kExpireSample,  kPeek,         kPutGuarded,
    kPutGuarded,  kInspect,       kForEachEntry,
};

const char* op_name(Op op) {
  static const char* const names[] = {
      "put",
      "put_ttl",
      "get",
      "erase",
      "contains",
      "clear",
      "set_max_size",
      "set_policy",
      "advance",
      "cleanup",
      "take",
      "put_if_absent",
      "get_or_insert",
      "snapshot",
      "set_default_ttl",
      "reset_stats",
      "get_or_insert_throws",
      "bad_argument",
      "expire_sample",
      "peek",
      "put_guarded",
      "inspect",
      "for_each_entry",
  };
  static_assert(sizeof(names) / sizeof(names[0]) == kOpCount);
  return op < kOpCount ? names[op] : "?";
}

struct FactoryError : std::exception {};

// ---- The reference model ------------------------------------------------------------------

struct Rec {
  std::uint64_t value = 0;
  std::uint64_t deadline = 0;  // 0: never expires
  // The cache must hold this entry (if it has not expired): it was stored or seen since the
  // last operation that counted an eviction or a rejection.
  bool sure = false;
};

struct Logged {
  Op op;
  std::uint64_t key;
  std::uint64_t arg;
  std::string result;
};

template <class Hash>
class Harness {
  using Cache = cuckoocache::Cache<std::uint64_t, std::uint64_t, Hash>;

 public:
  Harness(const CacheConfig& config, std::shared_ptr<ManualClock> clock, std::uint64_t keys,
          std::string config_text)
      : clock_(std::move(clock)),
        cache_(config),
        keys_(keys),
        config_text_(std::move(config_text)),
        default_ttl_(config.default_ttl ? config.default_ttl->count() : 0),
        ttl_in_use_(config.default_ttl.has_value()),
        trace_(std::getenv("CUCKOOCACHE_FUZZ_TRACE") != nullptr) {
    before_ = cache_.stats();
  }

  void run(Reader& in) {
    while (!in.done()) {
      const Op op = kOpTable[in.byte() % (sizeof(kOpTable) / sizeof(kOpTable[0]))];
      step(op, in);
      check_invariants();
    }
  }

 private:
  // ---- helpers ----

  [[noreturn]] void fail(const std::string& what) {
    std::fprintf(stderr, "\n==== cache_fuzz: MISMATCH: %s\n", what.c_str());
    std::fprintf(stderr, "config: %s\n", config_text_.c_str());
    std::fprintf(stderr, "clock now = %llu, ttl_in_use = %d, default_ttl = %lld\n",
                 static_cast<unsigned long long>(clock_->now_ns()), ttl_in_use_ ? 1 : 0,
                 static_cast<long long>(default_ttl_));
    const CacheStats s = cache_.stats();
    std::fprintf(stderr,
                 "stats: hits=%llu misses=%llu inserts=%llu updates=%llu evictions=%llu "
                 "expirations=%llu rejections=%llu size=%llu max_size=%llu; "
                 "since reset: base_size=%lld explicit_removals=%lld\n",
                 ull(s.hits), ull(s.misses), ull(s.inserts), ull(s.updates), ull(s.evictions),
                 ull(s.expirations), ull(s.rejections), ull(s.size), ull(s.max_size),
                 static_cast<long long>(base_size_), static_cast<long long>(explicit_removed_));
    std::fprintf(stderr, "model (key: value deadline sure expired):\n");
    for (const auto& [k, r] : model_) {
      std::fprintf(stderr, "  %llu: %llu %llu %d %d\n", ull(k), ull(r.value), ull(r.deadline),
                   r.sure ? 1 : 0, expired(r) ? 1 : 0);
    }
    std::fprintf(stderr, "operations (%zu; the last one failed):\n", log_.size());
    for (std::size_t i = 0; i < log_.size(); ++i) {
      std::fprintf(stderr, "  #%zu %s\n", i, describe(log_[i]).c_str());
    }
    std::fflush(stderr);
    std::abort();
  }

  static unsigned long long ull(std::uint64_t v) { return static_cast<unsigned long long>(v); }

  static std::string describe(const Logged& l) {
    return std::string(op_name(l.op)) + " key=" + std::to_string(l.key) +
           " arg=" + std::to_string(l.arg) + (l.result.empty() ? "" : " -> " + l.result);
  }

  void require(bool ok, const char* what) {
    if (!ok) fail(what);
  }

  // The cache's notion of "now" for expiry: 0 (nothing expires) until a deadline was ever used.
  [[nodiscard]] std::uint64_t now() const { return ttl_in_use_ ? clock_->now_ns() : 0; }

  [[nodiscard]] bool expired(const Rec& r) const {
    const std::uint64_t t = now();
    return t != 0 && r.deadline != 0 && r.deadline <= t;
  }

  [[nodiscard]] const Rec* live(std::uint64_t key) const {
    auto it = model_.find(key);
    return it == model_.end() || expired(it->second) ? nullptr : &it->second;
  }

  [[nodiscard]] std::size_t expired_count() const {
    std::size_t n = 0;
    for (const auto& [k, r] : model_) n += expired(r) ? 1 : 0;
    return n;
  }

  [[nodiscard]] std::size_t sure_live_count() const {
    std::size_t n = 0;
    for (const auto& [k, r] : model_) n += r.sure && !expired(r) ? 1 : 0;
    return n;
  }

  // Deadline the cache gives an entry written now with `ttl` (or the default). A write that
  // gets as far as computing a deadline switches the cache's expiry clock on for good; pass
  // `commit` = false to compute it without that (get_or_insert may not write at all).
  std::uint64_t deadline_for(std::optional<nanoseconds> ttl, bool commit = true) {
    const std::int64_t ns = ttl ? ttl->count() : default_ttl_;
    if (ns == 0) return 0;
    if (commit) ttl_in_use_ = true;
    return cuckoocache::deadline_after(clock_->now_ns(), nanoseconds(ns));
  }

  std::uint64_t key_of(std::uint8_t b) const { return b % keys_; }
  std::uint64_t next_value() { return ++value_seq_; }

  // The stats deltas of the current operation.
  struct Delta {
    std::int64_t hits, misses, inserts, updates, evictions, expirations, rejections;
  };
  Delta delta() const {
    const CacheStats s = cache_.stats();
    auto d = [](std::uint64_t a, std::uint64_t b) {
      return static_cast<std::int64_t>(a) - static_cast<std::int64_t>(b);
    };
    return {d(s.hits, before_.hits),
            d(s.misses, before_.misses),
            d(s.inserts, before_.inserts),
            d(s.updates, before_.updates),
            d(s.evictions, before_.evictions),
            d(s.expirations, before_.expirations),
            d(s.rejections, before_.rejections)};
  }

  void unsure_all() {
    for (auto& [k, r] : model_) r.sure = false;
  }

  // A value found in the cache for `key` must be the model's, and not expired.
  void check_found(std::uint64_t key, std::uint64_t value, const char* where) {
    const auto it = model_.find(key);
    if (it == model_.end()) fail(std::string(where) + ": found a key the model says is absent");
    if (expired(it->second)) fail(std::string(where) + ": returned an expired entry");
    if (it->second.value != value) {
      fail(std::string(where) + ": wrong value " + std::to_string(value) + ", expected " +
           std::to_string(it->second.value));
    }
  }

  // The cache says `key` has no live entry (a lookup missed).
  void check_missing(std::uint64_t key, const char* where) {
    const auto it = model_.find(key);
    if (it != model_.end() && it->second.sure && !expired(it->second)) {
      fail(std::string(where) + ": key missing without a counted eviction");
    }
  }

  // Stores `value` for `key` in the model (after the cache stored it).
  // An entry stored with a deadline already reached (the clock at UINT64_MAX and a saturated
  // deadline) is expired from birth: it counts towards this operation's possible expirations.
  void stored(std::uint64_t key, std::uint64_t value, std::uint64_t deadline) {
    const Rec& r = model_[key] = Rec{value, deadline, true};
    if (expired(r)) ++born_expired_;
  }

  // ---- one operation ----

  void step(Op op, Reader& in) {
    before_ = cache_.stats();
    const std::size_t size_before = cache_.size();
    log_.push_back({op, 0, 0, {}});
    Logged& entry = log_.back();
    const std::size_t expired_before = expired_count();
    born_expired_ = 0;

    switch (op) {
      case kPut:
      case kPutTtl: {
        const std::uint64_t key = key_of(in.byte());
        std::optional<nanoseconds> ttl;
        if (op == kPutTtl) ttl = nanoseconds(pick(kTtlChoices, in.byte()));
        const std::uint64_t value = next_value();
        entry.key = key;
        entry.arg = ttl ? static_cast<std::uint64_t>(ttl->count()) : 0;
        const bool was_live = live(key) != nullptr;
        const bool was_sure = was_live && live(key)->sure;
        const std::uint64_t deadline = deadline_for(ttl);
        const bool fresh = cache_.put(key, value, ttl);
        entry.result = (fresh ? "new v=" : "overwrite v=") + std::to_string(value);
        const Delta d = delta();
        require(d.hits == 0 && d.misses == 0, "put counted a lookup");
        if (fresh) {
          require(!was_sure || d.evictions + d.rejections > 0,
                  "put reported a new key for a key the cache must hold");
          require(d.inserts == 1 && d.updates == 0, "new key: inserts must grow by one");
        } else {
          require(was_live, "put overwrote a key the model says is absent or expired");
          require(d.updates == 1 && d.inserts == 0, "overwrite: updates must grow by one");
        }
        stored(key, value, deadline);
        break;
      }
      case kPutIfAbsent: {
        const std::uint64_t key = key_of(in.byte());
        const std::uint8_t t = in.byte();
        std::optional<nanoseconds> ttl;
        if (t & 1) ttl = nanoseconds(pick(kTtlChoices, static_cast<std::uint8_t>(t >> 1)));
        const std::uint64_t value = next_value();
        entry.key = key;
        entry.arg = ttl ? static_cast<std::uint64_t>(ttl->count()) : 0;
        const Rec* was = live(key);
        const bool was_sure = was != nullptr && was->sure;
        const std::uint64_t deadline = deadline_for(ttl);
        const bool stored_it = cache_.put_if_absent(key, value, ttl);
        entry.result = stored_it ? "stored v=" + std::to_string(value) : "present";
        const Delta d = delta();
        require(d.hits == 0 && d.misses == 0 && d.updates == 0, "put_if_absent counted a lookup");
        if (stored_it) {
          require(!was_sure || d.evictions + d.rejections > 0,
                  "put_if_absent stored over a key the cache must hold");
          require(d.inserts == 1, "put_if_absent stored: inserts must grow by one");
          stored(key, value, deadline);
        } else {
          require(was != nullptr, "put_if_absent found a key the model says is absent");
          require(d.inserts == 0, "put_if_absent kept the old value but counted an insert");
          model_[key].sure = true;
        }
        break;
      }
      case kPutGuarded: {
        const std::uint64_t key = key_of(in.byte());
        const std::uint8_t flags = in.byte();
        const bool if_absent = flags & 1;
        const bool refuse = flags & 2;
        std::optional<nanoseconds> ttl;
        if (flags & 4) ttl = nanoseconds(pick(kTtlChoices, static_cast<std::uint8_t>(flags >> 3)));
        const std::uint64_t value = next_value();
        entry.key = key;
        entry.arg = flags;
        const Rec* was = live(key);
        const bool was_sure = was != nullptr && was->sure;
        const std::uint64_t deadline = deadline_for(ttl);
        std::optional<std::uint64_t> existing;
        bool guard_called = false;
        const auto result = cache_.put_guarded(
            key, value, ttl, if_absent ? Cache::WriteMode::kIfAbsent : Cache::WriteMode::kOverwrite,
            [&](const typename Cache::EntryChain& chain) {
              guard_called = true;
              // The guard sees only chains of other keys.
              chain.for_each([&](const auto& e) {
                if (e.key == key) fail("put_guarded: guard called for a chain holding the key");
              });
              return !refuse;
            },
            &existing);
        const Delta d = delta();
        require(d.hits == 0 && d.misses == 0, "put_guarded counted a lookup");
        using R = typename Cache::PutResult;
        switch (result) {
          case R::kInserted:
            entry.result = "inserted v=" + std::to_string(value);
            require(!was_sure || d.evictions + d.rejections > 0,
                    "put_guarded inserted a key the cache must hold");
            require(!(guard_called && refuse), "put_guarded inserted after the guard refused");
            require(d.inserts == 1 && d.updates == 0, "put_guarded inserted: inserts +1");
            stored(key, value, deadline);
            break;
          case R::kUpdated:
            entry.result = "updated v=" + std::to_string(value);
            require(!if_absent, "put_guarded kIfAbsent updated");
            require(was != nullptr, "put_guarded updated a key the model says is absent");
            require(d.updates == 1 && d.inserts == 0, "put_guarded updated: updates +1");
            stored(key, value, deadline);
            break;
          case R::kPresent:
            entry.result = "present";
            require(if_absent, "put_guarded kOverwrite answered kPresent");
            require(was != nullptr, "put_guarded: present for a key the model says is absent");
            require(existing.has_value(), "put_guarded: kPresent without the existing value");
            check_found(key, *existing, "put_guarded existing");
            require(d.inserts == 0 && d.updates == 0, "put_guarded present changed counts");
            model_[key].sure = true;
            break;
          case R::kRefused:
            entry.result = "refused";
            require(refuse && guard_called, "put_guarded refused without the guard refusing");
            require(d.inserts == 0 && d.updates == 0, "put_guarded refused changed counts");
            check_missing(key, "put_guarded refused");
            model_.erase(key);  // the key was not in its chain: the cache holds no entry for it
            break;
        }
        if (guard_called && std::is_same_v<Hash, std::hash<std::uint64_t>>) {
          fail("put_guarded: guard called although no other key shares the hash");
        }
        break;
      }
      case kGet: {
        const std::uint64_t key = key_of(in.byte());
        const bool out_param = in.byte() & 1;
        entry.key = key;
        entry.arg = out_param;
        std::optional<std::uint64_t> got;
        if (out_param) {
          std::uint64_t v = 0xdeadbeef;
          if (cache_.get(key, v))
            got = v;
          else
            require(v == 0xdeadbeef, "get(key, out) wrote `out` on a miss");
        } else {
          got = cache_.get(key);
        }
        entry.result = got ? "hit " + std::to_string(*got) : "miss";
        observed_lookup(key, got, "get");
        break;
      }
      case kGetOrInsert:
      case kGetOrInsertThrows: {
        const std::uint64_t key = key_of(in.byte());
        const std::uint8_t t = in.byte();
        std::optional<nanoseconds> ttl;
        if (t & 1) ttl = nanoseconds(pick(kTtlChoices, static_cast<std::uint8_t>(t >> 1)));
        entry.key = key;
        entry.arg = ttl ? static_cast<std::uint64_t>(ttl->count()) : 0;
        const std::optional<std::uint64_t> model_value =
            live(key) ? std::optional<std::uint64_t>(live(key)->value) : std::nullopt;
        const std::uint64_t made = next_value();
        int calls = 0;
        const bool throws = op == kGetOrInsertThrows;
        std::optional<std::uint64_t> got;
        bool threw = false;
        // The deadline the cache will compute if the factory's value is stored (the clock does
        // not move meanwhile); only a write switches the expiry clock on.
        const std::uint64_t deadline = deadline_for(ttl, /*commit=*/false);
        try {
          got = cache_.get_or_insert(
              key,
              [&] {
                ++calls;
                if (throws) throw FactoryError();
                return made;
              },
              ttl);
        } catch (const FactoryError&) {
          threw = true;
        }
        const Delta d = delta();
        require(calls <= 1, "get_or_insert called the factory more than once");
        require(threw == (throws && calls == 1), "get_or_insert: factory exception lost");
        require(d.hits + d.misses == 1, "get_or_insert must count exactly one lookup");
        require(d.updates == 0, "get_or_insert counted an update");
        if (calls == 0) {
          entry.result = "hit " + std::to_string(got.value_or(0));
          require(d.hits == 1 && d.inserts == 0, "get_or_insert hit: hits +1");
          require(got.has_value(), "get_or_insert returned nothing");
          check_found(key, *got, "get_or_insert hit");
          model_[key].sure = true;
        } else {
          require(d.misses == 1, "get_or_insert miss: misses +1");
          // The model must not have insisted on a live value.
          if (model_value) check_missing(key, "get_or_insert");
          if (threw) {
            entry.result = "miss, factory threw";
            require(d.inserts == 0, "get_or_insert stored although the factory threw");
            model_.erase(key);
          } else {
            entry.result = "miss, stored " + std::to_string(made);
            require(got == made, "get_or_insert did not return the factory's value");
            require(d.inserts == 1, "get_or_insert miss: inserts +1");
            if (deadline != 0) ttl_in_use_ = true;
            stored(key, made, deadline);
          }
        }
        break;
      }
      case kContains: {
        const std::uint64_t key = key_of(in.byte());
        const bool then_get = in.byte() & 1;
        entry.key = key;
        entry.arg = then_get;
        const bool has = cache_.contains(key);
        entry.result = has ? "yes" : "no";
        const Delta d = delta();
        require(d.hits == 0 && d.misses == 0 && d.expirations == 0, "contains changed the stats");
        require(cache_.size() == size_before, "contains changed the size");
        if (has) {
          require(live(key) != nullptr, "contains: true for a key the model says is absent");
          model_[key].sure = true;
        } else {
          check_missing(key, "contains");
          if (live(key)) model_.erase(key);
        }
        if (then_get) {
          before_ = cache_.stats();
          const std::optional<std::uint64_t> got = cache_.get(key);
          entry.result += got ? ", get hit " + std::to_string(*got) : ", get miss";
          require(got.has_value() == has, "contains and get disagree");
          observed_lookup(key, got, "get after contains");
        }
        break;
      }
      case kPeek: {
        const std::uint64_t key = key_of(in.byte());
        entry.key = key;
        std::optional<std::uint64_t> got;
        const bool found = cache_.peek(key, [&](const std::uint64_t& v) { got = v; });
        entry.result = found ? "found " + std::to_string(got.value_or(0)) : "missing";
        const Delta d = delta();
        require(d.hits == 0 && d.misses == 0 && d.expirations == 0, "peek changed the stats");
        require(found == got.has_value(), "peek: return value and callback disagree");
        if (found) {
          check_found(key, *got, "peek");
          model_[key].sure = true;
        } else {
          check_missing(key, "peek");
          if (live(key)) model_.erase(key);
        }
        break;
      }
      case kErase:
      case kTake: {
        const std::uint64_t key = key_of(in.byte());
        entry.key = key;
        const Rec* was = live(key);
        const bool model_expired = model_.count(key) != 0 && was == nullptr;
        std::optional<std::uint64_t> value;
        bool removed = false;
        if (op == kErase) {
          removed = cache_.erase(key);
        } else {
          value = cache_.take(key);
          removed = value.has_value();
        }
        entry.result = removed ? (value ? "took " + std::to_string(*value) : "erased") : "absent";
        const Delta d = delta();
        require(d.hits == 0 && d.misses == 0 && d.inserts == 0 && d.updates == 0,
                "erase/take changed lookup or insert counts");
        if (removed) {
          require(was != nullptr, "erase/take removed a key the model says is absent or expired");
          if (value) check_found(key, *value, "take");
          require(d.expirations == 0, "erase/take of a live key counted an expiration");
          ++explicit_removed_;
        } else {
          check_missing(key, "erase/take");
          require(d.expirations == 0 || model_expired,
                  "erase/take counted an expiration for a key that was not expired");
          require(d.expirations <= 1, "erase/take counted more than one expiration");
        }
        model_.erase(key);
        break;
      }
      case kClear: {
        cache_.clear();
        entry.arg = size_before;
        const Delta d = delta();
        require(d.hits == 0 && d.misses == 0 && d.inserts == 0 && d.updates == 0 &&
                    d.evictions == 0 && d.expirations == 0 && d.rejections == 0,
                "clear changed the stats");
        require(cache_.size() == 0, "clear left entries");
        explicit_removed_ += static_cast<std::int64_t>(size_before);
        model_.clear();
        break;
      }
      case kSetMaxSize: {
        const std::uint8_t b = in.byte();
        const std::size_t n = (b & 0xe0) == 0xe0 ? pick(kBigMaxSizes, b) : 1 + b % 48;
        entry.arg = n;
        cache_.set_max_size(n);
        const Delta d = delta();
        require(cache_.max_size() == n, "set_max_size did not take");
        require(d.hits == 0 && d.misses == 0 && d.inserts == 0 && d.updates == 0,
                "set_max_size counted lookups or inserts");
        break;
      }
      case kSetPolicy: {
        const auto p = static_cast<Policy>(in.byte() & 3);
        entry.arg = static_cast<std::uint64_t>(p);
        cache_.set_policy(p);
        const Delta d = delta();
        require(cache_.policy() == p, "set_policy did not take");
        require(d.hits == 0 && d.misses == 0 && d.inserts == 0 && d.updates == 0 &&
                    d.evictions == 0 && d.expirations == 0 && d.rejections == 0,
                "set_policy changed the stats");
        require(cache_.size() == size_before, "set_policy changed the size");
        break;
      }
      case kAdvance: {
        std::uint64_t by = static_cast<std::uint64_t>(pick(kAdvanceChoices, in.byte()));
        // Never wrap the clock: stop at UINT64_MAX (where even saturated deadlines expire).
        by = std::min(by, UINT64_MAX - clock_->now_ns());
        entry.arg = by;
        clock_->advance(nanoseconds(static_cast<std::int64_t>(by)));
        break;
      }
      case kCleanup: {
        const std::size_t removed = cache_.cleanup();
        entry.result = std::to_string(removed);
        const Delta d = delta();
        require(d.expirations == static_cast<std::int64_t>(removed),
                "cleanup's count differs from the expirations it counted");
        require(removed <= expired_before, "cleanup removed more entries than had expired");
        require(d.evictions == 0 && d.rejections == 0 && d.hits == 0 && d.misses == 0,
                "cleanup counted evictions or lookups");
        // Nothing expired is left: drop the expired records.
        for (auto it = model_.begin(); it != model_.end();) {
          it = expired(it->second) ? model_.erase(it) : std::next(it);
        }
        require(cache_.size() >= sure_live_count(), "cleanup removed live entries");
        require(cache_.size() <= model_.size(), "after cleanup the cache holds unknown entries");
        break;
      }
      case kExpireSample: {
        const std::size_t samples = 1 + in.byte() % 32;
        const std::size_t rounds = 1 + in.byte() % 4;
        entry.arg = samples * 100 + rounds;
        const std::size_t removed = cache_.expire_sample(samples, rounds);
        entry.result = std::to_string(removed);
        const Delta d = delta();
        require(d.expirations == static_cast<std::int64_t>(removed),
                "expire_sample's count differs from the expirations it counted");
        require(removed <= expired_before, "expire_sample removed more entries than had expired");
        require(d.evictions == 0 && d.rejections == 0, "expire_sample counted evictions");
        break;
      }
      case kSnapshot: {
        const auto snap = cache_.snapshot();
        entry.result = std::to_string(snap.size()) + " entries";
        const Delta d = delta();
        require(d.hits == 0 && d.misses == 0 && d.expirations == 0, "snapshot changed the stats");
        std::set<std::uint64_t> seen;
        for (const auto& [k, v] : snap) {
          require(seen.insert(k).second, "snapshot holds a key twice");
          check_found(k, v, "snapshot");
        }
        require(snap.size() <= cache_.size(), "snapshot holds more entries than size()");
        require(cache_.size() - snap.size() <= expired_count(),
                "size() counts entries that are neither live nor expired");
        for (auto it = model_.begin(); it != model_.end();) {
          if (seen.count(it->first) != 0) {
            it->second.sure = true;
            ++it;
          } else if (!expired(it->second)) {
            if (it->second.sure) fail("snapshot: key missing without a counted eviction");
            it = model_.erase(it);
          } else {
            ++it;
          }
        }
        break;
      }
      case kForEachEntry: {
        std::set<std::uint64_t> seen;
        std::size_t count = 0;
        cache_.for_each_entry([&](const std::uint64_t& k, const std::uint64_t& v) {
          ++count;
          if (!seen.insert(k).second) fail("for_each_entry: a key appears twice");
          const auto it = model_.find(k);
          if (it == model_.end()) fail("for_each_entry: a key the model says is absent");
          if (it->second.value != v) fail("for_each_entry: wrong value");
        });
        entry.result = std::to_string(count) + " entries";
        require(count == cache_.size(), "for_each_entry walked a count different from size()");
        for (auto it = model_.begin(); it != model_.end();) {
          if (seen.count(it->first) != 0) {
            if (!expired(it->second)) it->second.sure = true;
            ++it;
          } else {
            if (it->second.sure && !expired(it->second)) {
              fail("for_each_entry: key missing without a counted eviction");
            }
            it = model_.erase(it);
          }
        }
        const Delta d = delta();
        require(d.hits == 0 && d.misses == 0 && d.expirations == 0,
                "for_each_entry changed the stats");
        break;
      }
      case kInspect: {
        const std::uint64_t key = key_of(in.byte());
        entry.key = key;
        bool key_in_chain = false;
        bool key_expired = false;
        const bool found =
            cache_.inspect(key, [&](const typename Cache::EntryChain& chain, std::uint64_t now_ns) {
              require(now_ns == now(), "inspect: now_ns differs from the clock");
              chain.for_each([&](const auto& e) {
                const auto it = model_.find(e.key);
                if (it == model_.end()) fail("inspect: chain holds a key the model says is absent");
                if (it->second.value != e.value) fail("inspect: chain holds a wrong value");
                if (cache_.is_expired(e, now_ns) != expired(it->second)) {
                  fail("inspect: is_expired disagrees with the model's deadline");
                }
                if (e.key == key) {
                  key_in_chain = true;
                  key_expired = cache_.is_expired(e, now_ns);
                }
              });
            });
        entry.result = !found ? "no chain" : key_in_chain ? "key in chain" : "chain of others";
        const Delta d = delta();
        require(d.hits == 0 && d.misses == 0 && d.expirations == 0, "inspect changed the stats");
        if (std::is_same_v<Hash, std::hash<std::uint64_t>>) {
          require(!found || key_in_chain, "inspect: a chain of other keys under a bijective hash");
        }
        if (!key_in_chain) {
          check_missing(key, "inspect");
          model_.erase(key);
        } else if (!key_expired) {
          model_[key].sure = true;
        }
        break;
      }
      case kSetDefaultTtl: {
        const std::uint8_t b = in.byte();
        std::optional<nanoseconds> ttl;
        if (b & 1) ttl = nanoseconds(pick(kTtlChoices, static_cast<std::uint8_t>(b >> 1)));
        entry.arg = ttl ? static_cast<std::uint64_t>(ttl->count()) : 0;
        cache_.set_default_ttl(ttl);
        require(cache_.default_ttl() == ttl, "set_default_ttl did not take");
        default_ttl_ = ttl ? ttl->count() : 0;
        if (ttl) ttl_in_use_ = true;
        break;
      }
      case kResetStats: {
        cache_.reset_stats();
        const CacheStats s = cache_.stats();
        require(s.hits + s.misses + s.inserts + s.updates + s.evictions + s.expirations +
                        s.rejections ==
                    0,
                "reset_stats left counts");
        base_size_ = static_cast<std::int64_t>(cache_.size());
        explicit_removed_ = 0;
        before_ = s;
        break;
      }
      case kBadArgument: {
        const std::uint8_t b = in.byte();
        const std::uint64_t key = key_of(in.byte());
        entry.key = key;
        const unsigned which = (b & 7) % 6;
        entry.arg = which;
        const std::int64_t bad_ttl = (b & 8) ? -1 : 0;
        bool threw = false;
        bool factory_called = false;
        const std::size_t max_before = cache_.max_size();
        const auto default_before = cache_.default_ttl();
        try {
          switch (which) {
            case 0:
              cache_.set_max_size(0);
              break;
            case 1:
              cache_.set_max_size((std::size_t{1} << 31) + 1);
              break;
            case 2:
              cache_.put(key, next_value(), nanoseconds(bad_ttl));
              break;
            case 3:
              cache_.put_if_absent(key, next_value(), nanoseconds(bad_ttl));
              break;
            case 4:
              cache_.get_or_insert(
                  key,
                  [&] {
                    factory_called = true;
                    return std::uint64_t{0};
                  },
                  nanoseconds(bad_ttl));
              break;
            default:
              cache_.set_default_ttl(nanoseconds(bad_ttl));
              break;
          }
        } catch (const std::invalid_argument&) {
          threw = true;
        }
        entry.result = threw ? "threw invalid_argument" : "did not throw";
        require(threw, "a bad argument did not throw std::invalid_argument");
        require(!factory_called, "get_or_insert with a bad ttl called the factory");
        const Delta d = delta();
        require(d.hits == 0 && d.misses == 0 && d.inserts == 0 && d.updates == 0 &&
                    d.evictions == 0 && d.expirations == 0 && d.rejections == 0,
                "a rejected call changed the stats");
        require(cache_.size() == size_before, "a rejected call changed the size");
        require(cache_.max_size() == max_before, "a rejected call changed max_size");
        require(cache_.default_ttl() == default_before, "a rejected call changed default_ttl");
        break;
      }
      case kOpCount:
        break;
    }

    // Whatever the operation: expirations only remove entries the model allows to have
    // expired, and an eviction or a rejection may have removed any key.
    const Delta d = delta();
    require(d.expirations <= static_cast<std::int64_t>(expired_before + born_expired_),
            "more expirations counted than entries had expired");
    require(d.evictions >= 0 && d.rejections >= 0 && d.expirations >= 0 && d.inserts >= 0,
            "a counter went down");
    if (d.evictions + d.rejections > 0) unsure_all();
    if (trace_) std::fprintf(stderr, "#%zu %s\n", log_.size() - 1, describe(log_.back()).c_str());
  }

  // After a get that returned `got` for `key`.
  void observed_lookup(std::uint64_t key, const std::optional<std::uint64_t>& got,
                       const char* where) {
    const bool model_expired = model_.count(key) != 0 && live(key) == nullptr;
    const Delta d = delta();
    require(d.hits + d.misses == 1, "a get must count exactly one lookup");
    require(d.inserts == 0 && d.updates == 0 && d.evictions == 0 && d.rejections == 0,
            "a get counted a write or an eviction");
    if (got) {
      require(d.hits == 1, "a hit must count a hit");
      require(d.expirations == 0, "a hit counted an expiration");
      check_found(key, *got, where);
      model_[key].sure = true;
    } else {
      require(d.misses == 1, "a miss must count a miss");
      require(d.expirations == 0 || model_expired, "a miss counted an unexpired key as expired");
      check_missing(key, where);
      model_.erase(key);  // a miss removes an expired entry: the cache holds nothing for it now
    }
  }

  void check_invariants() {
    const CacheStats s = cache_.stats();
    const std::size_t size = cache_.size();
    require(s.size == size, "stats().size differs from size()");
    require(s.max_size == cache_.max_size(), "stats().max_size differs from max_size()");
    require(size <= cache_.max_size(), "size() exceeds max_size() after an operation");
    require(size <= model_.size(), "the cache holds more entries than the model allows");
    require(size >= sure_live_count(), "the cache holds fewer entries than it must");
    const std::int64_t expect = base_size_ + static_cast<std::int64_t>(s.inserts) -
                                static_cast<std::int64_t>(s.evictions) -
                                static_cast<std::int64_t>(s.rejections) -
                                static_cast<std::int64_t>(s.expirations) - explicit_removed_;
    if (expect != static_cast<std::int64_t>(size)) {
      fail("size() " + std::to_string(size) + " != base + inserts - evictions - rejections - " +
           "expirations - explicit removals = " + std::to_string(expect));
    }
    if (!cache_.config().admission && cache_.policy() != Policy::kAdaptive) {
      // Rejections come only from the admission filter (and ADAPTIVE, which may have been
      // active before): they can't grow while neither is on.
      require(s.rejections == before_.rejections, "a rejection without admission");
    }
  }

  std::shared_ptr<ManualClock> clock_;
  Cache cache_;
  std::uint64_t keys_;
  std::string config_text_;
  std::int64_t default_ttl_;
  bool ttl_in_use_;
  bool trace_;
  std::map<std::uint64_t, Rec> model_;
  std::vector<Logged> log_;
  CacheStats before_;
  std::uint64_t value_seq_ = 0;
  std::int64_t base_size_ = 0;
  std::int64_t explicit_removed_ = 0;
  std::size_t born_expired_ = 0;  // entries this operation stored already expired
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Reader in(data, size);
  // Header: five bytes of configuration.
  const std::uint8_t b0 = in.byte(), b1 = in.byte(), b2 = in.byte(), b3 = in.byte(), b4 = in.byte();
  CacheConfig config;
  config.max_size = 1 + b0 % 32;
  config.policy = static_cast<Policy>(b1 & 3);
  config.admission = (b1 & 4) != 0;
  const bool colliding = (b1 & 8) != 0;
  if (b1 & 16) config.default_ttl = nanoseconds(pick(kTtlChoices, b4));
  const std::uint64_t start = (b1 & 32) ? UINT64_MAX - (std::uint64_t{1} << 40) : 1 + (b4 >> 4);
  config.sample_size = 1 + b2 % 64;
  config.adaptive_threshold = pick(kThresholds, static_cast<std::uint8_t>(b2 >> 6));
  const std::uint64_t keys = 1 + b3 % 64;
  auto clock = std::make_shared<ManualClock>(start);
  config.clock = clock;

  const std::string text =
      "max_size=" + std::to_string(config.max_size) +
      " policy=" + std::string(cuckoocache::to_string(config.policy)) +
      " admission=" + std::to_string(config.admission) +
      " colliding_hash=" + std::to_string(colliding) + " default_ttl=" +
      (config.default_ttl ? std::to_string(config.default_ttl->count()) : "none") +
      " clock_start=" + std::to_string(start) +
      " sample_size=" + std::to_string(config.sample_size) +
      " adaptive_threshold=" + std::to_string(config.adaptive_threshold) +
      " keys=" + std::to_string(keys);

  if (colliding) {
    Harness<CollidingHash> h(config, clock, keys, text);
    h.run(in);
  } else {
    Harness<std::hash<std::uint64_t>> h(config, clock, keys, text);
    h.run(in);
  }
  return 0;
}
