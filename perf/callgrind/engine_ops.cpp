// engine_ops: one engine operation in a loop, for counting instructions per operation with
// valgrind's callgrind (perf/callgrind/run.sh runs it twice with different counts and divides
// the difference, so setup and the warm-up fill cancel out).
//
// usage: engine_ops OP COUNT MAX_SIZE POLICY
//   put   COUNT puts of new keys into a full cache (every put evicts)
//   get   COUNT hits over the MAX_SIZE keys of a full cache
//   raw   COUNT hits of raw libcuckoo find over MAX_SIZE keys (the yardstick; POLICY ignored)
// Sampling is seeded (CacheConfig::seed = 1), so counts are the same from run to run.
#include <cstdint>
#include <cstdio>
#include <libcuckoo/cuckoohash_map.hh>
#include <string>

#include "args.h"
#include "engine/cache.h"

int main(int argc, char** argv) {
  const cuckoocache::callgrind::Args args(argc, argv, 4,
                                          "engine_ops put|get|raw COUNT MAX_SIZE POLICY");
  const std::string op(args.text(1));
  if (op != "put" && op != "get" && op != "raw") {
    std::fprintf(stderr, "engine_ops: unknown operation '%s' (expected put, get or raw)\n",
                 argv[1]);
    return 2;
  }
  const auto count = static_cast<long>(args.number(2));
  const std::uint64_t max_size = args.number(3);
  std::uint64_t sum = 0;
  if (op == "raw") {
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
