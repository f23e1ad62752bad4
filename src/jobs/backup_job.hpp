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
//   3. mirror(from -> path) with the rules of `filter`, prune_empty_dirs, and
//      the holding sink (engine/mirror.hpp);
//   4. only after the mirror succeeded: delete dated holding folders older
//      than holding_keep (names that do not parse as holding_format are
//      never touched).
// Error handling: any failure in 1-3 returns an error (exit 1) and prunes
// nothing; the state keeps resume.holding so the rerun converges into the
// same folder.
#pragma once

#include "jobs/job.hpp"

namespace rotator::jobs {

JobResult run_backup(RunContext& ctx, const config::Job& job);

}  // namespace rotator::jobs
