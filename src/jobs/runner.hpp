// Running a level: every job whose levels include it, in file order.
//
// Calling sequence per job: state "running" saved -> pre_exec (a failure
// skips the job) -> the job -> post_exec (only after a job that did not
// fail) -> state saved with the outcome and a one-line summary, which is also
// logged with the duration, then fail_exec when the job failed (whatever
// step failed: pre_exec, the job, post_exec, a skipped source). A job whose
// `from` is a clone job that failed in this same run is skipped (it would
// copy a stale or broken tree).
//
// Returns the exit status: k_exit_error when any job failed, else
// k_exit_warning when any warning was logged, else k_exit_ok. In a dry run no state is written.
#pragma once

#include <string>

#include "jobs/job.hpp"

namespace rotator::jobs {

ExitStatus run_level(RunContext& ctx, const std::string& level);

// Runs the job's fail_exec (if any, not in a dry run) after a failed run,
// with ROTATOR_JOB, ROTATOR_RESULT ("error") and ROTATOR_MESSAGE (the error)
// in its environment; its own failure is logged as an error.
void run_fail_exec(RunContext& ctx, const config::Job& job, const JobResult& r);

// Runs a pre_exec/post_exec command; error message on failure.
Status run_hook(RunContext& ctx, const config::Job& job, const char* which,
                const std::vector<std::string>& argv);

}  // namespace rotator::jobs
