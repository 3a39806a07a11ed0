// CachedFunction: the callable that @cached returns. Building the key from the call's
// arguments, the lookup and, on a miss, the single-flight load (single_flight.h: concurrent
// misses of one key call the function once) run here, in C, through vectorcall; the key is
// hashed once per call. A `loader` given at construction (TieredCache.cached) replaces the
// load: it is called as loader(key, args, kwargs) on a miss.
//
// Keys follow functools.lru_cache: the positional arguments, then a marker and the keyword
// arguments, then (typed=True) the argument types; a single positional str or int is its own
// key. Unlike functools, keyword arguments are sorted by name, so f(a=1, b=2) and
// f(b=2, a=1) share an entry.
#include "cached_function.h"

#include <pthread.h>
#include <structmember.h>

#include <algorithm>
#include <cstddef>
#include <vector>

#include "cache_object.h"
#include "single_flight.h"

namespace cuckoocache::python {

namespace {

struct CachedFunctionObject {
  PyObject_HEAD vectorcallfunc vectorcall;
  PyObject* function;  // the user's function
  PyObject* cache;     // the SmartCache holding the results
  PyObject* key;       // None, or a callable building the key from the arguments
  PyObject* loader;    // None, or loader(key, args, kwargs) -> result, called on a miss
  PyObject* dict;      // attributes set by functools.update_wrapper and the package
  PyObject* weakrefs;
  int typed;
  int single_flight;  // concurrent misses of one key share one call (the default)
};

PyObject* g_keyword_marker = nullptr;

CachedFunctionObject* as_cached(PyObject* o) noexcept {
  return reinterpret_cast<CachedFunctionObject*>(o);
}

// Key for one call, as described at the top of the file. New reference, or nullptr on error.
PyObject* build_key(PyObject* const* args, Py_ssize_t nargs, PyObject* kwnames, bool typed) {
  const Py_ssize_t nkw = kwnames == nullptr ? 0 : PyTuple_GET_SIZE(kwnames);
  if (nkw == 0 && !typed && nargs == 1 &&
      (PyUnicode_CheckExact(args[0]) || PyLong_CheckExact(args[0]))) {
    return Py_NewRef(args[0]);
  }
  // Keyword arguments in name order.
  std::vector<Py_ssize_t> order(static_cast<std::size_t>(nkw));
  for (Py_ssize_t i = 0; i < nkw; ++i) order[static_cast<std::size_t>(i)] = i;
  if (nkw > 1) {
    std::sort(order.begin(), order.end(), [&](Py_ssize_t a, Py_ssize_t b) {
      return PyUnicode_Compare(PyTuple_GET_ITEM(kwnames, a), PyTuple_GET_ITEM(kwnames, b)) < 0;
    });
  }
  const Py_ssize_t size = nargs + (nkw > 0 ? 1 + 2 * nkw : 0) + (typed ? nargs + nkw : 0);
  PyObject* key = PyTuple_New(size);
  if (key == nullptr) return nullptr;
  Py_ssize_t at = 0;
  for (Py_ssize_t i = 0; i < nargs; ++i) PyTuple_SET_ITEM(key, at++, Py_NewRef(args[i]));
  if (nkw > 0) {
    PyTuple_SET_ITEM(key, at++, Py_NewRef(g_keyword_marker));
    for (Py_ssize_t i : order) {
      PyTuple_SET_ITEM(key, at++, Py_NewRef(PyTuple_GET_ITEM(kwnames, i)));
      PyTuple_SET_ITEM(key, at++, Py_NewRef(args[nargs + i]));
    }
  }
  if (typed) {
    for (Py_ssize_t i = 0; i < nargs; ++i) {
      PyTuple_SET_ITEM(key, at++, Py_NewRef(reinterpret_cast<PyObject*>(Py_TYPE(args[i]))));
    }
    for (Py_ssize_t i : order) {
      PyTuple_SET_ITEM(key, at++, Py_NewRef(reinterpret_cast<PyObject*>(Py_TYPE(args[nargs + i]))));
    }
  }
  return key;
}

// A miss handed to the loader as (key, args tuple, kwargs dict).
PyObject* call_loader(CachedFunctionObject* f, PyObject* key, PyObject* const* args,
                      Py_ssize_t nargs, PyObject* kwnames) {
  PyObject* positional = PyTuple_New(nargs);
  PyObject* keywords = PyDict_New();
  PyObject* result = nullptr;
  if (positional != nullptr && keywords != nullptr) {
    for (Py_ssize_t i = 0; i < nargs; ++i) PyTuple_SET_ITEM(positional, i, Py_NewRef(args[i]));
    const Py_ssize_t nkw = kwnames == nullptr ? 0 : PyTuple_GET_SIZE(kwnames);
    bool ok = true;
    for (Py_ssize_t i = 0; i < nkw && ok; ++i) {
      ok = PyDict_SetItem(keywords, PyTuple_GET_ITEM(kwnames, i), args[nargs + i]) == 0;
    }
    if (ok) result = PyObject_CallFunctionObjArgs(f->loader, key, positional, keywords, nullptr);
  }
  Py_XDECREF(positional);
  Py_XDECREF(keywords);
  return result;
}

// A miss (kept out of call_slot, so the hit path stays small): the loader, the single-flight
// load or, with single_flight=False, a plain compute-and-store.
[[gnu::noinline]] PyObject* load_missing(CachedFunctionObject* f, PyEngine& engine, PyKey& probe,
                                         std::uint64_t completed, PyObject* const* args,
                                         std::size_t nargsf, PyObject* kwnames) {
  const auto compute = [&] { return PyObject_Vectorcall(f->function, args, nargsf, kwnames); };
  if (f->loader != Py_None) {
    return call_loader(f, probe.object(), args, PyVectorcall_NARGS(nargsf), kwnames);
  }
  if (f->single_flight != 0) {
    return single_flight_load(f->cache, engine, probe, completed, std::nullopt, compute);
  }
  return plain_load(f->cache, engine, probe, std::nullopt, compute);
}

PyObject* call_slot(PyObject* self, PyObject* const* args, std::size_t nargsf, PyObject* kwnames) {
  CachedFunctionObject* f = as_cached(self);
  const Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
  // f->cache was checked to be a CacheCore by new_slot; it is null only after tp_clear.
  PyEngine* engine = f->cache == nullptr ? nullptr : as_cache_object(f->cache)->engine.get();
  if (engine == nullptr) [[unlikely]] {
    PyErr_SetString(PyExc_RuntimeError, "the cache of this cached function is gone");
    return nullptr;
  }
  PyObject* key;
  PyObject* owned = nullptr;  // the key, when built for this call
  if (nargs == 1 && kwnames == nullptr && f->key == Py_None && f->typed == 0 &&
      (PyUnicode_CheckExact(args[0]) || PyLong_CheckExact(args[0]))) {
    key = args[0];  // a lone str or int argument is its own key (borrowed)
  } else {
    owned = f->key == Py_None ? build_key(args, nargs, kwnames, f->typed != 0)
                              : PyObject_Vectorcall(f->key, args, nargsf, kwnames);
    if (owned == nullptr) return nullptr;
    key = owned;
  }
  PyObject* value = nullptr;
  {
    PyKey probe;  // borrows key: hashed here, once for the whole call
    if (PyKey::make(key, probe)) {
      const std::uint64_t completed = as_cache_object(f->cache)->flights.completed();
      value = cache_lookup_counted(*engine, probe);
      if (value == nullptr && PyErr_Occurred() == nullptr) {
        value = load_missing(f, *engine, probe, completed, args, nargsf, kwnames);
      }
    }
  }
  Py_XDECREF(owned);
  return value;
}

PyObject* new_slot(PyTypeObject* type, PyObject* args, PyObject* kwds) {
  static const char* kwlist[] = {"function", "cache",         "typed", "key",
                                 "loader",   "single_flight", nullptr};
  PyObject* function;
  PyObject* cache;
  int typed;
  PyObject* key;
  PyObject* loader = Py_None;
  int single_flight = 1;
  if (!PyArg_ParseTupleAndKeywords(args, kwds, "OOpO|Op:CachedFunction", const_cast<char**>(kwlist),
                                   &function, &cache, &typed, &key, &loader, &single_flight)) {
    return nullptr;
  }
  if (!PyCallable_Check(function) || (loader != Py_None && !PyCallable_Check(loader)) ||
      (key != Py_None && !PyCallable_Check(key))) {
    PyErr_SetString(PyExc_TypeError, "function, and loader and key unless None, must be callable");
    return nullptr;
  }
  if (engine_of(cache) == nullptr) return nullptr;
  PyObject* self = type->tp_alloc(type, 0);
  if (self == nullptr) return nullptr;
  CachedFunctionObject* f = as_cached(self);
  f->vectorcall = call_slot;
  f->function = Py_NewRef(function);
  f->cache = Py_NewRef(cache);
  f->key = Py_NewRef(key);
  f->loader = Py_NewRef(loader);
  f->dict = nullptr;
  f->weakrefs = nullptr;
  f->typed = typed;
  f->single_flight = single_flight;
  return self;
}

int traverse_slot(PyObject* self, visitproc visit, void* arg) {
  CachedFunctionObject* f = as_cached(self);
  Py_VISIT(Py_TYPE(self));
  Py_VISIT(f->function);
  Py_VISIT(f->cache);
  Py_VISIT(f->key);
  Py_VISIT(f->loader);
  Py_VISIT(f->dict);
  return 0;
}

int clear_slot(PyObject* self) {
  CachedFunctionObject* f = as_cached(self);
  Py_CLEAR(f->function);
  Py_CLEAR(f->cache);
  Py_CLEAR(f->key);
  Py_CLEAR(f->loader);
  Py_CLEAR(f->dict);
  return 0;
}

void dealloc_slot(PyObject* self) {
  PyTypeObject* type = Py_TYPE(self);
  PyObject_GC_UnTrack(self);
  if (as_cached(self)->weakrefs != nullptr) PyObject_ClearWeakRefs(self);
  clear_slot(self);
  type->tp_free(self);
  Py_DECREF(type);
}

// A method of a class: bind like a function does.
PyObject* descr_get_slot(PyObject* self, PyObject* obj, PyObject*) {
  if (obj == nullptr || obj == Py_None) return Py_NewRef(self);
  return PyMethod_New(self, obj);
}

PyObject* get_cache(PyObject* self, void*) {
  PyObject* cache = as_cached(self)->cache;
  if (cache == nullptr) Py_RETURN_NONE;
  return Py_NewRef(cache);
}

PyObject* get_typed(PyObject* self, void*) {
  return PyBool_FromLong(as_cached(self)->typed);
}

// Pickled by qualified name and copied as itself, as functools.lru_cache's wrapper is.
PyObject* reduce_method(PyObject* self, PyObject*) {
  return PyObject_GetAttrString(self, "__qualname__");
}

PyObject* copy_method(PyObject* self, PyObject*) {
  return Py_NewRef(self);
}

PyObject* deepcopy_method(PyObject* self, PyObject*) {
  return Py_NewRef(self);
}

PyMethodDef g_methods[] = {{"__reduce__", reduce_method, METH_NOARGS, nullptr},
                           {"__copy__", copy_method, METH_NOARGS, nullptr},
                           {"__deepcopy__", deepcopy_method, METH_O, nullptr},
                           {nullptr, nullptr, 0, nullptr}};

PyObject* get_single_flight(PyObject* self, void*) {
  return PyBool_FromLong(as_cached(self)->single_flight);
}

PyGetSetDef g_getset[] = {
    {"cache", get_cache, nullptr, "The SmartCache holding the results.", nullptr},
    {"typed", get_typed, nullptr, "Whether argument types are part of the key.", nullptr},
    {"single_flight", get_single_flight, nullptr,
     "Whether concurrent misses of one key share one call.", nullptr},
    {"__dict__", PyObject_GenericGetDict, PyObject_GenericSetDict, nullptr, nullptr},
    {nullptr, nullptr, nullptr, nullptr, nullptr}};

PyMemberDef g_members[] = {
    {"__vectorcalloffset__", T_PYSSIZET, offsetof(CachedFunctionObject, vectorcall), READONLY,
     nullptr},
    {"__dictoffset__", T_PYSSIZET, offsetof(CachedFunctionObject, dict), READONLY, nullptr},
    {"__weaklistoffset__", T_PYSSIZET, offsetof(CachedFunctionObject, weakrefs), READONLY, nullptr},
    {nullptr, 0, 0, 0, nullptr}};

PyObject* make_key_function(PyObject*, PyObject* const* args, Py_ssize_t nargs) {
  if (nargs != 3 || !PyTuple_Check(args[0]) || !PyDict_Check(args[1])) {
    PyErr_SetString(PyExc_TypeError, "make_key(args: tuple, kwargs: dict, typed: bool)");
    return nullptr;
  }
  const int typed = PyObject_IsTrue(args[2]);
  if (typed < 0) return nullptr;
  PyObject* positional = args[0];
  PyObject* kwargs = args[1];
  const Py_ssize_t nargs_call = PyTuple_GET_SIZE(positional);
  const Py_ssize_t nkw = PyDict_GET_SIZE(kwargs);
  std::vector<PyObject*> flat;
  flat.reserve(static_cast<std::size_t>(nargs_call + nkw));
  for (Py_ssize_t i = 0; i < nargs_call; ++i) flat.push_back(PyTuple_GET_ITEM(positional, i));
  PyObject* kwnames = nkw > 0 ? PyTuple_New(nkw) : nullptr;
  if (nkw > 0 && kwnames == nullptr) return nullptr;
  Py_ssize_t pos = 0;
  Py_ssize_t i = 0;
  PyObject* name;
  PyObject* value;
  while (PyDict_Next(kwargs, &pos, &name, &value)) {
    if (!PyUnicode_Check(name)) {
      Py_DECREF(kwnames);
      PyErr_SetString(PyExc_TypeError, "keyword argument names must be str");
      return nullptr;
    }
    PyTuple_SET_ITEM(kwnames, i++, Py_NewRef(name));
    flat.push_back(value);
  }
  PyObject* key = build_key(flat.data(), nargs_call, kwnames, typed != 0);
  Py_XDECREF(kwnames);
  return key;
}

PyMethodDef g_module_functions[] = {
    {"make_key", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(make_key_function)),
     METH_FASTCALL,
     "make_key(args, kwargs, typed, /)\n--\n\nThe cache key @cached uses for a call."},
    {nullptr, nullptr, 0, nullptr}};

}  // namespace

