// TierCore: the C base of TieredCache, for its local-hit paths and its loader's single-flight.
//
// - get(key, default=None), tier[key] and get_or_set(key, factory, ttl_seconds=None) look the
//   key up in `local` (the local SmartCache) and return a hit with no Python frame, so a local
//   hit costs what SmartCache.get costs. On a miss they call the subclass's Python methods:
//   get calls self._get_miss(key, default), [] calls self._getitem_miss(key), and get_or_set
//   loads the key (below). A subclass that overrides any of these methods is used as usual.
// - _load_once(key, factory, ttl_seconds) loads a key (the miss path of tier.cached).
//
// Loading runs self._load(key, factory, ttl_seconds) (Redis, else compute, storing in both
// tiers) under single-flight: concurrent loads of one key in this process run it once and the
// others get its value. The flights live in this object's FlightTable and follow the protocol
// of single_flight.h (find_flight, wait_for, publish: waiters of a failed load retry once
// between them, then get its exception), with one difference: the leader stores nothing,
// because _load stores the value itself and may deliberately leave the local tier unfilled (a
// read that raced with an invalidation). From registering a flight to finishing it only C code
// runs apart from _load, which returns here whatever it raises, so a KeyboardInterrupt cannot
// leave a flight registered and its waiters hanging (issue 13.1).
//
// `local` is set once (by TieredCache.__init__) and never replaced, so the engine a method
// looks up in stays alive for the whole call whatever Python code (a key's __eq__) runs.
#include "tier_core.h"

#include <pythread.h>

#include <cstdarg>
#include <cstdint>
#include <memory>
#include <new>

#include "arguments.h"
#include "cache_object.h"
#include "flight_table.h"
#include "single_flight.h"

