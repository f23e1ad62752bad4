#!/bin/sh
# make lint, part 1: the Fs seam. Every filesystem call goes through fs::Fs;
# only src/fs/posix_fs.* (PosixFs, the real implementation) and
# src/util/process.* (the child process plumbing: pipes, fork/exec) may call
# the system directly: the wrappers (FaultFs, NoSyncFs) and the helpers of
# src/fs (tree, resolve) go through an Fs like everyone else. Fails on a raw
# file syscall, qualified (::rename) or not (rename), a descriptor call with
# an effect on a file (fsync, ioctl, copy_file_range, f*xattr, fchmod ...), a
# C stdio file open, a C++ file stream or std::filesystem anywhere else under
# src/. A call through an object (fs.rename, m_target->link) or a qualified
# member (Walker::link) is not a system call and is not flagged. A line that
# must stay an exception says so in place: `// lint-allow: <why>`. Calls
# that only read an open descriptor's own state (close, fstat, read/write of a
# socket or pipe) name no file and are not checked.
set -u
cd "$(dirname "$0")/.."
path_calls='rename|renameat|renameat2|link|linkat|unlink|unlinkat|rmdir|mkdir|mkdirat|symlink|symlinkat|remove|remove_all|open|openat|openat2|creat|truncate|access|faccessat|faccessat2|readlink|readlinkat|chmod|fchmodat|chown|fchownat|lchown|utime|utimes|utimensat|futimesat|stat|fstatat|lstat|statx|statfs|statvfs|getdents|getdents64|opendir|fdopendir|readdir|scandir|nftw|realpath|chdir|mknod|mknodat|mkfifo|mkfifoat|setxattr|lsetxattr|getxattr|lgetxattr|listxattr|llistxattr|removexattr|lremovexattr|name_to_handle_at|open_by_handle_at'
fd_calls='fsync|fdatasync|syncfs|sync_file_range|ioctl|copy_file_range|sendfile|splice|fallocate|posix_fallocate|ftruncate|fchmod|fchown|futimens|fsetxattr|fgetxattr|flistxattr|fremovexattr|fstatfs|fstatvfs|fchdir|flock|lockf'
calls="$path_calls|$fd_calls"
pattern="(^|[^A-Za-z0-9_.>:])((::|std::filesystem::)?($calls)\(|(std::)?(fopen|freopen|fdopen|popen|tmpfile)\(|std::(i|o)?fstream|std::filesystem|#include <(fstream|filesystem|fcntl.h|dirent.h|sys/xattr.h|sys/ioctl.h|linux/fs.h|sys/sendfile.h)>)"
# A line that declares or defines a member named like a call ("Status
# link(int ...)", "bool remove(" ) is not a call: a return type, or a
# qualifier like `override`, stands before it on the same line.
decl="^[^:]*:[0-9]+:[[:space:]]*(virtual[[:space:]]+)?(static[[:space:]]+)?(inline[[:space:]]+)?[A-Za-z_][A-Za-z0-9_:<>,*& ]*[[:space:]*&]($calls)\("
files=$(ls src/*/*.cpp src/*/*.hpp src/*.cpp 2>/dev/null | grep -v -e '^src/fs/posix_fs\.' -e '^src/util/process\.')
# FILE:LINE:code with // comments cut off (a comment may name a call), and
# without the lines marked lint-allow.
code=$(awk '/lint-allow:/ { next } { sub(/\/\/.*/, ""); print FILENAME ":" FNR ":\t" $0 }' $files)
hits=$(printf '%s\n' "$code" | grep -E "$pattern" | grep -vE "$decl")
if [ -n "$hits" ]; then
  printf '%s\n' "$hits"
  echo "lint: a filesystem call outside the Fs seam (src/fs/posix_fs, src/util/process); go through fs::Fs" >&2
  exit 1
fi
echo "lint: Fs seam ok"
