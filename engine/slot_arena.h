// SlotArena: per-entry metadata in an array that eviction can sample without any lock.
//
// libcuckoo gives random access to its slots only through locked_table, which takes every
// lock. Eviction needs to look at a few random live entries on every insert at capacity, so
// each entry also owns a slot here: a 24-byte record of atomics (its mixed hash, deadline,
// last-access tick and a state word). The entry map stores the slot index beside the value.
// A free slot's hash word holds the free list's link instead (only the slot's owner writes
// the hash, and a free slot has none), so the link costs no field of its own; the use counts
// that only caches small enough to be exact keep (eviction.h's kExactMaxSize) live in a side
// array for the first kCountedSlots slots, allocated only by arenas that small (uses()).
// 24 bytes, not 32: 8 bytes less per entry at every size, paid for by a quarter of the slots
// straddling two cache lines.
//
// Sampling reads slots with relaxed loads and may see a slot mid-change; that only makes a
// worse choice, never an inconsistent removal, because removal goes back to the entry map
// under the bucket lock and removes only an entry of that hash that owns this slot. The slot's
// hash is the map key, which is what lets eviction find the entry from the slot.
//
// State word: bit 0 live, bit 1 "in the adaptive policy's window", bits 2.. generation. The
// generation advances on every release, so the sampler's pool and ADAPTIVE's window ring can
// tell that a slot they remembered was reused (wrap-around needs 2^30 reuses of one slot).
//
// Free slots sit on striped Treiber stacks (one per stripe, each head on its own cache line,
// 32-bit ABA tag beside the 32-bit index) so that threads allocating and releasing at once
// rarely touch the same head. The arena grows in chunks (the first holds the initial
// capacity, each later one doubles the total), and chunks never move, so a slot reference
// stays valid while other threads grow the arena. A chunk of at least kLazyChunkBytes only
// reserves its address space (page_allocator.h's ReservedArray) and opens a prefix of it, as
// far as the growth asked for: a cache of 100,000 entries has 100,020 slots of memory, not the
// 131,072 of the power of two (the chunk arithmetic of operator[] is unchanged).
//
// Shrinking (set_max_size to a much smaller size, issue 13.18): live slots left scattered over
// a large arena are too sparse to sample. begin_shrink(limit) sets an allocation limit (a power
// of two): from then on no slot at or above it is handed out or put on a free list; such slots
// are "parked" (a bit per slot, allocated at the first shrink) instead. The cache then moves every
// live entry above the limit to a free slot below it (engine/arena_compaction.h), and
// finish_shrink() lowers capacity() to the limit, so sampling sees a dense range again, and
// gives the parked chunks' pages back to the system (they stay mapped: a straggler that still
// reads one sees zeros, which is a free slot). grow_to() reopens parked chunks first. The limit
// is read and written with sequentially consistent operations, and free-list pushes re-check
// it inside their CAS loop, so once begin_shrink() has emptied the free lists no parked slot can
// be pushed again (its page may be zeroed under it).
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>

#include "page_allocator.h"
#include "thread_index.h"

namespace cuckoocache {

inline constexpr std::uint32_t kNoSlot = UINT32_MAX;

struct SlotState {
  static constexpr std::uint32_t kLive = 1;
  static constexpr std::uint32_t kWindow = 2;
  static constexpr std::uint32_t kGenerationStep = 4;
  static constexpr std::uint32_t kGenerationMask = ~std::uint32_t{3};
  [[nodiscard]] static constexpr bool live(std::uint32_t s) noexcept { return (s & kLive) != 0; }
  [[nodiscard]] static constexpr bool window(std::uint32_t s) noexcept {
    return (s & kWindow) != 0;
  }
  // What an entry stores to name its slot: generation and live bit, not the region.
  [[nodiscard]] static constexpr std::uint32_t identity(std::uint32_t s) noexcept {
    return s & ~kWindow;
  }
};

struct Slot {
  std::atomic<std::uint64_t> hash{0};         // free: the next free slot's index (low 32 bits)
  std::atomic<std::uint64_t> deadline_ns{0};  // 0: never expires
  std::atomic<std::uint32_t> access_tick{0};  // low 32 bits of the cache's insert tick
  std::atomic<std::uint32_t> state{0};
};
static_assert(sizeof(Slot) == 24);

class SlotArena {
 public:
  static constexpr std::size_t kStripes = 8;
  static constexpr std::size_t kMaxChunks = 32;
  // Chunks at least this large open only what growth asks for; smaller ones open at once.
  static constexpr std::size_t kLazyChunkBytes = std::size_t{64} << 10;
  // Slots that keep a use count (uses()) in arenas this small: at least eviction.h's
  // kExactMaxSlots, the largest arena an exact cache scores.
  static constexpr std::uint32_t kCountedSlots = 512;

