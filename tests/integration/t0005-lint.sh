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
              'std::ofstream out("x");' '#include <filesystem>' 'int fd = ::open("x", 0);' \
              'int r = rename("a", "b");' 'if (unlinkat(d, "x", 0) != 0) {' \
              '  (void)fsync(fd);' 'int r = ::syncfs(fd);' 'ioctl(fd, FICLONE, src);' \
              'auto n = ::copy_file_range(a, nullptr, b, nullptr, len, 0);' \
              'fsetxattr(fd, "user.x", v, 1, 0);' 'ssize_t n = flistxattr(fd, buf, sz);' \
              'fchmod(fd, 0600); // a trailing comment' '#include <sys/ioctl.h>'; do
    rm -rf "$TMP/tree"
    copy_tree
    printf '%s\n' "$line" >>"$TMP/tree/src/jobs/status.cpp"
    expect_exit 1 sh "$TMP/tree/tools/lint-seam.sh" >"$TMP/out" 2>"$TMP/err"
    expect_grep 'src/jobs/status.cpp' "$TMP/out"
  done
  # The wrappers and helpers of src/fs are not the seam: they go through an Fs.
  for file in fault_fs.cpp tree.cpp resolve.cpp; do
    rm -rf "$TMP/tree"
    copy_tree
    printf 'int r = ::unlinkat(d, "x", 0);\n' >>"$TMP/tree/src/fs/$file"
    expect_exit 1 sh "$TMP/tree/tools/lint-seam.sh" >"$TMP/out" 2>"$TMP/err"
    expect_grep "src/fs/$file" "$TMP/out"
  done
  # The seam itself may; calls through an object, qualified members,
  # declarations, comments and lint-allow lines are not system calls.
  rm -rf "$TMP/tree"
  copy_tree
  printf 'int r = ::rename("a", "b");\n' >>"$TMP/tree/src/fs/posix_fs.cpp"
  printf '%s\n' 'void f(fs::Fs& fs) { (void)fs.rename(1, "a", 1, "b"); }' \
    'auto r = m_target->unlink(d, n);' 'Status Walker::link(int a) {' \
    '  Status rmdir(int d, const std::string& n) override;' '// rename(2) is atomic' \
    'int x = ::fsync(fd);  // lint-allow: the test says why' >>"$TMP/tree/src/jobs/status.cpp"
  sh "$TMP/tree/tools/lint-seam.sh"
}

test_case "the tree passes the seam and layer checks" t_tree_is_clean
test_case "an include of a higher layer fails" t_upward_include_fails
test_case "the layer order is read from ARCHITECTURE.md" t_layer_order_read_from_architecture
test_case "a src/ directory missing from the table fails" t_directory_missing_from_table_fails
test_case "raw file calls, stdio opens, streams outside src/fs fail" t_raw_calls_fail
[ "$nfail" -eq 0 ]
