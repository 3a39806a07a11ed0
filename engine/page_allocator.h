// HugePageAllocator: an allocator that backs large arrays with transparent huge pages.
//
// A cache of a million entries spreads its table, slot arena and sketch over a few hundred
// megabytes that every lookup touches at random. With 4 KiB pages nearly every such access
// also misses the TLB and walks the page tables; with 2 MiB pages the same memory needs a few
// hundred TLB entries instead of tens of thousands. Allocations of at least one huge page are
// therefore aligned to 2 MiB and marked MADV_HUGEPAGE (Linux's transparent huge pages in
// "madvise" mode, the common default). Smaller ones go to std::allocator, so a small cache
// does not round its memory up to 2 MiB. Elsewhere, or if the kernel declines, the advice is
// simply ignored.
//
// On Linux every allocation of at least kOwnMappingBytes (glibc's initial mmap threshold,
// doubled) is a mapping of its own (mmap; trimmed to 2 MiB alignment from one huge page up),
// not malloc's: a table that doubles frees its old half, and malloc keeps such blocks in its
// heap once its dynamic mmap threshold has risen past them (glibc: after the first free of a
// mapped block that size), so the resident set kept every half a growing table left behind
// (at 5,000,000 Python entries, about 40 bytes per entry). A mapping goes back to the system
// when it is freed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>

#if defined(__linux__)
#include <sys/mman.h>
#include <unistd.h>
#endif

namespace cuckoocache {

inline constexpr std::size_t kHugePageBytes = std::size_t{2} << 20;
inline constexpr std::size_t kOwnMappingBytes = std::size_t{256} << 10;

template <class T>
struct HugePageAllocator {
  using value_type = T;

  HugePageAllocator() noexcept = default;
  template <class U>
  explicit(false) HugePageAllocator(const HugePageAllocator<U>&) noexcept {}

  [[nodiscard]] T* allocate(std::size_t n) {
    const std::size_t bytes = n * sizeof(T);
#if defined(__linux__)
    if (bytes < kOwnMappingBytes) return std::allocator<T>().allocate(n);
    return static_cast<T*>(map_large(bytes));
#else
    if (bytes < kHugePageBytes) return std::allocator<T>().allocate(n);
    const std::size_t rounded = rounded_size(bytes);
    void* memory = std::aligned_alloc(kHugePageBytes, rounded);
    if (memory == nullptr) throw std::bad_alloc();
    return static_cast<T*>(memory);
#endif
  }

  void deallocate(T* p, std::size_t n) noexcept {
    const std::size_t bytes = n * sizeof(T);
#if defined(__linux__)
    if (bytes < kOwnMappingBytes) {
      std::allocator<T>().deallocate(p, n);
    } else {
      unmap_large(p, bytes);
    }
#else
    if (bytes < kHugePageBytes) {
      std::allocator<T>().deallocate(p, n);
    } else {
      std::free(p);
    }
#endif
  }

  template <class U>
  friend bool operator==(const HugePageAllocator&, const HugePageAllocator<U>&) noexcept {
    return true;
  }

 private:
#if defined(__linux__)
  // Out of line: growth is rare, and the callers (libcuckoo's inserts) stay small.
  [[gnu::cold, gnu::noinline]] static void* map_large(std::size_t bytes) {
    if (bytes < kHugePageBytes) {
      void* memory =
          mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (memory == MAP_FAILED) throw std::bad_alloc();
      return memory;
    }
    // Map one huge page more than needed, then unmap the unaligned head and everything past
    // the last page of the array: a huge page can then only cover whole 2 MiB of the array,
    // never fault in up to 2 MiB of tail that nothing uses (tables are not multiples of 2 MiB).
    const std::size_t mapped = mapped_size(bytes);
    void* raw = mmap(nullptr, mapped + kHugePageBytes, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED) throw std::bad_alloc();
    const auto base = reinterpret_cast<std::uintptr_t>(raw);
    const std::uintptr_t aligned = (base + kHugePageBytes - 1) & ~(kHugePageBytes - 1);
    if (aligned > base) (void)munmap(raw, aligned - base);
    const std::uintptr_t tail = base + mapped + kHugePageBytes - (aligned + mapped);
    if (tail > 0) (void)munmap(reinterpret_cast<void*>(aligned + mapped), tail);
    void* memory = reinterpret_cast<void*>(aligned);
#if defined(MADV_HUGEPAGE)
    // Advice only (failure changes nothing), and only for the array's whole huge pages.
    (void)madvise(memory, bytes & ~(kHugePageBytes - 1), MADV_HUGEPAGE);
#endif
    return memory;
  }
  [[gnu::cold, gnu::noinline]] static void unmap_large(void* p, std::size_t bytes) noexcept {
    (void)munmap(p, bytes < kHugePageBytes ? bytes : mapped_size(bytes));
  }
  [[nodiscard]] static std::size_t mapped_size(std::size_t bytes) noexcept {
    static const auto kPage = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
    return (bytes + kPage - 1) & ~(kPage - 1);
  }
#else
  [[nodiscard]] static std::size_t rounded_size(std::size_t bytes) noexcept {
    return (bytes + kHugePageBytes - 1) & ~(kHugePageBytes - 1);
  }
#endif
};

// Gives the physical pages wholly inside [p, p + bytes) back to the system while keeping the
// range mapped (Linux: MADV_DONTNEED; they read as zeros and are faulted in again on the next
// write). For arrays that shrink in place while other threads may still read them (the slot
// arena and the frequency sketch after set_max_size shrinks a cache). Elsewhere a no-op.
inline void release_pages(void* p, std::size_t bytes) noexcept {
#if defined(__linux__) && defined(MADV_DONTNEED)
  static const auto kPage = static_cast<std::uintptr_t>(sysconf(_SC_PAGESIZE));
  const auto begin = (reinterpret_cast<std::uintptr_t>(p) + kPage - 1) & ~(kPage - 1);
  const auto end = (reinterpret_cast<std::uintptr_t>(p) + bytes) & ~(kPage - 1);
  if (end > begin) (void)madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED);
#else
  static_cast<void>(p);
  static_cast<void>(bytes);
#endif
}

