#!/bin/sh
# make lint, part 2: a lower layer never includes a higher one. The layer
# order is the directory table in ARCHITECTURE.md ("Layers, bottom to top"):
# each table row is one layer, and every `src/DIR` named in a row belongs to
# it. A file in src/DIR may include (with "...") headers of its own layer
# and of lower ones only; src/main.cpp is above everything. A src/
# directory missing from the table is an error too (add it to the table).
set -u
cd "$(dirname "$0")/.."
layers=$(awk '
  /^## / { if (in_table) exit }
  /^\| *`src\// {
    in_table = 1; n++
    line = $0
    while (match(line, /`src\/[a-z_0-9]+`/)) {
      d = substr(line, RSTART + 5, RLENGTH - 6)
      print d, n
      line = substr(line, RSTART + RLENGTH)
    }
  }' ARCHITECTURE.md)
if [ -z "$layers" ]; then
  echo "lint: no layer table (| \`src/DIR\` | ... rows) found in ARCHITECTURE.md" >&2
  exit 1
fi
status=0
layer_of() { printf '%s\n' "$layers" | awk -v d="$1" '$1 == d { print $2; exit }'; }
for dir in src/*/; do
  d=$(basename "$dir")
  mine=$(layer_of "$d")
  if [ -z "$mine" ]; then
    echo "lint: src/$d is not in the layer table of ARCHITECTURE.md" >&2
    status=1
    continue
  fi
  for f in "$dir"*.cpp "$dir"*.hpp; do
    [ -e "$f" ] || continue
    for inc in $(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([a-z_0-9]*\)\/.*".*/\1/p' "$f" | sort -u); do
      theirs=$(layer_of "$inc")
      [ -n "$theirs" ] || continue  # not a src/ directory
      if [ "$theirs" -gt "$mine" ]; then
        grep -n "#[[:space:]]*include[[:space:]]*\"$inc/" "$f" | sed "s|^|$f:|" >&2
        echo "lint: $f (src/$d, layer $mine) includes src/$inc (layer $theirs), a higher layer" >&2
        status=1
      fi
    done
  done
done
[ "$status" = 0 ] && echo "lint: layers ok ($(printf '%s\n' "$layers" | awk '{print $2}' | sort -un | wc -l) layers from ARCHITECTURE.md)"
exit "$status"
