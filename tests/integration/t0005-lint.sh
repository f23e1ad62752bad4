#!/bin/sh
# make lint's shape checks (tools/lint-seam.sh, tools/lint-layers.sh) pass on
# the tree and fail on a planted violation, in a scratch copy of the tree.
. "$(dirname "$0")/lib.sh"
top=$(cd "$(dirname "$0")/../.." && pwd)

copy_tree() {
  mkdir -p "$TMP/tree"
  cp -R "$top/tools" "$top/src" "$top/ARCHITECTURE.md" "$TMP/tree/"
}

t_tree_is_clean() {
  sh "$top/tools/lint-seam.sh"
  sh "$top/tools/lint-layers.sh"
}

t_upward_include_fails() {
  copy_tree
  printf '#include "jobs/job.hpp"\n' >>"$TMP/tree/src/engine/sink.hpp"
  expect_exit 1 sh "$TMP/tree/tools/lint-layers.sh" 2>"$TMP/err"
  expect_grep 'src/engine/sink.hpp (src/engine, layer [0-9]*) includes src/jobs' "$TMP/err"
}

t_layer_order_read_from_architecture() {
  copy_tree
  # Swap the engine and jobs rows: the same includes are now upward.
  awk '/^\| `src\/engine`/ { held = $0; next }
       /^\| `src\/jobs`/ { print; print held; next } { print }' \
    "$top/ARCHITECTURE.md" >"$TMP/tree/ARCHITECTURE.md"
  expect_exit 1 sh "$TMP/tree/tools/lint-layers.sh" 2>"$TMP/err"
  expect_grep 'src/jobs.*includes src/engine' "$TMP/err"
}

t_directory_missing_from_table_fails() {
  copy_tree
  mkdir "$TMP/tree/src/newlayer"
  printf '#pragma once\n' >"$TMP/tree/src/newlayer/x.hpp"
  expect_exit 1 sh "$TMP/tree/tools/lint-layers.sh" 2>"$TMP/err"
  expect_grep 'src/newlayer is not in the layer table' "$TMP/err"
}

t_raw_calls_fail() {
  for line in 'int r = ::rename("a", "b");' 'FILE* f = fopen("x", "r");' \
              'std::ofstream out("x");' '#include <filesystem>' 'int fd = ::open("x", 0);'; do
    rm -rf "$TMP/tree"
    copy_tree
    printf '%s\n' "$line" >>"$TMP/tree/src/jobs/status.cpp"
    expect_exit 1 sh "$TMP/tree/tools/lint-seam.sh" >"$TMP/out" 2>"$TMP/err"
    expect_grep 'src/jobs/status.cpp' "$TMP/out"
  done
  # The seam itself may.
  rm -rf "$TMP/tree"
  copy_tree
  printf 'int r = ::rename("a", "b");\n' >>"$TMP/tree/src/fs/posix_fs.cpp"
  sh "$TMP/tree/tools/lint-seam.sh"
}

test_case "the tree passes the seam and layer checks" t_tree_is_clean
test_case "an include of a higher layer fails" t_upward_include_fails
test_case "the layer order is read from ARCHITECTURE.md" t_layer_order_read_from_architecture
test_case "a src/ directory missing from the table fails" t_directory_missing_from_table_fails
test_case "raw file calls, stdio opens, streams outside src/fs fail" t_raw_calls_fail
[ "$nfail" -eq 0 ]
