// `rotator restore PATH [--at WHEN | --version N] [--to DEST] [-n] [--force]`:
// copy one version of a file, symlink or directory out of the history.
//
// Choice (choose_restore, pure over file_versions' answer):
//   --version N   row N of `rotator versions PATH` (1 = oldest);
//   --at WHEN     the row current at WHEN: the newest row first seen at or
//                 before WHEN (a later row replaced the earlier ones). When
//                 that row was last seen before WHEN and a clone, backup or
//                 snapshot place between its last sighting and WHEN lacks
//                 the path, the path did not exist at WHEN: error. For a
//                 directory row the place is its newest snapshot generation
//                 or backup at or before WHEN (a holding folder only when
//                 no such place has it);
//   neither       the newest row, from the clone when it holds it.
// A file row is copied from its newest place (the clone if current).
//
// Execution (execute_restore). The restore *copies*: never a hard link into
// the history (an editor writing in place would change every generation
// sharing the inode). Regular files through Fs::copy_data (FICLONE where the
// filesystem has reflinks, else copy_file_range), then mode, owner (when
// root), times and xattrs; symlinks as symlinks; directories with their
// metadata set after their contents; hard links between files inside a
// restored directory stay hard links of the copies. Fifos, sockets and
// devices are skipped (counted in `skipped`, the command warns).
//
// Operation order: everything is written below a temporary name beside DEST
// (".NAME.rotator-restore[.K]", a free name); then, with Force::yes and an
// existing DEST, DEST is renamed to the first free "DEST.~N~" (GNU cp's
// numbered backups); then the temporary is renamed to DEST (no_replace) and
// DEST's directory is synced. An interrupted restore leaves no half-written
// entry under DEST's name; on an error the temporary is removed and DEST is
// as it was.
//
// Refused before anything is written (exit 1): an existing DEST without
// Force::yes; a DEST inside rotator's root (the next run would overwrite or
// archive it); a DEST whose directory does not exist.
#pragma once

#include <optional>
#include <string>

#include "history/catalogue.hpp"
#include "history/versions.hpp"

namespace rotator::history {

enum class Force { no, yes };

struct RestoreRequest {
  std::optional<Instant> at;
  std::optional<int> version;  // 1-based
};

struct RestoreChoice {
  const Place* place = nullptr;
  int version = 0;  // 1-based row of the versions answer
  fs::FileType type = fs::FileType::unknown;
  std::string source;  // absolute path of what is copied
};

// Pure: picks the row and place (see the file comment). Errors name the
// reason: "'X' is not in any place", "2026-01-01 00:00 is before any history
// of 'X' (first seen ...)", "'X' did not exist at ...", "no version N ...".
Result<RestoreChoice> choose_restore(const FileVersions& v, const RestoreRequest& req,
                                     const Zone& zone);

struct RestoreStats {
  long files = 0;
  long links = 0;  // hard links kept inside the restored tree
  long symlinks = 0;
  long dirs = 0;
  long skipped = 0;  // fifos, sockets, devices
  long long bytes = 0;
  std::string backup_name;  // DEST.~N~ when --force moved an existing DEST
};

// Counts what a restore of `source` would copy (for -n), reading only.
Result<RestoreStats> survey_restore(fs::Fs& fs, const std::string& source);

// `dest` refused (plain_error) when it is inside `root`, or exists without
// Force::yes, or its directory is missing. Reads only.
Status check_destination(fs::Fs& fs, const std::string& dest, const std::string& root, Force force);

// Copies `source` to `dest` (see the file comment).
Result<RestoreStats> execute_restore(fs::Fs& fs, const std::string& source, const std::string& dest,
                                     const std::string& root, Force force);

}  // namespace rotator::history
