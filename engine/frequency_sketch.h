// FrequencySketch: a lock-free 4-bit count-min sketch with periodic aging (TinyLFU).
//
// What it does
// ------------
// Estimates how often each key was seen recently, up to a maximum of 15, so the admission policy
// can compare a candidate against an eviction victim (TinyLFU). Keys are identified by a 64-bit
// hash that the caller has already mixed; the sketch re-spreads it once more (as Caffeine does)
// to defend against a weak caller hash and to derive independent bits for the block and for each
// of the four rows.
//
// Layout (Caffeine's block layout)
// --------------------------------
// The table is an array of 64-bit words, each holding sixteen 4-bit counters. Its length is
// max_size rounded up to a power of two (at least 8 words, at most 2^30), grouped into 64-byte,
// 64-byte-aligned blocks of 8 words. A key hashes to one block; row i (0..3) owns words 2i and
// 2i+1 of that block and the key picks one of those 32 counters with 5 bits of a second hash.
// All four of a key's counters therefore live in one cache line: an increment or an estimate
// touches exactly one line instead of four random ones. The price is slightly less independence
// between rows than the textbook sketch (two keys that share a block collide per row with
// probability 1/32 instead of 1/width), which Caffeine measured to be negligible.
//
// Memory: 8 bytes (16 counters, 4 per row) per max_size entry before rounding, so 8..16 bytes per
// entry; max_size 1M costs 8 MiB, max_size 128 costs 1 KiB. Plus the addition-counter stripes
// (two 64-byte stripes per hardware thread, clamped to 8..64, i.e. 512 B..4 KiB) and the object.
//
// Error bound
// -----------
// With depth d = 4 and per-row width w = 4 * table_words counters, count-min guarantees
// estimate <= true + e * N / w with probability 1 - 2^-4 = 93.75% (Caffeine's figure), where N is
// the number of increments in the current window. Estimates never undercount except through
// saturation at 15, aging, and the benign races listed below. Since aging bounds N to about
// reset_period = 10 * max_size and w >= 4 * max_size, the average per-row over-count is at most
// about 2.5 before taking the minimum of four rows; in practice distinct keys in a properly sized
// sketch almost always read back exactly (see tests/engine/frequency_sketch_test.cpp).
//
// Aging
// -----
// Every successful increment (one that changed at least one counter; a key whose four counters
// are all at 15 is not counted) is counted. When the count reaches reset_period() = 10 *
// max_size, every counter is halved with Caffeine's `(x >> 1) & 0x7777...` and the count becomes
// (count - odd_counters / 4) / 2, so recent history outweighs old history and the next halving
// comes after a little more than half a period.
//
// Concurrency
// -----------
// No locks. All table accesses are relaxed atomics on 64-bit words; no other memory is published
// through the sketch, so no ordering is needed.
//  * increment(): per counter, a relaxed load; if the nibble is already 15 nothing is written at
//    all, so a hot, saturated key only reads its cache line and the line stays shared between
//    cores instead of bouncing. Otherwise a relaxed store of the loaded word plus 1 << shift:
//    the stored word is always one whose nibbles are all in 0..15, so a nibble never carries
//    into its neighbour however threads interleave. (fetch_add is never safe here: two threads
//    could both see 14.) No atomic read-modify-write and no fence: a store that races with
//    another thread's store to the same word loses that thread's count, as in Caffeine, whose
//    sketch uses plain writes. Counts are estimates anyway; the race needs two threads writing
//    the same 16 counters within a few nanoseconds, and hot keys saturate and stop writing.
//  * Addition counting: each thread adds to one of several cache-line-padded stripe counters
//    chosen by thread_index() (a load and a store); every 16th addition on a stripe folds 16
//    into the shared total with one fetch_add, so the shared line is written once per 16
//    successful increments instead of on every one.
//    Up to 15 additions per stripe may be pending when the period is checked, so halving can
//    happen slightly later than exactly reset_period (tiny sketches fold every addition).
//  * Halving: the thread whose fold makes the total reach the period tries to claim a flag with a
//    CAS; exactly one thread wins, re-checks the total and starts a halving. A halving is done in
//    pieces of kAgingChunkBlocks blocks (32 KiB, microseconds), one per fold while it is in
//    progress, so no increment pays for halving a large table (a 1M-entry sketch took up to
//    10 ms inline, issue 13.25); a 1M-entry sketch finishes within ~4k increments of its
//    10M-increment period. The last piece subtracts the halved amount from the total (keeping
//    additions that arrived meanwhile). Others skip and carry on.
//    The halving rewrites each word with a relaxed load + store, so an
//    increment that lands on a word between the two is lost, and one that read the word before
//    the halving's store and stores after it undoes the halving of that word's 16 counters for
//    this period. Both only cost accuracy and never corrupt a counter: every value ever stored
//    has all nibbles in 0..15.
//  * estimate() may observe a key's four words at slightly different moments (e.g. half-way
//    through a halving); the minimum is then off by a little for that one call.
//
// Shrinking (shrink_to, when set_max_size shrinks the cache): the table keeps its allocation but
// uses only its first blocks. Each block above the new size is first folded into the block that
// its keys map to under the smaller mask (the counter inside a block does not depend on the
// mask), taking the larger nibble, so no estimate drops; then the smaller mask is published
// and the upper blocks' pages are given back to the system (they stay mapped: an increment or
// estimate that still used the old mask touches zeros there, costing one count). The reset
// period follows the new size.
//
// The object is neither copyable nor movable (it contains atomics); hold it by value inside the
// cache or by unique_ptr.
#pragma once

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <thread>

