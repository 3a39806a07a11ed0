// CacheCore's hot path: see cache_object.h.
//
// Every operation first tries the fast path: a probe for a "safe" key (py_key.h) is compared
// under the bucket lock. A key that is not safe, or a safe key whose chain holds a key that is
// not (PyKeyEqual throws Undecided), takes the slow path: resolve() copies the chain's keys out
// under the lock (increfs only), compares them with Python's == with no lock held, and the
// operation is replayed with a probe that matches the equal stored key by identity. A write
// that would add the key to a chain also checks, under the lock, that the chain holds no key
// resolve() did not compare against (put_guarded); if one arrived meanwhile (another thread
// ran while a user __eq__ released the GIL), it resolves again.
//
// Error handling catches the exception types the engine and binding throw (std::exception,
// PythonError, Undecided) and never catch (...): a daemon thread that the exiting interpreter
// ends with pthread_exit unwinds through these frames, and that forced unwind must pass.
#include "cache_object.h"

#include <structmember.h>

#include <algorithm>
#include <cstddef>
#include <exception>
#include <new>
#include <stdexcept>
#include <vector>

#include "arguments.h"
#include "single_flight.h"
#include "sweeper.h"

// The hottest lookups are flattened: without it GCC's unit-wide inlining budget leaves the
// engine's chain walk and stats increment out of line (about 35 instructions per get hit).
// Not in sanitizer builds, where the instrumented inlined engine costs the compiler gigabytes.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define CUCKOOCACHE_FLATTEN
#else
#define CUCKOOCACHE_FLATTEN [[gnu::flatten]]
#endif

namespace cuckoocache::python {

bool parse_policy(PyObject* o, const char* name, Policy& out);  // module.cpp (Boost.Python enum)

namespace {

PyTypeObject* g_cache_type = nullptr;

// Strong references to the keys of one chain, taken under its lock by resolve().
class Candidates {
 public:
  Candidates() = default;
  Candidates(const Candidates&) = delete;
  Candidates& operator=(const Candidates&) = delete;
  // Not noexcept: a decref may run Python code, and a thread the interpreter ends there
  // (pthread_exit at finalization) unwinds through here.
  ~Candidates() noexcept(false) { clear(); }

  void clear() {
    // No engine lock is held here. Without the GIL only while the exiting interpreter ends
    // this (daemon) thread: leave the references to the process's exit then.
    if (!keys_.empty() && holds_gil()) {
      for (PyObject* k : keys_) Py_DECREF(k);
    }
    keys_.clear();
  }
  void add(PyObject* k) {
    keys_.reserve(keys_.size() + 1);  // may throw: nothing taken yet
    Py_INCREF(k);
    keys_.push_back(k);
  }
  [[nodiscard]] const std::vector<PyObject*>& keys() const noexcept { return keys_; }
  [[nodiscard]] bool holds(PyObject* k) const noexcept {
    return std::find(keys_.begin(), keys_.end(), k) != keys_.end();
  }

  // put_guarded's guard: the chain may be joined only if resolve() compared every key in it.
  [[nodiscard]] auto may_join() const noexcept {
    return [this](const PyEngine::EntryChain& chain) {
      bool known = true;
      chain.for_each([&](const auto& entry) { known = known && holds(entry.key.object()); });
      return known;
    };
  }

