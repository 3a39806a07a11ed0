// Per-thread random numbers for sampling.
//
// Eviction samples slots with the calling thread's own generator, so no two threads share RNG
// state (a shared generator would be one more contended cache line on the insert path). The
// generator is a 64-bit xorshift*: statistically plenty for picking slot indices, and a few
// cycles per number. Each thread's stream is seeded from its thread index, which makes a
// single-threaded replay reproducible from run to run.
//
// Eviction's own sampling does not use thread_random(): each cache's Sampler keeps its streams,
// seeded from CacheConfig::seed when given (reproducible runs and tests) and otherwise from
// fresh_seed(), which differs between processes and between caches, so two processes do not
// make identical eviction choices.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <random>

#include "hash_mix.h"
#include "thread_index.h"

namespace cuckoocache {

class FastRandom {
 public:
  explicit FastRandom(std::uint64_t seed) noexcept : state_(mix_hash(seed) | 1) {}

  [[nodiscard]] std::uint64_t next() noexcept {
    state_ ^= state_ >> 12;
    state_ ^= state_ << 25;
    state_ ^= state_ >> 27;
    return state_ * 0x2545F4914F6CDD1DULL;
  }

  // Uniform in [0, bound) by Lemire's multiply-shift (bias below 2^-32 for bound < 2^32).
  [[nodiscard]] std::uint32_t below(std::uint32_t bound) noexcept {
    return static_cast<std::uint32_t>(((next() >> 32) * static_cast<std::uint64_t>(bound)) >> 32);
  }

 private:
  std::uint64_t state_;
};

// A seed no other cache of this process (and, with overwhelming probability, of any other
// process) was given: the OS's entropy mixed with the time and a per-process counter.
[[nodiscard]] inline std::uint64_t fresh_seed() {
  static const std::uint64_t process_seed = [] {
    std::random_device device;
    const auto now = static_cast<std::uint64_t>(
        std::chrono::high_resolution_clock::now().time_since_epoch().count());
    return (std::uint64_t{device()} << 32) ^ device() ^ mix_hash(now);
  }();
  static std::atomic<std::uint64_t> counter{0};
  return mix_hash(process_seed + counter.fetch_add(1, std::memory_order_relaxed));
}

[[nodiscard]] inline FastRandom& thread_random() noexcept {
  thread_local FastRandom rng(0x9E3779B97F4A7C15ULL + thread_index());
  return rng;
}

}  // namespace cuckoocache