// Owns an array of `n` value-initialised T from HugePageAllocator.
template <class T>
class HugePageArray {
 public:
  HugePageArray() = default;
  explicit HugePageArray(std::size_t n) : data_(HugePageAllocator<T>().allocate(n)), size_(n) {
    std::uninitialized_value_construct_n(data_, n);
  }
  HugePageArray(HugePageArray&& other) noexcept
      : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}
  HugePageArray& operator=(HugePageArray&& other) noexcept {
    if (this != &other) {
      reset();
      data_ = std::exchange(other.data_, nullptr);
      size_ = std::exchange(other.size_, 0);
    }
    return *this;
  }
  HugePageArray(const HugePageArray&) = delete;
  HugePageArray& operator=(const HugePageArray&) = delete;
  ~HugePageArray() { reset(); }

  [[nodiscard]] T* get() const noexcept { return data_; }
  [[nodiscard]] T& operator[](std::size_t i) const noexcept { return data_[i]; }
  [[nodiscard]] explicit operator bool() const noexcept { return data_ != nullptr; }

 private:
  void reset() noexcept {
    if (data_ == nullptr) return;
    std::destroy_n(data_, size_);
    HugePageAllocator<T>().deallocate(data_, size_);
    data_ = nullptr;
    size_ = 0;
  }

  T* data_ = nullptr;
  std::size_t size_ = 0;
};

// Reserves address space for `n` T without touching it, and constructs (value-initialises) a
// growing prefix on request, so that only the part in use costs physical memory: for arrays
// planned at a power of two whose tail may never be needed (the slot arena's last chunk). On
// Linux the reservation is an anonymous mapping (its pages read as zeros and cost nothing until
// written); the opened prefix's whole 2 MiB pages are marked MADV_HUGEPAGE as they fill, so the
// TLB benefit above holds for them and no huge page spills past the prefix. Elsewhere, calloc.
// T must be trivially destructible (nothing to run when the array goes).
template <class T>
class ReservedArray {
  static_assert(std::is_trivially_destructible_v<T>);

 public:
  ReservedArray() = default;
  explicit ReservedArray(std::size_t n) : size_(n) {
#if defined(__linux__)
    void* memory = mmap(nullptr, n * sizeof(T), PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (memory == MAP_FAILED) throw std::bad_alloc();
#else
    void* memory = std::calloc(n, sizeof(T));
    if (memory == nullptr) throw std::bad_alloc();
#endif
    data_ = static_cast<T*>(memory);
  }
  ReservedArray(ReservedArray&& other) noexcept
      : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}
  ReservedArray& operator=(ReservedArray&& other) noexcept {
    if (this != &other) {
      reset();
      data_ = std::exchange(other.data_, nullptr);
      size_ = std::exchange(other.size_, 0);
    }
    return *this;
  }
  ReservedArray(const ReservedArray&) = delete;
  ReservedArray& operator=(const ReservedArray&) = delete;
  ~ReservedArray() {
    reset();
  }

  [[nodiscard]] T* get() const noexcept {
    return data_;
  }
  [[nodiscard]] std::size_t size() const noexcept {
    return size_;
  }
  [[nodiscard]] explicit operator bool() const noexcept {
    return data_ != nullptr;
  }

  // Constructs elements [begin, end) (never constructed before).
  void open(std::size_t begin, std::size_t end) noexcept {
    std::uninitialized_value_construct_n(data_ + begin, end - begin);
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    const auto base = reinterpret_cast<std::uintptr_t>(data_);
    const std::uintptr_t from = (base + begin * sizeof(T)) & ~(kHugePageBytes - 1);
    const std::uintptr_t to = (base + end * sizeof(T)) & ~(kHugePageBytes - 1);
    const std::uintptr_t lo = from < base ? base : from;  // the mapping starts page-aligned
    if (to > lo) (void)madvise(reinterpret_cast<void*>(lo), to - lo, MADV_HUGEPAGE);  // advice
#endif
  }

 private:
  void reset() noexcept {
    if (data_ == nullptr) return;
#if defined(__linux__)
    (void)munmap(data_, size_ * sizeof(T));
#else
    std::free(data_);
#endif
    data_ = nullptr;
    size_ = 0;
  }

  T* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace cuckoocache
