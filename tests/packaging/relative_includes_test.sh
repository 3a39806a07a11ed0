#!/usr/bin/env bash
# Usage: relative_includes_test.sh [c++ compiler]
# tools/lib/relative_includes.sh, on a copy of engine/ and policies/ laid out as the install
# tree lays them out (<inc>/cuckoocache/{cache.h,engine,policies}): it must be idempotent (a
# second run changes nothing), leave no repository-root include ("engine/x.h" from policies/,
# "policies/y.h" from engine/), and the result must compile through <cuckoocache/cache.h> with
# only <inc> (and libcuckoo) on the include path.
set -euo pipefail
cxx=${1:-${CXX:-c++}}
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
work=$(mktemp -d "${TMPDIR:-/tmp}/cuckoocache-relinc.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/root" "$work/inc/cuckoocache"
cp -R engine policies "$work/root/"
tools/lib/relative_includes.sh "$work/root"
cp -R "$work/root" "$work/once"
tools/lib/relative_includes.sh "$work/root"
diff -r "$work/once" "$work/root" >/dev/null || {
  echo "relative_includes: a second run changed files (not idempotent)" >&2
  diff -r "$work/once" "$work/root" >&2 || true
  exit 1
}
if grep -nE '^#include +"(engine|policies)/' "$work"/root/engine/*.h "$work"/root/policies/*.h; then
  echo "relative_includes: repository-root includes left (above)" >&2
  exit 1
fi
cp include/cuckoocache/cache.h "$work/inc/cuckoocache/"
cp -R "$work/root/engine" "$work/root/policies" "$work/inc/cuckoocache/"
printf '#include <cuckoocache/cache.h>\nint main() {\n  cuckoocache::CacheConfig c;\n  c.max_size = 4;\n  cuckoocache::Cache<int, int> cache(c);\n  cache.put(1, 2);\n  return cache.get(1) == 2 ? 0 : 1;\n}\n' >"$work/main.cpp"
"$cxx" -std=c++20 -O0 -Wall -Wextra -Werror -pthread -I"$work/inc" "$work/main.cpp" -o "$work/main"
"$work/main"
echo "relative_includes: OK (idempotent; compiles with only <inc> on the include path)"
