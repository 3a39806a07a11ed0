// engine_ops: one engine operation in a loop, for counting instructions per operation with
// valgrind's callgrind (perf/callgrind/run.sh runs it twice with different counts and divides
// the difference, so setup and the warm-up fill cancel out).
//
// usage: engine_ops OP COUNT MAX_SIZE POLICY
//   put   COUNT puts of new keys into a full cache (every put evicts)
//   get   COUNT hits over the MAX_SIZE keys of a full cache
//   raw   COUNT hits of raw libcuckoo find over MAX_SIZE keys (the yardstick; POLICY ignored)
//   rawput COUNT inserts of a new key plus an erase of the oldest into raw libcuckoo holding
//         MAX_SIZE keys: the least a put at capacity does on libcuckoo (the floor; POLICY
//         ignored). Keys are hashed with the engine's mix_hash, the table is sized for the
//         engine's ~85% planned load, so only eviction's choice and bookkeeping are missing.
// Sampling is seeded (CacheConfig::seed = 1), so counts are the same from run to run.
#include <cstdint>
#include <cstdio>
#include <libcuckoo/cuckoohash_map.hh>
#include <string>

#include "args.h"
#include "engine/cache.h"
#include "engine/hash_mix.h"

namespace {

struct MixedHash {
  [[nodiscard]] std::size_t operator()(std::uint64_t k) const noexcept {
    return static_cast<std::size_t>(cuckoocache::mix_hash(k));
  }
};

// rawput (see the top of this file). Out of line, so that it does not move the inlining of the
// engine's operations in main().
[[gnu::noinline]] std::uint64_t raw_put(long count, std::uint64_t max_size) {
  libcuckoo::cuckoohash_map<std::uint64_t, std::uint64_t, MixedHash> map(max_size * 20 / 17);
  for (std::uint64_t k = 0; k < max_size; ++k) map.insert(k, k);
  std::uint64_t sum = 0;
  for (long i = 0; i < count; ++i) {
    const auto fresh = max_size + static_cast<std::uint64_t>(i);
    sum += map.insert(fresh, 1) ? 1 : 0;
    sum += map.erase(fresh - max_size) ? 1 : 0;
  }
  return sum;
}

}  // namespace

int main(int argc, char** argv) {
  const cuckoocache::callgrind::Args args(argc, argv, 4,
                                          "engine_ops put|get|raw|rawput COUNT MAX_SIZE POLICY");
  const std::string op(args.text(1));
  if (op != "put" && op != "get" && op != "raw" && op != "rawput") {
    std::fprintf(stderr, "engine_ops: unknown operation '%s' (expected put, get, raw or rawput)\n",
                 argv[1]);
    return 2;
  }
  const auto count = static_cast<long>(args.number(2));
  const std::uint64_t max_size = args.number(3);
  std::uint64_t sum = 0;
  if (op == "rawput") {
    sum = raw_put(count, max_size);
  } else if (op == "raw") {
    libcuckoo::cuckoohash_map<std::uint64_t, std::uint64_t> map(max_size);
    for (std::uint64_t k = 0; k < max_size; ++k) map.insert(k, k);
    std::uint64_t v = 0;
    for (long i = 0; i < count; ++i) {
      if (map.find(static_cast<std::uint64_t>(i) % max_size, v)) sum += v;
    }
  } else {
    cuckoocache::CacheConfig config;
    config.max_size = max_size;
    config.policy = args.policy(4);
    config.seed = 1;
    cuckoocache::Cache<std::uint64_t, std::uint64_t> cache(config);
    for (std::uint64_t k = 0; k < max_size; ++k) cache.put(k, k);
    if (op == "put") {
      for (long i = 0; i < count; ++i) cache.put(max_size + static_cast<std::uint64_t>(i), 1);
    } else {
      std::uint64_t v = 0;
      for (long i = 0; i < count; ++i) {
        if (cache.get(static_cast<std::uint64_t>(i) % max_size, v)) sum += v;
      }
    }
  }
  std::printf("%llu\n", static_cast<unsigned long long>(sum));
  return 0;
}
