#!/usr/bin/env bash
# Layering check (CTest `layering`): the C++ headers depend one way, downwards:
#   primitives (engine/*.h)  <-  policies (policies/*.h)  <-  composition (engine/cache.h,
#   engine/eviction.h)
# - no primitive includes a policy or the composition;
# - no policy includes the composition;
# - libcuckoo is included by engine/entry_map.h only;
# - headers include each other file-relatively ("x.h", "../policies/y.h"), never in the
#   repository-root form ("engine/x.h"), which resolves only with the repository root on the
#   include path (not in the install tree: <inc>/cuckoocache/{engine,policies}).
# Prints one line per violation and "layering: ok" or "layering: N violations".
set -uo pipefail
root=${1:-"$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"}
composition=(cache.h eviction.h)
violations=0

# includes <file>: the project headers it includes, as engine/x.h or policies/y.h.
includes() {
  local file=$1 dir
  dir=$(basename "$(dirname "$file")")
  sed -n -E 's/^#include +"([^"]+)".*/\1/p' "$file" | while read -r inc; do
    case $inc in
      engine/* | policies/*) echo "$inc" ;;
      ../engine/* | ../policies/*) echo "${inc#../}" ;;
      */*) echo "$inc" ;;
      *) echo "$dir/$inc" ;;
    esac
  done
}

is_composition() {
  local name
  for name in "${composition[@]}"; do [[ $1 == "engine/$name" ]] && return 0; done
  return 1
}

bad() {
  echo "layering: $1"
  violations=$((violations + 1))
}

for f in "$root"/engine/*.h "$root"/policies/*.h; do
  rel=${f#"$root"/}
  if grep -q -E '^#include +[<"]libcuckoo/' "$f" && [[ $rel != engine/entry_map.h ]]; then
    bad "$rel includes libcuckoo (only engine/entry_map.h may)"
  fi
  if grep -q -E '^#include +"(engine|policies)/' "$f"; then
    bad "$rel includes a header by its repository-root path (use a file-relative one)"
  fi
  is_composition "$rel" && continue
  while read -r inc; do
    [[ -z $inc ]] && continue
    if is_composition "$inc"; then
      bad "$rel includes $inc (the composition is the top layer)"
    elif [[ $rel == engine/* && $inc == policies/* ]]; then
      bad "$rel includes $inc (engine primitives are below the policies)"
    fi
  done < <(includes "$f")
done

if ((violations)); then
  echo "layering: $violations violations"
  exit 1
fi
echo "layering: ok"
