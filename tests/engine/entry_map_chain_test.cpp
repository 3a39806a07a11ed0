// Chain (engine/entry_map.h): the entries of one 64-bit hash. The compact layout (one entry's
// bytes, the overflow list overlaid on them on a collision) and the general one (entry plus a
// pointer) must behave alike: find, push, remove down to one entry and back up, moves (libcuckoo
// moves chains between table slots) and destruction, each entry destroyed exactly once.
#include <boost/mpl/list.hpp>
#include <boost/test/unit_test.hpp>
#include <cstdint>
#include <functional>
#include <optional>
#include <utility>

#include "engine/entry_map.h"

namespace {

// A value that counts its live instances (moved-from ones included: every constructed object
// is destroyed exactly once). Standard layout, so it does not by itself rule out compact chains.
struct Counted {
  explicit Counted(int* live, std::uint64_t v) noexcept : live(live), v(v) { ++*live; }
  Counted(Counted&& o) noexcept : live(o.live), v(o.v) { ++*live; }
  Counted& operator=(Counted&& o) noexcept {
    v = o.v;
    return *this;
  }
  Counted(const Counted&) = delete;
  Counted& operator=(const Counted&) = delete;
  ~Counted() { --*live; }
  int* live;
  std::uint64_t v;
};

// Members in a base and in the derived class: not standard layout, so the general chain.
struct CountedNs : Counted {
  using Counted::Counted;
  std::uint64_t extra = 0;
};

using Compact = cuckoocache::Chain<std::uint64_t, Counted>;
using General = cuckoocache::Chain<std::uint64_t, CountedNs>;
static_assert(sizeof(cuckoocache::Chain<std::uint64_t, std::uint64_t>) == 24,
              "uint64 -> uint64 chains are one 24-byte entry");
static_assert(sizeof(Compact) == sizeof(cuckoocache::MapEntry<std::uint64_t, Counted>));
static_assert(sizeof(General) > sizeof(cuckoocache::MapEntry<std::uint64_t, CountedNs>));

using Layouts = boost::mpl::list<Compact, General>;

template <class C>
typename C::Entry Make(int* live, std::uint64_t key, std::uint32_t slot) {
  using V = decltype(std::declval<typename C::Entry>().value);
  return typename C::Entry{key, V(live, key * 10), slot};
}

}  // namespace

BOOST_AUTO_TEST_SUITE(entry_map_chain)

BOOST_AUTO_TEST_CASE_TEMPLATE(push_find_remove_and_back_to_one_entry, C, Layouts) {
  int live = 0;
  {
    auto first = Make<C>(&live, 1, 100);
    C chain(std::move(first));
    const std::equal_to<> eq;
    BOOST_TEST(chain.entry_count() == 1u);
    for (std::uint64_t k = 2; k <= 4; ++k) {
      auto e = Make<C>(&live, k, static_cast<std::uint32_t>(99 + k));
      chain.push(std::move(e));
    }
    BOOST_TEST(chain.entry_count() == 4u);
    for (std::uint64_t k = 1; k <= 4; ++k) {
      const auto* e = chain.find(k, eq);
      BOOST_TEST_REQUIRE(e != nullptr);
      BOOST_TEST(e->value.v == k * 10);
      BOOST_TEST(chain.find_slot(static_cast<std::uint32_t>(99 + k)) == e);
    }
    BOOST_TEST(chain.find(5u, eq) == nullptr);

    // libcuckoo moves chains between slots: a moved list chain keeps every entry.
    C moved(std::move(chain));
    std::optional<typename C::Entry> out;
    for (std::uint64_t k : {2u, 4u, 1u}) {  // down to one entry (inline again), then to none
      auto* e = moved.find(k, eq);
      BOOST_TEST_REQUIRE(e != nullptr);
      BOOST_TEST(!moved.remove(e, out));
      BOOST_TEST(out->value.v == k * 10);
    }
    BOOST_TEST(moved.entry_count() == 1u);
    BOOST_TEST(moved.find(3u, eq)->slot == 102u);
    std::uint64_t seen = 0;
    moved.for_each([&](const typename C::Entry& e) { seen += e.value.v; });
    BOOST_TEST(seen == 30u);

    // Collide again after shrinking to one entry, then move the single-entry form.
    auto again = Make<C>(&live, 7, 7);
    moved.push(std::move(again));
    BOOST_TEST(moved.entry_count() == 2u);
    auto* e = moved.find(7u, eq);
    BOOST_TEST(!moved.remove(e, out));
    C single(std::move(moved));
    BOOST_TEST(single.entry_count() == 1u);
    BOOST_TEST(single.remove(single.find_slot(102), out));  // now empty: the caller erases it
  }
  BOOST_TEST(live == 0);
}

BOOST_AUTO_TEST_SUITE_END()
