// Hash mixing: turns a user hash (often the identity for integers) into 64 well-spread bits.
//
// The entry map is keyed by this mixed hash, libcuckoo derives both bucket indices and its
// partial key from it, the frequency sketch indexes with it, and a slot of the arena stores it
// so that eviction can find the entry again. A weak user hash (std::hash<int> is the identity)
// would otherwise cluster buckets and sketch counters.
#pragma once

#include <cstdint>

namespace cuckoocache {

// SplitMix64's finalizer (Stafford variant 13): a bijection, so distinct user hashes stay
// distinct and only genuinely equal user hashes share a chain.
[[nodiscard]] constexpr std::uint64_t mix_hash(std::uint64_t x) noexcept {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

}  // namespace cuckoocache
