// SlotArena (engine/slot_arena.h) alone: allocation until full, release and reuse with a new
// generation, publish's metadata, growth without moving slots, for_each_slot, concurrent
// allocate/release never handing one slot to two owners, and shrinking (allocation limit,
// parked slots, reopening).
#include "engine/slot_arena.h"

#include <atomic>
#include <boost/test/unit_test.hpp>
#include <cstddef>
#include <cstdint>
#include <set>
#include <thread>
#include <vector>

namespace {

using cuckoocache::kNoSlot;
using cuckoocache::Slot;
using cuckoocache::SlotArena;
using cuckoocache::SlotState;

}  // namespace

BOOST_AUTO_TEST_SUITE(slot_arena)

BOOST_AUTO_TEST_CASE(allocates_every_slot_once_then_reports_full) {
  SlotArena arena(100);
  BOOST_TEST(arena.capacity() == 128u);  // rounded up to a power of two
  std::set<std::uint32_t> seen;
  for (int i = 0; i < 128; ++i) {
    const std::uint32_t s = arena.try_allocate();
    BOOST_TEST_REQUIRE(s < 128u);
    BOOST_TEST_REQUIRE(seen.insert(s).second);
  }
  BOOST_TEST(arena.try_allocate() == kNoSlot);
}

BOOST_AUTO_TEST_CASE(publish_and_release_advance_the_generation) {
  SlotArena arena(4);
  const std::uint32_t s = arena.try_allocate();
  arena.publish(s, 42, 7, 9, false);
  const Slot& slot = arena[s];
  const std::uint32_t live = slot.state.load();
  BOOST_TEST(SlotState::live(live));
  BOOST_TEST(!SlotState::window(live));
  BOOST_TEST(slot.hash.load() == 42u);
  BOOST_TEST(slot.deadline_ns.load() == 7u);
  BOOST_TEST(slot.access_tick.load() == 9u);
  BOOST_TEST_REQUIRE(arena.uses(s) != nullptr);  // a small arena counts uses
  BOOST_TEST(arena.uses(s)->load() == 1u);

  const std::uint32_t old = arena.release(s);
  BOOST_TEST(old == live);
  BOOST_TEST(!SlotState::live(slot.state.load()));
  // The slot comes back, and its next life has another identity.
  std::uint32_t again = kNoSlot;
  for (int i = 0; i < 4 && again != s; ++i) again = arena.try_allocate();
  BOOST_TEST_REQUIRE(again == s);
  arena.publish(s, 43, 0, 10, true);
  BOOST_TEST(SlotState::identity(slot.state.load()) != SlotState::identity(live));
  BOOST_TEST(SlotState::window(slot.state.load()));
}

BOOST_AUTO_TEST_CASE(grows_without_moving_slots) {
  SlotArena arena(8);
  const std::uint32_t s = arena.try_allocate();
  const Slot* before = &arena[s];
  arena.grow_to(100);
  BOOST_TEST(arena.capacity() >= 100u);
  BOOST_TEST(&arena[s] == before);
  std::size_t allocated = 1;
  while (arena.try_allocate() != kNoSlot) ++allocated;
  BOOST_TEST(allocated == arena.capacity());
}

BOOST_AUTO_TEST_CASE(for_each_slot_visits_every_index_in_order) {
  SlotArena arena(10);
  arena.grow_to(50);
  std::vector<std::uint32_t> seen;
  arena.for_each_slot([&](std::uint32_t i, const Slot& s) {
    BOOST_TEST_REQUIRE(&s == &arena[i]);
    seen.push_back(i);
  });
  BOOST_TEST_REQUIRE(seen.size() == arena.capacity());
  for (std::uint32_t i = 0; i < seen.size(); ++i) BOOST_TEST_REQUIRE(seen[i] == i);
}

BOOST_AUTO_TEST_CASE(concurrent_allocate_release_never_shares_a_slot) {
  SlotArena arena(64);
  std::vector<std::atomic<int>> owners(64);
  std::atomic<int> doubles{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 20'000; ++i) {
        const std::uint32_t s = arena.try_allocate();
        if (s == kNoSlot) continue;
        if (owners[s].fetch_add(1) != 0) doubles.fetch_add(1);
        owners[s].fetch_sub(1);
        arena.release(s);
      }
    });
  }
  for (auto& t : threads) t.join();
  BOOST_TEST(doubles.load() == 0);
  std::size_t free_slots = 0;
  while (arena.try_allocate() != kNoSlot) ++free_slots;
  BOOST_TEST(free_slots == 64u);
}

