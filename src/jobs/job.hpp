// What every job runner gets, and what it returns.
//
// A job runner (clone_job.cpp, backup_job.cpp, snapshot_job.cpp) does one
// job's work for one invocation of a level. It never exits the process and
// never prints to stdout except plan lines through `plan` in a dry run.
// Exit policy (runner.cpp): any job error -> 1, else any warning -> 2, else 0.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "config/config.hpp"
#include "core/types.hpp"
#include "fs/fs.hpp"
#include "log/log.hpp"
#include "state/state.hpp"
#include "util/zone.hpp"

namespace rotator::jobs {

struct RunContext {
  fs::Fs& fs;
  const config::Config& cfg;
  Zone zone;
  Instant now;
  DryRun dry_run = DryRun::no;
  log::Logger& log;
  std::function<void(std::string_view)> plan;  // dry-run plan lines (stdout)
  std::string level;                           // the level being run
  // Resume data an interrupted run of this job left in its state, and a way
  // for the job to record its own before it changes anything (so a crash
  // mid-run is resumed consistently by the next run).
  std::map<std::string, std::string> resume_in;
  std::function<Status(const std::map<std::string, std::string>&)> save_resume;
  // When a snapshot job deletes its trash: now, inside the job, or after the
  // run's lock is released (the job only queues it; the command then calls
  // delete_queued_trash for every snapshot job of the level).
  enum class TrashDeletion { now, after_unlock } trash_deletion = TrashDeletion::now;
};

struct JobResult {
  state::Outcome outcome = state::Outcome::ok;  // ok, warning, partial or error
  std::string summary;                          // one line: what it did
  std::string error;                            // for outcome error: why
  long long entries = -1;                       // processed (metrics, progress); -1 unknown
  long long bytes = -1;
  // Clone jobs with relink = yes: files relinked to history and the bytes
  // saved (-1: not recorded; see state::JobState).
  long long relinked_files = -1;
  long long relinked_bytes = -1;
  // Clone jobs: the link-efficiency (churn_warn) warning, empty when none.
  std::string churn_warning;
  // Resume data to keep in the state while the run is incomplete.
  std::map<std::string, std::string> resume;
};

// The engine's plan callback for job `name`: in a dry run each line goes to
// ctx.plan (stdout); in a real run at debug verbosity to the log; otherwise
// empty, so that no plan line is formatted at all (one per change, one per
// entry in a fresh build). `ctx` must outlive the callback.
inline std::function<void(std::string_view)> plan_output(const RunContext& ctx,
                                                         const std::string& name) {
  if (ctx.dry_run == DryRun::yes) {
    return [&ctx](std::string_view line) { ctx.plan(line); };
  }
  if (ctx.log.verbosity() >= log::Verbosity::debug) {
    return [&ctx, name](std::string_view line) { ctx.log.debug("[{}] {}", name, line); };
  }
  return {};
}

inline JobResult job_error(std::string message) {
  JobResult r;
  r.outcome = state::Outcome::error;
  r.error = std::move(message);
  return r;
}

}  // namespace rotator::jobs