 private:
  std::vector<PyObject*> keys_;
};

// Finds, with no engine lock held, the stored key equal to `probe` (Python's ==, stored key on
// the left as in dict) and points the probe at it. Returns false with a Python error set if a
// comparison raised; the cache is unchanged then.
bool resolve(PyEngine& engine, PyKey& probe, Candidates& candidates) {
  candidates.clear();
  engine.inspect(probe, [&](const PyEngine::EntryChain& chain, std::uint64_t) {
    chain.for_each([&](const auto& entry) { candidates.add(entry.key.object()); });
  });
  PyObject* const wanted = probe.object();
  PyObject* match = nullptr;
  for (PyObject* k : candidates.keys()) {
    if (k == wanted) {
      match = k;
      break;
    }
  }
  if (match == nullptr) {
    for (PyObject* k : candidates.keys()) {
      const int equal = PyObject_RichCompareBool(k, wanted, Py_EQ);
      if (equal < 0) return false;
      if (equal == 1) {
        match = k;
        break;
      }
    }
  }
  probe.resolve_to(match);
  return true;
}

// Runs op(probe) on the fast path, and on the slow path if that cannot decide. op may throw.
template <class Op>
auto with_resolved_key(PyEngine& engine, PyKey& probe, Candidates& candidates, Op&& op)
    -> std::optional<decltype(op(probe))> {
  if (probe.kind() == KeyKind::kSafe) {
    try {
      return op(probe);
    } catch (const Undecided&) {
    }
  }
  if (!resolve(engine, probe, candidates)) return std::nullopt;
  return op(probe);
}

CacheObject* as_cache(PyObject* self) noexcept {
  return reinterpret_cast<CacheObject*>(self);
}

// The engine of `self` for methods and slots of CacheCore, whose `self` CPython has already
// checked to be a CacheCore (method descriptors and type slots do): only __init__ may be
// missing.
PyEngine* own_engine(PyObject* self) noexcept {
  PyEngine* engine = as_cache(self)->engine.get();
  if (engine == nullptr) [[unlikely]] {
    PyErr_SetString(PyExc_RuntimeError, "SmartCache.__init__ was not called");
  }
  return engine;
}

// KeyError(key), as dict raises it: a tuple key is wrapped, not unpacked into the arguments.
void set_key_error(PyObject* key) {
  PyObject* args = PyTuple_Pack(1, key);
  if (args == nullptr) return;
  PyErr_SetObject(PyExc_KeyError, args);
  Py_DECREF(args);
}

// cache_lookup's slow path (see the top of the file), kept out of line.
[[gnu::noinline]] PyObject* lookup_resolved(PyEngine& engine, PyKey& probe, bool count) {
  PyObject* found = nullptr;
  const auto take = [&](const PyRef& v) { found = v.new_reference(); };
  Candidates candidates;
  if (!resolve(engine, probe, candidates)) return nullptr;
  if (count) {
    engine.visit(probe, take);
  } else {
    engine.peek(probe, take);
  }
  return found;
}

// The bodies of cache_lookup(_key) and cache_store(_key), inlined into each (one ReleaseScope
// per entry point: the caller opens it).
[[gnu::always_inline]] inline PyObject* lookup_in_scope(PyEngine& engine, PyKey& probe,
                                                        bool count) {
  return translate_errors_inline<PyObject*>(nullptr, [&]() -> PyObject* {
    if (probe.kind() == KeyKind::kSafe) {
      PyObject* found = nullptr;
      const auto take = [&](const PyRef& v) { found = v.new_reference(); };
      try {
        if (count) {
          engine.visit(probe, take);
        } else {
          engine.peek(probe, take);
        }
        return found;
      } catch (const Undecided&) {
      }
    }
    return lookup_resolved(engine, probe, count);
  });
}

[[gnu::always_inline]] inline int store_in_scope(
    PyObject* self, PyEngine& engine, PyKey& probe, PyObject* value,
    const std::optional<std::chrono::nanoseconds>& ttl) {
  if (ttl || engine.default_ttl()) ensure_swept(as_cache(self));
  return translate_errors(-1, [&] {
    if (probe.kind() == KeyKind::kSafe && !probe.resolved()) {
      try {
        // The engine copies the probe into the entry (an incref): the probe stays usable if
        // the fast path has to give up.
        engine.put(probe, PyRef::borrow(value), ttl);
        return 0;
      } catch (const Undecided&) {
      }
    }
    Candidates candidates;
    for (;;) {
      if (!resolve(engine, probe, candidates)) return -1;
      const auto result = engine.put_guarded(
          probe, PyRef::borrow(value), ttl, PyEngine::WriteMode::kOverwrite, candidates.may_join());
      if (result != PyEngine::PutResult::kRefused) return 0;
    }
  });
}

// cache_lookup(engine, key, true) and cache_store(...) inlined into the hot methods and slots
// (get, [], put, []=): one call frame less per operation.
[[gnu::always_inline]] inline PyObject* lookup_counted(PyEngine& engine, PyObject* key) {
  ReleaseScope scope;
  PyKey probe;
  if (!PyKey::make(key, probe)) return nullptr;
  return lookup_in_scope(engine, probe, true);
}

[[gnu::always_inline]] inline int store(PyObject* self, PyEngine& engine, PyObject* key,
                                        PyObject* value,
                                        const std::optional<std::chrono::nanoseconds>& ttl) {
  ReleaseScope scope;
  PyKey probe;
  if (!PyKey::make(key, probe)) return -1;
  return store_in_scope(self, engine, probe, value, ttl);
}

// ---- Python methods ----------------------------------------------------------------------

PyObject* unpack_one(const char* fname, PyObject* const* args, Py_ssize_t nargs) {
  if (nargs != 1) {
    PyErr_Format(PyExc_TypeError, "%s() takes exactly one argument (%zd given)", fname, nargs);
    return nullptr;
  }
  return args[0];
}

// Positional and keyword arguments of a METH_FASTCALL|METH_KEYWORDS method into `slots`
// (nullptr where absent). `names` are the parameter names; the first `required` must be given.
bool parse_fast(const char* fname, PyObject* const* args, Py_ssize_t nargs, PyObject* kwnames,
                std::initializer_list<const char*> names, std::size_t required, PyObject** slots) {
  const std::size_t n = names.size();
  if (nargs > static_cast<Py_ssize_t>(n)) {
    PyErr_Format(PyExc_TypeError, "%s() takes at most %zu arguments (%zd given)", fname, n, nargs);
    return false;
  }
  for (std::size_t i = 0; i < n; ++i)
    slots[i] = i < static_cast<std::size_t>(nargs) ? args[i] : nullptr;
  if (kwnames != nullptr) {
    const Py_ssize_t nkw = PyTuple_GET_SIZE(kwnames);
    for (Py_ssize_t j = 0; j < nkw; ++j) {
      PyObject* kw = PyTuple_GET_ITEM(kwnames, j);
      std::size_t i = 0;
      for (const char* name : names) {
        if (PyUnicode_CompareWithASCIIString(kw, name) == 0) break;
        ++i;
      }
      if (i == n) {
        PyErr_Format(PyExc_TypeError, "%s() got an unexpected keyword argument '%U'", fname, kw);
        return false;
      }
      if (slots[i] != nullptr) {
        PyErr_Format(PyExc_TypeError, "%s() got multiple values for argument '%U'", fname, kw);
        return false;
      }
      slots[i] = args[nargs + j];
    }
  }
  for (std::size_t i = 0; i < required; ++i) {
    if (slots[i] == nullptr) {
      PyErr_Format(PyExc_TypeError, "%s() missing required argument '%s'", fname,
                   *(names.begin() + i));
      return false;
    }
  }
  return true;
}

CUCKOOCACHE_FLATTEN PyObject* get_method(PyObject* self, PyObject* const* args, Py_ssize_t nargs,
                                         PyObject* kwnames) {
  PyEngine* engine = own_engine(self);
  if (engine == nullptr) return nullptr;
  PyObject* key;
  PyObject* fallback = Py_None;
  if (kwnames == nullptr && (nargs == 1 || nargs == 2)) {
    key = args[0];
    if (nargs == 2) fallback = args[1];
  } else {
    PyObject* slots[2];
    if (!parse_fast("get", args, nargs, kwnames, {"key", "default"}, 1, slots)) return nullptr;
    key = slots[0];
    if (slots[1] != nullptr) fallback = slots[1];
  }
  PyObject* value = lookup_counted(*engine, key);
  if (value != nullptr || PyErr_Occurred()) return value;
  return Py_NewRef(fallback);
}

PyObject* peek_method(PyObject* self, PyObject* const* args, Py_ssize_t nargs) {
  PyEngine* engine = own_engine(self);
  if (engine == nullptr) return nullptr;
  if (nargs != 2) {
    PyErr_SetString(PyExc_TypeError, "_peek() takes exactly two arguments (key, default)");
    return nullptr;
  }
  PyObject* value = cache_lookup(*engine, args[0], false);
  if (value != nullptr || PyErr_Occurred()) return value;
  return Py_NewRef(args[1]);
}

CUCKOOCACHE_FLATTEN PyObject* put_method(PyObject* self, PyObject* const* args, Py_ssize_t nargs,
                                         PyObject* kwnames) {
  PyEngine* engine = own_engine(self);
  if (engine == nullptr) return nullptr;
  PyObject* slots[3] = {nullptr, nullptr, nullptr};
  if (kwnames == nullptr && nargs == 2) {
    slots[0] = args[0];
    slots[1] = args[1];
  } else if (!parse_fast("put", args, nargs, kwnames, {"key", "value", "ttl_seconds"}, 2, slots)) {
    return nullptr;
  }
  std::optional<std::chrono::nanoseconds> ttl;
  if (slots[2] != nullptr && !parse_ttl(slots[2], "ttl_seconds", ttl)) return nullptr;
  if (store(self, *engine, slots[0], slots[1], ttl) < 0) return nullptr;
  Py_RETURN_NONE;
}

// contains / remove / pop share this: fn(engine, probe) on the resolved key.
template <class Fn>
PyObject* keyed(PyObject* self, PyObject* key, Fn&& fn) {
  PyEngine* engine = own_engine(self);
  if (engine == nullptr) return nullptr;
  ReleaseScope scope;
  PyKey probe;
  if (!PyKey::make(key, probe)) return nullptr;
  return translate_errors<PyObject*>(nullptr, [&]() -> PyObject* {
    Candidates candidates;
    auto result = with_resolved_key(*engine, probe, candidates,
                                    [&](const PyKey& p) { return fn(*engine, p); });
    if (!result) return nullptr;
    return *result;
  });
}

PyObject* contains_method(PyObject* self, PyObject* const* args, Py_ssize_t nargs) {
  PyObject* key = unpack_one("contains", args, nargs);
  if (key == nullptr) return nullptr;
  return keyed(self, key,
               [](PyEngine& e, const PyKey& p) { return PyBool_FromLong(e.contains(p)); });
}

PyObject* remove_method(PyObject* self, PyObject* const* args, Py_ssize_t nargs) {
  PyObject* key = unpack_one("remove", args, nargs);
  if (key == nullptr) return nullptr;
  return keyed(self, key, [](PyEngine& e, const PyKey& p) { return PyBool_FromLong(e.erase(p)); });
}

PyObject* pop_method(PyObject* self, PyObject* const* args, Py_ssize_t nargs) {
  if (nargs != 1 && nargs != 2) {
    PyErr_Format(PyExc_TypeError, "pop() takes 1 or 2 arguments (%zd given)", nargs);
    return nullptr;
  }
  PyObject* key = args[0];
  PyObject* fallback = nargs == 2 ? args[1] : nullptr;
  return keyed(self, key, [&](PyEngine& e, const PyKey& p) -> PyObject* {
    std::optional<PyRef> taken = e.take(p);
    if (taken) return taken->new_reference();
    if (fallback != nullptr) return Py_NewRef(fallback);
    set_key_error(key);
    return nullptr;
  });
}

PyObject* setdefault_method(PyObject* self, PyObject* const* args, Py_ssize_t nargs) {
  if (nargs != 1 && nargs != 2) {
    PyErr_Format(PyExc_TypeError, "setdefault() takes 1 or 2 arguments (%zd given)", nargs);
    return nullptr;
  }
  PyObject* fallback = nargs == 2 ? args[1] : Py_None;
  CacheObject* cache = as_cache(self);
  PyEngine* engine = own_engine(self);
  if (engine == nullptr) return nullptr;
  ReleaseScope scope;
  PyKey probe;
  if (!PyKey::make(args[0], probe)) return nullptr;
  if (engine->default_ttl()) ensure_swept(cache);
  return translate_errors<PyObject*>(nullptr, [&]() -> PyObject* {
    Candidates candidates;
    std::optional<PyRef> existing;
    const auto always = [](const PyEngine::EntryChain&) { return true; };
    auto result = PyEngine::PutResult::kRefused;
    if (probe.kind() == KeyKind::kSafe) {
      try {
        result = engine->put_guarded(probe, PyRef::borrow(fallback), std::nullopt,
                                     PyEngine::WriteMode::kIfAbsent, always, &existing);
      } catch (const Undecided&) {
      }
    }
    // Slow path: resolve outside the lock, then write if the chain is still the one compared;
    // if it changed meanwhile, resolve again.
    while (result == PyEngine::PutResult::kRefused) {
      if (!resolve(*engine, probe, candidates)) return nullptr;
      existing.reset();
      result =
          engine->put_guarded(probe, PyRef::borrow(fallback), std::nullopt,
                              PyEngine::WriteMode::kIfAbsent, candidates.may_join(), &existing);
    }
    if (existing) return existing->new_reference();
    return Py_NewRef(fallback);
  });
}

PyObject* get_or_set_method(PyObject* self, PyObject* const* args, Py_ssize_t nargs,
                            PyObject* kwnames) {
  PyEngine* engine = own_engine(self);
  if (engine == nullptr) return nullptr;
  PyObject* slots[3];
  if (!parse_fast("get_or_set", args, nargs, kwnames, {"key", "factory", "ttl_seconds"}, 2,
                  slots)) {
    return nullptr;
  }
  PyObject* factory = slots[1];
  if (!PyCallable_Check(factory)) {
    PyErr_Format(PyExc_TypeError, "factory must be callable, not %.100s",
                 Py_TYPE(factory)->tp_name);
    return nullptr;
  }
  std::optional<std::chrono::nanoseconds> ttl;
  if (!parse_ttl(slots[2], "ttl_seconds", ttl)) return nullptr;  // before factory() runs
  PyKey probe;
  if (!PyKey::make(slots[0], probe)) return nullptr;
  const std::uint64_t completed = as_cache(self)->flights.completed();
  PyObject* value = cache_lookup_key(*engine, probe, true);
  if (value != nullptr || PyErr_Occurred() != nullptr) return value;
  return single_flight_load(self, *engine, probe, completed, ttl,
                            [&] { return PyObject_CallNoArgs(factory); });
}

// Removes and returns some entry. Each candidate is taken by its stored hash and identity,
// so a key whose __hash__ changed after it was stored is removed all the same (issue 13.15).
PyObject* popitem_method(PyObject* self, PyObject*) {
  PyEngine* engine = own_engine(self);
  if (engine == nullptr) return nullptr;
  ReleaseScope scope;
  return translate_errors<PyObject*>(nullptr, [&]() -> PyObject* {
    for (;;) {
      std::optional<PyKey> first;
      engine->for_each_entry([&](const PyKey& key, const PyRef&) {
        if (!first && key.object() != nullptr) first.emplace(key);  // an incref, no code
      });
      if (!first) {
        PyErr_SetString(PyExc_KeyError, "popitem(): cache is empty");
        return nullptr;
      }
      first->resolve_to(first->object());
      std::optional<PyRef> value = engine->take(*first);
      if (value) return PyTuple_Pack(2, first->object(), value->get());
      // Expired (now removed) or taken by another thread meanwhile: try the next one.
    }
  });
}

PyObject* size_method(PyObject* self, PyObject*) {
  PyEngine* engine = own_engine(self);
  if (engine == nullptr) return nullptr;
  return PyLong_FromSize_t(engine->size());
}

// ---- Slots ------------------------------------------------------------------------------

Py_ssize_t length_slot(PyObject* self) {
  PyEngine* engine = own_engine(self);
  if (engine == nullptr) return -1;
  return static_cast<Py_ssize_t>(engine->size());
}

CUCKOOCACHE_FLATTEN PyObject* subscript_slot(PyObject* self, PyObject* key) {
  PyEngine* engine = own_engine(self);
  if (engine == nullptr) return nullptr;
  PyObject* value = lookup_counted(*engine, key);
  if (value == nullptr && !PyErr_Occurred()) set_key_error(key);
  return value;
}

int ass_subscript_slot(PyObject* self, PyObject* key, PyObject* value) {
  PyEngine* engine = own_engine(self);
  if (engine == nullptr) return -1;
  if (value != nullptr) return store(self, *engine, key, value, std::nullopt);
  PyObject* removed =
      keyed(self, key, [](PyEngine& e, const PyKey& p) { return PyBool_FromLong(e.erase(p)); });
  if (removed == nullptr) return -1;
  const bool was_there = removed == Py_True;
  Py_DECREF(removed);
  if (!was_there) {
    set_key_error(key);
    return -1;
  }
  return 0;
}

int contains_slot(PyObject* self, PyObject* key) {
  PyObject* r =
      keyed(self, key, [](PyEngine& e, const PyKey& p) { return PyBool_FromLong(e.contains(p)); });
  if (r == nullptr) return -1;
  const int present = r == Py_True;
  Py_DECREF(r);
  return present;
}

int traverse_slot(PyObject* self, visitproc visit, void* arg) {
  Py_VISIT(Py_TYPE(self));
  CacheObject* cache = as_cache(self);
  if (!cache->engine) return 0;
  int result = 0;
  // Takes every bucket lock; the visitor runs no Python code (it only adjusts GC counts).
  cache->engine->for_each_entry([&](const PyKey& key, const PyRef& value) {
    if (result != 0) return;
    if (key.object() != nullptr) result = visit(key.object(), arg);
    if (result == 0 && value.get() != nullptr) result = visit(value.get(), arg);
  });
  return result;
}

int clear_slot(PyObject* self) {
  CacheObject* cache = as_cache(self);
  if (cache->engine) {
    ReleaseScope scope;
    try {
      cache->engine->clear();
    } catch (const std::exception&) {
      PyErr_Clear();  // tp_clear cannot fail; clear() only throws bad_alloc in theory
    }
  }
  return 0;
}

void dealloc_slot(PyObject* self) {
  PyTypeObject* type = Py_TYPE(self);
  PyObject_GC_UnTrack(self);
  CacheObject* cache = as_cache(self);
  stop_sweeping(cache);
  if (cache->weakrefs != nullptr) PyObject_ClearWeakRefs(self);
  {
    ReleaseScope scope;  // the entries' objects are decref'd when it closes
    const std::size_t slots = cache->engine ? cache->engine->overhead_bytes() / 32 : 0;
    cache->engine.reset();
    detail::after_large_release(slots);  // the table and arena go back to the system too
  }
  cache->engine.~unique_ptr();
  cache->flights.~FlightTable();
  type->tp_free(self);
  Py_DECREF(type);
}

PyObject* new_slot(PyTypeObject* type, PyObject*, PyObject*) {
  PyObject* self = type->tp_alloc(type, 0);
  if (self == nullptr) return nullptr;
  CacheObject* cache = as_cache(self);
  new (&cache->engine) std::unique_ptr<PyEngine>();
  new (&cache->flights) FlightTable();
  cache->swept = false;
  cache->weakrefs = nullptr;
  return self;
}

int init_slot(PyObject* self, PyObject* args, PyObject* kwds) {
  static const char* kwlist[] = {"max_size", "policy", "ttl_seconds", "adaptive_threshold",
                                 nullptr};
  PyObject* max_size_obj = nullptr;
  PyObject* policy_obj = nullptr;
  PyObject* ttl_obj = nullptr;
  PyObject* threshold_obj = nullptr;
  if (!PyArg_ParseTupleAndKeywords(args, kwds, "|OOOO:SmartCache", const_cast<char**>(kwlist),
                                   &max_size_obj, &policy_obj, &ttl_obj, &threshold_obj)) {
    return -1;
  }
  CacheObject* cache = as_cache(self);
  if (cache->engine) {
    PyErr_SetString(PyExc_RuntimeError, "SmartCache.__init__ must not be called twice");
    return -1;
  }
  CacheConfig config;
  if (max_size_obj != nullptr && !parse_max_size(max_size_obj, "max_size", config.max_size)) {
    return -1;
  }
  if (policy_obj != nullptr && !parse_policy(policy_obj, "policy", config.policy)) return -1;
  if (!parse_ttl(ttl_obj, "ttl_seconds", config.default_ttl)) return -1;
  if (threshold_obj != nullptr &&
      !parse_fraction(threshold_obj, "adaptive_threshold", config.adaptive_threshold)) {
    return -1;
  }
  if (translate_errors(-1, [&] {
        cache->engine = std::make_unique<PyEngine>(config);
        return 0;
      }) < 0) {
    return -1;
  }
  if (config.default_ttl) ensure_swept(cache);
  return 0;
}

PyMethodDef g_methods[] = {
    {"get", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(get_method)),
     METH_FASTCALL | METH_KEYWORDS,
     "get($self, /, key, default=None)\n--\n\nThe value stored for key, or default if it is absent "
     "or "
     "expired. Counts a hit or a miss."},
    {"put", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(put_method)),
     METH_FASTCALL | METH_KEYWORDS,
     "put($self, /, key, value, ttl_seconds=None)\n--\n\nStores value under key, replacing any "
     "value. "
     "ttl_seconds overrides the cache's TTL for this entry. Evicts an entry by the active "
     "policy if the cache is over max_size."},
    {"contains", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(contains_method)),
     METH_FASTCALL,
     "contains($self, key, /)\n--\n\nWhether key is present and not expired. Not counted in "
     "stats."},
    {"remove", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(remove_method)),
     METH_FASTCALL, "remove($self, key, /)\n--\n\nRemoves key. Returns True if it was present."},
    {"pop", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(pop_method)), METH_FASTCALL,
     "pop(key[, default])\n\nRemoves key and returns its value; returns default if it is "
     "absent, or raises KeyError if no default is given."},
    {"setdefault", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(setdefault_method)),
     METH_FASTCALL,
     "setdefault($self, key, default=None, /)\n--\n\nThe value of key if present; otherwise stores "
     "default and returns it. Atomic."},
    {"get_or_set", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(get_or_set_method)),
     METH_FASTCALL | METH_KEYWORDS,
     "get_or_set($self, /, key, factory, ttl_seconds=None)\n--\n\nThe value of key; on a miss, "
     "stores and returns factory(). Threads that miss the same key at once share one call of "
     "factory; if it raises an Exception, the waiting threads retry once between them and "
     "then get that exception. Nothing is stored when it raises."},
    {"popitem", popitem_method, METH_NOARGS,
     "popitem($self, /)\n--\n\nRemoves and returns some (key, value) pair; KeyError if the "
     "cache is empty."},
    {"size", size_method, METH_NOARGS,
     "size($self, /)\n--\n\nThe number of entries (same as len())."},
    {"_peek", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(peek_method)),
     METH_FASTCALL, "_peek($self, key, default, /)\n--\n\nLike get() but not counted in stats."},
    {nullptr, nullptr, 0, nullptr}};