namespace cuckoocache::python {

namespace {

struct TierObject {
  PyObject_HEAD PyObject* local;  // the local SmartCache; null until TieredCache.__init__
  FlightTable flights;            // loads in progress (see the top of the file)
};

TierObject* as_tier(PyObject* self) noexcept {
  return reinterpret_cast<TierObject*>(self);
}

// Interned method names of the Python subclass.
PyObject* g_get_miss = nullptr;
PyObject* g_getitem_miss = nullptr;
PyObject* g_load = nullptr;

// The local tier's engine, or nullptr with RuntimeError set.
[[gnu::always_inline]] inline PyEngine* local_engine(PyObject* self) noexcept {
  PyObject* local = as_tier(self)->local;
  PyEngine* engine = local == nullptr ? nullptr : as_cache_object(local)->engine.get();
  if (engine == nullptr) [[unlikely]] {
    PyErr_SetString(PyExc_RuntimeError, "TieredCache.__init__ has not run");
  }
  return engine;
}

// Arguments passed by keyword (the uncommon case): parsed as PyArg_ParseTupleAndKeywords
// parses them, for its usual error messages. The parsed objects are borrowed from `args`.
bool parse_with_keywords(PyObject* const* args, Py_ssize_t nargs, PyObject* kwnames,
                         const char* format, const char* const* names, ...) {
  PyObject* positional = PyTuple_New(nargs);
  if (positional == nullptr) return false;
  for (Py_ssize_t i = 0; i < nargs; ++i) PyTuple_SET_ITEM(positional, i, Py_NewRef(args[i]));
  PyObject* keywords = nullptr;
  bool ok = true;
  if (kwnames != nullptr) {
    keywords = PyDict_New();
    ok = keywords != nullptr;
    for (Py_ssize_t i = 0; ok && i < PyTuple_GET_SIZE(kwnames); ++i) {
      ok = PyDict_SetItem(keywords, PyTuple_GET_ITEM(kwnames, i), args[nargs + i]) == 0;
    }
  }
  if (ok) {
    va_list va;
    va_start(va, names);
    ok = PyArg_VaParseTupleAndKeywords(positional, keywords, format, const_cast<char**>(names),
                                       va) != 0;
    va_end(va);
  }
  Py_DECREF(positional);
  Py_XDECREF(keywords);
  return ok;
}

// self._load(key, factory, ttl_seconds): the leader's load. New reference or nullptr.
PyObject* call_load(PyObject* self, PyObject* key, PyObject* factory, PyObject* ttl) {
  PyObject* call[] = {self, key, factory, ttl};
  return PyObject_VectorcallMethod(g_load, call, 4, nullptr);
}

// The value of `probe`'s key after the local tier missed it: self._load's, or that of another
// thread loading the same key. `completed_before` is flights.completed() read before that
// lookup. New reference, or nullptr with an error set.
[[gnu::noinline]] PyObject* load(PyObject* self, PyEngine& engine, PyKey& probe,
                                 std::uint64_t completed_before, PyObject* factory, PyObject* ttl) {
  // _load stores in both tiers itself: the flight only shares its result.
  return flight_load(
      as_tier(self)->flights, engine, probe, completed_before,
      [&] { return call_load(self, probe.object(), factory, ttl); }, [](PyObject*) { return 0; });
}

[[gnu::noinline]] PyObject* get_miss(PyObject* self, PyObject* key, PyObject* fallback) {
  PyObject* call[] = {self, key, fallback};
  return PyObject_VectorcallMethod(g_get_miss, call, 3, nullptr);
}

PyObject* get_method(PyObject* self, PyObject* const* args, Py_ssize_t nargs, PyObject* kwnames) {
  PyObject* key;
  PyObject* fallback = Py_None;
  if (kwnames == nullptr && (nargs == 1 || nargs == 2)) [[likely]] {
    key = args[0];
    if (nargs == 2) fallback = args[1];
  } else {
    static const char* const names[] = {"key", "default", nullptr};
    if (!parse_with_keywords(args, nargs, kwnames, "O|O:get", names, &key, &fallback)) {
      return nullptr;
    }
  }
  PyEngine* engine = local_engine(self);
  if (engine == nullptr) return nullptr;
  PyKey probe;  // borrows key
  if (!PyKey::make(key, probe)) return nullptr;
  PyObject* value = cache_lookup_counted(*engine, probe);
  if (value != nullptr || PyErr_Occurred() != nullptr) return value;
  return get_miss(self, key, fallback);
}

PyObject* subscript_slot(PyObject* self, PyObject* key) {
  PyEngine* engine = local_engine(self);
  if (engine == nullptr) return nullptr;
  PyKey probe;
  if (!PyKey::make(key, probe)) return nullptr;
  PyObject* value = cache_lookup_counted(*engine, probe);
  if (value != nullptr || PyErr_Occurred() != nullptr) return value;
  PyObject* call[] = {self, key};
  return PyObject_VectorcallMethod(g_getitem_miss, call, 2, nullptr);
}

PyObject* get_or_set_method(PyObject* self, PyObject* const* args, Py_ssize_t nargs,
                            PyObject* kwnames) {
  PyObject* key;
  PyObject* factory;
  PyObject* ttl = Py_None;
  if (kwnames == nullptr && (nargs == 2 || nargs == 3)) [[likely]] {
    key = args[0];
    factory = args[1];
    if (nargs == 3) ttl = args[2];
  } else {
    static const char* const names[] = {"key", "factory", "ttl_seconds", nullptr};
    if (!parse_with_keywords(args, nargs, kwnames, "OO|O:get_or_set", names, &key, &factory,
                             &ttl)) {
      return nullptr;
    }
  }
  // Bad arguments are refused before anything is looked up or computed.
  if (!PyCallable_Check(factory)) {
    PyErr_Format(PyExc_TypeError, "factory must be callable, not %.100s",
                 Py_TYPE(factory)->tp_name);
    return nullptr;
  }
  std::optional<std::chrono::nanoseconds> parsed;
  if (!parse_ttl(ttl, "ttl_seconds", parsed)) return nullptr;
  PyEngine* engine = local_engine(self);
  if (engine == nullptr) return nullptr;
  PyKey probe;
  if (!PyKey::make(key, probe)) return nullptr;
  const std::uint64_t completed = as_tier(self)->flights.completed();
  PyObject* value = cache_lookup_counted(*engine, probe);
  if (value != nullptr || PyErr_Occurred() != nullptr) return value;
  return load(self, *engine, probe, completed, factory, ttl);
}

PyObject* load_once_method(PyObject* self, PyObject* const* args, Py_ssize_t nargs) {
  if (nargs != 3) {
    PyErr_Format(PyExc_TypeError, "_load_once() takes exactly 3 arguments (%zd given)", nargs);
    return nullptr;
  }
  PyEngine* engine = local_engine(self);
  if (engine == nullptr) return nullptr;
  PyKey probe;
  if (!PyKey::make(args[0], probe)) return nullptr;
  const std::uint64_t completed = as_tier(self)->flights.completed();
  PyObject* value = cache_lookup_key(*engine, probe, false);
  if (value != nullptr || PyErr_Occurred() != nullptr) return value;
  return load(self, *engine, probe, completed, args[1], args[2]);
}

PyObject* get_local(PyObject* self, void*) {
  PyObject* local = as_tier(self)->local;
  if (local == nullptr) {
    PyErr_SetString(PyExc_AttributeError, "local: TieredCache.__init__ has not run");
    return nullptr;
  }
  return Py_NewRef(local);
}

int set_local(PyObject* self, PyObject* value, void*) {
  if (value == nullptr || as_tier(self)->local != nullptr) {
    PyErr_SetString(PyExc_AttributeError, "local is set once, by TieredCache.__init__");
    return -1;
  }
  if (engine_of(value) == nullptr) return -1;  // TypeError: not an initialized SmartCache
  as_tier(self)->local = Py_NewRef(value);
  return 0;
}

PyObject* new_slot(PyTypeObject* type, PyObject*, PyObject*) {
  PyObject* self = type->tp_alloc(type, 0);
  if (self == nullptr) return nullptr;
  as_tier(self)->local = nullptr;
  new (&as_tier(self)->flights) FlightTable();
  return self;
}

int traverse_slot(PyObject* self, visitproc visit, void* arg) {
  Py_VISIT(Py_TYPE(self));
  Py_VISIT(as_tier(self)->local);
  return 0;
}

int clear_slot(PyObject* self) {
  Py_CLEAR(as_tier(self)->local);
  return 0;
}

void dealloc_slot(PyObject* self) {
  PyTypeObject* type = Py_TYPE(self);
  PyObject_GC_UnTrack(self);
  clear_slot(self);
  as_tier(self)->flights.~FlightTable();
  type->tp_free(self);
  Py_DECREF(type);
}

template <class F>
PyCFunction as_cfunction(F f) {
  return reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(f));
}

PyMethodDef g_methods[] = {
    {"get", as_cfunction(get_method), METH_FASTCALL | METH_KEYWORDS,
     "get($self, /, key, default=None)\n--\n\nThe value of key from the local tier, else from "
     "Redis (filling the local tier), else default."},
    {"get_or_set", as_cfunction(get_or_set_method), METH_FASTCALL | METH_KEYWORDS,
     "get_or_set($self, /, key, factory, ttl_seconds=None)\n--\n\nThe value of key (local tier, "
     "else Redis); on a miss in both, stores and returns factory(). Concurrent misses of one key "
     "compute once per process, and once across instances with cross_instance_lock=True. If "
     "factory raises, nothing is stored and the exception propagates; if its result cannot be "
     "serialized, TypeError."},
    {"_load_once", as_cfunction(load_once_method), METH_FASTCALL,
     "_load_once($self, key, factory, ttl_seconds, /)\n--\n\nThe value of key: the local tier's "
     "(not counted), else self._load(key, factory, ttl_seconds) under single-flight."},
    {nullptr, nullptr, 0, nullptr}};

PyGetSetDef g_getset[] = {
    {"local", get_local, set_local, "The local tier (L1): a SmartCache.", nullptr},
    {nullptr, nullptr, nullptr, nullptr, nullptr}};

}  // namespace

