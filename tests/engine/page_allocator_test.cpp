// HugePageAllocator and ReservedArray (engine/page_allocator.h): large arrays are 2 MiB
// aligned, and a freed large array goes back to the system at once, even after malloc's
// dynamic mmap threshold would have kept it (the resident set of a growing table kept every
// freed half before).
#include "engine/page_allocator.h"

#include <boost/test/unit_test.hpp>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>

#if defined(__linux__)
#include <sys/mman.h>
#include <unistd.h>
#endif

namespace {

using cuckoocache::HugePageAllocator;
using cuckoocache::HugePageArray;
using cuckoocache::kHugePageBytes;

#if defined(__linux__)
// Whether any page of [p, p + bytes) is still mapped (mincore fails with ENOMEM on a range
// that is not wholly mapped).
bool fully_unmapped(const void* p, std::size_t bytes) {
  const auto page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  for (std::size_t off = 0; off < bytes; off += page) {
    unsigned char one = 0;
    if (mincore(const_cast<char*>(static_cast<const char*>(p)) + off, page, &one) == 0) {
      return false;
    }
    if (errno != ENOMEM) return false;
  }
  return true;
}
#endif

}  // namespace

BOOST_AUTO_TEST_SUITE(page_allocator)

BOOST_AUTO_TEST_CASE(large_arrays_are_huge_page_aligned_and_zeroed) {
  HugePageArray<std::uint64_t> a(3 * kHugePageBytes / sizeof(std::uint64_t) + 5);
  BOOST_TEST(reinterpret_cast<std::uintptr_t>(a.get()) % kHugePageBytes == 0u);
  BOOST_TEST(a[0] == 0u);
  BOOST_TEST(a[3 * kHugePageBytes / sizeof(std::uint64_t) + 4] == 0u);
  HugePageArray<std::uint64_t> small(100);
  BOOST_TEST(small[99] == 0u);
}

#if defined(__linux__)
BOOST_AUTO_TEST_CASE(freed_large_arrays_are_unmapped) {
  HugePageAllocator<char> alloc;
  // Below and above a huge page; each twice: glibc raises its mmap threshold on the first free
  // of a mapped block, after which a malloc-backed allocator serves the next block of that
  // size from (and frees it into) its heap.
  for (const std::size_t bytes :
       {cuckoocache::kOwnMappingBytes, kHugePageBytes / 2 + 4096, 2 * kHugePageBytes + 4096}) {
    for (int round = 0; round < 2; ++round) {
      char* p = alloc.allocate(bytes);
      std::memset(p, 1, bytes);
      alloc.deallocate(p, bytes);
      BOOST_TEST(fully_unmapped(p, bytes), bytes << " bytes, round " << round);
    }
  }
}
#endif

BOOST_AUTO_TEST_SUITE_END()