#include "page_allocator.h"
#include "thread_index.h"

namespace cuckoocache {

class FrequencySketch {
 public:
  static constexpr unsigned kMaxCount = 15;
  static constexpr unsigned kDepth = 4;

  // max_size: the maximum number of entries of the cache (>= 1; 0 is treated as 1).
  explicit FrequencySketch(std::size_t max_size)
      : table_words_(TableWords(max_size)),
        active_words_(table_words_),
        block_mask_(table_words_ / kWordsPerBlock - 1),
        table_(table_words_ / kWordsPerBlock),
        reset_period_(ResetPeriod(max_size)),
        fold_batch_(reset_period_ >= kMinPeriodForBatching ? kFoldBatch : 1),
        stripe_count_(StripeCount()),
        stripes_(std::make_unique<Stripe[]>(stripe_count_)) {}

  FrequencySketch(const FrequencySketch&) = delete;
  FrequencySketch& operator=(const FrequencySketch&) = delete;

  // Counts one occurrence of the key. Lock-free and without atomic read-modify-writes (see
  // Concurrency); saturates at 15 per counter.
  void increment(std::uint64_t hash) noexcept {
    const std::uint64_t block_hash = Spread(hash);
    const std::uint32_t h = CounterHash(block_hash);
    Block& block = BlockOf(block_hash);
    static_assert(kDepth == 4, "unrolled by hand: one word per row");
    // `|=`, not `||`: every row is incremented.
    bool added = IncrementAt(block.words[Word(h, 0)], Shift(h, 0));
    added |= IncrementAt(block.words[Word(h, 1)], Shift(h, 1));
    added |= IncrementAt(block.words[Word(h, 2)], Shift(h, 2));
    added |= IncrementAt(block.words[Word(h, 3)], Shift(h, 3));
    if (added) RecordAddition();
  }

  // Estimated number of occurrences of the key in the current window, 0..15.
  [[nodiscard]] unsigned estimate(std::uint64_t hash) const noexcept {
    const std::uint64_t block_hash = Spread(hash);
    const std::uint32_t h = CounterHash(block_hash);
    const Block& block = BlockOf(block_hash);
    return static_cast<unsigned>(std::min(std::min(Read(block, h, 0), Read(block, h, 1)),
                                          std::min(Read(block, h, 2), Read(block, h, 3))));
  }

  // Successful increments between two halvings: 10 * max_size (saturating).
  [[nodiscard]] std::size_t reset_period() const noexcept {
    return reset_period_.load(std::memory_order_relaxed);
  }

  // Heap bytes the sketch uses (counter table in use plus addition stripes).
  [[nodiscard]] std::size_t memory_bytes() const noexcept {
    return table_words() * sizeof(std::uint64_t) + stripe_count_ * sizeof(Stripe);
  }