BOOST_AUTO_TEST_CASE(shrink_parks_slots_above_the_limit_and_growth_reopens_them) {
  SlotArena arena(64);
  arena.grow_to(1024);
  BOOST_TEST_REQUIRE(arena.capacity() == 1024u);
  // Keep three slots live: one below the future limit, two above it.
  std::vector<std::uint32_t> held;
  for (std::uint32_t s = arena.try_allocate(); s != kNoSlot; s = arena.try_allocate()) {
    held.push_back(s);
  }
  BOOST_TEST_REQUIRE(held.size() == 1024u);
  for (const std::uint32_t s : held) {
    if (s != 5 && s != 300 && s != 1000) arena.release(s);
  }
  BOOST_TEST(SlotArena::boundary_at_or_above(100) == 128u);
  BOOST_TEST(!arena.begin_shrink(100));  // not a power of two
  BOOST_TEST_REQUIRE(arena.begin_shrink(128));
  BOOST_TEST(arena.allocation_limit() == 128u);
  // Only slots below the limit are handed out now, each once.
  std::set<std::uint32_t> low;
  for (std::uint32_t s = arena.try_allocate(); s != kNoSlot; s = arena.try_allocate()) {
    BOOST_TEST_REQUIRE(s < 128u);
    BOOST_TEST_REQUIRE(low.insert(s).second);
  }
  BOOST_TEST(low.size() == 127u);  // slot 5 is still held
  // Releasing the held slots above the limit parks them; capacity drops on finish.
  arena.release(300);
  arena.release(1000);
  for (const std::uint32_t s : low) arena.release(s);
  BOOST_TEST(arena.finish_shrink());
  BOOST_TEST(arena.capacity() == 128u);
  BOOST_TEST(arena.memory_bytes() < 1024 * sizeof(Slot));
  // Growth reopens the parked chunks: every slot but 5 comes back exactly once.
  arena.grow_to(1024);
  BOOST_TEST(arena.capacity() == 1024u);
  BOOST_TEST(arena.allocation_limit() == kNoSlot);
  std::set<std::uint32_t> all;
  for (std::uint32_t s = arena.try_allocate(); s != kNoSlot; s = arena.try_allocate()) {
    BOOST_TEST_REQUIRE(all.insert(s).second);
  }
  BOOST_TEST(all.size() == 1023u);
  BOOST_TEST(all.count(5) == 0u);
}

BOOST_AUTO_TEST_CASE(shrink_inside_the_first_chunk) {
  SlotArena arena(1024);
  std::vector<std::uint32_t> held;
  for (std::uint32_t s = arena.try_allocate(); s != kNoSlot; s = arena.try_allocate()) {
    held.push_back(s);
  }
  for (const std::uint32_t s : held) arena.release(s);
  BOOST_TEST_REQUIRE(arena.begin_shrink(64));
  std::set<std::uint32_t> low;
  for (std::uint32_t s = arena.try_allocate(); s != kNoSlot; s = arena.try_allocate()) {
    BOOST_TEST_REQUIRE(s < 64u);
    BOOST_TEST_REQUIRE(low.insert(s).second);
  }
  BOOST_TEST(low.size() == 64u);
  for (const std::uint32_t s : low) arena.release(s);
  BOOST_TEST(arena.finish_shrink());
  BOOST_TEST(arena.capacity() == 64u);
  arena.grow_to(1024);
  BOOST_TEST(arena.capacity() == 1024u);
  std::set<std::uint32_t> all;
  for (std::uint32_t s = arena.try_allocate(); s != kNoSlot; s = arena.try_allocate()) {
    BOOST_TEST_REQUIRE(all.insert(s).second);
  }
  BOOST_TEST(all.size() == 1024u);
}

// A free slot's hash word is its free-list link: publishing over it and releasing again, in
// every order, never loses or duplicates a slot.
BOOST_AUTO_TEST_CASE(hash_words_of_free_slots_carry_the_free_list) {
  SlotArena arena(256);
  for (int round = 0; round < 3; ++round) {
    std::vector<std::uint32_t> held;
    for (std::uint32_t s = arena.try_allocate(); s != kNoSlot; s = arena.try_allocate()) {
      arena.publish(s, ~std::uint64_t{0} - s, 0, 1, false);  // a hash no link looks like
      held.push_back(s);
    }
    BOOST_TEST_REQUIRE(held.size() == 256u);
    BOOST_TEST(std::set<std::uint32_t>(held.begin(), held.end()).size() == 256u);
    for (std::size_t i = round % 2; i < held.size(); i += 2) arena.release(held[i]);
    for (std::size_t i = 1 - round % 2; i < held.size(); i += 2) arena.release(held[i]);
  }
}

