// WindowRing: ADAPTIVE's window queue, a lock-free FIFO of 64-bit cells striped by thread,
// whose memory follows the cells queued in it.
//
// ADAPTIVE (policies/adaptive.h) queues every window entry as one cell (slot, insert tick) and
// takes its oldest cell when the window overflows. One shared ring made every insert write
// the same three cache lines from every thread (the head index, the cell line at the head and
// the cursor) and its writes did not scale past one thread. Here each thread appends to its
// own stripe (thread_index() modulo the stripe count) and takes from its own stripe first, so
// in the steady state a thread writes only lines no other thread touches. A stripe is a ring
// with a head (next cell to fill, advanced with fetch_add) and a cursor (oldest cell not yet
// taken, advanced with CAS, so any thread may take from any stripe). To keep the stripes
// draining at the same pace (a thread that rarely inserts would otherwise keep its window
// entries forever), every 8th take of a thread compares its stripe's oldest cell with the next
// stripe's (round robin) and takes the older; a thread whose stripe is empty takes from the
// others. A single thread uses one stripe: the order is exactly FIFO, as it was.
//
// A taken cell is zeroed, so a zero cell below the head means its writer has claimed it but not
// filled it yet: the cursor waits for it, unless the head is kStallCells further on (a writer
// preempted for that long): then the cell is skipped and its entry, never taken, is treated as
// lost (AdaptivePolicy::lost_after). A stripe whose head runs a whole ring ahead of its cursor
// lets its cursor jump (the overwritten cells are lost the same way).
//
// Memory: the stripes' cells are one reservation of address space (ReservedArray: pages cost
// nothing until written and read as zeros), so an empty cache pays for none of it. In rings of
// at least kReleaseMinChunks chunks, the thread whose take moves a cursor past the end of a
// chunk gives that chunk's pages back (release_pages; they read as zeros again, i.e. as taken
// cells), so a ring holds about as many resident cells as are queued in it (the window plus
// entries used while queued, rounded up to chunks), not its whole length. Smaller rings (caches
// below about 8k entries) keep their pages once written: at most 128 KiB per stripe.
//
// Cells are plain 64-bit words accessed through std::atomic_ref (the mapping's zero pages are
// valid words; atomics would need constructing, i.e. writing, every page up front).
#pragma once

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <thread>

#include "../engine/page_allocator.h"
#include "../engine/thread_index.h"

namespace cuckoocache {

class WindowRing {
 public:
  static constexpr std::size_t kMaxStripes = 8;
  // A zero cell this far below its stripe's head is skipped rather than waited for.
  static constexpr std::uint64_t kStallCells = 1024;
  static constexpr std::size_t kChunkCells = 8192;  // 64 KiB of cells given back at once
  static constexpr std::size_t kReleaseMinChunks = 2;

  WindowRing() = default;
  WindowRing(const WindowRing&) = delete;
  WindowRing& operator=(const WindowRing&) = delete;

  // Reserves `cells` cells (rounded up to a power of two, at least 64) per stripe, for as many
  // stripes as the hardware runs threads (1..kMaxStripes). Once, before any append; the caller
  // serialises it. Throws std::bad_alloc if the address space cannot be reserved.
  void reserve(std::size_t cells) {
    if (ready()) return;
    const std::size_t per_stripe = std::bit_ceil(std::max<std::size_t>(cells, 64));
    const std::size_t hw = std::max(1u, std::thread::hardware_concurrency());
    const std::size_t stripes = std::bit_ceil(std::min(hw, kMaxStripes));
    cells_ = ReservedArray<std::uint64_t>(per_stripe * stripes);
    stripe_storage_ = std::make_unique<Stripe[]>(stripes);
    for (std::size_t i = 0; i < stripes; ++i)
      stripe_storage_[i].base = cells_.get() + i * per_stripe;
    mask_ = per_stripe - 1;
    stripe_mask_ = stripes - 1;
    release_ = per_stripe >= kReleaseMinChunks * kChunkCells;
    stripes_.store(stripe_storage_.get(), std::memory_order_release);
  }

  [[nodiscard]] bool ready() const noexcept {
    return stripes_.load(std::memory_order_acquire) != nullptr;
  }

  // Cells per stripe (0 before reserve()).
  [[nodiscard]] std::size_t cells() const noexcept { return ready() ? mask_ + 1 : 0; }

  // Queues `item` (never 0) in the calling thread's stripe. Requires ready().
  void append(std::uint64_t item) noexcept {
    Stripe& s = stripes_.load(std::memory_order_acquire)[thread_index() & stripe_mask_];
    const std::uint64_t pos = s.head.fetch_add(1, std::memory_order_relaxed);
    std::atomic_ref<std::uint64_t>(s.base[pos & mask_]).store(item, std::memory_order_release);
  }

  // Takes the oldest cell of the calling thread's stripe (every 8th call, of the older of it
  // and the next stripe in turn; if it is empty, of any other) and returns its item, or 0 if
  // nothing can be taken now (or before reserve()).
  [[nodiscard]] std::uint64_t pop() noexcept {
    Stripe* stripes = stripes_.load(std::memory_order_acquire);
    if (stripes == nullptr) return 0;
    const std::uint32_t me = thread_index();
    Stripe& own = stripes[me & stripe_mask_];
    if (stripe_mask_ != 0) {
      thread_local std::uint32_t turn = 0;
      if ((++turn & 7) == 0) {
        Stripe& other = stripes[(me + 1 + (turn >> 3) % stripe_mask_) & stripe_mask_];
        if (&other != &own && Older(other, own)) {
          if (const std::uint64_t item = PopFrom(other)) return item;
        }
      }
    }
    if (const std::uint64_t item = PopFrom(own)) return item;
    for (std::size_t i = 1; i <= stripe_mask_; ++i) {
      if (const std::uint64_t item = PopFrom(stripes[(me + i) & stripe_mask_])) return item;
    }
    return 0;
  }