  // Number of 64-bit words (16 counters each) in use; a power of two >= 8.
  [[nodiscard]] std::size_t table_words() const noexcept {
    return active_words_.load(std::memory_order_relaxed);
  }

  // Resizes the sketch in place for a cache of `max_size` entries, if that needs fewer words
  // than are in use (see the top of this file). Returns whether it shrank. Not for concurrent
  // calls with itself (the cache serialises its resizes); safe with increments and estimates.
  bool shrink_to(std::size_t max_size) noexcept {
    const std::size_t words = TableWords(max_size);
    const std::size_t old_words = table_words();
    if (words >= old_words) return false;
    const std::size_t new_blocks = words / kWordsPerBlock;
    for (std::size_t b = new_blocks; b < old_words / kWordsPerBlock; ++b) {
      Block& into = table_[b & (new_blocks - 1)];
      for (std::size_t w = 0; w < kWordsPerBlock; ++w) {
        const std::uint64_t from = table_[b].words[w].load(std::memory_order_relaxed);
        if (from == 0) continue;
        std::uint64_t cur = into.words[w].load(std::memory_order_relaxed);
        while (!into.words[w].compare_exchange_weak(cur, NibbleMax(cur, from),
                                                    std::memory_order_relaxed)) {
        }
      }
    }
    block_mask_.store(new_blocks - 1, std::memory_order_relaxed);
    active_words_.store(words, std::memory_order_relaxed);
    reset_period_.store(ResetPeriod(max_size), std::memory_order_relaxed);
    release_pages(&table_[new_blocks], (old_words - words) * sizeof(std::uint64_t));
    return true;
  }

  // For a sketch the cache has replaced by a bigger one (a racing thread may still use it):
  // gives the counter table's pages back to the system while keeping them mapped, so the
  // replaced sketches a growing cache keeps cost no resident memory (5,000,000 Python entries:
  // about 7 bytes each). Its counters then read as zero; a racing increment faults a page back.
  [[gnu::cold, gnu::noinline]] void release_counters() noexcept {
    release_pages(table_.get(), table_words_ * sizeof(std::uint64_t));
  }

  // How many halvings have completed since construction. For tests/stats.
  [[nodiscard]] std::uint64_t reset_count() const noexcept {
    return resets_.load(std::memory_order_relaxed);
  }

  // Successful increments folded into the shared total since the last halving (excludes up to
  // fold_batch - 1 pending per stripe). For tests/stats.
  [[nodiscard]] std::uint64_t additions() const noexcept {
    return additions_.load(std::memory_order_relaxed);
  }

 private:
  static constexpr std::size_t kWordsPerBlock = kCacheLine / sizeof(std::uint64_t);  // 8
  static constexpr std::size_t kMinWords = kWordsPerBlock;
  static constexpr std::size_t kMaxWords = std::size_t{1} << 30;  // 8 GiB; like Caffeine's cap
  static constexpr std::uint64_t kNibble = 0xF;
  static constexpr std::uint64_t kResetMask = 0x7777777777777777ULL;
  static constexpr std::uint64_t kOneMask = 0x1111111111111111ULL;
  static constexpr std::uint32_t kFoldBatch = 16;  // power of two
  static constexpr std::size_t kMinPeriodForBatching = 1024;
  static constexpr std::size_t kAgingChunkBlocks = 512;  // 4096 words, 32 KiB per piece
  static constexpr std::size_t kMinStripes = 8;
  static constexpr std::size_t kMaxStripes = 64;

  static_assert(kCacheLine == 64, "block layout assumes 8 words per cache line");
  static_assert(std::atomic<std::uint64_t>::is_always_lock_free);

  struct alignas(kCacheLine) Block {
    std::atomic<std::uint64_t> words[kWordsPerBlock];
  };
  static_assert(sizeof(Block) == kCacheLine);

  struct alignas(kCacheLine) Stripe {
    std::atomic<std::uint32_t> pending{0};
  };

  static std::size_t TableWords(std::size_t max_size) noexcept {
    const std::size_t wanted = std::clamp<std::size_t>(max_size, kMinWords, kMaxWords);
    return std::bit_ceil(wanted);
  }

