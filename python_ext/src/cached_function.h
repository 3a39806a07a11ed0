// The type behind @cached (see cached_function.cpp).
#pragma once

#include <Python.h>

namespace cuckoocache::python {

// Creates the CachedFunction type and adds make_key() to `module`. New reference.
PyObject* make_cached_function_type(PyObject* module);

}  // namespace cuckoocache::python
