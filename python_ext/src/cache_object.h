// CacheCore: the Python type over one PyEngine (the base class of cuckoocache.SmartCache).
//
// The hot operations (get, put, [], in, del, len, ...) are CPython METH_FASTCALL methods and
// mapping slots defined in cache_object.cpp: Boost.Python's dispatch alone would cost more
// than the lookup. The administrative API (stats, policy, capacity, TTL, clear) is attached
// by module.cpp with Boost.Python. Both call the engine through the helpers declared here,
// which hold the GIL throughout (engine calls are short and never wait for the GIL) and open
// a ReleaseScope, so decrefs happen only after the engine has returned.
#pragma once

#include <Python.h>

#include <memory>
#include <new>
#include <optional>
#include <stdexcept>
#include <utility>

#include "flight_table.h"
#include "py_engine.h"

namespace cuckoocache::python {

struct CacheObject {
  PyObject_HEAD std::unique_ptr<PyEngine> engine;  // null until __init__ has run
  bool swept;                                      // attached to the shared ExpirySweeper
  PyObject* weakrefs;
  FlightTable flights;  // single-flight loads in progress (single_flight.h)
};

inline CacheObject* as_cache_object(PyObject* self) noexcept {
  return reinterpret_cast<CacheObject*>(self);
}

// Creates the CacheCore type (a heap type, so module.cpp can add methods to it). New reference.
PyObject* make_cache_type(PyObject* module);
// The type made by make_cache_type().
PyTypeObject* cache_type() noexcept;

// The engine of `self`, or nullptr with TypeError/RuntimeError set if `self` is not an
// initialized CacheCore.
PyEngine* engine_of(PyObject* self) noexcept;

// The value for `key` (new reference) if present. On a miss returns nullptr with no error
// set; on error returns nullptr with the error set. `count` false: a peek (no stats).
PyObject* cache_lookup(PyEngine& engine, PyObject* key, bool count);

// The same for a probe made by the caller (PyKey::make: the key is hashed once per call).
PyObject* cache_lookup_key(PyEngine& engine, PyKey& probe, bool count);

// cache_lookup_key(engine, probe, true) with its fast path (a safe key) inline, for the hot
// callers in other files (CachedFunction's call).
inline PyObject* cache_lookup_counted(PyEngine& engine, PyKey& probe);

// Stores key -> value with an optional TTL. Returns 0 if done, -1 with an error set.
int cache_store(PyObject* self, PyEngine& engine, PyObject* key, PyObject* value,
                const std::optional<std::chrono::nanoseconds>& ttl);
// The same for a probe made by the caller.
int cache_store_key(PyObject* self, PyEngine& engine, PyKey& probe, PyObject* value,
                    const std::optional<std::chrono::nanoseconds>& ttl);

// Registers a cache whose entries may expire with the background sweeper (idempotent).
void ensure_swept(CacheObject* self);
// Unregisters it (context-manager exit, deallocation).
void stop_sweeping(CacheObject* self) noexcept;

// Runs body() and returns its result; if it throws one of the exceptions the engine and the
// binding throw (std::exception, PythonError, Undecided), sets the matching Python error and
// returns `failed`. Never catch (...): a daemon thread that the exiting interpreter ends with
// pthread_exit unwinds through here, and that forced unwind must pass.
template <class R, class Body>
R translate_errors(R failed, Body&& body);

inline PyObject* cache_lookup_counted(PyEngine& engine, PyKey& probe) {
  if (probe.kind() == KeyKind::kSafe) {
    ReleaseScope scope;
    bool undecided = false;
    PyObject* found = translate_errors<PyObject*>(nullptr, [&]() -> PyObject* {
      PyObject* value = nullptr;
      try {
        engine.visit(probe, [&](const PyRef& v) { value = v.new_reference(); });
      } catch (const Undecided&) {
        undecided = true;
      }
      return value;
    });
    if (!undecided) return found;
  }
  return cache_lookup_key(engine, probe, true);
}

// translate_errors() forced inline, for the lookup of get and []: GCC otherwise keeps the
// wrapper out of line even in their [[gnu::flatten]] callers, and the engine's lookup with it
// (get hit 501 -> 436 instructions, perf/python/instructions.py). Not used everywhere: forced
// into @cached's call, it cost a miss about 18 instructions.
template <class R, class Body>
[[gnu::always_inline]] inline R translate_errors_inline(R failed, Body&& body) {
  try {
    return body();
  } catch (const PythonError&) {
    if (PyErr_Occurred() == nullptr) PyErr_SetString(PyExc_RuntimeError, "unknown Python error");
  } catch (const Undecided&) {
    PyErr_SetString(PyExc_RuntimeError, "cuckoocache: key comparison left undecided");
  } catch (const std::bad_alloc&) {
    PyErr_NoMemory();
  } catch (const std::invalid_argument& e) {
    PyErr_SetString(PyExc_ValueError, e.what());
  } catch (const std::exception& e) {
    PyErr_SetString(PyExc_RuntimeError, e.what());
  }
  return failed;
}

template <class R, class Body>
R translate_errors(R failed, Body&& body) {
  return translate_errors_inline(failed, std::forward<Body>(body));
}

}  // namespace cuckoocache::python