  static std::size_t ResetPeriod(std::size_t max_size) noexcept {
    max_size = std::max<std::size_t>(max_size, 1);
    constexpr std::size_t kLimit = std::numeric_limits<std::size_t>::max() / 10;
    return max_size > kLimit ? std::numeric_limits<std::size_t>::max() : 10 * max_size;
  }

  static std::size_t StripeCount() noexcept {
    const std::size_t hw = std::max(1u, std::thread::hardware_concurrency());
    return std::bit_ceil(std::clamp<std::size_t>(2 * hw, kMinStripes, kMaxStripes));
  }

  // 64-bit finalizer (murmur3 fmix64): re-spreads the caller's hash to pick the block.
  // Nibble-wise maximum of two words of 4-bit counters.
  static constexpr std::uint64_t NibbleMax(std::uint64_t a, std::uint64_t b) noexcept {
    std::uint64_t out = 0;
    for (unsigned shift = 0; shift < 64; shift += 4) {
      out |= std::max((a >> shift) & kNibble, (b >> shift) & kNibble) << shift;
    }
    return out;
  }

  static constexpr std::uint64_t Spread(std::uint64_t x) noexcept {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
  }

  // A second, cheaper round for the per-row counter selection (Caffeine's rehash).
  static constexpr std::uint64_t Rehash(std::uint64_t x) noexcept {
    x *= 0x9e3779b97f4a7c15ULL;
    x ^= x >> 29;
    return x;
  }

  // The key's counters: block_hash picks the block; byte `row` of the counter hash (the high
  // half of a second, cheaper round, independent of the block bits) picks the row's counter:
  // its bit 0 which of the row's two words, its bits 1-4 which of that word's 16 nibbles.
  [[nodiscard]] static std::uint32_t CounterHash(std::uint64_t block_hash) noexcept {
    return static_cast<std::uint32_t>(Rehash(block_hash) >> 32);
  }
  [[nodiscard]] Block& BlockOf(std::uint64_t block_hash) const noexcept {
    return table_[block_hash & block_mask_.load(std::memory_order_relaxed)];
  }
  [[nodiscard]] static constexpr std::size_t Word(std::uint32_t h, unsigned row) noexcept {
    return 2 * row + ((h >> (8 * row)) & 1);
  }
  // The nibble's bit offset in its word: ((byte >> 1) & 15) * 4, i.e. bits 1-4 of the row's
  // byte moved up one place.
  [[nodiscard]] static constexpr unsigned Shift(std::uint32_t h, unsigned row) noexcept {
    return static_cast<unsigned>(row == 0 ? h << 1 : h >> (8 * row - 1)) & 0x3C;
  }
  [[nodiscard]] static std::uint64_t Read(const Block& block, std::uint32_t h,
                                          unsigned row) noexcept {
    return (block.words[Word(h, row)].load(std::memory_order_relaxed) >> Shift(h, row)) & kNibble;
  }

  // Adds 1 to the nibble at `shift` unless it is 15. Returns whether it wrote. A relaxed load
  // and store, not a CAS: a racing write to the same word between the two is overwritten (a
  // lost count), but the stored value is the loaded one with one nibble below 15 raised by one,
  // so no nibble ever carries into its neighbour.
  static bool IncrementAt(std::atomic<std::uint64_t>& word, unsigned shift) noexcept {
    const std::uint64_t current = word.load(std::memory_order_relaxed);
    if (((current >> shift) & kNibble) == kNibble) {
      return false;  // saturated: no store, the cache line stays shared
    }
    word.store(current + (std::uint64_t{1} << shift), std::memory_order_relaxed);
    return true;
  }

  void RecordAddition() noexcept {
    // A stripe is written by the threads whose index maps to it, usually one: a load and a
    // store (a rare lost addition only delays the halving a little) instead of a fetch_add.
    Stripe& stripe = stripes_[thread_index() & (stripe_count_ - 1)];
    const std::uint32_t pending = stripe.pending.load(std::memory_order_relaxed) + 1;
    stripe.pending.store(pending, std::memory_order_relaxed);
    if ((pending & (fold_batch_ - 1)) != 0) return;  // unsigned wrap keeps batches aligned
    Fold();
  }

