// type = backup: make `path` a filtered hard-link mirror of `from` in one
// pass, moving every displaced entry into `holding/<date>/<same path>`.
//
// Calling sequence of one run:
//   1. check from/path/holding share one filesystem (EXDEV is a config error);
//   2. choose the holding folder: the one recorded by an interrupted run of
//      the same job (state resume.holding), else holding_format of `now`;
//      a folder that already exists gets a suffix (.1, .2, ...) — nothing in
//      holding is ever overwritten; the folder is created only when the
//      first entry is displaced;
//   3. when `filter` reads per-directory rule files (dir-merge), a read-only
//      dry-run walk first reads and checks every rule file the real walk
//      will read (validate_filter_walk); a bad rule stops the run here,
//      before the backup or holding is touched, and the real walk uses the
//      contents this pass read (RuleFilter::enable_read_cache);
//      then mirror(from -> path) with the rules of `filter`,
//      prune_empty_dirs, and the holding sink (engine/mirror.hpp);
//   4. only after the mirror succeeded: delete dated holding folders older
//      than holding_keep (names that do not parse as holding_format are
//      never touched).
// Error handling: any failure in 1-3 returns an error (exit 1) and prunes
// nothing; the state keeps resume.holding so the rerun converges into the
// same folder.
#pragma once

#include <string>

#include "filter/filter.hpp"
#include "jobs/job.hpp"

namespace rotator::jobs {

JobResult run_backup(RunContext& ctx, const config::Job& job);

// The read-only pass of step 3: the engine's dry run of `job` (from ->
// path, its prune_empty_dirs) with `rules`, so every per-directory rule file
// of `from`, of the `path` directories the run would delete, and every merge
// file they name is read and parsed. A `path` that does not exist yet is
// planned as empty. Makes no mutating Fs call.
// Returns ok, or the first error, e.g. "a/.g:2: invalid modifier 'q' in
// filter rule '-q bad'".
Status validate_filter_walk(fs::Fs& fs, const config::Job& job, filter::RuleFilter& rules,
                            const std::string& src_display, const std::string& dst_display);

}  // namespace rotator::jobs
