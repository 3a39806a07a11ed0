// zipf_get: the lookups of `cuckoocache-perf throughput --read-ratio 1` on one thread (Zipf 0.99
// over 200,000 keys, 100,000 entries holding keys 0..99,999), for counting instructions and
// simulated cache misses per lookup with callgrind (perf/callgrind/zipf_get.sh runs it with two
// counts and divides the difference, so the setup and the warm-up fill cancel out).
//
// usage: zipf_get IMPL COUNT
//   engine   Cache<uint64_t, uint64_t> (LRU, seeded): get(k, v)
//   raw      libcuckoo::cuckoohash_map<uint64_t, uint64_t> sized for the entries: find(k, v);
//            std::hash<uint64_t> is the identity, so the hottest keys (0, 1, 2, ...) sit in
//            neighbouring buckets, a locality a hashed key does not have
//   rawmix   the same map hashing with the engine's mix_hash, as the engine does
// The key sequence (300,000 draws, seeded) is made before the lookups whatever COUNT is, so
// the difference of two runs holds only lookups.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <libcuckoo/cuckoohash_map.hh>
#include <string>
#include <vector>

#include "args.h"
#include "engine/cache.h"
#include "engine/hash_mix.h"
#include "engine/random.h"
#include "zipf_keys.h"

namespace {

struct MixHash {
  [[nodiscard]] std::size_t operator()(std::uint64_t k) const noexcept {
    return static_cast<std::size_t>(cuckoocache::mix_hash(k));
  }
};

template <class Map>
std::uint64_t raw_lookups(const std::vector<std::uint64_t>& keys, std::size_t count,
                          std::size_t entries) {
  Map map(entries);
  for (std::uint64_t k = 0; k < entries; ++k) map.insert(k, k);
  std::uint64_t hits = 0;
  for (std::size_t i = 0; i < count; ++i) {
    std::uint64_t v = 0;
    hits += map.find(keys[i], v) ? 1 : 0;
  }
  return hits;
}

}  // namespace

int main(int argc, char** argv) {
  const cuckoocache::callgrind::Args args(argc, argv, 2, "zipf_get engine|raw|rawmix COUNT");
  constexpr std::size_t kEntries = 100'000;
  constexpr std::size_t kKeys = 2 * kEntries;
  constexpr std::size_t kDraws = 300'000;
  const std::string impl(args.text(1));
  if (impl != "engine" && impl != "raw" && impl != "rawmix") {
    std::fprintf(stderr, "zipf_get: unknown implementation '%s' (expected engine, raw, rawmix)\n",
                 argv[1]);
    return 2;
  }
  const auto count = std::min<std::size_t>(args.number(2), kDraws);
  const cuckoocache::callgrind::ZipfKeys zipf(kKeys, 0.99);
  cuckoocache::FastRandom rng(3);
  std::vector<std::uint64_t> keys(kDraws);
  for (auto& k : keys) {
    k = zipf(rng);
  }
  std::uint64_t hits = 0;
  if (impl == "raw") {
    hits =
        raw_lookups<libcuckoo::cuckoohash_map<std::uint64_t, std::uint64_t>>(keys, count, kEntries);
  } else if (impl == "rawmix") {
    hits = raw_lookups<libcuckoo::cuckoohash_map<std::uint64_t, std::uint64_t, MixHash>>(
        keys, count, kEntries);
  } else {
    cuckoocache::CacheConfig config;
    config.max_size = kEntries;
    config.seed = 1;
    cuckoocache::Cache<std::uint64_t, std::uint64_t> cache(config);
    for (std::uint64_t k = 0; k < kEntries; ++k) cache.put(k, k);
    for (std::size_t i = 0; i < count; ++i) {
      std::uint64_t v = 0;
      hits += cache.get(keys[i], v) ? 1 : 0;
    }
  }
  std::printf("%llu\n", static_cast<unsigned long long>(hits));
  return 0;
}
