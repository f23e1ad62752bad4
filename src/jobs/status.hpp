// `rotator status`: is every job working?
//
// For each job: last success, last failure, age of the last success, and
// whether it is overdue (age > effective max_age, or never succeeded).
// The verdict is "ok" only when the job's last run succeeded (ok or warning)
// and it is not overdue. The table and the JSON carry the same facts.
// The JSON is written with util/json.hpp: byte strings (name, last_summary,
// last_failure_message, problem) get a `<key>_b64` companion when they are
// not valid UTF-8, and control characters are always escaped.
#pragma once

#include <string>
#include <vector>

#include "config/config.hpp"
#include "fs/fs.hpp"
#include "state/state.hpp"
#include "util/zone.hpp"

namespace rotator::jobs {

struct JobStatus {
  const config::Job* job = nullptr;
  state::JobState state;
  std::optional<std::chrono::seconds> age;      // since the last success
  std::optional<std::chrono::seconds> max_age;  // effective max_age
  bool overdue = false;
  bool healthy = false;
  std::string problem;  // why not healthy, for humans
};

std::vector<JobStatus> collect_status(fs::Fs& fs, const config::Config& cfg, Instant now);
std::string format_status_table(const std::vector<JobStatus>& st, const Zone& zone);
std::string format_status_json(const std::vector<JobStatus>& st, const Zone& zone, Instant now);

}  // namespace rotator::jobs
