// Smoke test: the build links the engine headers and Boost.Test together.
#include <boost/test/unit_test.hpp>

#include "engine/thread_index.h"

BOOST_AUTO_TEST_SUITE(smoke)

BOOST_AUTO_TEST_CASE(thread_index_is_stable) {
  const auto first = cuckoocache::thread_index();
  const auto second = cuckoocache::thread_index();
  BOOST_TEST(first == second);
}

BOOST_AUTO_TEST_SUITE_END()
