// What a snapshot run decides, before it touches anything: the job's keep
// policy, parsed, and the retention decisions over a listing. Pure: no Fs,
// the zone and the time are parameters.
#pragma once

#include <string>
#include <vector>

#include "config/config.hpp"
#include "retention/policy.hpp"
#include "retention/select.hpp"
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

// "1 rename", "2 renames".
std::string plural(long n, const char* word);

}  // namespace rotator::jobs
