// `rotator check`: validate the environment a loaded config describes.
//
// Problems found (each a full sentence naming the job and path):
//   - root missing or not a directory (rotator never creates it: an
//     unmounted disk must not be mistaken for an empty one);
//   - rsync does not run (clone jobs);
//   - the clone's filesystem does not store ACLs or xattrs, so rsync would
//     run without -A / -X (unless rsync_args says --no-acls / --no-xattrs);
//   - a backup/snapshot `from` missing;
//   - paths that must share one filesystem do not (from, path, holding for
//     backup; from, path for snapshot): hard links and renames need it;
//   - a filter file that does not parse;
//   - a snapshot directory entry named like a generation that is not a real
//     directory (history::list_generations refuses it by name).
// The same checks run at the start of every job that needs them. `zone`
// parses dated generation names (the config's time zone).
#pragma once

#include <string>
#include <vector>

#include "config/config.hpp"
#include "fs/fs.hpp"
#include "util/zone.hpp"

namespace rotator::jobs {

std::vector<std::string> check_environment(fs::Fs& fs, const config::Config& cfg,
                                           const Zone& zone = Zone::utc());

// Device of `path`, or of its nearest existing ancestor.
Result<dev_t> device_of(fs::Fs& fs, const std::string& path);

// Error when the given paths are not all on one filesystem:
// "[backup] 'from' (/a) and 'holding' (/b) are on different filesystems; hard links and renames
// need one".
Status same_filesystem(fs::Fs& fs, const config::Job& job,
                       const std::vector<std::pair<std::string, std::string>>& named_paths);

}  // namespace rotator::jobs