PyMemberDef g_members[] = {
    {"__weaklistoffset__", T_PYSSIZET, offsetof(CacheObject, weakrefs), READONLY, nullptr},
    {nullptr, 0, 0, 0, nullptr}};

}  // namespace

PyObject* cache_lookup(PyEngine& engine, PyObject* key, bool count) {
  ReleaseScope scope;
  PyKey probe;
  if (!PyKey::make(key, probe)) return nullptr;
  return lookup_in_scope(engine, probe, count);
}

PyObject* cache_lookup_key(PyEngine& engine, PyKey& probe, bool count) {
  ReleaseScope scope;
  return lookup_in_scope(engine, probe, count);
}

int cache_store(PyObject* self, PyEngine& engine, PyObject* key, PyObject* value,
                const std::optional<std::chrono::nanoseconds>& ttl) {
  ReleaseScope scope;
  PyKey probe;
  if (!PyKey::make(key, probe)) return -1;
  return store_in_scope(self, engine, probe, value, ttl);
}

CUCKOOCACHE_FLATTEN int cache_store_key(PyObject* self, PyEngine& engine, PyKey& probe,
                                        PyObject* value,
                                        const std::optional<std::chrono::nanoseconds>& ttl) {
  ReleaseScope scope;
  return store_in_scope(self, engine, probe, value, ttl);
}

