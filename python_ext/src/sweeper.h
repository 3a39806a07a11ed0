// Sweeper: one background thread that expires entries for every Python cache using a TTL.
//
// The engine can run a thread per cache (engine/expiry.h); a Python process may hold hundreds
// of caches (one per @cached function), so the binding shares one thread among them. Every
// interval it runs the engine's active-expiry round (expire_sample) on each registered cache.
// The thread never takes the GIL and never touches a reference count: entries it removes are
// moved out of the engine and their objects go to the graveyard (py_ref.h), which Python
// threads drain.
//
// Lifecycle rules that keep it from hanging or crashing the interpreter:
//  - remove() (cache deallocation) waits for a sweep in progress, under the registry mutex;
//    the sweeper never waits for the GIL, so a Python thread waiting here cannot deadlock.
//  - pause() joins the thread: called before os.fork() (so the child does not inherit a held
//    mutex) and at interpreter exit (atexit), after which it is never restarted.
//  - resume() starts it again (after fork, in parent and child) if any cache is registered.
#pragma once

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "py_engine.h"

namespace cuckoocache::python {

class Sweeper {
 public:
  static constexpr std::chrono::milliseconds kInterval{100};

  static Sweeper& instance() noexcept {
    static Sweeper* const sweeper = new Sweeper();  // NOLINT: outlives every cache, never freed
    return *sweeper;
  }

  void add(PyEngine* engine) {
    std::unique_lock<std::mutex> lock(mutex_);
    if (std::find(caches_.begin(), caches_.end(), engine) == caches_.end()) {
      caches_.push_back(engine);
    }
    if (!thread_.joinable() && !paused_ && !shut_down_) start_locked();
  }

  // Returns once no sweep of `engine` is running or can start.
  void remove(PyEngine* engine) noexcept {
    std::lock_guard<std::mutex> lock(mutex_);
    caches_.erase(std::remove(caches_.begin(), caches_.end(), engine), caches_.end());
  }

  // Stops the thread and waits for it. `for_good` (interpreter exit) keeps it stopped.
  void pause(bool for_good) noexcept {
    std::thread thread;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      paused_ = true;
      shut_down_ = shut_down_ || for_good;
      stop_ = true;
      thread.swap(thread_);
    }
    wake_.notify_all();
    if (thread.joinable()) thread.join();
  }

  void resume() {
    std::lock_guard<std::mutex> lock(mutex_);
    paused_ = false;
    if (!thread_.joinable() && !shut_down_ && !caches_.empty()) start_locked();
  }

 private:
  Sweeper() = default;

  void start_locked() {
    stop_ = false;
    thread_ = std::thread([this] { run(); });
  }

  void run() {
    std::unique_lock<std::mutex> lock(mutex_);
    while (!stop_) {
      for (PyEngine* engine : caches_) engine->expire_sample();
      wake_.wait_for(lock, kInterval, [this] { return stop_; });
    }
  }

  std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<PyEngine*> caches_;
  std::thread thread_;
  bool stop_ = false;
  bool paused_ = false;
  bool shut_down_ = false;
};

}  // namespace cuckoocache::python