  // The capacity starts at initial_capacity rounded up to a power of two.
  explicit SlotArena(std::size_t initial_capacity) {
    first_chunk_size_ = std::bit_ceil(std::max<std::size_t>(initial_capacity, 1));
    first_shift_ = static_cast<unsigned>(std::countr_zero(first_chunk_size_));
    add_chunk(first_chunk_size_, first_chunk_size_);
    if (first_chunk_size_ <= kCountedSlots) add_use_counts();
  }

  SlotArena(const SlotArena&) = delete;
  SlotArena& operator=(const SlotArena&) = delete;

  // Slots [0, capacity()) exist and may be sampled.
  [[nodiscard]] std::uint32_t capacity() const noexcept {
    return capacity_.load(std::memory_order_acquire);
  }

  // The first chunk holds a power of two of slots and each later one doubles the total, so the
  // chunk of an index is one bit scan away: index >> log2(first chunk) is 0 in chunk 0 and in
  // [2^(c-1), 2^c) in chunk c. Branch-free, so it inlines wherever slots are read.
  [[nodiscard]] Slot& operator[](std::uint32_t index) const noexcept {
    const auto chunk = static_cast<std::size_t>(std::bit_width(index >> first_shift_));
    return chunk_ptrs_[chunk].load(std::memory_order_acquire)[index - chunk_starts_[chunk]];
  }

  // Calls fn(index, slot) for every slot in [0, capacity()), chunk by chunk (no per-slot chunk
  // lookup): for walks over a whole arena.
  template <class F>
  void for_each_slot(F&& fn) const noexcept {
    const std::uint32_t capacity = this->capacity();
    std::uint32_t begin = 0;
    for (std::size_t chunk = 0; begin < capacity; ++chunk) {
      const Slot* base = chunk_ptrs_[chunk].load(std::memory_order_acquire);
      const auto end = static_cast<std::uint32_t>(
          std::min<std::size_t>(chunk_ends_[chunk].load(std::memory_order_relaxed), capacity));
      for (std::uint32_t i = begin; i < end; ++i) fn(i, base[i - begin]);
      begin = end;
    }
  }

  // The use count of slot `index` (uses since its entry's insertion; publish() sets it to 1),
  // or nullptr when this arena keeps none for it: counts exist for the first kCountedSlots
  // slots of an arena that was that small when built or was shrunk that small, which covers
  // every arena an exact cache scores. Like the slot's other fields, a count may be bumped by
  // a hit that raced the entry's removal.
  [[nodiscard]] std::atomic<std::uint32_t>* uses(std::uint32_t index) const noexcept {
    std::atomic<std::uint32_t>* counts = use_counts_.load(std::memory_order_acquire);
    return counts != nullptr && index < kCountedSlots ? counts + index : nullptr;
  }

  // The use counts of slots [0, kCountedSlots), or nullptr (see uses()): for walks.
  [[nodiscard]] const std::atomic<std::uint32_t>* use_counts() const noexcept {
    return use_counts_.load(std::memory_order_acquire);
  }

  // A free slot, or kNoSlot when every slot is taken. Lock-free.
  [[nodiscard]] std::uint32_t try_allocate() noexcept {
    const std::size_t home = thread_index() % kStripes;
    for (std::size_t i = 0; i < kStripes; ++i) {
      for (;;) {
        const std::uint32_t slot = pop((home + i) % kStripes);
        if (slot == kNoSlot) break;
        // Only a slot pushed before begin_shrink() emptied the lists can be above the limit.
        if (slot < limit_.load(std::memory_order_seq_cst)) [[likely]] {
          return slot;
        }
        park(slot);
      }
    }
    return kNoSlot;
  }

