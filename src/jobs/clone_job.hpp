// type = clone: refresh `path` from `source` with rsync.
//
// Calling sequence: the clone's filesystem is probed for ACL and xattr
// support (probe_clone_fidelity), then a dry run
// `rsync -a -H -A -X --delete --numeric-ids <rsync_args> --no-inplace -n --stats
// --out-format='%i %n' SOURCE PATH/` first counts what the
// source holds and what would be deleted; the real run follows only when
//   - the source yields at least one entry besides its root, and
//   - deletions <= max_delete x the clone's current entry count.
// Otherwise the job fails (exit 1) with the numbers and the clone is untouched.
//
// rsync exit status: 0 ok; 24 (vanished files) -> warning; 23 (partial
// transfer) -> warning, outcome "partial"; anything else -> error with
// rsync's own last messages. With -n only the dry run runs and its itemized
// lines are printed.
#pragma once

#include "jobs/job.hpp"

namespace rotator::jobs {

// churn_warn needs at least this many replaced files: in a tiny tree one
// edited file is a large share and says nothing about broken links.
inline constexpr long k_churn_min_files = 100;

JobResult run_clone(RunContext& ctx, const config::Job& job);

// Fidelity options: rotator passes `-H -A -X` (hard-link groups, ACLs,
// xattrs) before the user's rsync_args, -A and -X only where the clone's
// filesystem stores them (probe_clone_fidelity); `--no-acls`/`--no-A`,
// `--no-xattrs`/`--no-X`, `--no-hard-links`/`--no-H` in rsync_args turn one
// off (rsync: the later option wins), and then it is not probed.
struct CloneFidelity {
  fs::Support acls = fs::Support::yes;
  fs::Support xattrs = fs::Support::yes;
  // One sentence per option dropped because the filesystem lacks it (the
  // run logs them as warnings, `rotator check` as problems).
  std::vector<std::string> dropped;
};

// Probes the clone's filesystem (job.path, or its parent while it does not
// exist yet) through Fs::probe_xattr_support. Error when neither exists or
// the probe fails.
Result<CloneFidelity> probe_clone_fidelity(fs::Fs& fs, const config::Job& job);

// The rsync argv of the real run (without -n).
std::vector<std::string> clone_rsync_argv(const config::Config& cfg, const config::Job& job,
                                          const CloneFidelity& fidelity = {});

}  // namespace rotator::jobs
