// WindowRing (policies/window_ring.h), ADAPTIVE's window queue, on its own: FIFO in one thread;
// a reserved ring costs no cell memory until cells are queued, and what it holds follows the
// cells queued, not its length (issue 11: an empty ADAPTIVE cache of max_size 1M cost ~16.8 MB
// because the ring was allocated up front); cells queued by a thread that no longer takes are
// taken by the others; an AdaptivePolicy activated for 1M entries costs less than 256 KiB.
#include "policies/window_ring.h"

#include <boost/test/unit_test.hpp>
#include <cstddef>
#include <cstdint>
#include <thread>

#include "policies/adaptive.h"

namespace {

using cuckoocache::WindowRing;

// A cell as AdaptivePolicy encodes it: slot + 1 in the high half, the tick in the low half.
std::uint64_t Cell(std::uint32_t slot, std::uint32_t tick) {
  return (std::uint64_t{slot + 1} << 32) | tick;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(window_ring)

BOOST_AUTO_TEST_CASE(yields_cells_oldest_first_then_nothing) {
  WindowRing ring;
  BOOST_TEST(ring.pop() == 0u);  // before reserve(): nothing, and no crash
  ring.reserve(16);
  BOOST_TEST(ring.cells() == 64u);  // at least 64 per stripe
  for (std::uint32_t i = 0; i < 100; ++i) ring.append(Cell(i, i + 1));
  // 100 cells in a ring of 64: the 36 oldest were overwritten, the cursor jumps past them.
  for (std::uint32_t i = 37; i < 100; ++i) BOOST_TEST(ring.pop() == Cell(i, i + 1));
  BOOST_TEST(ring.pop() == 0u);
  ring.append(Cell(7, 200));
  BOOST_TEST(ring.pop() == Cell(7, 200));
  BOOST_TEST(ring.pop() == 0u);
}

BOOST_AUTO_TEST_CASE(memory_follows_the_cells_queued_not_the_ring_length) {
  WindowRing ring;
  ring.reserve(std::size_t{2} << 20);  // an ADAPTIVE cache of max_size 1M
  const std::size_t empty = ring.memory_bytes();
  BOOST_TEST_MESSAGE("reserved for 2M cells, empty: " << empty << " bytes");
  BOOST_TEST(empty < 4096u);  // the stripe headers only
  constexpr std::uint32_t kCells = 300'000;
  for (std::uint32_t i = 0; i < kCells; ++i) ring.append(Cell(i, i + 1));
  BOOST_TEST(ring.memory_bytes() >= kCells * sizeof(std::uint64_t));
  for (std::uint32_t i = 0; i < kCells - 1000; ++i)
    BOOST_TEST_REQUIRE(ring.pop() == Cell(i, i + 1));
  // 1,000 cells queued: at most three 64 KiB chunks resident.
  const std::size_t queued = ring.memory_bytes();
  BOOST_TEST_MESSAGE("after taking all but 1,000 cells: " << queued << " bytes");
  BOOST_TEST(queued <= 3 * WindowRing::kChunkCells * sizeof(std::uint64_t) + 4096);
  // Around the ring several times with ~1,000 cells queued: still a few chunks.
  std::size_t missing = 0;
  for (std::uint32_t i = 0; i < 4'500'000; ++i) {
    ring.append(Cell(i, i + 1));
    missing += ring.pop() == 0 ? 1 : 0;
  }
  BOOST_TEST(missing == 0u);
  BOOST_TEST(ring.memory_bytes() <= 3 * WindowRing::kChunkCells * sizeof(std::uint64_t) + 4096);
  ring.clear();
  BOOST_TEST(ring.pop() == 0u);
}

BOOST_AUTO_TEST_CASE(cells_of_a_thread_that_stopped_are_taken_by_the_others) {
  WindowRing ring;
  ring.reserve(4096);
  std::thread other([&ring] {
    for (std::uint32_t i = 0; i < 1000; ++i) ring.append(Cell(i, i + 1));
  });
  other.join();
  for (std::uint32_t i = 0; i < 1000; ++i) BOOST_TEST_REQUIRE(ring.pop() == Cell(i, i + 1));
  BOOST_TEST(ring.pop() == 0u);
}

// Issue 11: the ring of 2 * max_size cells was allocated when ADAPTIVE was activated.
BOOST_AUTO_TEST_CASE(an_activated_adaptive_policy_of_a_million_entries_costs_under_256_kib) {
  cuckoocache::AdaptivePolicy policy(1'000'000, 0.7);
  policy.activate(1'000'000);
  BOOST_TEST_MESSAGE("AdaptivePolicy(1M), activated, empty: " << policy.memory_bytes() << " bytes");
  BOOST_TEST(policy.memory_bytes() < 256u * 1024u);
}

BOOST_AUTO_TEST_SUITE_END()
