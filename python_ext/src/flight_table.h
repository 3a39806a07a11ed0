// FlightTable: the computations of missing keys in progress in one cache (single-flight).
//
// A caller that misses a key and finds no flight for it registers one (a Flight on its own C
// stack: no allocation) and computes; a caller that misses the same key meanwhile waits for
// that flight instead of computing again. The shared state waiters block on (FlightResult: a
// mutex, a condition variable, the outcome) is allocated only when a second caller arrives,
// so a miss nobody else is computing pays one vector push and one pop. The table is guarded
// by the GIL: every access holds it, and nothing here runs Python code or releases it.
//
// After fork() the child's table may list flights of threads that do not exist there: a fork
// generation (bumped by a pthread_atfork child handler) makes the table forget them.
#pragma once

#include <Python.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "py_key.h"

namespace cuckoocache::python {

// Forks seen by this process (see above).
inline std::atomic<std::uint64_t>& fork_generation() noexcept {
  static std::atomic<std::uint64_t> generation{0};
  return generation;
}

// This thread, as a flight's owner: the address of a thread_local, one TLS address (no call,
// unlike PyThread_get_thread_ident). Unique among live threads, which is all an owner check
// needs: a flight's owner is alive while the flight is registered.
inline const void* this_thread_token() noexcept {
  constinit thread_local char token = 0;
  return &token;
}

// The outcome of one flight, shared by its leader and its waiters. Every owner drops its
// reference with the GIL held (the destructor decrefs).
struct FlightResult {
  FlightResult() = default;
  FlightResult(const FlightResult&) = delete;
  FlightResult& operator=(const FlightResult&) = delete;
  ~FlightResult() {
    Py_XDECREF(value);
    Py_XDECREF(error_type);
    Py_XDECREF(error_value);
    Py_XDECREF(error_traceback);
  }

  std::mutex mutex;
  std::condition_variable finished;
  bool done = false;                    // under mutex; the fields below are set before it
  PyObject* value = nullptr;            // the computed value, if the computation succeeded
  PyObject* error_type = nullptr;       // the computation's exception, if it raised an
  PyObject* error_value = nullptr;      // Exception (waiters get it); neither is set for a
  PyObject* error_traceback = nullptr;  // KeyboardInterrupt & co (waiters retry then)
};

// One computation in progress: lives on its leader's stack while the leader computes.
struct Flight {
  PyObject* key = nullptr;  // borrowed: the leader holds the key for the whole flight
  Py_hash_t hash = 0;
  KeyKind kind = KeyKind::kSafe;
  const void* owner = nullptr;  // the leader's thread (this_thread_token())
  std::uint64_t fork_generation = 0;
  std::shared_ptr<FlightResult> result;  // created by the first waiter
};

class FlightTable {
 public:
  // The flight registered for the key of `probe` whose key is `probe`'s by identity or by a
  // comparison that runs no Python code; `undecided` is set when a flight has the same hash
  // but only Python's == could tell (the caller then compares with compare()).
  [[nodiscard]] Flight* find_safe(const PyKey& probe, Flight*& undecided) noexcept {
    forget_after_fork();
    undecided = nullptr;
    for (Flight* f : flights_) {
      if (f->hash != probe.hash()) continue;
      if (f->key == probe.object()) return f;
      if (f->kind == KeyKind::kSafe && probe.kind() == KeyKind::kSafe) {
        try {
          if (detail::safe_equal(f->key, probe.object())) return f;
        } catch (const PythonError&) {
          PyErr_Clear();  // only on memory exhaustion: treat as different keys
        }
      } else if (undecided == nullptr) {
        undecided = f;
      }
    }
    return nullptr;
  }

  // Registers `flight` (its fields set). Returns false with MemoryError set if it cannot.
  [[nodiscard]] bool add(Flight& flight) noexcept {
    forget_after_fork();
    try {
      flights_.push_back(&flight);
    } catch (const std::bad_alloc&) {
      PyErr_NoMemory();
      return false;
    }
    ++version_;
    return true;
  }

  // Unregisters `flight` (absent after a fork: nothing to do).
  void remove(Flight& flight) noexcept {
    auto it = std::find(flights_.begin(), flights_.end(), &flight);
    if (it != flights_.end()) {
      *it = flights_.back();
      flights_.pop_back();
    }
    ++version_;
    ++completed_;
  }

  // Whether `flight` is still registered (after Python code ran and the table may have
  // changed).
  [[nodiscard]] bool holds(const Flight* flight) const noexcept {
    return std::find(flights_.begin(), flights_.end(), flight) != flights_.end();
  }

  [[nodiscard]] const std::vector<Flight*>& flights() const noexcept { return flights_; }

  // Changes on every add and remove.
  [[nodiscard]] std::uint64_t version() const noexcept { return version_; }
  // Flights finished so far: a caller that saw this before its cache lookup and sees the
  // same number after registering knows no value was stored in between by a flight.
  [[nodiscard]] std::uint64_t completed() const noexcept { return completed_; }

 private:
  void forget_after_fork() noexcept {
    const std::uint64_t now = fork_generation().load(std::memory_order_relaxed);
    if (now != fork_generation_) {
      flights_.clear();
      fork_generation_ = now;
      ++version_;
    }
  }

  std::vector<Flight*> flights_;
  std::uint64_t version_ = 0;
  std::uint64_t completed_ = 0;
  std::uint64_t fork_generation_ = 0;
};

}  // namespace cuckoocache::python
