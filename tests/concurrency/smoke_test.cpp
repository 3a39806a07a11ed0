// Smoke test: thread_index() is stable within a thread and distinct across threads.
#include <boost/test/unit_test.hpp>
#include <cstdint>
#include <thread>

#include "engine/thread_index.h"

BOOST_AUTO_TEST_SUITE(smoke)

BOOST_AUTO_TEST_CASE(thread_index_is_per_thread) {
  std::uint32_t a[2] = {0, 0};
  std::uint32_t b[2] = {0, 0};
  std::thread t1([&] {
    a[0] = cuckoocache::thread_index();
    a[1] = cuckoocache::thread_index();
  });
  std::thread t2([&] {
    b[0] = cuckoocache::thread_index();
    b[1] = cuckoocache::thread_index();
  });
  t1.join();
  t2.join();
  BOOST_TEST(a[0] == a[1]);
  BOOST_TEST(b[0] == b[1]);
  BOOST_TEST(a[0] != b[0]);
}

BOOST_AUTO_TEST_SUITE_END()