  // Every fold_batch_-th addition of a stripe: adds the batch to the shared total and ages the
  // table when it is due. Out of line, so that increment() itself saves no registers for it.
  [[gnu::noinline]] void Fold() noexcept {
    const std::uint64_t total =
        additions_.fetch_add(fold_batch_, std::memory_order_relaxed) + fold_batch_;
    if (total >= reset_period() || aging_next_.load(std::memory_order_relaxed) < blocks()) {
      TryReset();
    }
  }

  [[nodiscard]] std::size_t blocks() const noexcept { return table_words() / kWordsPerBlock; }

  void TryReset() noexcept {
    if (resetting_.load(std::memory_order_relaxed)) return;
    bool expected = false;
    if (!resetting_.compare_exchange_strong(expected, true, std::memory_order_acquire,
                                            std::memory_order_relaxed)) {
      return;  // another thread is halving this period
    }
    std::size_t next = aging_next_.load(std::memory_order_relaxed);
    if (next >= blocks()) {
      // Re-check under the claim: a previous owner may already have halved for this crossing.
      aging_observed_ = additions_.load(std::memory_order_relaxed);
      if (aging_observed_ < reset_period()) {
        resetting_.store(false, std::memory_order_release);
        return;
      }
      aging_odd_ = 0;
      next = 0;
    }
    const std::size_t end = std::min(blocks(), next + kAgingChunkBlocks);
    aging_odd_ += Halve(next, end);
    aging_next_.store(end, std::memory_order_relaxed);
    if (end == blocks()) {
      const std::uint64_t observed = aging_observed_;
      const std::uint64_t odd = aging_odd_;
      const std::uint64_t corrected = observed - std::min(observed, odd / 4);
      // Cap what remains at half a period: if folds piled up while a slow halving ran (many
      // threads, sanitizers), carrying them over would trigger halving after halving and
      // drain every counter.
      const std::uint64_t delta = observed - std::min(corrected / 2, reset_period() / 2);
      // Subtract rather than store so additions folded during the halving are kept (saturating,
      // for safety).
      std::uint64_t current = additions_.load(std::memory_order_relaxed);
      while (!additions_.compare_exchange_weak(current, current > delta ? current - delta : 0,
                                               std::memory_order_relaxed,
                                               std::memory_order_relaxed)) {
      }
      resets_.fetch_add(1, std::memory_order_relaxed);
    }
    resetting_.store(false, std::memory_order_release);
  }

  // Halves every counter of blocks [begin, end); returns the number of counters that were odd.
  std::uint64_t Halve(std::size_t begin, std::size_t end) noexcept {
    std::uint64_t odd = 0;
    for (std::size_t b = begin; b < end; ++b) {
      for (auto& word : table_[b].words) {
        const std::uint64_t value = word.load(std::memory_order_relaxed);
        if (value == 0) continue;  // common in sparse tables; avoids dirtying the line
        odd += static_cast<std::uint64_t>(std::popcount(value & kOneMask));
        word.store((value >> 1) & kResetMask, std::memory_order_relaxed);
      }
    }
    return odd;
  }

  // Read-mostly configuration: shares a line with nothing that is written on the hot path.
  // The table is allocated for table_words_; shrink_to() lowers the words in use.
  const std::size_t table_words_;
  std::atomic<std::size_t> active_words_;
  std::atomic<std::size_t> block_mask_;
  const HugePageArray<Block> table_;
  std::atomic<std::size_t> reset_period_;
  const std::uint32_t fold_batch_;
  const std::size_t stripe_count_;
  const std::unique_ptr<Stripe[]> stripes_;

  // Shared aging state, written once per fold_batch_ successful increments.
  alignas(kCacheLine) std::atomic<std::uint64_t> additions_{0};
  std::atomic<bool> resetting_{false};
  std::atomic<std::uint64_t> resets_{0};
  // The halving in progress: next block to halve (blocks() when none is in progress), and,
  // guarded by resetting_, the total it started from and the odd counters it met so far.
  std::atomic<std::size_t> aging_next_{table_words_ / kWordsPerBlock};
  std::uint64_t aging_observed_ = 0;
  std::uint64_t aging_odd_ = 0;
};

}  // namespace cuckoocache