void ensure_swept(CacheObject* self) {
  if (self->swept || !self->engine) return;
  try {
    self->engine->attach_sweeper(python_sweeper());
    self->swept = true;
  } catch (const std::exception&) {
    // No background thread: expired entries are still removed by reads, writes and cleanup().
  }
}

void stop_sweeping(CacheObject* self) noexcept {
  if (!self->swept) return;
  self->engine->detach_sweeper();
  self->swept = false;
}

PyEngine* engine_of(PyObject* self) noexcept {
  if (!PyObject_TypeCheck(self, g_cache_type)) {
    PyErr_Format(PyExc_TypeError, "expected a SmartCache, got %.100s", Py_TYPE(self)->tp_name);
    return nullptr;
  }
  PyEngine* engine = as_cache(self)->engine.get();
  if (engine == nullptr) {
    PyErr_SetString(PyExc_RuntimeError, "SmartCache.__init__ was not called");
  }
  return engine;
}

PyTypeObject* cache_type() noexcept {
  return g_cache_type;
}

PyObject* make_cache_type(PyObject* module) {
  PyType_Slot slots[] = {
      {Py_tp_doc, const_cast<char*>(
                      "The engine under SmartCache: a bounded concurrent cache over libcuckoo.")},
      {Py_tp_new, reinterpret_cast<void*>(new_slot)},
      {Py_tp_init, reinterpret_cast<void*>(init_slot)},
      {Py_tp_dealloc, reinterpret_cast<void*>(dealloc_slot)},
      {Py_tp_traverse, reinterpret_cast<void*>(traverse_slot)},
      {Py_tp_clear, reinterpret_cast<void*>(clear_slot)},
      {Py_tp_methods, g_methods},
      {Py_tp_members, g_members},
      {Py_mp_length, reinterpret_cast<void*>(length_slot)},
      {Py_mp_subscript, reinterpret_cast<void*>(subscript_slot)},
      {Py_mp_ass_subscript, reinterpret_cast<void*>(ass_subscript_slot)},
      {Py_sq_contains, reinterpret_cast<void*>(contains_slot)},
      {0, nullptr}};
  PyType_Spec spec = {"cuckoocache._core.CacheCore", sizeof(CacheObject), 0,
                      Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC, slots};
  PyObject* type = PyType_FromModuleAndSpec(module, &spec, nullptr);
  if (type != nullptr) g_cache_type = reinterpret_cast<PyTypeObject*>(type);
  return type;
}

}  // namespace cuckoocache::python
