// PyEngine: the engine instantiated for Python keys and values. One alias, so every binding
// file names the same type.
#pragma once

#include "engine/cache.h"
#include "py_key.h"
#include "py_ref.h"

namespace cuckoocache::python {

using PyEngine = Cache<PyKey, PyRef, PyKeyHash, PyKeyEqual>;

}  // namespace cuckoocache::python
