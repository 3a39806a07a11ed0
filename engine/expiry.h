// ExpiryThread: the optional background sweeper that removes expired entries proactively.
//
// Expired entries are never returned (every read checks the deadline), but an entry nobody
// reads again would otherwise hold memory until eviction reaches it. Expiry is therefore
// active, as in Redis: the write path samples a few slots now and then, eviction prefers
// expired candidates, cleanup() walks everything, and this thread runs a sampling round every
// interval for caches that are read much more than written.
//
// The thread calls only the engine's own sweep (no user callbacks), holds no lock of its own
// while sweeping, and stops promptly: the destructor wakes it and joins. A sweep removes
// entries the same way eviction does, so Key/Value destructors run on this thread but never
// under a bucket lock.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <utility>

namespace cuckoocache {

class ExpiryThread {
 public:
  ExpiryThread(std::chrono::nanoseconds interval, std::function<void()> sweep)
      : interval_(interval), sweep_(std::move(sweep)), thread_([this] { run(); }) {}

  ExpiryThread(const ExpiryThread&) = delete;
  ExpiryThread& operator=(const ExpiryThread&) = delete;

  ~ExpiryThread() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    thread_.join();
  }

 private:
  void run() {
    std::unique_lock<std::mutex> lock(mutex_);
    while (!wake_.wait_for(lock, interval_, [this] { return stopping_; })) {
      lock.unlock();
      sweep_();
      lock.lock();
    }
  }

  const std::chrono::nanoseconds interval_;
  const std::function<void()> sweep_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;  // last: starts after everything it uses exists
};

}  // namespace cuckoocache
