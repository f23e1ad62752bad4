// `rotator status`: is every job working?
//
// For each job: last success, last failure, age of the last success, and
// whether it is overdue (age > effective max_age, or never succeeded).
// Severity of a job:
//   ok        last run ok or warning (rsync 24 counts: files vanished), not overdue
//   warning   last run partial (rsync 23) and the last success not yet older
//             than max_age: known, accepted until it becomes overdue; or the
//             last run was ok but left a churn_warn warning (the clone's
//             files got new inodes), until the next normal clone run; or the
//             state file is empty or corrupt (its results are unknown, which
//             is not "never run")
//   critical  failed, interrupted, its last state could not be saved (a full
//             disk: said so, not "interrupted"), never succeeded, overdue,
//             clock behind, or the root is missing (backup disk not mounted)
// `healthy` is severity == ok. The table, the JSON, the Nagios line and the
// metrics carry the same facts.
// The JSON is written with util/json.hpp: byte strings (name, last_summary,
// last_failure_message, problem) get a `<key>_b64` companion when they are
// not valid UTF-8, and control characters are always escaped.
#pragma once

#include <string>
#include <vector>

#include "config/config.hpp"
#include "core/types.hpp"
#include "fs/fs.hpp"
#include "state/state.hpp"
#include "util/zone.hpp"

namespace rotator::jobs {

enum class Severity { ok, warning, critical };

struct JobStatus {
  const config::Job* job = nullptr;
  state::JobState state;
  std::optional<std::chrono::seconds> age;      // since the last success
  std::optional<std::chrono::seconds> max_age;  // effective max_age
  bool overdue = false;
  bool healthy = false;
  Severity severity = Severity::critical;
  std::string problem;  // why not healthy, for humans
};

// Empty when cfg.root is an existing directory; else why not ("root '/x' does
// not exist ... is the backup disk mounted?").
std::string root_problem(fs::Fs& fs, const config::Config& cfg);

// One entry per job, in config order. When the root is missing every job is
// critical with that problem (its state cannot be read).
std::vector<JobStatus> collect_status(fs::Fs& fs, const config::Config& cfg, Instant now);

// The worst severity (ok for no jobs).
Severity overall(const std::vector<JobStatus>& sts);
// rotator's exit status for `status`: k_exit_ok, k_exit_warning, k_exit_error
// for critical.
ExitStatus status_exit_code(const std::vector<JobStatus>& sts);

enum class OnlyProblems { no, yes };
// The table; with OnlyProblems::yes (-q) only the header and the jobs that are
// not ok, and "" when all are ok.
std::string format_status_table(const std::vector<JobStatus>& st, const Zone& zone,
                                OnlyProblems only = OnlyProblems::no);
// {"now", "ok", "severity", "root_ok", "problem", "jobs": [...]}; `root_problem` as
// from root_problem() ("" when fine).
std::string format_status_json(const std::vector<JobStatus>& st, const Zone& zone, Instant now,
                               const std::string& root_problem = {});
// The document `status --json` prints when the config cannot be loaded:
// {"ok": false, "config_error": MESSAGE, "config": FILE, "jobs": []}.
std::string format_config_error_json(const std::string& file, const std::string& message);

// Monitoring-plugin output (Nagios/Icinga): one line
//   ROTATOR OK|WARNING|CRITICAL|UNKNOWN - TEXT | age_JOB=Ns;WARN;CRIT ...
// and the plugin exit code (0/1/2/3) in `exit_code`. WARN is max_age, CRIT is
// twice max_age (both empty when the job has none; the value is U when it never
// succeeded). Mapping: a failed/interrupted/never-successful job or a missing
// root -> CRITICAL; overdue (age > max_age) -> WARNING, beyond 2 x max_age ->
// CRITICAL; a partial last run or a churn_warn warning -> WARNING.
struct NagiosReport {
  std::string line;  // with the trailing newline
  int exit_code = 3;
};
NagiosReport format_status_nagios(const std::vector<JobStatus>& st,
                                  const std::string& root_problem);
// For a config that cannot be loaded: UNKNOWN, exit 3.
NagiosReport nagios_config_error(const std::string& message);

}  // namespace rotator::jobs
