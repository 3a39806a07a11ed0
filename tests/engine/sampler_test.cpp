// Sampler (engine/sampler.h) alone, on a hand-built SlotArena: the sampled pick returns the
// lowest score among live accepted slots, an expired slot wins at once, the pool remembers
// good candidates across rounds and re-checks them, pick_exact scores every slot, a fixed
// seed makes picks reproducible, and the policies' pool keys keep the order of their scores.
#include "engine/sampler.h"

#include <boost/test/unit_test.hpp>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <type_traits>
#include <vector>

#include "engine/slot_arena.h"
#include "policies/lfu.h"
#include "policies/lru.h"
#include "policies/policy.h"
#include "policies/ttl.h"

namespace {

using cuckoocache::Candidate;
using cuckoocache::EntryMeta;
using cuckoocache::Sampler;
using cuckoocache::Score;
using cuckoocache::Slot;
using cuckoocache::SlotArena;

// An arena of `n` live slots; slot i has hash 1000 + i and access tick `ticks[i]`.
void Fill(SlotArena& arena, const std::vector<std::uint32_t>& ticks) {
  for (std::uint32_t tick : ticks) {
    const std::uint32_t s = arena.try_allocate();
    BOOST_TEST_REQUIRE(s != cuckoocache::kNoSlot);
    arena.publish(s, 1000 + s, 0, tick, false);
  }
}

const auto kByTick = [](const EntryMeta& m) { return Score{m.access_tick, 0}; };
const auto kAny = [](std::uint32_t, const Slot&) { return true; };

std::vector<std::uint32_t> Ticks(std::size_t n) {
  std::vector<std::uint32_t> t(n);
  for (std::size_t i = 0; i < n; ++i) t[i] = static_cast<std::uint32_t>(100 + (i * 37) % n);
  return t;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(sampler)

BOOST_AUTO_TEST_CASE(pick_exact_returns_the_lowest_score) {
  SlotArena arena(50);
  Fill(arena, Ticks(50));
  const std::optional<Candidate> c = Sampler::pick_exact(arena, 0, 1000, kByTick, kAny);
  BOOST_TEST_REQUIRE(c.has_value());
  BOOST_TEST(arena[c->slot].access_tick.load() == 100u);
  BOOST_TEST(c->hash == 1000u + c->slot);
}

BOOST_AUTO_TEST_CASE(pick_exact_honours_accept_and_skips_free_slots) {
  SlotArena arena(10);
  Fill(arena, Ticks(10));
  const std::uint32_t lowest = Sampler::pick_exact(arena, 0, 1000, kByTick, kAny)->slot;
  arena.release(lowest);
  const auto c = Sampler::pick_exact(arena, 0, 1000, kByTick, kAny);
  BOOST_TEST_REQUIRE(c.has_value());
  BOOST_TEST(c->slot != lowest);
  const auto none = Sampler::pick_exact(arena, 0, 1000, kByTick,
                                        [](std::uint32_t, const Slot&) { return false; });
  BOOST_TEST(!none.has_value());
}

BOOST_AUTO_TEST_CASE(expired_slot_wins_whatever_its_score) {
  SlotArena arena(20);
  Fill(arena, Ticks(20));
  arena[7].deadline_ns.store(5);  // expired at now = 10, although recently used
  arena[7].access_tick.store(999);
  const auto exact = Sampler::pick_exact(arena, 10, 1000, kByTick, kAny);
  BOOST_TEST_REQUIRE(exact.has_value());
  BOOST_TEST(exact->slot == 7u);
  BOOST_TEST(exact->expired);
}

// With every slot sampled over a few rounds, the pool keeps the oldest seen, so the picks of
// successive rounds (each slot released once picked) come out close to oldest-first.
BOOST_AUTO_TEST_CASE(pool_makes_sampled_picks_close_to_exact) {
  constexpr std::size_t kSlots = 1000;
  SlotArena arena(kSlots);
  std::vector<std::uint32_t> ticks(kSlots);
  for (std::size_t i = 0; i < kSlots; ++i) ticks[i] = static_cast<std::uint32_t>(i + 1);
  Fill(arena, ticks);
  Sampler sampler(42);
  std::size_t total_rank = 0;
  constexpr int kPicks = 200;
  for (int i = 0; i < kPicks; ++i) {
    const auto c = sampler.pick(arena, 5, 0, 5000, 0, kByTick, kAny);
    BOOST_TEST_REQUIRE(c.has_value());
    // Rank among the live slots: how many live slots are older than the pick.
    const std::uint32_t picked = arena[c->slot].access_tick.load();
    std::size_t older = 0;
    arena.for_each_slot([&](std::uint32_t, const Slot& s) {
      older += cuckoocache::SlotState::live(s.state.load()) && s.access_tick.load() < picked;
    });
    total_rank += older;
    arena.release(c->slot);
  }
  // Plain 5-sampling picks a slot at rank ~ live/6 (about 150) on average; the pool does better.
  BOOST_TEST(total_rank / kPicks < 100u);
}

BOOST_AUTO_TEST_CASE(pooled_candidate_used_since_is_re_ranked) {
  SlotArena arena(200);
  std::vector<std::uint32_t> ticks(200);
  for (std::size_t i = 0; i < 200; ++i) ticks[i] = static_cast<std::uint32_t>(i + 1);
  Fill(arena, ticks);
  Sampler sampler(1);
  // Fill the pool, then make every slot but one "recently used": the next pick must not return
  // a slot on the strength of its stale pooled score.
  for (int i = 0; i < 10; ++i) static_cast<void>(sampler.pick(arena, 5, 0, 5000, 0, kByTick, kAny));
  arena.for_each_slot([&arena](std::uint32_t i, const Slot&) {
    if (i != 3) arena[i].access_tick.store(4000 + i);
  });
  const auto c = sampler.pick(arena, 5, 0, 5000, 0, kByTick, kAny);
  BOOST_TEST_REQUIRE(c.has_value());
  BOOST_TEST(c->score.primary == arena[c->slot].access_tick.load());
}

BOOST_AUTO_TEST_CASE(same_seed_same_picks) {
  const auto picks = [](std::uint64_t seed) {
    SlotArena arena(500);
    Fill(arena, Ticks(500));
    Sampler sampler(seed);
    std::vector<std::uint32_t> out;
    for (int i = 0; i < 100; ++i) {
      const auto c = sampler.pick(arena, 5, 0, 5000, 0, kByTick, kAny);
      out.push_back(c->slot);
      arena.release(c->slot);
    }
    return out;
  };
  BOOST_TEST((picks(3) == picks(3)));
  BOOST_TEST((picks(3) != picks(4)));
}

// The pool sorts a permutation of cells rather than the candidates (sampler.h). With every
// score equal each insertion lands at the front of the pool and each take empties a cell that
// the next insertion reuses: every pick must still be a live slot, never one returned before.
BOOST_AUTO_TEST_CASE(pool_with_equal_scores_returns_distinct_live_slots) {
  constexpr std::size_t kSlots = 300;
  SlotArena arena(kSlots);
  Fill(arena, std::vector<std::uint32_t>(kSlots, 7));
  Sampler sampler(5);
  std::vector<bool> taken(kSlots, false);
  for (std::size_t i = 0; i < kSlots - 10; ++i) {
    const auto c = sampler.pick(arena, 5, 0, 5000, 0, kByTick, kAny);
    BOOST_TEST_REQUIRE(c.has_value());
    BOOST_TEST_REQUIRE(c->slot < kSlots);
    BOOST_TEST_REQUIRE(!taken[c->slot]);
    BOOST_TEST(c->hash == 1000u + c->slot);
    taken[c->slot] = true;
    arena.release(c->slot);
  }
}

// Victims re-published alternately as the oldest entry so far (a sample that beats everything
// pooled: insertion at the back) and as the newest (a sample worse than the whole pool: turned
// away at the front) exercise both ends of the pool's permutation; every pick is a live slot
// whose returned score is its current one.
BOOST_AUTO_TEST_CASE(pool_picks_stay_current_as_new_scores_fall_and_rise) {
  constexpr std::size_t kSlots = 256;
  SlotArena arena(kSlots);
  std::vector<std::uint32_t> ticks(kSlots);
  for (std::size_t i = 0; i < kSlots; ++i) ticks[i] = static_cast<std::uint32_t>(100000 + i);
  Fill(arena, ticks);
  Sampler sampler(9);
  std::uint32_t next_low = 99999;
  for (int i = 0; i < 400; ++i) {
    const auto c = sampler.pick(arena, 5, 0, 1u << 20, 0, kByTick, kAny);
    BOOST_TEST_REQUIRE(c.has_value());
    const std::uint32_t picked = arena[c->slot].access_tick.load();
    BOOST_TEST(c->score.primary == picked);  // a pooled score is re-checked before it is used
    // Re-publish the victim as the oldest entry so far half the time, as the newest otherwise.
    const std::uint32_t slot = c->slot;
    arena.release(slot);
    const std::uint32_t again = arena.try_allocate();
    BOOST_TEST_REQUIRE(again != cuckoocache::kNoSlot);
    arena.publish(again, 1000 + again, 0, i % 2 == 0 ? next_low-- : 200000 + i, false);
  }
}

// The pool orders candidates by a 64-bit key (engine/entry_meta.h): for every pair of scores a
// policy can produce, a < b must give key(a) <= key(b), and keys stay below 2^kPoolKeyBits so
// that the pool's cell bits fit beside them.
template <class KeyFn>
void CheckMonotone(const std::vector<Score>& scores, const KeyFn& key) {
  for (const Score& a : scores) {
    BOOST_TEST_REQUIRE(key(a) <= cuckoocache::kPoolKeyMax);
    for (const Score& b : scores) {
      if (a < b) BOOST_TEST_REQUIRE(key(a) <= key(b));
    }
  }
}

BOOST_AUTO_TEST_CASE(pool_keys_keep_the_order_of_scores) {
  const std::vector<std::uint64_t> ticks = {
      0, 1, 2, 1000, (1ull << 32) + 5, 1ull << 54, (1ull << 58) + 3, UINT64_MAX};
  std::vector<Score> lru;
  std::vector<Score> lfu;
  std::vector<Score> ttl;
  for (std::uint64_t t : ticks) {
    lru.push_back({t, 0});
    for (std::uint64_t f : {0u, 1u, 7u, 15u, 16u, 1000u}) lfu.push_back({f, t});
    for (std::uint64_t d :
         {std::uint64_t{1}, std::uint64_t{31}, std::uint64_t{32}, std::uint64_t{1} << 40,
          std::uint64_t{1} << 62, UINT64_MAX - 1, UINT64_MAX}) {
      ttl.push_back({d, t});
    }
  }
  CheckMonotone(lru, [](const Score& s) { return cuckoocache::LruPolicy::pool_key(s); });
  CheckMonotone(lfu, [](const Score& s) { return cuckoocache::LfuPolicy::pool_key(s); });
  CheckMonotone(ttl, [](const Score& s) { return cuckoocache::TtlPolicy::pool_key(s); });
  // Where the keys are exact: ticks below 2^54 (LRU, LFU), frequencies up to 15, deadline-free
  // TTL entries by tick, and deadlines 32 ns apart.
  BOOST_TEST(cuckoocache::LruPolicy::pool_key({5, 0}) < cuckoocache::LruPolicy::pool_key({6, 0}));
  BOOST_TEST(cuckoocache::LfuPolicy::pool_key({3, 9}) < cuckoocache::LfuPolicy::pool_key({3, 10}));
  BOOST_TEST(cuckoocache::LfuPolicy::pool_key({3, 1ull << 53}) <
             cuckoocache::LfuPolicy::pool_key({4, 0}));
  BOOST_TEST(cuckoocache::TtlPolicy::pool_key({UINT64_MAX, 1}) <
             cuckoocache::TtlPolicy::pool_key({UINT64_MAX, 2}));
  BOOST_TEST(cuckoocache::TtlPolicy::pool_key({64, 0}) < cuckoocache::TtlPolicy::pool_key({96, 0}));
  BOOST_TEST(cuckoocache::TtlPolicy::pool_key({UINT64_MAX - 1, 0}) <
             cuckoocache::TtlPolicy::pool_key({UINT64_MAX, 0}));
}

// A sampled pick whose round finds an entry past its deadline returns it at once, and an
// exact pick without a clock reading (now 0: no entry can have expired) ignores deadlines.
BOOST_AUTO_TEST_CASE(expiry_is_checked_only_with_a_clock_reading) {
  SlotArena arena(20);
  Fill(arena, Ticks(20));
  arena[7].deadline_ns.store(5);
  arena[7].access_tick.store(999);
  const auto exact = Sampler::pick_exact(arena, 0, 1000, kByTick, kAny);
  BOOST_TEST_REQUIRE(exact.has_value());
  BOOST_TEST(!exact->expired);
  BOOST_TEST(arena[exact->slot].access_tick.load() == 100u);
  Sampler sampler(3);
  bool saw_expired = false;
  for (int i = 0; i < 50 && !saw_expired; ++i) {
    const auto c = sampler.pick(arena, 5, 10, 1000, 0, kByTick, kAny);
    BOOST_TEST_REQUIRE(c.has_value());
    if (c->expired) {
      BOOST_TEST(c->slot == 7u);
      saw_expired = true;
    }
  }
  BOOST_TEST(saw_expired);
}

// The LRU fast path (a score that reads the tick only, ranked by its pool key) makes the same
// picks as the general one (every field read, 128-bit scores compared), pick for pick.
BOOST_AUTO_TEST_CASE(reading_only_the_scored_fields_makes_the_same_picks) {
  const auto picks = [](auto fast) {
    SlotArena arena(700);
    Fill(arena, Ticks(700));
    Sampler sampler(11);
    const auto key = [](const Score& s) { return cuckoocache::LruPolicy::pool_key(s); };
    std::vector<std::uint32_t> out;
    for (int i = 0; i < 300; ++i) {
      std::optional<Candidate> c;
      if constexpr (decltype(fast)::value) {
        c = sampler.pick<cuckoocache::MetaFields::kTick, true>(arena, 5, 0, 5000, 0, kByTick, kAny,
                                                               key);
      } else {
        c = sampler.pick(arena, 5, 0, 5000, 0, kByTick, kAny, key);
      }
      BOOST_TEST_REQUIRE(c.has_value());
      BOOST_TEST(c->hash == 1000u + c->slot);  // the hash is read although the score does not
      out.push_back(c->slot);
      arena.release(c->slot);
    }
    return out;
  };
  BOOST_TEST((picks(std::true_type{}) == picks(std::false_type{})));
}

BOOST_AUTO_TEST_SUITE_END()
