// Hostile user types in cuckoocache::Cache: a Hash with only 1 or 3 distinct values (every
// key in a few chains) must not break any operation or the size bound; a throwing Hash,
// KeyEqual or Value copy constructor must leave the cache exactly as it was (size, contents,
// stats: the strong guarantee of engine/cache.h); and a Value that counts its live instances
// must be destroyed exactly once, whatever removed it (overwrite, eviction, erase, expiry,
// clear, destruction).
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "engine/cache.h"
#include "support/policy_tags.h"

namespace {

using cuckoocache::Cache;
using cuckoocache::CacheConfig;
using cuckoocache::CacheStats;
using cuckoocache::Policy;
using AllPolicies = policy::All;

CacheConfig Config(Policy policy, std::size_t max_size) {
  CacheConfig config;
  config.policy = policy;
  config.max_size = max_size;
  return config;
}

// ---- Colliding hashes -------------------------------------------------------------------

// Hashes every key to one of `Distinct` values.
template <std::size_t Distinct>
struct FewValuesHash {
  std::size_t operator()(std::uint64_t key) const noexcept { return key % Distinct; }
};

template <class C>
std::map<std::uint64_t, std::uint64_t> Contents(C& cache) {
  std::map<std::uint64_t, std::uint64_t> out;
  for (const auto& [k, v] : cache.snapshot()) {
    BOOST_TEST_REQUIRE(out.emplace(k, v).second, "snapshot holds key " << k << " twice");
  }
  return out;
}

// Every operation against a std::map model, on a cache large enough never to evict.
template <std::size_t Distinct>
void CheckCollidingKeysBehaveLikeAMap(Policy policy) {
  Cache<std::uint64_t, std::uint64_t, FewValuesHash<Distinct>> cache(Config(policy, 4000));
  std::map<std::uint64_t, std::uint64_t> model;
  constexpr std::uint64_t kKeys = 2000;
  for (std::uint64_t k = 0; k < kKeys; ++k) {
    BOOST_TEST_REQUIRE(cache.put(k, k + 1));
    model[k] = k + 1;
  }
  BOOST_TEST_REQUIRE(cache.size() == kKeys);
  for (std::uint64_t k = 0; k < kKeys; ++k) {
    BOOST_TEST_REQUIRE(cache.get(k).value_or(0) == k + 1);
  }
  BOOST_TEST_REQUIRE(!cache.contains(kKeys));
  BOOST_TEST_REQUIRE(!cache.get(kKeys + 5).has_value());

  // Overwrite every third key, erase every fifth (head, middle and tail of the chains).
  for (std::uint64_t k = 0; k < kKeys; k += 3) {
    BOOST_TEST_REQUIRE(!cache.put(k, k * 7));
    model[k] = k * 7;
  }
  for (std::uint64_t k = 0; k < kKeys; k += 5) {
    BOOST_TEST_REQUIRE(cache.erase(k));
    BOOST_TEST_REQUIRE(!cache.erase(k));
    model.erase(k);
  }
  BOOST_TEST_REQUIRE(cache.size() == model.size());
  for (std::uint64_t k = 0; k < kKeys; ++k) {
    const auto it = model.find(k);
    if (it == model.end()) {
      BOOST_TEST_REQUIRE(!cache.contains(k));
      BOOST_TEST_REQUIRE(cache.put_if_absent(k, 1));
      model[k] = 1;
    } else {
      BOOST_TEST_REQUIRE(cache.get(k).value_or(0) == it->second);
      BOOST_TEST_REQUIRE(!cache.put_if_absent(k, 1));
    }
  }
  int calls = 0;
  BOOST_TEST_REQUIRE(cache.get_or_insert(kKeys + 1, [&] {
    ++calls;
    return std::uint64_t{9};
  }) == 9u);
  BOOST_TEST_REQUIRE(cache.get_or_insert(kKeys + 1, [&] {
    ++calls;
    return std::uint64_t{10};
  }) == 9u);
  BOOST_TEST_REQUIRE(calls == 1);
  model[kKeys + 1] = 9;
  BOOST_TEST_REQUIRE((Contents(cache) == model));

  // Erase everything, chain by chain, in an order that removes heads and middles.
  for (std::uint64_t k = kKeys + 1; k-- > 0;) {
    if (k % 2 == 0) BOOST_TEST_REQUIRE(cache.erase(k) == (model.erase(k) == 1));
  }
  for (std::uint64_t k = 0; k <= kKeys + 1; ++k) {
    if (k % 2 == 1) BOOST_TEST_REQUIRE(cache.erase(k) == (model.erase(k) == 1));
  }
  BOOST_TEST_REQUIRE(cache.size() == 0u);
  BOOST_TEST_REQUIRE(cache.snapshot().empty());
  BOOST_TEST_REQUIRE(cache.put(3, 3));  // usable again
  cache.clear();
  BOOST_TEST_REQUIRE(cache.size() == 0u);
  BOOST_TEST_REQUIRE(!cache.contains(3));
}

// The bound holds and eviction still finds its victims inside long chains.
template <std::size_t Distinct>
void CheckCollidingKeysKeepTheBound(Policy policy) {
  constexpr std::size_t kMax = 500;
  Cache<std::uint64_t, std::uint64_t, FewValuesHash<Distinct>> cache(Config(policy, kMax));
  std::size_t violations = 0;
  for (std::uint64_t k = 0; k < 2000; ++k) {
    cache.put(k, k);
    if (cache.size() > kMax) ++violations;
    if (k % 7 == 0) static_cast<void>(cache.get(k / 2));
  }
  BOOST_TEST(violations == 0u);
  BOOST_TEST(cache.size() == kMax);
  const auto contents = Contents(cache);
  BOOST_TEST(contents.size() == kMax);
  for (const auto& [k, v] : contents) BOOST_TEST_REQUIRE(v == k);
  const CacheStats s = cache.stats();
  BOOST_TEST(s.evictions + s.rejections == s.inserts - s.size);
  cache.set_max_size(10);
  BOOST_TEST(cache.size() <= 10u);
  BOOST_TEST(Contents(cache).size() == cache.size());
}

// ---- Throwing user types ----------------------------------------------------------------

// Operations on a "poisoned" key or value throw only while armed, so the test can set up
// state and inspect it (snapshot copies keys and values) with the trap disarmed.
bool g_armed = false;

struct Armed {
  Armed() { g_armed = true; }
  ~Armed() { g_armed = false; }
  Armed(const Armed&) = delete;
  Armed& operator=(const Armed&) = delete;
};

struct Key {
  std::uint64_t id = 0;
  bool poison = false;
  friend bool operator==(const Key& a, const Key& b) { return a.id == b.id; }
};

struct ThrowingHash {
  std::size_t operator()(const Key& k) const {
    if (k.poison && g_armed) throw std::runtime_error("hash");
    return std::hash<std::uint64_t>()(k.id);
  }
};

// Few distinct hash values, so that comparisons happen on every operation.
struct CollidingHash {
  std::size_t operator()(const Key& k) const noexcept { return k.id % 3; }
};

struct ThrowingEqual {
  bool operator()(const Key& a, const Key& b) const {
    if ((a.poison || b.poison) && g_armed) throw std::runtime_error("equal");
    return a.id == b.id;
  }
};

struct Value {
  std::uint64_t v = 0;
  bool poison = false;
  Value() = default;
  Value(std::uint64_t value, bool poisoned) : v(value), poison(poisoned) {}
  Value(const Value& other) : v(other.v), poison(other.poison) {
    if (poison && g_armed) throw std::runtime_error("copy");
  }
  Value(Value&&) noexcept = default;
  Value& operator=(const Value& other) {
    if (other.poison && g_armed) throw std::runtime_error("copy assign");
    v = other.v;
    poison = other.poison;
    return *this;
  }
  Value& operator=(Value&&) noexcept = default;
  ~Value() = default;
};

// Everything observable about a cache.
struct State {
  std::map<std::uint64_t, std::pair<std::uint64_t, bool>> contents;
  CacheStats stats;
  std::size_t size = 0;
  bool operator==(const State& o) const {
    return contents == o.contents && stats == o.stats && size == o.size;
  }
};

template <class C>
State Observe(C& cache) {
  BOOST_TEST_REQUIRE(!g_armed);
  State s;
  s.stats = cache.stats();  // first: snapshot() does not count, but be strict about order
  s.size = cache.size();
  for (const auto& [k, v] : cache.snapshot()) {
    BOOST_TEST_REQUIRE(s.contents.emplace(k.id, std::make_pair(v.v, v.poison)).second);
  }
  return s;
}

// Runs `op` armed and checks that it threw std::runtime_error and changed nothing, except
// for `lookups_missed` misses the operation counted before it failed (get_or_insert looks
// the key up before it calls the factory and stores the result).
template <class C, class Op>
void ExpectThrowsAndNoChange(C& cache, const char* what, Op&& op,
                             std::uint64_t lookups_missed = 0) {
  State before = Observe(cache);
  before.stats.misses += lookups_missed;
  bool threw = false;
  {
    Armed armed;
    try {
      op();
    } catch (const std::runtime_error&) {
      threw = true;
    }
  }
  BOOST_TEST(threw, what << ": expected an exception");
  BOOST_TEST((Observe(cache) == before), what << ": the cache changed");
}

// ---- Instance counting ------------------------------------------------------------------

long g_live = 0;

struct Counted {
  std::uint64_t v = 0;
  bool moved_from = false;
  explicit Counted(std::uint64_t value = 0) : v(value) { ++g_live; }
  Counted(const Counted& o) : v(o.v) { ++g_live; }
  Counted(Counted&& o) noexcept : v(o.v) {
    o.moved_from = true;
    ++g_live;
  }
  Counted& operator=(const Counted&) = default;
  Counted& operator=(Counted&& o) noexcept {
    v = o.v;
    o.moved_from = true;
    return *this;
  }
  ~Counted() { --g_live; }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(collision_and_exception)

BOOST_AUTO_TEST_CASE_TEMPLATE(single_hash_value_for_2000_keys, P, AllPolicies) {
  CheckCollidingKeysBehaveLikeAMap<1>(P::kPolicy);
  CheckCollidingKeysKeepTheBound<1>(P::kPolicy);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(three_hash_values_for_2000_keys, P, AllPolicies) {
  CheckCollidingKeysBehaveLikeAMap<3>(P::kPolicy);
  CheckCollidingKeysKeepTheBound<3>(P::kPolicy);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(throwing_hash_leaves_the_cache_unchanged, P, AllPolicies) {
  Cache<Key, Value, ThrowingHash> cache(Config(P::kPolicy, 20));
  for (std::uint64_t k = 0; k < 20; ++k) cache.put(Key{k, false}, Value(k, false));
  static_cast<void>(cache.get(Key{3, false}));
  static_cast<void>(cache.get(Key{99, false}));
  // A poisoned key equal to a stored one (same id) reaches its entry only through the hash.
  const Key bad{5, true};
  const Key bad_new{100, true};
  ExpectThrowsAndNoChange(cache, "put existing", [&] { cache.put(bad, Value(1, false)); });
  ExpectThrowsAndNoChange(cache, "put new (full cache)",
                          [&] { cache.put(bad_new, Value(1, false)); });
  ExpectThrowsAndNoChange(cache, "put_if_absent",
                          [&] { cache.put_if_absent(bad_new, Value(1, false)); });
  ExpectThrowsAndNoChange(cache, "get", [&] { static_cast<void>(cache.get(bad)); });
  ExpectThrowsAndNoChange(cache, "get miss", [&] { static_cast<void>(cache.get(bad_new)); });
  ExpectThrowsAndNoChange(cache, "visit", [&] { cache.visit(bad, [](const Value&) {}); });
  ExpectThrowsAndNoChange(cache, "contains", [&] { static_cast<void>(cache.contains(bad)); });
  ExpectThrowsAndNoChange(cache, "erase", [&] { cache.erase(bad); });
  int calls = 0;
  ExpectThrowsAndNoChange(cache, "get_or_insert", [&] {
    cache.get_or_insert(bad_new, [&] {
      ++calls;
      return Value(1, false);
    });
  });
  BOOST_TEST(calls == 0);
  // Disarmed, the same keys work.
  BOOST_TEST(!cache.put(bad, Value(55, false)));
  BOOST_TEST(cache.get(Key{5, false}).value_or(Value()).v == 55u);
  BOOST_TEST(cache.size() == 20u);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(throwing_key_equal_leaves_the_cache_unchanged, P, AllPolicies) {
  Cache<Key, Value, CollidingHash, ThrowingEqual> cache(Config(P::kPolicy, 30));
  for (std::uint64_t k = 0; k < 30; ++k) cache.put(Key{k, false}, Value(k, false));
  static_cast<void>(cache.get(Key{4, false}));
  // Every chain exists, so every operation compares the poisoned key with a stored one.
  const Key bad{7, true};
  const Key bad_new{107, true};
  ExpectThrowsAndNoChange(cache, "put existing", [&] { cache.put(bad, Value(1, false)); });
  ExpectThrowsAndNoChange(cache, "put new (full cache)",
                          [&] { cache.put(bad_new, Value(1, false)); });
  ExpectThrowsAndNoChange(cache, "put_if_absent",
                          [&] { cache.put_if_absent(bad_new, Value(1, false)); });
  ExpectThrowsAndNoChange(cache, "get", [&] { static_cast<void>(cache.get(bad)); });
  ExpectThrowsAndNoChange(cache, "get miss", [&] { static_cast<void>(cache.get(bad_new)); });
  ExpectThrowsAndNoChange(cache, "erase", [&] { cache.erase(bad); });
  ExpectThrowsAndNoChange(cache, "erase miss", [&] { cache.erase(bad_new); });
  ExpectThrowsAndNoChange(cache, "get_or_insert (present)",
                          [&] { cache.get_or_insert(bad, [] { return Value(1, false); }); });

  // A poisoned key stored while disarmed: operations on other keys of its chain compare
  // against it and throw; the cache must not change either.
  BOOST_TEST(!cache.put(Key{9, true}, Value(9, false)));  // overwrite keeps the stored key
  BOOST_TEST(cache.erase(Key{9, false}));
  BOOST_TEST(cache.put(Key{9, true}, Value(9, false)));  // now the stored key is poisoned
  // Keys absent from 9's chain (id % 3 == 0), so the search compares with every stored key.
  ExpectThrowsAndNoChange(cache, "put in a poisoned chain", [&] {
    cache.put(Key{300, false}, Value(1, false));
  });
  ExpectThrowsAndNoChange(cache, "get in a poisoned chain", [&] {
    static_cast<void>(cache.get(Key{303, false}));
  });
  ExpectThrowsAndNoChange(cache, "erase in a poisoned chain", [&] {
    cache.erase(Key{306, false});
  });

  // Eviction finds entries by slot, never by comparing keys: still armed, inserts into the
  // other chains evict (possibly the poisoned entry itself) without throwing.
  {
    Armed armed;
    for (std::uint64_t k = 1000; k < 1200; ++k) {
      if (k % 3 != 0) cache.put(Key{k, false}, Value(k, false));
    }
  }
  BOOST_TEST(cache.size() == 30u);
  const CacheStats s = cache.stats();
  BOOST_TEST(s.evictions + s.rejections == s.inserts - s.size - 1);  // one erase above
}

BOOST_AUTO_TEST_CASE_TEMPLATE(throwing_value_copy_leaves_the_cache_unchanged, P, AllPolicies) {
  static_assert(std::is_nothrow_move_constructible_v<Value>);
  Cache<Key, Value, ThrowingHash> cache(Config(P::kPolicy, 20));
  for (std::uint64_t k = 0; k < 20; ++k) cache.put(Key{k, false}, Value(k, false));
  // A poisoned value stored by move (moves never throw): reading it copies, and throws.
  BOOST_TEST(!cache.put(Key{3, false}, Value(333, true)));
  const Value poisoned(77, true);
  int calls = 0;

  ExpectThrowsAndNoChange(cache, "put new by copy", [&] { cache.put(Key{50, false}, poisoned); });
  ExpectThrowsAndNoChange(cache, "put overwrite by copy", [&] {
    cache.put(Key{4, false}, poisoned);
  });
  ExpectThrowsAndNoChange(cache, "put_if_absent by copy", [&] {
    cache.put_if_absent(Key{51, false}, poisoned);
  });
  ExpectThrowsAndNoChange(cache, "get of a poisoned value", [&] {
    static_cast<void>(cache.get(Key{3, false}));
  });
  ExpectThrowsAndNoChange(cache, "get into out", [&] {
    Value out;
    cache.get(Key{3, false}, out);
  });
  ExpectThrowsAndNoChange(cache, "get_or_insert, present and poisoned", [&] {
    cache.get_or_insert(Key{3, false}, [&] {
      ++calls;
      return Value(1, false);
    });
  });
  BOOST_TEST(calls == 0);
  ExpectThrowsAndNoChange(
      cache, "get_or_insert, factory makes a poisoned value",
      [&] {
        cache.get_or_insert(Key{52, false}, [&] {
          ++calls;
          return Value(5, true);
        });
      },
      /*lookups_missed=*/1);
  BOOST_TEST(calls == 1);

  // Disarmed, everything still works, and the poisoned value is intact.
  BOOST_TEST(cache.get(Key{3, false}).value_or(Value()).v == 333u);
  BOOST_TEST(cache.put(Key{50, false}, poisoned));
  BOOST_TEST(cache.size() == 20u);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(every_value_is_destroyed_exactly_once, P, AllPolicies) {
  BOOST_TEST_REQUIRE(g_live == 0);
  {
    auto clock = std::make_shared<cuckoocache::ManualClock>();
    CacheConfig config = Config(P::kPolicy, 100);
    config.clock = clock;
    Cache<std::uint64_t, Counted> cache(config);
    for (std::uint64_t k = 0; k < 1000; ++k) cache.put(k, Counted(k));  // evictions
    BOOST_TEST(g_live == static_cast<long>(cache.size()));
    for (std::uint64_t k = 900; k < 1000; ++k) cache.put(k, Counted(k + 1));  // overwrites
    const Counted lvalue(5);
    for (std::uint64_t k = 950; k < 1000; ++k) cache.put(k, lvalue);  // overwrite by copy
    for (std::uint64_t k = 900; k < 950; ++k) cache.erase(k);
    BOOST_TEST(g_live == static_cast<long>(cache.size()) + 1);
    for (std::uint64_t k = 0; k < 30; ++k) cache.put_if_absent(2000 + k, Counted(k));
    for (std::uint64_t k = 0; k < 30; ++k) cache.put_if_absent(2000 + k, Counted(k));  // refused
    for (std::uint64_t k = 0; k < 10; ++k) {
      cache.get_or_insert(3000 + k, [k] { return Counted(k); });
      static_cast<void>(cache.get(3000 + k));
    }
    for (std::uint64_t k = 0; k < 40; ++k) cache.put(4000 + k, Counted(k), std::chrono::seconds(1));
    clock->advance(std::chrono::seconds(1));
    static_cast<void>(cache.get(4000));  // removes one expired entry on read
    cache.erase(4001);                   // and one by erase
    cache.put(4002, Counted(1));         // replaces one in place
    static_cast<void>(cache.cleanup());  // and the rest
    BOOST_TEST(g_live == static_cast<long>(cache.size()) + 1);
    static_cast<void>(cache.snapshot());
    BOOST_TEST(g_live == static_cast<long>(cache.size()) + 1);
    cache.set_max_size(10);  // evictions by shrinking
    BOOST_TEST(g_live == static_cast<long>(cache.size()) + 1);
    cache.clear();
    BOOST_TEST(g_live == 1);
    for (std::uint64_t k = 0; k < 50; ++k) cache.put(k, Counted(k));  // left to the destructor
  }
  BOOST_TEST(g_live == 0);
}

BOOST_AUTO_TEST_SUITE_END()

// visit() documents that a throwing callback leaves the stats as they were: that is what keeps
// get()'s strong guarantee when the value's copy throws.
BOOST_AUTO_TEST_SUITE(collision_and_exception_visit)

BOOST_AUTO_TEST_CASE(visit_with_throwing_callback_counts_nothing) {
  Cache<std::uint64_t, std::uint64_t> cache(Config(Policy::kLru, 10));
  cache.put(1, 1);
  BOOST_CHECK_THROW(cache.visit(1, [](const std::uint64_t&) { throw std::runtime_error("fn"); }),
                    std::runtime_error);
  BOOST_TEST(cache.stats().hits == 0u);
  BOOST_TEST(cache.stats().misses == 0u);
}

BOOST_AUTO_TEST_SUITE_END()
