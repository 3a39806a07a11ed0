// Thread index: a small dense number for the calling thread, assigned on first use.
//
// Striped structures (stats counters, free lists, sketch addition counters) pick their stripe
// with it so that each thread writes its own cache line. Indices are handed out round-robin
// from a process-wide counter and never reused; callers reduce them modulo their stripe count.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace cuckoocache {

// The thread_local is constant-initialised and filled on first use, so later calls are one TLS
// load and a test, with no initialisation guard (a dynamically initialised thread_local checks a
// guard on every access; in a shared library each check is a __tls_get_addr call).
[[nodiscard]] inline std::uint32_t thread_index() noexcept {
  static constexpr std::uint32_t kUnset = UINT32_MAX;
  static std::atomic<std::uint32_t> next{0};
  thread_local std::uint32_t index = kUnset;
  if (index == kUnset) [[unlikely]] {
    index = next.fetch_add(1, std::memory_order_relaxed) % kUnset;
  }
  return index;
}

// Bytes between two objects that must not share a cache line. Fixed rather than
// std::hardware_destructive_interference_size so the ABI does not change with compiler flags.
inline constexpr std::size_t kCacheLine = 64;

}  // namespace cuckoocache
