// Policy tags for templated test cases: BOOST_AUTO_TEST_CASE_TEMPLATE(name, P, policy::All)
// runs one test body once per eviction policy (tsl robin-map style), reading P::kPolicy.
// The namespace name shows up in test names, e.g. "name<policy__Lru>".
#pragma once

#include <tuple>

#include "engine/cache_config.h"

namespace policy {
struct Lru {
  static constexpr cuckoocache::Policy kPolicy = cuckoocache::Policy::kLru;
};
struct Lfu {
  static constexpr cuckoocache::Policy kPolicy = cuckoocache::Policy::kLfu;
};
struct Ttl {
  static constexpr cuckoocache::Policy kPolicy = cuckoocache::Policy::kTtl;
};
struct Adaptive {
  static constexpr cuckoocache::Policy kPolicy = cuckoocache::Policy::kAdaptive;
};
using All = std::tuple<Lru, Lfu, Ttl, Adaptive>;
}  // namespace policy
