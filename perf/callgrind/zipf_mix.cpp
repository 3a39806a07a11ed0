// zipf_mix: `cuckoocache-perf throughput`'s workload on one thread, for counting instructions
// per operation with callgrind (perf/callgrind/zipf_mix.sh runs it twice with different counts
// and divides the difference, so the setup and the warm-up fill cancel out).
//
// usage: zipf_mix POLICY COUNT READ_PERCENT
//   A cache of 100,000 entries (policy lru, lfu, ttl or adaptive) filled with keys 0..99,999,
//   then COUNT operations on Zipf(0.99) keys over 200,000: a get with probability
//   READ_PERCENT / 100, else a put (evicting when the key is new). Keys, the read/write draws
//   and the cache's sampling are seeded, so counts are the same from run to run.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <vector>

#include "args.h"
#include "engine/cache.h"
#include "engine/random.h"
#include "zipf_keys.h"

int main(int argc, char** argv) {
  const cuckoocache::callgrind::Args args(argc, argv, 3, "zipf_mix POLICY COUNT READ_PERCENT");
  constexpr std::size_t kEntries = 100'000;
  constexpr std::size_t kKeys = 2 * kEntries;
  const cuckoocache::Policy policy = args.policy(1);
  const auto count = static_cast<std::size_t>(args.number(2));
  const auto read_percent = static_cast<std::uint32_t>(args.number(3));
  const cuckoocache::callgrind::ZipfKeys zipf(kKeys, 0.99);
  cuckoocache::FastRandom rng(3);
  std::vector<std::uint64_t> keys(count);
  std::vector<bool> reads(count);
  for (std::size_t i = 0; i < count; ++i) {
    keys[i] = zipf(rng);
    reads[i] = rng.below(100) < read_percent;
  }
  cuckoocache::CacheConfig config;
  config.max_size = kEntries;
  config.policy = policy;
  config.seed = 1;
  cuckoocache::Cache<std::uint64_t, std::uint64_t> cache(config);
  for (std::uint64_t k = 0; k < kEntries; ++k) cache.put(k, k);
  std::uint64_t hits = 0;
  for (std::size_t i = 0; i < count; ++i) {
    if (reads[i]) {
      std::uint64_t v = 0;
      hits += cache.get(keys[i], v) ? 1 : 0;
    } else {
      cache.put(keys[i], i);
    }
  }
  std::printf("%llu\n", static_cast<unsigned long long>(hits));
  return 0;
}
