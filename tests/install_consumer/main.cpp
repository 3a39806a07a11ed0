// Compiled against cuckoocache as a user gets it (an install prefix through find_package or
// pkg-config, or the source tree through add_subdirectory): only the public include name.
// A put/get round trip and an eviction.
#include <cuckoocache/cache.h>

#include <cstdint>
#include <string>

int main() {
  cuckoocache::CacheConfig config;
  config.max_size = 2;
  cuckoocache::Cache<std::string, std::uint64_t> cache(config);
  cache.put(std::string("a"), std::uint64_t{1});
  cache.put(std::string("b"), std::uint64_t{2});
  cache.put(std::string("c"), std::uint64_t{3});
  const auto c = cache.get("c");
  return c && *c == 3 && cache.size() == 2 ? 0 : 1;
}
