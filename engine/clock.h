// Clocks for time-to-live.
//
// The cache reads time only where an expiry is involved: when an entry carries a deadline,
// when sweeping for expired entries and when computing a new deadline. Tests inject a
// ManualClock and advance it by hand, so no test sleeps. Times are nanoseconds since an
// arbitrary epoch; 0 is reserved to mean "never expires", so clocks start above 0.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace cuckoocache {

class Clock {
 public:
  virtual ~Clock() = default;
  // Monotonic, thread-safe, never 0.
  [[nodiscard]] virtual std::uint64_t now_ns() const noexcept = 0;
};

class SteadyClock final : public Clock {
 public:
  [[nodiscard]] std::uint64_t now_ns() const noexcept override {
    return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                          std::chrono::steady_clock::now().time_since_epoch())
                                          .count()) +
           1;
  }
};

// A clock that moves only when told to. Thread-safe.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(std::uint64_t start_ns = 1) noexcept : now_(start_ns == 0 ? 1 : start_ns) {}
  [[nodiscard]] std::uint64_t now_ns() const noexcept override {
    return now_.load(std::memory_order_acquire);
  }
  void advance(std::chrono::nanoseconds by) noexcept {
    now_.fetch_add(static_cast<std::uint64_t>(by.count()), std::memory_order_acq_rel);
  }

 private:
  std::atomic<std::uint64_t> now_;
};

// Deadline for an entry stored at `now` with time-to-live `ttl`; saturates instead of wrapping.
[[nodiscard]] inline std::uint64_t deadline_after(std::uint64_t now,
                                                  std::chrono::nanoseconds ttl) noexcept {
  const auto span = static_cast<std::uint64_t>(ttl.count());
  return span > UINT64_MAX - now ? UINT64_MAX : now + span;
}

}  // namespace cuckoocache