// Use counts (exact caches) exist for small arenas, and for large ones once shrunk small.
BOOST_AUTO_TEST_CASE(use_counts_are_kept_by_small_arenas_only) {
  SlotArena small(100);
  BOOST_TEST_REQUIRE(small.uses(0) != nullptr);
  BOOST_TEST(small.uses(SlotArena::kCountedSlots) == nullptr);
  const std::uint32_t s = small.try_allocate();
  small.uses(s)->store(7);
  small.publish(s, 1, 0, 0, false);
  BOOST_TEST(small.uses(s)->load() == 1u);  // a new entry starts at one use

  SlotArena large(4096);
  BOOST_TEST(large.uses(0) == nullptr);
  BOOST_TEST(large.memory_bytes() == 4096u * sizeof(Slot));
  BOOST_TEST_REQUIRE(large.begin_shrink(256));
  BOOST_TEST(large.uses(0) != nullptr);
}

BOOST_AUTO_TEST_CASE(concurrent_allocate_release_across_a_shrink_never_shares_a_slot) {
  SlotArena arena(64);
  arena.grow_to(4096);
  std::vector<std::atomic<int>> owners(4096);
  std::atomic<int> doubles{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&] {
      while (!stop.load()) {
        const std::uint32_t s = arena.try_allocate();
        if (s == kNoSlot) continue;
        if (owners[s].fetch_add(1) != 0) doubles.fetch_add(1);
        owners[s].fetch_sub(1);
        arena.release(s);
      }
    });
  }
  for (int round = 0; round < 20; ++round) {
    if (arena.begin_shrink(256)) arena.finish_shrink();
    arena.grow_to(4096);
  }
  stop.store(true);
  for (auto& t : threads) t.join();
  BOOST_TEST(doubles.load() == 0);
  std::set<std::uint32_t> free_slots;
  for (std::uint32_t s = arena.try_allocate(); s != kNoSlot; s = arena.try_allocate()) {
    BOOST_TEST_REQUIRE(free_slots.insert(s).second);
  }
  BOOST_TEST(free_slots.size() == 4096u);
}

BOOST_AUTO_TEST_SUITE_END()

// A large chunk opens only what growth asks for (its tail stays reserved, costing no memory),
// and later growth opens more of it in place before adding a chunk. Regression: the arena of a
// cache of 100,000 entries used to hold 131,072 slots.
BOOST_AUTO_TEST_SUITE(slot_arena_lazy_chunks)

BOOST_AUTO_TEST_CASE(growth_opens_exactly_what_is_asked_for) {
  SlotArena arena(1024);
  const Slot* first = &arena[3];
  arena.grow_to(100'000);
  BOOST_TEST(arena.capacity() == 100'000u);
  BOOST_TEST(arena.memory_bytes() == 100'000u * sizeof(Slot));
  arena.grow_to(120'000);  // inside the same reserved chunk (up to 131,072)
  BOOST_TEST(arena.capacity() == 120'000u);
  arena.grow_to(200'000);  // the rest of it, then a new chunk
  BOOST_TEST(arena.capacity() == 200'000u);
  BOOST_TEST(&arena[3] == first);
  std::set<std::uint32_t> all;
  for (std::uint32_t s = arena.try_allocate(); s != kNoSlot; s = arena.try_allocate()) {
    BOOST_TEST_REQUIRE(s < 200'000u);
    BOOST_TEST_REQUIRE(all.insert(s).second);
    BOOST_TEST_REQUIRE(SlotState::live(arena[s].state.load()) == false);
  }
  BOOST_TEST(all.size() == 200'000u);
  std::uint32_t visited = 0;
  arena.for_each_slot([&](std::uint32_t i, const Slot& s) {
    BOOST_TEST_REQUIRE(&s == &arena[i]);
    ++visited;
  });
  BOOST_TEST(visited == 200'000u);
}

BOOST_AUTO_TEST_CASE(shrink_and_regrow_across_a_partly_open_chunk) {
  SlotArena arena(1024);
  arena.grow_to(100'000);
  std::vector<std::uint32_t> held;
  for (std::uint32_t s = arena.try_allocate(); s != kNoSlot; s = arena.try_allocate()) {
    held.push_back(s);
  }
  BOOST_TEST_REQUIRE(held.size() == 100'000u);
  for (const std::uint32_t s : held) {
    if (s != 70'000) arena.release(s);
  }
  BOOST_TEST_REQUIRE(arena.begin_shrink(4096));
  arena.release(70'000);
  BOOST_TEST(arena.finish_shrink());
  BOOST_TEST(arena.capacity() == 4096u);
  arena.grow_to(110'000);  // reopens the parked chunks, then opens more of the last one
  BOOST_TEST(arena.capacity() == 110'000u);
  BOOST_TEST(arena.allocation_limit() == kNoSlot);
  std::set<std::uint32_t> all;
  for (std::uint32_t s = arena.try_allocate(); s != kNoSlot; s = arena.try_allocate()) {
    BOOST_TEST_REQUIRE(all.insert(s).second);
  }
  BOOST_TEST(all.size() == 110'000u);
}

BOOST_AUTO_TEST_SUITE_END()
