#include "jobs/snapshot_plan.hpp"

#include <fmt/format.h>

#include "rotation/name.hpp"

namespace rotator::jobs {

Result<retention::RotatePolicy> rotate_policy(const config::Job& job) {
  auto p = retention::parse_rotate_policy(job.keep);
  if (!p) {
    return plain_error(fmt::format("[{}] {}", job.name, p.error().message()));
  }
  return std::move(*p);
}

Result<retention::DatedPolicy> dated_policy(const config::Job& job) {
  auto p = retention::parse_dated_policy(job.keep);
  if (!p) {
    return plain_error(fmt::format("[{}] {}", job.name, p.error().message()));
  }
  return std::move(*p);
}

std::vector<retention::Decision> dated_decisions(const std::vector<std::string>& names,
                                                 const config::Job& job,
                                                 const retention::DatedPolicy& policy,
                                                 const Zone& zone) {
  return retention::select_dated(rotation::dated_generations(names, job.name_format, zone), policy,
                                 zone);
}

std::string plural(long n, const char* word) {
  return fmt::format("{} {}{}", n, word, n == 1 ? "" : "s");
}

}  // namespace rotator::jobs
