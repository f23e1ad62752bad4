// type = snapshot: hard-linked generations of `from` (see snapshot_job.cpp).
#pragma once

#include "jobs/job.hpp"

namespace rotator::jobs {

JobResult run_snapshot(RunContext& ctx, const config::Job& job);

}  // namespace rotator::jobs
