// Entry point of concurrency_tests (tests/concurrency/*.cpp).
// This is the only translation unit of concurrency_tests that defines BOOST_TEST_MODULE.
#define BOOST_TEST_MODULE cuckoocache_concurrency
#include <boost/test/unit_test.hpp>
