#include "jobs/snapshot_job.hpp"

namespace rotator::jobs {

// Snapshot jobs are refused by the config loader until they are built (see
// the project notes); nothing can reach this function.
JobResult run_snapshot(RunContext&, const config::Job& job) {
  return job_error("type = snapshot is not available yet in this version (job [" + job.name + "])");
}

}  // namespace rotator::jobs