  // The allocation limit: slots at or above it are parked (never handed out); kNoSlot when the
  // arena is not shrunk. A writer that took a slot before begin_shrink() lowered the limit finds
  // out here after its entry is in the map (sequentially consistent with the publish, so either
  // the writer sees the new limit or the compaction sees its slot live) and moves it.
  [[nodiscard]] std::uint32_t allocation_limit() const noexcept {
    return limit_.load(std::memory_order_seq_cst);
  }

  // The power of two at or above `slots`: the capacity a fresh arena for that many slots has
  // (every chunk boundary is a power of two, so this is one too when it is not inside the
  // first chunk).
  [[nodiscard]] static std::uint32_t boundary_at_or_above(std::size_t slots) noexcept {
    return static_cast<std::uint32_t>(
        std::bit_ceil(std::clamp<std::size_t>(slots, 1, std::size_t{1} << 31)));
  }

  // Starts shrinking the arena to [0, limit) (a power of two below the capacity; see the top of
  // this file): sets the allocation limit and takes every slot at or above it off the free
  // lists. Returns false (nothing done) if `limit` is not below the current allocation range.
  // Serialised with growth; not for hot paths.
  bool begin_shrink(std::uint32_t limit) {
    std::lock_guard<std::mutex> guard(grow_mutex_);
    if (limit >= std::min(capacity_.load(std::memory_order_relaxed), limit_.load()) ||
        limit != boundary_at_or_above(limit)) {
      return false;
    }
    if (limit <= kCountedSlots && !use_counts_.load(std::memory_order_relaxed)) {
      add_use_counts();
    }
    if (!parked_) {
      parked_ = std::make_unique<ParkedBits>();
      parked_bytes_.store(sizeof(ParkedBits), std::memory_order_relaxed);
      for (std::size_t chunk = 0; chunk < chunks_; ++chunk)
        add_parked_bits(chunk, reserved_size(chunk));
    }
    limit_.store(limit, std::memory_order_seq_cst);
    for (std::size_t stripe = 0; stripe < kStripes; ++stripe) {
      // Detach the whole stack (the tag changes, so a racing pop's CAS fails), then put back
      // the slots below the limit and park the others.
      auto& head = heads_[stripe].word;
      std::uint64_t cur = head.load(std::memory_order_seq_cst);
      while (!head.compare_exchange_weak(cur,
                                         pack(static_cast<std::uint32_t>(cur >> 32) + 1, kNoSlot),
                                         std::memory_order_seq_cst, std::memory_order_seq_cst)) {
      }
      for (auto index = static_cast<std::uint32_t>(cur); index != kNoSlot;) {
        const auto next =
            static_cast<std::uint32_t>((*this)[index].hash.load(std::memory_order_relaxed));
        if (index < limit) {
          push(stripe, index);
        } else {
          park(index);
        }
        index = next;
      }
    }
    return true;
  }

  // Ends a shrink once no live slot is left at or above the limit: capacity() becomes the limit
  // and the parked chunks' pages go back to the system. Returns false if no shrink is pending.
  bool finish_shrink() {
    std::lock_guard<std::mutex> guard(grow_mutex_);
    const std::uint32_t limit = limit_.load();
    if (limit >= capacity_.load(std::memory_order_relaxed)) return false;
    capacity_.store(limit, std::memory_order_release);
    const std::size_t first = chunk_of(limit);  // holds the limit, maybe not at its start
    const std::uint32_t skip = limit - chunk_starts_[first];
    release_pages(chunk_ptrs_[first].load(std::memory_order_relaxed) + skip,
                  (chunk_size(first) - skip) * sizeof(Slot));
    for (std::size_t chunk = first + 1; chunk < chunks_; ++chunk) {
      release_pages(chunk_ptrs_[chunk].load(std::memory_order_relaxed),
                    chunk_size(chunk) * sizeof(Slot));
    }
    return true;
  }

