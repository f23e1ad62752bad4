// Recovery of a snapshot directory (recover_snapshot in snapshot_job.hpp
// states what it does) and the post-commit steps that a run and a recovery
// share: both finish a commit the same way, so an interrupted run and its
// rerun leave what one uninterrupted run leaves.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "jobs/job.hpp"
#include "jobs/snap_dir.hpp"
#include "retention/policy.hpp"
#include "rotation/execute.hpp"
#include "rotation/plan.hpp"
#include "util/result.hpp"

namespace rotator::jobs {

// What the ops and the finish steps did, for the run's summary; the ops are
// applied by rotation::apply_ops with the SnapDir as target.
using rotation::Applied;

// The steps after a commit, shared by a run (with its plan's ops) and by
// recovery (with ops re-planned from the listing):
// rotate: the shift `ops`, then .rotator-committed -> `lowest0`, then sync.
Status finish_rotate_commit(SnapDir& dir, const std::vector<rotation::Op>& ops,
                            const std::string& lowest0, Applied& applied);
// dated, after the commit of a generation: `latest` -> `latest` (unless
// empty), the expiry `ops` into the trash, sync, then .rotator-pending is
// removed.
Status finish_dated_commit(SnapDir& dir, const std::string& latest,
                           const std::vector<rotation::Op>& ops, RunContext& ctx,
                           const config::Job& job, Applied& applied);

// Runs recovery and reports what it did (plan lines in a dry run, log lines
// otherwise). Returns a JobResult when the caller must stop here: recovery
// failed, or a dry run whose further plan would depend on pending recovery.
std::optional<JobResult> recover_and_report(RunContext& ctx, const config::Job& job);

}  // namespace rotator::jobs
