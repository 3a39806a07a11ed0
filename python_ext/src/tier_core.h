// TierCore: the C base type of cuckoocache.tiered.TieredCache (see tier_core.cpp).
//
// A local hit of a TieredCache (get, [], get_or_set) is one lookup in its local SmartCache;
// doing it in C, with no Python frame, makes it cost what SmartCache.get costs. Misses go to
// the Python methods of the subclass, and the tier's loads run under a C single-flight.
#pragma once

#include <Python.h>

namespace cuckoocache::python {

// Creates the TierCore type and adds it to `module`. Returns 0, or -1 with an error set.
[[nodiscard]] int add_tier_core_type(PyObject* module);

}  // namespace cuckoocache::python