  // Marks the slot live with a fresh generation and the given metadata. Call before the entry
  // becomes visible in the map.
  void publish(std::uint32_t index, std::uint64_t hash, std::uint64_t deadline_ns,
               std::uint32_t tick, bool window) noexcept {
    Slot& s = (*this)[index];
    s.hash.store(hash, std::memory_order_relaxed);
    s.deadline_ns.store(deadline_ns, std::memory_order_relaxed);
    s.access_tick.store(tick, std::memory_order_relaxed);
    if (std::atomic<std::uint32_t>* count = uses(index)) [[unlikely]] {
      count->store(1, std::memory_order_relaxed);
    }
    const std::uint32_t old = s.state.load(std::memory_order_relaxed);
    const std::uint32_t fresh = ((old & SlotState::kGenerationMask) + SlotState::kGenerationStep) |
                                SlotState::kLive | (window ? SlotState::kWindow : 0);
    // Sequentially consistent, not just release: a shrink that lowers the limit and then looks
    // for live slots above it, and the writer that re-reads the limit after inserting its entry,
    // must not both miss each other (see allocation_limit()). One locked store per insert.
    s.state.store(fresh, std::memory_order_seq_cst);
  }

  // Ends the slot's current life (its identity no longer matches anything) and frees it.
  // Returns the state it had, so the caller can tell which region it left. Only the thread
  // that removed the slot's entry from the map (or that never inserted it) may call this.
  std::uint32_t release(std::uint32_t index) noexcept {
    Slot& s = (*this)[index];
    const std::uint32_t old = s.state.load(std::memory_order_relaxed);
    std::uint32_t expected = old;
    // The region bit may be cleared concurrently by a promotion; retry until our view is exact.
    while (!s.state.compare_exchange_weak(
        expected, (expected & SlotState::kGenerationMask) + SlotState::kGenerationStep,
        std::memory_order_acq_rel, std::memory_order_relaxed)) {
    }
    push(thread_index() % kStripes, index);
    return expected;
  }

  // Makes at least `wanted` slots allocatable: reopens parked chunks (after a shrink) first,
  // then adds chunks. Serialised by an internal mutex; never moves existing slots. Not for hot
  // paths.
  void grow_to(std::size_t wanted) {
    std::lock_guard<std::mutex> guard(grow_mutex_);
    for (;;) {
      const std::uint32_t limit = limit_.load();
      const std::uint32_t capacity = capacity_.load(std::memory_order_relaxed);
      if (std::min(limit, capacity) >= wanted) return;
      if (limit != kNoSlot) {
        // Reopen the chunk holding the limit: raise the limit past it (sequentially consistent
        // with park()'s re-check), then hand its parked slots back to the free lists.
        const std::size_t chunk = chunk_of(limit);
        const auto end = static_cast<std::uint32_t>(chunk_ends_[chunk].load());
        limit_.store(chunk + 1 == chunks_ ? kNoSlot : end, std::memory_order_seq_cst);
        if (capacity < end) capacity_.store(end, std::memory_order_release);
        unpark_chunk(chunk);
        continue;
      }
      const std::size_t last = chunks_ - 1;
      const std::size_t reserved_end = chunk_starts_[last] + reserved_size(last);
      if (chunk_ends_[last].load(std::memory_order_relaxed) < reserved_end) {
        open_slots(last, std::min(wanted, reserved_end));
        continue;
      }
      if (chunks_ == kMaxChunks) return;
      add_chunk(std::size_t{capacity}, wanted);
    }
  }

  // Bytes of the slots in use (a shrunk arena's parked chunks hold no pages, a lazy chunk's
  // unopened tail none either) and of the parked bits; not the object itself, which its owner
  // (the cache) counts.
  [[nodiscard]] std::size_t memory_bytes() const noexcept {
    return std::size_t{capacity()} * sizeof(Slot) + parked_bytes_.load(std::memory_order_relaxed) +
           (use_counts_.load(std::memory_order_relaxed) != nullptr ? sizeof(UseCounts) : 0);
  }

 private:
  static constexpr std::uint64_t pack(std::uint32_t tag, std::uint32_t index) noexcept {
    return (std::uint64_t{tag} << 32) | index;
  }

  std::uint32_t pop(std::size_t stripe) noexcept {
    auto& head = heads_[stripe].word;
    std::uint64_t cur = head.load(std::memory_order_acquire);
    for (;;) {
      const auto index = static_cast<std::uint32_t>(cur);
      if (index == kNoSlot) return kNoSlot;
      // The link of a free slot (see Slot::hash); garbage if a racing pop took the slot, in
      // which case the tag has moved on and the CAS below fails.
      const auto next =
          static_cast<std::uint32_t>((*this)[index].hash.load(std::memory_order_relaxed));
      const auto tag = static_cast<std::uint32_t>(cur >> 32) + 1;
      if (head.compare_exchange_weak(cur, pack(tag, next), std::memory_order_acquire,
                                     std::memory_order_acquire)) {
        return index;
      }
    }
  }