int add_tier_core_type(PyObject* module) {
  g_get_miss = PyUnicode_InternFromString("_get_miss");
  g_getitem_miss = PyUnicode_InternFromString("_getitem_miss");
  g_load = PyUnicode_InternFromString("_load");
  if (g_get_miss == nullptr || g_getitem_miss == nullptr || g_load == nullptr) return -1;
  PyType_Slot slots[] = {
      {Py_tp_doc, const_cast<char*>("The C base of TieredCache: local hits and single-flight.")},
      {Py_tp_new, reinterpret_cast<void*>(new_slot)},
      {Py_tp_dealloc, reinterpret_cast<void*>(dealloc_slot)},
      {Py_tp_traverse, reinterpret_cast<void*>(traverse_slot)},
      {Py_tp_clear, reinterpret_cast<void*>(clear_slot)},
      {Py_tp_methods, g_methods},
      {Py_tp_getset, g_getset},
      {Py_mp_subscript, reinterpret_cast<void*>(subscript_slot)},
      {0, nullptr}};
  PyType_Spec spec = {"cuckoocache._core.TierCore", sizeof(TierObject), 0,
                      Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC, slots};
  PyObject* type = PyType_FromModuleAndSpec(module, &spec, nullptr);
  if (type == nullptr) return -1;
  return PyModule_AddObject(module, "TierCore", type) < 0 ? (Py_DECREF(type), -1) : 0;
}

}  // namespace cuckoocache::python
