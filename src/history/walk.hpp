// A read-only depth-first walk of one place, for the history commands.
//
// walk_tree visits every entry below directory `dir_fd` (unsorted, as the
// directory lists them), giving its path relative to the walk's start and
// its type (d_type; lstat only when the filesystem gives DT_UNKNOWN). For a
// directory the visitor says whether to descend. No file content is read.
//
// Error handling: the first failing call ends the walk with its Error (the
// path in it is relative to the start, "." for the start itself, also when
// walk_path cannot open it); below_start() restates it with the full path.
// ENOENT on a directory that vanished between listing and opening is
// returned too: the caller decides whether its place vanished
// (history::vanished) and reports it.
#pragma once

#include <functional>
#include <string>

#include "fs/fs.hpp"
#include "util/result.hpp"

namespace rotator::history {

enum class Descend { no, yes };

// `parent_fd` is the open directory holding the entry (for lstat/readlink).
using Visit = std::function<Result<Descend>(const std::string& rel, const fs::DirEntry& entry,
                                            int parent_fd)>;

// Walks below `dir_fd`; `prefix` is prepended to every relative path ("" or
// "a/b", no trailing slash).
Status walk_tree(fs::Fs& fs, int dir_fd, const std::string& prefix, const Visit& visit);

// Opens `path` and walks below it.
Status walk_path(fs::Fs& fs, const std::string& path, const std::string& prefix,
                 const Visit& visit);

// `e`, the Error of a walk that started at `start` (or of its visitor, which
// names entries by their relative path), restated with the full path
// (with_context: errno, op and detail kept; "." is `start` itself).
Error below_start(Error e, const std::string& start);

}  // namespace rotator::history
