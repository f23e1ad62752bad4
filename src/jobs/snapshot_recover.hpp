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
#include "rotation/plan.hpp"
#include "util/result.hpp"

namespace rotator::jobs {

// What apply_ops and the finish steps did, for the run's summary.
struct Applied {
  long renamed = 0;
  long expired = 0;
  std::vector<std::string> expired_names;
};

// Applies `ops` in order: a rename, or (expire) a move into .trash. Stops at
// the first failure (a rerun re-plans and resumes).
Status apply_ops(SnapDir& dir, const std::vector<rotation::Op>& ops, Applied& applied);

// After the commit of a rotate build: shift (plan_lowest_commit over the
// current listing), then .rotator-committed -> LOWEST.0, then sync.
Status finish_rotate_commit(SnapDir& dir, const retention::RotatePolicy& policy, Applied& applied);

// After the commit of dated generation `name`: `latest`, expiry into the
// trash (never `name` itself), sync, then .rotator-pending is removed.
Status finish_dated_commit(SnapDir& dir, const std::string& name, RunContext& ctx,
                           const config::Job& job, const retention::DatedPolicy& policy,
                           Applied& applied);

// Runs recovery and reports what it did (plan lines in a dry run, log lines
// otherwise). Returns a JobResult when the caller must stop here: recovery
// failed, or a dry run whose further plan would depend on pending recovery.
std::optional<JobResult> recover_and_report(RunContext& ctx, const config::Job& job);

}  // namespace rotator::jobs
