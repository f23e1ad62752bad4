// What a snapshot run decides, before it touches anything (ninja's Plan; the
// executor is run_snapshot in snapshot_job.cpp). Pure: no Fs, the listing,
// the zone and the time are parameters, so every decision is tested without
// a disk (tests/unit/test_jobs_snapshot_plan.cpp).
//
// A dry run prints the plan (plan_lines) and the engine's own dry-run walk;
// a real run carries out the same plan. Recovery does not use it: it
// re-plans from the listing with the rotation / retention planners, which
// resume any prefix of the ops (rotation/plan.hpp, "Crash safety").
#pragma once

#include <string>
#include <vector>

#include "config/config.hpp"
#include "retention/policy.hpp"
#include "retention/select.hpp"
#include "rotation/plan.hpp"
#include "util/result.hpp"
#include "util/zone.hpp"

namespace rotator::jobs {

// `job.keep` parsed for naming = rotate / dated; the error names the job
// ("[snapshots] ...").
Result<retention::RotatePolicy> rotate_policy(const config::Job& job);
Result<retention::DatedPolicy> dated_policy(const config::Job& job);

// retention::select_dated over the generations among `names` (those that
// parse with `job.name_format`), newest first.
std::vector<retention::Decision> dated_decisions(const std::vector<std::string>& names,
                                                 const config::Job& job,
                                                 const retention::DatedPolicy& policy,
                                                 const Zone& zone);

// Everything about the job that a run's plan depends on.
struct SnapshotPolicy {
  std::string job;  // the job's name, for messages
  config::Naming naming = config::Naming::rotate;
  std::string level;               // the level being run
  retention::RotatePolicy rotate;  // naming = rotate
  retention::DatedPolicy dated;    // naming = dated
  std::string name_format;         // naming = dated
  Zone zone = Zone::utc();
};

// The policy of `job` for a run of `level`; the error of rotate_policy /
// dated_policy for a bad keep.
Result<SnapshotPolicy> snapshot_policy(const config::Job& job, const std::string& level,
                                       const Zone& zone);

enum class SnapshotAction {
  build,    // build a new generation (lowest rotate level, or dated)
  promote,  // rotate: promote the next-lower level's oldest (a higher level)
};

struct SnapshotPlan {
  SnapshotAction action = SnapshotAction::build;
  // build: the name the new generation is committed as (LOWEST.0, or the
  // dated name with a free ".K"); promote: `ops.back().to`.
  std::string name;
  // build: the generation rebuilt into the new one (it expires in this run
  // anyway; a recycled build writes only what changed); "" = a fresh build.
  std::string recycle;
  // build, rotate: the shift after the commit (plan_lowest_commit over the
  //   listing without `recycle`), then .rotator-committed -> `name`;
  // build, dated: the expiries after the commit (never `name`, never
  //   `recycle`), oldest last, all OpKind::expire;
  // promote: plan_higher's ops, the promotion itself last.
  std::vector<rotation::Op> ops;
  // build, dated: what `latest` points to after the commit (the newest).
  std::string latest;

  bool operator==(const SnapshotPlan&) const = default;
};

// The plan of one run over `listing` (the names in the snapshot directory,
// after recovery) at `now`:
//   rotate, lowest level: `name` LOWEST.0; `recycle` the lowest-indexed
//     generation that plan_lowest_commit expires, if any.
//   rotate, higher level: plan_higher (promote).
//   dated: `name` = format_dated_name(now) made free with ".K"; `recycle` the
//     oldest generation that select_dated expires once `name` exists.
// Errors (the message is final and says nothing was changed, since a run
// stops before changing anything): plan_higher's ("nothing to promote: ...",
// followed by "; nothing was changed"); a dated generation after `now`
// ("generation 'X' is dated after now (...); the clock looks wrong, nothing
// was changed").
Result<SnapshotPlan> plan_snapshot_run(const std::vector<std::string>& listing,
                                       const SnapshotPolicy& policy, Instant now);

// dated: what follows the commit of generation `name`, over `listing` (the
// directory with `name` in it): `latest` (the newest generation) and the
// expiries (select_dated's, never `name`), as in SnapshotPlan. The run gets
// these from plan_snapshot_run; recovery of a .rotator-pending from here.
struct DatedFinish {
  std::string latest;
  std::vector<rotation::Op> ops;
};
DatedFinish plan_dated_finish(const std::vector<std::string>& listing, const SnapshotPolicy& policy,
                              const std::string& name);

// What a dry run prints for the plan's commit phase, one line each:
//   rotate build: "commit .rotator-staging -> .rotator-committed", the ops,
//                 "rename .rotator-committed -> daily.0", "delete-trash";
//   dated build:  "commit .rotator-staging -> NAME", "latest -> NAME", the
//                 ops ("expire NAME"), "delete-trash";
//   promote:      the ops, "delete-trash".
std::vector<std::string> plan_lines(const SnapshotPlan& plan, const SnapshotPolicy& policy);

// "1 rename", "2 renames".
std::string plural(long n, const char* word);

}  // namespace rotator::jobs