PyObject* make_cached_function_type(PyObject* module) {
  static const int registered =
      pthread_atfork(nullptr, nullptr, [] { fork_generation().fetch_add(1); });
  (void)registered;
  g_keyword_marker = PyObject_CallNoArgs(reinterpret_cast<PyObject*>(&PyBaseObject_Type));
  if (g_keyword_marker == nullptr) return nullptr;
  if (PyModule_AddFunctions(module, g_module_functions) < 0) return nullptr;
  PyType_Slot slots[] = {{Py_tp_doc, const_cast<char*>("A function wrapped by @cached.")},
                         {Py_tp_new, reinterpret_cast<void*>(new_slot)},
                         {Py_tp_dealloc, reinterpret_cast<void*>(dealloc_slot)},
                         {Py_tp_traverse, reinterpret_cast<void*>(traverse_slot)},
                         {Py_tp_clear, reinterpret_cast<void*>(clear_slot)},
                         {Py_tp_call, reinterpret_cast<void*>(PyVectorcall_Call)},
                         {Py_tp_descr_get, reinterpret_cast<void*>(descr_get_slot)},
                         {Py_tp_getset, g_getset},
                         {Py_tp_methods, g_methods},
                         {Py_tp_members, g_members},
                         {0, nullptr}};
  PyType_Spec spec = {"cuckoocache._core.CachedFunction", sizeof(CachedFunctionObject), 0,
                      Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL |
                          Py_TPFLAGS_METHOD_DESCRIPTOR,
                      slots};
  return PyType_FromModuleAndSpec(module, &spec, nullptr);
}

}  // namespace cuckoocache::python