  // Pushes a free slot, or parks it if it is at or above the limit. The limit is re-read on
  // every attempt, after the head: a push that read the head before begin_shrink() detached it
  // fails its CAS and then sees the new limit.
  void push(std::size_t stripe, std::uint32_t index) noexcept {
    auto& head = heads_[stripe].word;
    Slot& s = (*this)[index];
    std::uint64_t cur = head.load(std::memory_order_seq_cst);
    for (;;) {
      if (index >= limit_.load(std::memory_order_seq_cst)) [[unlikely]] {
        park(index);
        return;
      }
      s.hash.store(static_cast<std::uint32_t>(cur), std::memory_order_relaxed);  // the link
      const auto tag = static_cast<std::uint32_t>(cur >> 32) + 1;
      if (head.compare_exchange_weak(cur, pack(tag, index), std::memory_order_seq_cst,
                                     std::memory_order_seq_cst)) {
        return;
      }
    }
  }

  // Caller holds grow_mutex_ or is the constructor. Published (release) before the caller
  // lowers the limit or hands out a slot, so every later reader of a counted slot sees it.
  void add_use_counts() {
    use_counts_owner_ = std::make_unique<UseCounts>();
    use_counts_.store(use_counts_owner_->data(), std::memory_order_release);
  }

  // Caller holds grow_mutex_.
  void add_parked_bits(std::size_t chunk, std::size_t slots) {
    parked_->bits[chunk] = HugePageArray<std::atomic<std::uint64_t>>((slots + 63) / 64);
    parked_bytes_.fetch_add((slots + 63) / 64 * 8, std::memory_order_relaxed);
  }

  // Which chunk holds `index` (see operator[]).
  [[nodiscard]] std::size_t chunk_of(std::uint32_t index) const noexcept {
    return static_cast<std::size_t>(std::bit_width(index >> first_shift_));
  }
  [[nodiscard]] std::size_t chunk_size(std::size_t chunk) const noexcept {
    return chunk_ends_[chunk].load(std::memory_order_relaxed) - chunk_starts_[chunk];
  }

  // Marks a free slot at or above the limit as parked. If the limit rose meanwhile (grow_to()
  // reopened its chunk), takes the mark back and frees the slot; exactly one of this call and
  // grow_to()'s unpark_chunk() claims a mark, so a slot is never pushed twice.
  void park(std::uint32_t index) noexcept {
    const std::size_t chunk = chunk_of(index);
    const std::uint32_t offset = index - chunk_starts_[chunk];
    auto& word = parked_->bits[chunk][offset / 64];
    const std::uint64_t bit = std::uint64_t{1} << (offset % 64);
    word.fetch_or(bit, std::memory_order_seq_cst);
    if (index < limit_.load(std::memory_order_seq_cst) &&
        (word.fetch_and(~bit, std::memory_order_seq_cst) & bit) != 0) {
      push(thread_index() % kStripes, index);
    }
  }

  // Frees every parked slot of `chunk` (grow_to(), after raising the limit past it).
  void unpark_chunk(std::size_t chunk) noexcept {
    const std::size_t size = chunk_size(chunk);
    const std::uint32_t start = chunk_starts_[chunk];
    for (std::size_t w = 0; w < (size + 63) / 64; ++w) {
      std::uint64_t bits = parked_->bits[chunk][w].exchange(0, std::memory_order_seq_cst);
      while (bits != 0) {
        const auto bit = static_cast<std::uint32_t>(std::countr_zero(bits));
        bits &= bits - 1;
        push(w % kStripes, start + static_cast<std::uint32_t>(w * 64) + bit);
      }
    }
  }

