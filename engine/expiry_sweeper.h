// ExpirySweeper: the one background thread that removes expired entries nobody reads.
//
// Reads never return an expired entry, but an entry nobody reads again would otherwise hold
// its memory until eviction reaches it. A sweeper serves any number of caches (a Python
// process may hold hundreds, one per @cached function): every interval it gives each
// registered client a share of a time budget (a quarter of the interval, as Redis's slow
// expiry cycle) to remove what is due. What a client does with its share is its own business
// (Cache::sweep_expired: an incremental pass over the slot arena, run only when some deadline
// is due, so an idle cache costs one clock read per interval).
//
// There is one mechanism: a C++ Cache built with CacheConfig::expiry_interval owns a private
// sweeper with that interval; the Python binding registers its caches with one shared sweeper
// (shared()) and installs an after-round hook that hands the objects the round freed back to
// Python under the GIL.
//
// Concurrency rules:
//  - Clients are swept under the registry mutex, so remove() returns only once no sweep of
//    that client is running or can start; a client must not call add/remove from its sweep.
//  - The after-round hook runs on the sweeper thread with no lock of the sweeper held, so it
//    may block (take the GIL) while another thread calls remove(). pause() joins the thread:
//    a caller that the hook might wait for (a thread holding the GIL) must let go first.
//  - pause() before fork() (the child must not inherit a held mutex) and at exit; resume()
//    restarts the thread if any client is registered.
#pragma once

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <utility>
#include <vector>

namespace cuckoocache {

class ExpirySweeper {
 public:
  using Deadline = std::chrono::steady_clock::time_point;

  // What a sweeper sweeps. sweep_expired() removes due entries until `budget_end` (a steady
  // clock time) and returns how many it removed; it must not block and must not call back
  // into the sweeper.
  class Client {
   public:
    virtual std::size_t sweep_expired(Deadline budget_end) = 0;

   protected:
    Client() = default;
    Client(const Client&) = default;
    Client& operator=(const Client&) = default;
    ~Client() = default;
  };

  static constexpr std::chrono::milliseconds kDefaultInterval{100};

  explicit ExpirySweeper(std::chrono::nanoseconds interval = kDefaultInterval)
      : interval_(interval) {
    if (interval.count() <= 0) throw std::invalid_argument("expiry interval must be positive");
  }

  ExpirySweeper(const ExpirySweeper&) = delete;
  ExpirySweeper& operator=(const ExpirySweeper&) = delete;

  ~ExpirySweeper() { pause(true); }

  // A process-wide sweeper with the default interval, never destroyed (it may be in use by
  // static caches during exit).
  [[nodiscard]] static ExpirySweeper& shared() {
    static ExpirySweeper* const sweeper = new ExpirySweeper();  // NOLINT: deliberately leaked
    return *sweeper;
  }

  [[nodiscard]] std::chrono::nanoseconds interval() const noexcept { return interval_; }

  // Registers `client` (idempotent) and starts the thread if needed. May throw
  // std::bad_alloc or std::system_error, leaving the client unregistered.
  void add(Client* client) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (std::find(clients_.begin(), clients_.end(), client) == clients_.end()) {
      clients_.push_back(client);
    }
    if (!thread_.joinable() && !paused_ && !shut_down_) {
      try {
        start_locked();
      } catch (...) {
        clients_.erase(std::remove(clients_.begin(), clients_.end(), client), clients_.end());
        throw;
      }
    }
  }

  // Unregisters `client`; returns once no sweep of it is running or can start.
  void remove(Client* client) noexcept {
    std::lock_guard<std::mutex> lock(mutex_);
    clients_.erase(std::remove(clients_.begin(), clients_.end(), client), clients_.end());
  }

  // Runs on the sweeper thread after every round, without the sweeper's locks (the Python
  // binding frees there, under the GIL, what the round removed). Set it before the first add().
  void set_after_round(std::function<void()> hook) {
    std::lock_guard<std::mutex> lock(mutex_);
    after_round_ = std::move(hook);
  }

  // Stops the thread and waits for it. `for_good` keeps it stopped (process exit). Called on
  // the sweeper thread itself (from the hook) it only asks the thread to stop.
  void pause(bool for_good) noexcept {
    std::thread thread;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      paused_ = true;
      shut_down_ = shut_down_ || for_good;
      stop_ = true;
      if (thread_.joinable() && thread_.get_id() == std::this_thread::get_id()) return;
      thread.swap(thread_);
    }
    wake_.notify_all();
    if (thread.joinable()) thread.join();
  }

  // Restarts the thread after pause(false), if any client is registered.
  void resume() {
    std::lock_guard<std::mutex> lock(mutex_);
    paused_ = false;
    if (!thread_.joinable() && !shut_down_ && !clients_.empty()) start_locked();
  }

  // Runs one round now on the calling thread (tests, and callers without a thread).
  std::size_t run_round() {
    std::size_t removed = 0;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      removed = sweep_locked();
    }
    if (after_round_) after_round_();
    return removed;
  }

 private:
  void start_locked() {
    stop_ = false;
    thread_ = std::thread([this] { run(); });
  }

  // Each client in turn (starting from a rotating one, so a slow client cannot starve the
  // rest) until the round's budget is spent. A client whose pass is unfinished resumes next
  // round.
  std::size_t sweep_locked() {
    const Deadline budget_end = std::chrono::steady_clock::now() + interval_ / 4;
    std::size_t removed = 0;
    const std::size_t n = clients_.size();
    for (std::size_t i = 0; i < n; ++i) {
      removed += clients_[(first_ + i) % n]->sweep_expired(budget_end);
    }
    first_ = n == 0 ? 0 : (first_ + 1) % n;
    return removed;
  }

  void run() {
    std::unique_lock<std::mutex> lock(mutex_);
    while (!stop_) {
      sweep_locked();
      if (after_round_) {
        const std::function<void()> hook = after_round_;
        lock.unlock();
        hook();
        lock.lock();
        if (stop_) break;
      }
      wake_.wait_for(lock, interval_, [this] { return stop_; });
    }
  }

  const std::chrono::nanoseconds interval_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<Client*> clients_;
  std::size_t first_ = 0;
  std::function<void()> after_round_;
  std::thread thread_;
  bool stop_ = false;
  bool paused_ = false;
  bool shut_down_ = false;
};

}  // namespace cuckoocache
