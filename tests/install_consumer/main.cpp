// Compiled against cuckoocache as a user gets it (an install prefix through find_package or
// pkg-config, or the source tree through add_subdirectory): only the public include name.
// The README's C++ example, then a put/get round trip and an eviction.
#include <cuckoocache/cache.h>

#include <cstdint>
#include <optional>
#include <string>

int main() {
  {  // README.md, "C++"
    cuckoocache::CacheConfig config;
    config.max_size = 10'000;
    config.policy = cuckoocache::Policy::kAdaptive;
    cuckoocache::Cache<std::string, std::string> cache(config);
    cache.put("k", "v");
    std::optional<std::string> v = cache.get("k");
    if (!v || *v != "v") return 1;
  }
  cuckoocache::CacheConfig config;
  config.max_size = 2;
  cuckoocache::Cache<std::string, std::uint64_t> cache(config);
  cache.put(std::string("a"), std::uint64_t{1});
  cache.put(std::string("b"), std::uint64_t{2});
  cache.put(std::string("c"), std::uint64_t{3});
  const auto c = cache.get("c");
  return c && *c == 3 && cache.size() == 2 ? 0 : 1;
}
