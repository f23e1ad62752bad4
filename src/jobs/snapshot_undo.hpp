// The undo log of a recycled snapshot build, and the rollback of an
// uncommitted .rotator-staging (fresh or recycled), as described in
// snapshot_job.hpp ("On-disk protocol", "Recovery").
//
// A recycled build writes, before the engine creates each entry, a marker
// under `.trash/BUILD-ID/added/` (AddRecorder, fed by the engine's
// `before_add` hook); what the build displaces goes to
// `.trash/BUILD-ID/displaced[.K]/` (a TreeSink). rollback() undoes exactly
// that: added entries go to `.trash/BUILD-ID/undo/`, displaced ones go back,
// and the tree gets its original name again.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "engine/mirror.hpp"
#include "jobs/snap_dir.hpp"
#include "util/result.hpp"

namespace rotator::jobs {

// Records every entry a recycled build adds, as a marker at
// `.trash/ID/added/REL`, before the engine creates it (the engine's
// before_add hook). A marker is a symlink (cheap: no data, no fsync), so it
// cannot be mistaken for the directories that hold markers. Nothing is
// recorded below an added directory (removing the directory removes all of
// it), nor for an entry the engine says replaces a displaced one
// (AddKind::replaces_displaced: a rollback moves whatever occupies a
// displaced entry's place out of the way before putting the entry back).
class AddRecorder {
 public:
  AddRecorder(SnapDir& dir, std::string build) : m_dir(dir), m_added(std::move(build) + "/added") {}

  // Writes the marker for `rel` (of type `type`) unless it is not needed.
  Status record(const std::string& rel, fs::FileType type, engine::AddKind kind);

 private:
  Status ensure(const std::string& name);

  SnapDir& m_dir;
  std::string m_added;
  std::set<std::string> m_added_dirs;
  std::set<std::string> m_made;
};

// Rolls back an uncommitted .rotator-staging: a fresh build goes to the
// trash; a recycled one (.rotator-staging.from present) is restored exactly
// under its original name. Appends one line saying what was done (in a dry
// run: what would be done, changing nothing) to `log`. An error when the
// recycle marker is not rotator's, the original name is taken again, or an
// Fs call fails; the next run then tries again.
Status rollback(SnapDir& dir, std::vector<std::string>& log);

}  // namespace rotator::jobs
