// Single-flight loading in C: the miss path of @cached and SmartCache.get_or_set.
//
// load() runs after a counted lookup missed. Callers that miss the same key at once share one
// computation (the FlightTable of the cache, flight_table.h): the first registers a flight and
// computes, the others wait for it with the GIL released and return its value. The key's hash
// is the probe's, computed once per call; nothing here hashes again.
//
// Why C: from registering a flight to finishing it (unregistering, storing the outcome for
// the waiters, waking them) only C code runs apart from the computation itself and the store,
// and both return to this code whatever they raise. A KeyboardInterrupt can only surface from
// Python code, so it can no longer strand a registered flight (issue 13.1).
//
// Outcomes for waiters: the value; or the computation's exception if it raised an Exception
// and this waiter already retried once (one retry between all the waiters of a failure, not a
// serial queue of retries: issue 13.26); or, after a KeyboardInterrupt / SystemExit in the
// leader, which belongs to the leader's thread, a retry. A recursive call with the same key
// from the leader's own thread computes directly (waiting would wait for itself).
#pragma once

#include <Python.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>

#include "cache_object.h"
#include "flight_table.h"

namespace cuckoocache::python {

namespace detail {

// The flight for `probe`'s key (nullptr: none). Returns -1 with an error set if a Python ==
// raised. Python comparisons may run other threads, so the table is re-read after each.
[[nodiscard]] inline int find_flight(FlightTable& table, const PyKey& probe, Flight*& out) {
  for (;;) {
    Flight* undecided = nullptr;
    out = table.find_safe(probe, undecided);
    if (out != nullptr || undecided == nullptr) return 0;
    const std::uint64_t version = table.version();
    bool changed = false;
    for (std::size_t i = 0; i < table.flights().size() && !changed; ++i) {
      Flight* f = table.flights()[i];
      if (f->hash != probe.hash()) continue;
      PyObject* stored = Py_NewRef(f->key);  // the leader holds it too: this decref frees nothing
      const int equal = PyObject_RichCompareBool(stored, probe.object(), Py_EQ);
      Py_DECREF(stored);
      if (equal < 0) return -1;
      if (table.version() != version) {
        changed = true;
      } else if (equal == 1) {
        out = f;
        return 0;
      }
    }
    if (!changed) return 0;
  }
}

// Waits, with the GIL released, until `result` is done. Returns -1 with an error set if a
// signal handler raised meanwhile (Ctrl-C in a waiting main thread).
[[nodiscard]] inline int wait_for(FlightResult& result) {
  for (;;) {
    bool done = false;
    PyThreadState* state = PyEval_SaveThread();
    {
      std::unique_lock<std::mutex> lock(result.mutex);
      done =
          result.finished.wait_for(lock, std::chrono::milliseconds(5), [&] { return result.done; });
    }
    PyEval_RestoreThread(state);
    if (done) return 0;
    if (PyErr_CheckSignals() < 0) return -1;
  }
}

// Hands the leader's outcome to its waiters (if any) and wakes them: `value` (borrowed), or
// the error being raised. Runs no Python code.
inline void publish(Flight& flight, PyObject* value) noexcept {
  if (!flight.result) return;
  if (flight.fork_generation != fork_generation().load(std::memory_order_relaxed)) return;
  FlightResult& r = *flight.result;
  if (value != nullptr) {
    r.value = Py_NewRef(value);
  } else if (PyErr_Occurred() != nullptr && PyErr_ExceptionMatches(PyExc_Exception)) {
    PyObject* type = nullptr;
    PyObject* error = nullptr;
    PyObject* traceback = nullptr;
    PyErr_Fetch(&type, &error, &traceback);
    r.error_type = Py_XNewRef(type);
    r.error_value = Py_XNewRef(error);
    r.error_traceback = Py_XNewRef(traceback);
    PyErr_Restore(type, error, traceback);
  }
  {
    std::lock_guard<std::mutex> lock(r.mutex);
    r.done = true;
  }
  r.finished.notify_all();
}

// produce(), then store(value): what a leader, or a recursive load on the leader's thread,
// does. New reference or nullptr.
template <class Produce, class Store>
PyObject* produce_and_store(Produce& produce, Store& store) {
  PyObject* value = produce();
  if (value == nullptr) return nullptr;
  if (store(value) < 0) {
    Py_DECREF(value);
    return nullptr;
  }
  return value;
}

}  // namespace detail

// The value for `probe`'s key after a lookup in `engine` missed: produced by produce() (a new
// reference, or nullptr with an error set) and kept by store(value) (0, or -1 with an error
// set), or another thread's result for the same key in `table`. `completed_before` is
// table.completed() read before that lookup. New reference, or nullptr with an error set.
// SmartCache and @cached store into the engine; TieredCache's loader stores for itself.
template <class Produce, class Store>
PyObject* flight_load(FlightTable& table, PyEngine& engine, PyKey& probe,
                      std::uint64_t completed_before, Produce&& produce, Store&& store) {
  const void* const me = this_thread_token();
  bool retried = false;
  for (;;) {
    Flight* other = nullptr;
    if (detail::find_flight(table, probe, other) < 0) return nullptr;
    if (other == nullptr) break;  // nobody produces it: lead
    // A recursive load of the same key from the leader's thread: waiting would wait for itself.
    if (other->owner == me) return detail::produce_and_store(produce, store);
    std::shared_ptr<FlightResult> result = other->result;
    if (!result) {
      try {
        result = other->result = std::make_shared<FlightResult>();
      } catch (const std::bad_alloc&) {
        return PyErr_NoMemory();
      }
    }
    if (detail::wait_for(*result) < 0) return nullptr;
    if (result->value != nullptr) return Py_NewRef(result->value);
    if (result->error_type != nullptr) {
      if (retried) {
        PyErr_Restore(Py_NewRef(result->error_type), Py_XNewRef(result->error_value),
                      Py_XNewRef(result->error_traceback));
        return nullptr;
      }
      retried = true;
    }
    completed_before = table.completed();
    PyObject* stored = cache_lookup_key(engine, probe, false);
    if (stored != nullptr || PyErr_Occurred() != nullptr) return stored;
  }
  Flight mine;
  mine.key = probe.object();
  mine.hash = probe.hash();
  mine.kind = probe.kind();
  mine.owner = me;
  mine.fork_generation = fork_generation().load(std::memory_order_relaxed);
  if (!table.add(mine)) return nullptr;
  // From here to publish() only C code runs, apart from produce() and store(), which return
  // here whatever they raise.
  PyObject* value = nullptr;
  int stored = 0;
  if (table.completed() != completed_before) {
    // A flight finished between our lookup and now: its value may be in the cache.
    value = cache_lookup_key(engine, probe, false);
    if (value == nullptr && PyErr_Occurred() != nullptr) stored = -1;
  }
  if (value == nullptr && stored == 0) {
    value = produce();
    stored = value == nullptr ? -1 : store(value);
  }
  table.remove(mine);
  detail::publish(mine, value);
  if (stored < 0) {
    Py_XDECREF(value);
    return nullptr;
  }
  return value;
}

// flight_load for a SmartCache: compute() (a new reference, or nullptr with an error set) is
// stored in the cache with `ttl`. `completed_before` is flights().completed() read before the
// lookup that missed.
template <class Compute>
PyObject* single_flight_load(PyObject* self, PyEngine& engine, PyKey& probe,
                             std::uint64_t completed_before,
                             const std::optional<std::chrono::nanoseconds>& ttl,
                             Compute&& compute) {
  return flight_load(
      as_cache_object(self)->flights, engine, probe, completed_before, compute,
      [&](PyObject* value) { return cache_store_key(self, engine, probe, value, ttl); });
}

// The same without single-flight (single_flight=False): compute and store.
template <class Compute>
PyObject* plain_load(PyObject* self, PyEngine& engine, PyKey& probe,
                     const std::optional<std::chrono::nanoseconds>& ttl, Compute&& compute) {
  auto store = [&](PyObject* value) { return cache_store_key(self, engine, probe, value, ttl); };
  return detail::produce_and_store(compute, store);
}

}  // namespace cuckoocache::python
