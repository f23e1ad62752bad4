// `metrics_file`: a Prometheus node_exporter textfile, rewritten after every
// run and every `status` (the textfile collector reads *.prom files).
//
// Metrics, one sample per job (label job="NAME"), all gauges:
//   rotator_last_success_timestamp_seconds  end of the last success (0: never)
//   rotator_last_run_result                 0 ok, 1 error or interrupted,
//                                           2 warning or partial, -1 never run
//   rotator_job_overdue                     1 when status says overdue
//   rotator_run_duration_seconds            last run: end - start
//   rotator_last_run_entries                last run: entries processed
//                                           (clone: source entries; backup and
//                                           snapshot: non-directories mirrored)
//   rotator_last_run_bytes                  last run: bytes (clone only: rsync's
//                                           total file size of the source; the
//                                           link-mirror walk does not stat
//                                           sizes, so no sample for the others)
//   rotator_max_age_seconds                 effective max_age (absent: none)
// and, without labels: rotator_root_ok (0 when the root is missing) and
// rotator_metrics_timestamp_seconds. A value the last run did not record is
// left out (no sample), never faked.
//
// The file is replaced atomically: written to `.NAME.tmp` in the same
// directory, fsynced, renamed over NAME, directory fsynced. A reader sees the
// old or the new file, never a partial one.
#pragma once

#include <string>
#include <vector>

#include "fs/fs.hpp"
#include "jobs/status.hpp"
#include "util/result.hpp"

namespace rotator::jobs {

std::string format_metrics(const std::vector<JobStatus>& sts, const std::string& root_problem,
                           Instant now);

// Label value escaping of the text exposition format: \\, \", \n.
std::string prometheus_label(const std::string& value);

Status write_metrics_file(fs::Fs& fs, const std::string& path, const std::string& text);

}  // namespace rotator::jobs
