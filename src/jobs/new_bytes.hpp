// The "new bytes" clause of the backup and snapshot summary lines: how much
// of what a run put into its target T is data T did not hold before (the
// link-efficiency guard: a tree whose files all got new inodes shows ~100%).
//
// Definitions (rotator(1), "Summary lines"):
//   new bytes   the st_size sum of the regular files and symlinks the run
//               linked or copied into T, i.e. of the paths where T had no
//               entry or another inode before the run
//               (engine::MirrorStats::linked_bytes, CountBytes::yes);
//   their share new bytes over the bytes of the `from` tree as its clone
//               job's last completed rsync counted them ("Total file size"
//               of --stats: regular files and symlinks, every path once).
//               For a snapshot that is the size of the generation; for a
//               backup with a filter, of the clone before the filter.
// A fresh snapshot build links every file: all its bytes are new (100%)
// without counting them, and they are counted (one lstat per file) only
// when a progress line is shown anyway.
#pragma once

#include <optional>
#include <string>

#include "config/config.hpp"
#include "jobs/job.hpp"

namespace rotator::jobs {

// The bytes of `job.from` as the last completed run of the clone job named
// job.from_job counted them; nullopt when `from` is no clone job's path, the
// clone never completed a run that counted them, or its state is unreadable
// (the clause then gives no share: it is a figure, never a reason to fail).
std::optional<long long> from_tree_bytes(RunContext& ctx, const config::Job& job);

// The clause appended to a summary line, with its leading ", ":
//   new_bytes and from_bytes known, new <= from, from > 0:
//     ", 1.2 MiB new (4.0% of the 30.0 MiB in clone)"
//   only new_bytes known (or new > from: the clone changed since it counted):
//     ", 1.2 MiB new"
//   new_bytes unknown (a fresh build, not counted):
//     ", all bytes new (fresh build of the 30.0 MiB in clone)" or
//     ", all bytes new (fresh build)"
// Pure.
std::string new_bytes_clause(std::optional<long long> new_bytes,
                             std::optional<long long> from_bytes, const std::string& from_name);

}  // namespace rotator::jobs
