// The cuckoocache._core extension module, built with Boost.Python.
//
// Boost.Python defines the module, the EvictionPolicy enum, the administrative methods of
// CacheCore (stats, policy, capacity, TTL, clear, snapshot) and the conversions they need.
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

#include "arguments.h"
#include "cache_object.h"
#include "cached_function.h"
#include "sweeper.h"

namespace bp = boost::python;

namespace cuckoocache::python {

bool parse_policy(PyObject* o, const char* name, Policy& out) {
  bp::extract<Policy> policy(o);
  if (!policy.check()) {
    PyErr_Format(PyExc_TypeError, "%s must be an EvictionPolicy, not %.100s", name,
                 Py_TYPE(o)->tp_name);
    return false;
  }
  const Policy p = policy();
  if (p != Policy::kLru && p != Policy::kLfu && p != Policy::kTtl && p != Policy::kAdaptive) {
    PyErr_Format(PyExc_ValueError, "%s must be one of EvictionPolicy's members, got %R", name, o);
    return false;
  }
  out = p;
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
  d["policy"] = bp::object(engine(self).policy());
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

Policy get_policy(const bp::object& self) {
  return engine(self).policy();
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
  ReleaseScope scope;
  engine(self).set_max_size(n);
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
  Sweeper::instance().pause(false);
}
void sweeper_resume() {
  Sweeper::instance().resume();
}
void sweeper_shutdown() {
  Sweeper::instance().pause(true);
}

void translate_invalid_argument(const std::invalid_argument& e) {
  PyErr_SetString(PyExc_ValueError, e.what());
}

template <class F>
void add_method(const bp::object& cls, const char* name, F f, const char* doc) {
  bp::objects::add_to_namespace(cls, name, bp::make_function(f), doc);
}

template <class F, class Keywords>
void add_method(const bp::object& cls, const char* name, F f, const Keywords& keywords,
                const char* doc) {
  bp::objects::add_to_namespace(cls, name,
                                bp::make_function(f, bp::default_call_policies(), keywords), doc);
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

  bp::enum_<Policy>("EvictionPolicy",
                    "How a full cache chooses what to evict.\n\n"
                    "LRU: least recently used. LFU: least frequently used (approximate counts "
                    "that age). TTL: soonest to expire first. ADAPTIVE: W-TinyLFU, a recency "
                    "window plus a frequency-guarded main region, sized by simulating small caches.")
      .value("LRU", Policy::kLru)
      .value("LFU", Policy::kLfu)
      .value("TTL", Policy::kTtl)
      .value("ADAPTIVE", Policy::kAdaptive);

  bp::scope module;
  PyObject* cache_type = make_cache_type(module.ptr());
  if (cache_type == nullptr) bp::throw_error_already_set();
  const bp::object cls{bp::handle<>(cache_type)};
  module.attr("CacheCore") = cls;

  PyObject* cached_type = make_cached_function_type(module.ptr());
  if (cached_type == nullptr) bp::throw_error_already_set();
  module.attr("CachedFunction") = bp::object(bp::handle<>(cached_type));

  add_method(cls, "stats", &stats,
             "stats() -> dict\n\nCounters and rates: hits, misses, evictions, expirations, "
             "inserts, updates, rejections, current_size, max_size, hit_rate, miss_rate "
             "(both 0.0 before any lookup), utilization, policy.");
  add_method(cls, "reset_stats", &reset_stats, "reset_stats()\n\nZeroes the counters.");
  add_method(cls, "clear", &clear, "clear()\n\nRemoves every entry. Counters are kept.");
  add_method(cls, "cleanup", &cleanup,
             "cleanup() -> int\n\nRemoves every expired entry now; returns how many.");
  add_method(cls, "get_policy", &get_policy, "get_policy() -> EvictionPolicy");
  add_method(cls, "set_policy", &set_policy, (bp::arg("self"), bp::arg("policy")),
             "set_policy(policy)\n\nSwitches the eviction policy; entries are kept.");
  add_method(cls, "get_max_size", &get_max_size, "get_max_size() -> int");
  add_method(cls, "set_max_size", &set_max_size, (bp::arg("self"), bp::arg("max_size")),
             "set_max_size(max_size)\n\nChanges the capacity; shrinking evicts at once.");
  add_method(cls, "get_ttl", &get_ttl,
             "get_ttl() -> float | None\n\nThe default time-to-live in seconds.");
  add_method(cls, "set_ttl", &set_ttl, (bp::arg("self"), bp::arg("ttl_seconds")),
             "set_ttl(ttl_seconds)\n\nSets the default time-to-live for entries stored from "
             "now on (None: no expiry). Existing entries keep theirs.");
  add_method(cls, "_items", &items, "_items() -> list[tuple]\n\nA snapshot of the entries.");
  add_method(cls, "_stop_background", &stop_background,
             "_stop_background()\n\nStops background expiry for this cache.");

  bp::def("_check_ttl", &check_ttl);
  bp::def("_sweeper_pause", &sweeper_pause);
  bp::def("_sweeper_resume", &sweeper_resume);
  bp::def("_sweeper_shutdown", &sweeper_shutdown);
}
