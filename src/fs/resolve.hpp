// Where a configured path really is: symlinks resolved, identities of the
// directories above it, for overlap checks that cannot be fooled by a
// symlink or a second name (a bind mount) for the same directory.
//
// resolve_path() walks `path` component by component through the Fs (lstat,
// readlink), following symlinks like the kernel would, until a component
// does not exist. The result names the deepest existing entry (`real`, with
// no symlink in it), what lies below it that does not exist yet (`rest`),
// and the device+inode of that entry and of every ancestor up to "/"
// (`chain`, deepest first).
//
// Error handling: an error other than ENOENT/ENOTDIR from lstat or readlink
// (EACCES, EIO) is returned as is; more than 40 symlinks is ELOOP.
#pragma once

#include <sys/types.h>

#include <string>
#include <utility>
#include <vector>

#include "fs/fs.hpp"
#include "util/result.hpp"

namespace rotator::fs {

struct ResolvedPath {
  std::string real;                            // deepest existing entry, symlink-free, absolute
  std::vector<std::string> rest;               // components below `real` that do not exist
  std::vector<std::pair<dev_t, ino_t>> chain;  // identity of `real`, its parent, ..., "/"

  // `real` + `rest` joined: the path as it will be once created.
  std::string full() const;
};

// REQUIRES: `path` is absolute.
Result<ResolvedPath> resolve_path(Fs& fs, const std::string& path);

// True when `a` is `b` or lies below it: `b` exists and its identity is one
// of `a`'s chain, or both stop at the same existing entry and `b`'s missing
// components are a prefix of `a`'s.
bool resolved_within(const ResolvedPath& a, const ResolvedPath& b);

}  // namespace rotator::fs
