// cuckoocache's public C++ header: #include <cuckoocache/cache.h> gives cuckoocache::Cache
// (the concurrent bounded cache), cuckoocache::CacheConfig, the policies and the stats types.
//
// Why a header of its own: the engine's headers live in the generic-sounding folders engine/
// and policies/; installed (and in the build tree's generated include dir) they sit under
// cuckoocache/, and this file is the one name users include, so the internal file layout can
// change without breaking them. It resolves "engine/cache.h" next to itself in those trees,
// not in the source tree (where no consumer includes it from).
#pragma once

#include "engine/cache.h"  // IWYU pragma: export