  // Forgets every queued cell (their entries' window bits are the caller's business) and gives
  // back the pages of cells no append can be writing.
  void clear() noexcept {
    Stripe* stripes = stripes_.load(std::memory_order_acquire);
    if (stripes == nullptr) return;
    for (std::size_t i = 0; i <= stripe_mask_; ++i) {
      Stripe& s = stripes[i];
      const std::uint64_t head = s.head.load(std::memory_order_relaxed);
      s.cursor.store(head, std::memory_order_relaxed);
      if (!release_) continue;
      // Every chunk but the head's and the next one (appends in flight write there).
      const std::uint64_t keep = head & ~std::uint64_t{kChunkCells - 1};
      for (std::uint64_t c = keep + 2 * kChunkCells; c < keep + mask_ + 1; c += kChunkCells) {
        ReleaseChunk(s, c);
      }
    }
  }

  // Bytes of cells resident (an estimate: what has been written and not given back) plus the
  // stripe headers.
  [[nodiscard]] std::size_t memory_bytes() const noexcept {
    const Stripe* stripes = stripes_.load(std::memory_order_acquire);
    if (stripes == nullptr) return 0;
    std::size_t cells = 0;
    for (std::size_t i = 0; i <= stripe_mask_; ++i) {
      const std::uint64_t head = stripes[i].head.load(std::memory_order_relaxed);
      const std::uint64_t cursor = stripes[i].cursor.load(std::memory_order_relaxed);
      if (head == 0) continue;
      if (!release_) {
        cells += static_cast<std::size_t>(std::min<std::uint64_t>(head, mask_ + 1));
        continue;
      }
      const std::uint64_t lo = std::min(cursor, head) & ~std::uint64_t{kChunkCells - 1};
      const std::uint64_t hi = (head + kChunkCells - 1) & ~std::uint64_t{kChunkCells - 1};
      cells += static_cast<std::size_t>(std::min<std::uint64_t>(hi - lo, mask_ + 1));
    }
    return cells * sizeof(std::uint64_t) + (stripe_mask_ + 1) * sizeof(Stripe);
  }

 private:
  struct alignas(kCacheLine) Stripe {
    std::atomic<std::uint64_t> head{0};  // next cell to fill
    std::uint64_t* base = nullptr;       // this stripe's cells (set before publication)
    alignas(kCacheLine) std::atomic<std::uint64_t> cursor{0};  // oldest cell not yet taken
  };

  [[nodiscard]] std::uint64_t Oldest(const Stripe& s) const noexcept {
    const std::uint64_t c = s.cursor.load(std::memory_order_relaxed);
    if (c >= s.head.load(std::memory_order_relaxed)) return 0;
    return std::atomic_ref<std::uint64_t>(s.base[c & mask_]).load(std::memory_order_relaxed);
  }

  // Whether stripe a's oldest cell was queued before stripe b's (b empty: a non-empty a is).
  [[nodiscard]] bool Older(const Stripe& a, const Stripe& b) const noexcept {
    const std::uint64_t x = Oldest(a);
    if (x == 0) return false;
    const std::uint64_t y = Oldest(b);
    if (y == 0) return true;
    // The low 32 bits of a cell are the insert tick (AdaptivePolicy's encoding), 32-bit wrapped.
    return static_cast<std::int32_t>(static_cast<std::uint32_t>(x) -
                                     static_cast<std::uint32_t>(y)) < 0;
  }

  std::uint64_t PopFrom(Stripe& s) noexcept {
    for (int races = 0; races < 64; ++races) {
      std::uint64_t c = s.cursor.load(std::memory_order_acquire);
      const std::uint64_t head = s.head.load(std::memory_order_acquire);
      if (c >= head) return 0;
      if (head - c > mask_) {  // cells this old were overwritten
        s.cursor.compare_exchange_weak(c, head - mask_, std::memory_order_acq_rel);
        continue;
      }
      std::atomic_ref<std::uint64_t> cell(s.base[c & mask_]);
      std::uint64_t item = cell.load(std::memory_order_acquire);
      // A zero cell below the head: its writer has claimed it but not filled it yet.
      if (item == 0 && head - c <= kStallCells) return 0;
      if (!s.cursor.compare_exchange_weak(c, c + 1, std::memory_order_acq_rel)) continue;
      if (item != 0) cell.compare_exchange_strong(item, 0, std::memory_order_relaxed);
      // Past the end of a chunk whose next lap no append can reach yet: give its pages back.
      if (release_ && ((c + 1) & (kChunkCells - 1)) == 0 &&
          head - (c + 1) + 2 * kChunkCells <= mask_ + 1) {
        ReleaseChunk(s, c + 1 - kChunkCells);
      }
      if (item != 0) return item;
    }
    return 0;
  }

  void ReleaseChunk(Stripe& s, std::uint64_t first) noexcept {
    release_pages(&s.base[first & mask_], kChunkCells * sizeof(std::uint64_t));
  }

  ReservedArray<std::uint64_t> cells_;
  std::unique_ptr<Stripe[]> stripe_storage_;
  std::size_t mask_ = 0;         // cells per stripe - 1 (set before publication)
  std::size_t stripe_mask_ = 0;  // stripes - 1 (set before publication)
  bool release_ = false;         // whether chunks are given back (set before publication)
  std::atomic<Stripe*> stripes_{nullptr};
};

}  // namespace cuckoocache