  // Adds a chunk of `size` slots (the total so far: the doubling) and opens it up to `wanted`
  // slots in all (the whole chunk if it is small). Caller holds grow_mutex_ or is the
  // constructor.
  void add_chunk(std::size_t size, std::size_t wanted) {
    const std::uint32_t start = capacity_.load(std::memory_order_relaxed);
    size = std::min<std::size_t>(size, std::size_t{kNoSlot - 1} - start);
    if (size == 0) return;
    const bool lazy = size * sizeof(Slot) >= kLazyChunkBytes;
    if (lazy) {
      reserved_[chunks_] = ReservedArray<Slot>(size);
    } else {
      owned_[chunks_] = HugePageArray<Slot>(size);
    }
    if (parked_) add_parked_bits(chunks_, size);
    chunk_starts_[chunks_] = start;  // published by the release stores below
    chunk_ends_[chunks_].store(start, std::memory_order_relaxed);
    chunk_ptrs_[chunks_].store(lazy ? reserved_[chunks_].get() : owned_[chunks_].get(),
                               std::memory_order_release);
    ++chunks_;
    open_slots(chunks_ - 1,
               lazy ? std::clamp<std::size_t>(wanted, start + 1, start + size) : start + size);
  }

  // Opens the slots of chunk `chunk` (the last one) from its current end to `end`: constructs
  // them if the chunk is lazy, makes them part of capacity() and spreads them over the free
  // lists' stripes in contiguous runs, lowest index on top. Caller holds grow_mutex_ or is the
  // constructor.
  void open_slots(std::size_t chunk, std::size_t end) {
    const std::size_t begin = chunk_ends_[chunk].load(std::memory_order_relaxed);
    if (end <= begin) return;
    const std::uint32_t start = chunk_starts_[chunk];
    if (reserved_[chunk]) reserved_[chunk].open(begin - start, end - start);
    chunk_ends_[chunk].store(end, std::memory_order_relaxed);
    capacity_.store(static_cast<std::uint32_t>(end), std::memory_order_release);
    const std::size_t size = end - begin;
    const std::size_t per_stripe = (size + kStripes - 1) / kStripes;
    for (std::size_t stripe = 0; stripe < kStripes; ++stripe) {
      const std::size_t lo = begin + stripe * per_stripe;
      const std::size_t hi = std::min(end, lo + per_stripe);
      for (std::size_t i = hi; i > lo; --i) push(stripe, static_cast<std::uint32_t>(i - 1));
    }
  }

  // Slots the chunk may hold (a small chunk opens them all at once).
  [[nodiscard]] std::size_t reserved_size(std::size_t chunk) const noexcept {
    return reserved_[chunk] ? reserved_[chunk].size() : chunk_size(chunk);
  }

  struct alignas(kCacheLine) Head {
    std::atomic<std::uint64_t> word{pack(0, kNoSlot)};
  };

  std::size_t first_chunk_size_ = 0;  // a power of two
  unsigned first_shift_ = 0;          // log2(first_chunk_size_)
  std::array<Head, kStripes> heads_{};
  std::atomic<std::uint32_t> capacity_{0};
  std::array<std::atomic<Slot*>, kMaxChunks> chunk_ptrs_{};
  std::array<std::uint32_t, kMaxChunks> chunk_starts_{};           // first index of each chunk
  std::array<std::atomic<std::size_t>, kMaxChunks> chunk_ends_{};  // one past each opened slot
  std::array<HugePageArray<Slot>, kMaxChunks> owned_{};            // small chunks
  std::array<ReservedArray<Slot>, kMaxChunks> reserved_{};         // lazy chunks (kLazyChunkBytes)
  // A bit per slot, allocated by the first begin_shrink() (grow_mutex_), before it lowers the
  // limit: a thread that parks a slot has seen the lowered limit, so it sees the bits too.
  struct ParkedBits {
    std::array<HugePageArray<std::atomic<std::uint64_t>>, kMaxChunks> bits;
  };
  std::unique_ptr<ParkedBits> parked_;
  using UseCounts = std::array<std::atomic<std::uint32_t>, kCountedSlots>;
  std::unique_ptr<UseCounts> use_counts_owner_;  // small arenas only (uses())
  std::atomic<std::atomic<std::uint32_t>*> use_counts_{nullptr};
  std::atomic<std::size_t> parked_bytes_{0};
  std::atomic<std::uint32_t> limit_{kNoSlot};  // the allocation limit (see the top of this file)
  std::size_t chunks_ = 0;                     // grow_mutex_
  std::atomic<std::size_t> published_{0};      // chunks readers may use (== chunks_)
  std::mutex grow_mutex_;
};

}  // namespace cuckoocache
