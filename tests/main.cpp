// Entry point of engine_tests (tests/engine/*.cpp, tests/policies/*.cpp).
// This is the only translation unit of engine_tests that defines BOOST_TEST_MODULE.
#define BOOST_TEST_MODULE cuckoocache
#include <boost/test/unit_test.hpp>
