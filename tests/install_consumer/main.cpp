// Compiled against the *installed* headers only: include paths come from cuckoocache::engine.
// A put/get round trip and an eviction through the installed package.
#include <engine/cache.h>

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
