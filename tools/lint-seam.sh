#!/bin/sh
# make lint, part 1: the Fs seam. Every filesystem call goes through fs::Fs;
# only src/fs/ (PosixFs, the wrappers) and src/util/process.cpp (the child
# process plumbing: pipes, fork/exec) may call the system directly. Fails on
# a raw file syscall, a C stdio file open, a C++ file stream or
# std::filesystem anywhere else under src/. A line that must stay an
# exception says so in place: `// lint-allow: <why>`. Calls on an open
# descriptor (close, fstat, read/write of a socket or pipe) name no path and
# are not checked.
set -u
cd "$(dirname "$0")/.."
calls='rename|renameat|renameat2|link|linkat|unlink|unlinkat|rmdir|mkdir|mkdirat|symlink|symlinkat|remove|remove_all|open|openat|creat|truncate|access|faccessat|readlink|readlinkat|chmod|fchmodat|chown|fchownat|lchown|utimensat|stat|fstatat|lstat|statx|getdents|getdents64|opendir|fdopendir|readdir|setxattr|lsetxattr|getxattr|lgetxattr|listxattr|llistxattr'
pattern="(^|[^A-Za-z0-9_])((::|std::filesystem::)($calls)\(|(std::)?(fopen|freopen|fdopen|popen|tmpfile|opendir|fdopendir)\(|std::(i|o)?fstream|std::filesystem|#include <(fstream|filesystem|fcntl.h|dirent.h|sys/xattr.h)>)"
files=$(ls src/*/*.cpp src/*/*.hpp src/*.cpp 2>/dev/null | grep -v -e '^src/fs/' -e '^src/util/process\.')
hits=$(grep -nE "$pattern" $files | grep -v 'lint-allow:')
if [ -n "$hits" ]; then
  printf '%s\n' "$hits"
  echo "lint: a filesystem call outside the Fs seam (src/fs, src/util/process); go through fs::Fs" >&2
  exit 1
fi
echo "lint: Fs seam ok"
