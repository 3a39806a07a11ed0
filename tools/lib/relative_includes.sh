#!/usr/bin/env bash
# Rewrites the engine's and the policies' internal includes from the repository-root form
# ("engine/x.h", "policies/y.h", found through -I<repo root>) to the file-relative form, which
# resolves the same in the source tree, the build tree's generated include dir and the install
# tree (include/cuckoocache/{engine,policies}/) without any -I for them:
#   in engine/:   "engine/x.h" -> "x.h"              "policies/y.h" -> "../policies/y.h"
#   in policies/: "engine/x.h" -> "../engine/x.h"    "policies/y.h" -> "y.h"
# Idempotent: a file already in relative form is left as it is.
#
#   tools/lib/relative_includes.sh [repository root]   (default: this script's repository)
set -euo pipefail
root=${1:-"$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"}
shopt -s nullglob
for f in "$root"/engine/*.h; do
  sed -i -E -e 's|^(#include +)"engine/([^"]+)"|\1"\2"|' \
    -e 's|^(#include +)"policies/([^"]+)"|\1"../policies/\2"|' "$f"
done
for f in "$root"/policies/*.h; do
  sed -i -E -e 's|^(#include +)"engine/([^"]+)"|\1"../engine/\2"|' \
    -e 's|^(#include +)"policies/([^"]+)"|\1"\2"|' "$f"
done
