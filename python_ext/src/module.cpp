// The cuckoocache._core extension module, built with Boost.Python.
//
// Boost.Python defines the module; this file attaches the administrative methods of CacheCore
// (stats, policy, capacity, TTL, clear, snapshot) as plain CPython methods, so they have
// Python signatures (inspect.signature, help()) and a wrong call raises CPython's own
// TypeError naming the method ("set_policy() takes exactly one argument (0 given)"), not
// Boost.Python.ArgumentError with a C++ signature. EvictionPolicy is the Python enum.IntEnum
// of cuckoocache._policy, imported at load; policies are accepted and returned as its members.
// The hot paths (CacheCore's get/put/mapping slots, CachedFunction's call) are plain CPython
// types made in cache_object.cpp and cached_function.cpp: Boost.Python's dispatch costs more
// than a cache hit. Engine errors arrive here as C++ exceptions and leave as Python ones:
// std::invalid_argument as ValueError, anything else as RuntimeError, a pending Python error
// as itself.
#include <boost/python.hpp>
#include <chrono>
#include <cstddef>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

#include "arguments.h"
#include "cache_object.h"
#include "cached_function.h"
#include "sweeper.h"
#include "tier_core.h"

namespace bp = boost::python;

namespace cuckoocache::python {

namespace {
// cuckoocache._policy.EvictionPolicy and its members by value, set once at module load and
// kept for the life of the process (strong references).
PyTypeObject* g_policy_type = nullptr;
PyObject* g_policy_members[kPolicies.size()] = {};
}  // namespace

bool parse_policy(PyObject* o, const char* name, Policy& out) {
  // A type check only: no Python code runs (EnumType defines no __instancecheck__).
  if (g_policy_type == nullptr || !PyObject_TypeCheck(o, g_policy_type)) {
    PyErr_Format(PyExc_TypeError, "%s must be an EvictionPolicy, not %.100s", name,
                 Py_TYPE(o)->tp_name);
    return false;
  }
  const long v = PyLong_AsLong(o);
  if (v < 0 || v >= static_cast<long>(kPolicies.size())) {
    if (!PyErr_Occurred()) {
      PyErr_Format(PyExc_ValueError, "%s must be one of EvictionPolicy's members, got %R", name, o);
    }
    return false;
  }
  out = static_cast<Policy>(v);
  return true;
}

namespace {

// The engine of `self` for a Boost.Python method; raises like the hot methods do.
CacheObject& cache_of(const bp::object& self) {
  if (engine_of(self.ptr()) == nullptr) bp::throw_error_already_set();
  return *reinterpret_cast<CacheObject*>(self.ptr());
}

PyEngine& engine(const bp::object& self) {
  return *cache_of(self).engine;
}

// The EvictionPolicy member for p.
bp::object policy_object(Policy p) {
  return bp::object(bp::handle<>(bp::borrowed(g_policy_members[static_cast<int>(p)])));
}

bp::dict stats(const bp::object& self) {
  const CacheStats s = engine(self).stats();
  const std::uint64_t lookups = s.hits + s.misses;
  const double hit_rate = lookups == 0 ? 0.0 : static_cast<double>(s.hits) / lookups;
  const double miss_rate = lookups == 0 ? 0.0 : static_cast<double>(s.misses) / lookups;
  bp::dict d;
  d["hits"] = s.hits;
  d["misses"] = s.misses;
  d["evictions"] = s.evictions;
  d["expirations"] = s.expirations;
  d["inserts"] = s.inserts;
  d["updates"] = s.updates;
  d["rejections"] = s.rejections;
  d["current_size"] = s.size;
  d["max_size"] = s.max_size;
  d["hit_rate"] = hit_rate;
  d["miss_rate"] = miss_rate;
  d["utilization"] = s.max_size == 0 ? 0.0 : static_cast<double>(s.size) / s.max_size;
  d["policy"] = policy_object(engine(self).policy());
  return d;
}

void reset_stats(const bp::object& self) {
  engine(self).reset_stats();
}

void clear(const bp::object& self) {
  ReleaseScope scope;
  engine(self).clear();
}

std::size_t cleanup(const bp::object& self) {
  ReleaseScope scope;
  return engine(self).cleanup();
}

bp::object get_policy(const bp::object& self) {
  return policy_object(engine(self).policy());
}

void set_policy(const bp::object& self, const bp::object& policy) {
  Policy p = Policy::kLru;
  if (!parse_policy(policy.ptr(), "policy", p)) bp::throw_error_already_set();
  engine(self).set_policy(p);
}

std::size_t get_max_size(const bp::object& self) {
  return engine(self).max_size();
}

void set_max_size(const bp::object& self, const bp::object& max_size) {
  std::size_t n = 0;
  if (!parse_max_size(max_size.ptr(), "max_size", n)) bp::throw_error_already_set();
  ReleaseScope scope;  // decrefs what the shrink evicted once the GIL is back (py_ref.h)
  // A shrink evicts and moves entries for a while and runs no Python code (it never hashes
  // or compares keys; evicted references are only queued): let other threads run meanwhile.
  PyEngine& cache = engine(self);
  struct WithoutGil {  // re-acquires the GIL however the call ends (it may throw bad_alloc)
    PyThreadState* state = PyEval_SaveThread();
    WithoutGil() = default;
    WithoutGil(const WithoutGil&) = delete;
    WithoutGil& operator=(const WithoutGil&) = delete;
    ~WithoutGil() { PyEval_RestoreThread(state); }
  } without_gil;
  cache.set_max_size(n);
}

bp::object get_ttl(const bp::object& self) {
  const auto ttl = engine(self).default_ttl();
  if (!ttl) return bp::object();
  return bp::object(std::chrono::duration<double>(*ttl).count());
}

void set_ttl(const bp::object& self, const bp::object& ttl_seconds) {
  std::optional<std::chrono::nanoseconds> ttl;
  if (!parse_ttl(ttl_seconds.ptr(), "ttl_seconds", ttl)) bp::throw_error_already_set();
  CacheObject& cache = cache_of(self);
  cache.engine->set_default_ttl(ttl);
  if (ttl) ensure_swept(&cache);
}

bp::list items(const bp::object& self) {
  ReleaseScope scope;
  bp::list out;
  for (const auto& [key, value] : engine(self).snapshot()) {
    out.append(bp::make_tuple(bp::object(bp::handle<>(bp::borrowed(key.object()))),
                              bp::object(bp::handle<>(bp::borrowed(value.get())))));
  }
  return out;
}

void stop_background(const bp::object& self) {
  stop_sweeping(&cache_of(self));
}

void sweeper_pause() {
  pause_sweeper(false);
}
void sweeper_resume() {
  python_sweeper().resume();
}
void sweeper_shutdown() {
  pause_sweeper(true);
}

void translate_invalid_argument(const std::invalid_argument& e) {
  PyErr_SetString(PyExc_ValueError, e.what());
}

// Calls f (returning a bp::object) for a CPython method: a new reference, or nullptr with
// the Python error set from whatever f threw, translated by the binding's one helper
// (translate_errors). Boost.Python's error_already_set means what PythonError means: the
// Python error is already set. Not noexcept, and no catch (...): a daemon thread that the
// exiting interpreter ends with pthread_exit unwinds through here, and that must pass.
template <class F>
PyObject* guarded(F&& f) {
  return translate_errors<PyObject*>(nullptr, [&]() -> PyObject* {
    try {
      return bp::incref(f().ptr());
    } catch (const bp::error_already_set&) {
      throw PythonError{};
    }
  });
}

bp::object self_object(PyObject* self) {
  return bp::object(bp::handle<>(bp::borrowed(self)));
}

template <class R>
bp::object as_object(R&& r) {
  return bp::object(std::forward<R>(r));
}

// METH_NOARGS / METH_O adapters over the functions above.
template <auto F>
PyObject* noargs(PyObject* self, PyObject* /*unused*/) {
  return guarded([&] {
    if constexpr (std::is_void_v<decltype(F(self_object(self)))>) {
      F(self_object(self));
      return bp::object();
    } else {
      return as_object(F(self_object(self)));
    }
  });
}

template <auto F>
PyObject* onearg(PyObject* self, PyObject* arg) {
  return guarded([&] {
    F(self_object(self), self_object(arg));
    return bp::object();
  });
}

// Docstrings start with CPython's text signature ("name($self, arg, /)\n--\n\n"), which
// inspect.signature() and help() read.
PyMethodDef g_admin_methods[] = {
    {"stats", noargs<&stats>, METH_NOARGS,
     "stats($self, /)\n--\n\nCounters and rates as a dict: hits, misses, evictions, "
     "expirations, inserts, updates, rejections, current_size, max_size, hit_rate, miss_rate "
     "(both 0.0 before any lookup), utilization, policy."},
    {"reset_stats", noargs<&reset_stats>, METH_NOARGS,
     "reset_stats($self, /)\n--\n\nZeroes the counters."},
    {"clear", noargs<&clear>, METH_NOARGS,
     "clear($self, /)\n--\n\nRemoves every entry. Counters are kept."},
    {"cleanup", noargs<&cleanup>, METH_NOARGS,
     "cleanup($self, /)\n--\n\nRemoves every expired entry now; returns how many."},
    {"get_policy", noargs<&get_policy>, METH_NOARGS,
     "get_policy($self, /)\n--\n\nThe current EvictionPolicy."},
    {"set_policy", onearg<&set_policy>, METH_O,
     "set_policy($self, policy, /)\n--\n\nSwitches the eviction policy (an EvictionPolicy); "
     "entries are kept."},
    {"get_max_size", noargs<&get_max_size>, METH_NOARGS,
     "get_max_size($self, /)\n--\n\nThe capacity (most entries kept)."},
    {"set_max_size", onearg<&set_max_size>, METH_O,
     "set_max_size($self, max_size, /)\n--\n\nChanges the capacity (an int in [1, 2**31]); "
     "shrinking evicts before returning."},
    {"get_ttl", noargs<&get_ttl>, METH_NOARGS,
     "get_ttl($self, /)\n--\n\nThe default time-to-live in seconds, or None."},
    {"set_ttl", onearg<&set_ttl>, METH_O,
     "set_ttl($self, ttl_seconds, /)\n--\n\nSets the default time-to-live for entries stored "
     "from now on (a positive number of seconds, or None: no expiry). Existing entries keep "
     "theirs."},
    {"_items", noargs<&items>, METH_NOARGS,
     "_items($self, /)\n--\n\nA snapshot of the entries: a list of (key, value) tuples."},
    {"_stop_background", noargs<&stop_background>, METH_NOARGS,
     "_stop_background($self, /)\n--\n\nStops background expiry for this cache."},
};

// Adds g_admin_methods to the CacheCore type as method descriptors.
void add_admin_methods(PyObject* cls) {
  for (PyMethodDef& def : g_admin_methods) {
    const bp::object descr{
        bp::handle<>(PyDescr_NewMethod(reinterpret_cast<PyTypeObject*>(cls), &def))};
    if (PyObject_SetAttrString(cls, def.ml_name, descr.ptr()) != 0) bp::throw_error_already_set();
  }
}

// Imports cuckoocache._policy.EvictionPolicy and keeps it and its members.
bp::object load_policy_type() {
  bp::object cls = bp::import("cuckoocache._policy").attr("EvictionPolicy");
  if (!PyType_Check(cls.ptr())) {
    PyErr_SetString(PyExc_TypeError, "cuckoocache._policy.EvictionPolicy is not a class");
    bp::throw_error_already_set();
  }
  // The members are looked up by the engine's policy list (engine/cache_config.h), so a
  // Python enum that disagrees with it fails the import instead of mapping policies wrongly.
  for (const PolicyName& entry : kPolicies) {
    std::string upper(entry.name);
    for (char& c : upper) c = static_cast<char>(c - 'a' + 'A');
    bp::object member = cls.attr(upper.c_str());
    const auto value = static_cast<long>(entry.policy);
    if (bp::extract<long>(member)() != value) {
      PyErr_Format(PyExc_ImportError, "EvictionPolicy.%s is %R, the engine's value is %ld",
                   upper.c_str(), member.ptr(), value);
      bp::throw_error_already_set();
    }
    g_policy_members[value] = bp::incref(member.ptr());
  }
  g_policy_type = reinterpret_cast<PyTypeObject*>(bp::incref(cls.ptr()));
  return cls;
}

// Raises like put() would for this ttl_seconds (get_or_set checks before calling a factory).
void check_ttl(const bp::object& ttl_seconds) {
  std::optional<std::chrono::nanoseconds> ttl;
  if (!parse_ttl(ttl_seconds.ptr(), "ttl_seconds", ttl)) bp::throw_error_already_set();
}

}  // namespace
}  // namespace cuckoocache::python

BOOST_PYTHON_MODULE(_core) {
  using namespace cuckoocache;
  using namespace cuckoocache::python;
  bp::register_exception_translator<std::invalid_argument>(&translate_invalid_argument);

  bp::scope module;
  PyObject* cache_type = make_cache_type(module.ptr());
  if (cache_type == nullptr) bp::throw_error_already_set();
  const bp::object cls{bp::handle<>(cache_type)};
  module.attr("CacheCore") = cls;
  module.attr("EvictionPolicy") = load_policy_type();

  PyObject* cached_type = make_cached_function_type(module.ptr());
  if (cached_type == nullptr) bp::throw_error_already_set();
  module.attr("CachedFunction") = bp::object(bp::handle<>(cached_type));
  if (add_tier_core_type(module.ptr()) < 0) bp::throw_error_already_set();

  add_admin_methods(cls.ptr());

  bp::def("_check_ttl", &check_ttl);
  bp::def("_sweeper_pause", &sweeper_pause);
  bp::def("_sweeper_resume", &sweeper_resume);
  bp::def("_sweeper_shutdown", &sweeper_shutdown);
}
