// `rotator diff A B [PATH]`: what changed from place A to place B.
//
// A sorted lockstep walk of both trees (the two listings merged by name, as
// the mirror engine does), no content read. Itemized lines, in the
// vocabulary of -n:
//   + PATH   only in B (every entry below an added directory is listed too)
//   - PATH   only in A (likewise)
//   M PATH   both non-directories of one type, another inode (or, for a
//            symlink, another target)
//   T PATH   another type (then the contents of a directory side follow as
//            + or - lines)
//   m PATH   metadata only: a symlink with the same target but other mode,
//            owner or mtime; a directory with another mode or owner
// Directories end in '/'. Unchanged entries (same name, same d_ino and type)
// cost no stat. Bytes are st_size of B's side for +, M and T, of A's for -.
//
// Error handling: the first failing call ends the walk; ENOENT inside a
// place that vanished is reported as such by the caller.
#pragma once

#include <functional>
#include <string>

#include "fs/fs.hpp"
#include "util/result.hpp"

namespace rotator::history {

struct DiffSummary {
  long added = 0, deleted = 0, changed = 0, type_changed = 0, metadata = 0;
  long long bytes_added = 0, bytes_deleted = 0, bytes_changed = 0;
};

// `emit(code, rel, is_dir)` gets every line in order; `rel` is relative to
// the place roots. `a_path`/`b_path` are the compared directories (the
// places joined with PATH), `rel` their relative path ("" for the roots).
Result<DiffSummary> diff_trees(fs::Fs& fs, const std::string& a_path, const std::string& b_path,
                               const std::string& rel,
                               const std::function<void(char, const std::string&, bool)>& emit);

std::string format_diff_summary(const DiffSummary& s);

}  // namespace rotator::history
