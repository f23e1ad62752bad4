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
#include <span>
#include <string>
#include <vector>

#include "engine/sink.hpp"
#include "jobs/snap_dir.hpp"
#include "util/result.hpp"

namespace rotator::jobs {

// Records every entry a recycled build adds, as a marker at
// `.trash/ID/added/REL`, before the engine creates it. A marker is a symlink
// (cheap: no data, no fsync), so it cannot be mistaken for the directories
// that hold markers. Nothing is recorded below an added directory (removing
// the directory removes all of it).
// Forwards to a TreeSink and remembers the last path it moved into the sink:
// an entry the engine then adds at that path replaces a displaced one, and
// needs no marker (a rollback moves whatever occupies a displaced entry's
// place out of the way before putting the entry back).
class RecordingSink final : public engine::Sink {
 public:
  explicit RecordingSink(engine::TreeSink& inner) : m_inner(inner) {}
  Result<engine::Taken> take(fs::Fs& fs, std::span<const int> t_dirs, const std::string& rel_path,
                             std::string_view from_display, engine::Collision on_collision) override {
    auto r = m_inner.take(fs, t_dirs, rel_path, from_display, on_collision);
    if (r && *r == engine::Taken::moved) {
      m_last = rel_path;
    }
    return r;
  }
  std::string display(const std::string& rel_path) const override { return m_inner.display(rel_path); }
  const std::string& last_taken() const { return m_last; }

 private:
  engine::TreeSink& m_inner;
  std::string m_last;
};

class AddRecorder {
 public:
  AddRecorder(SnapDir& dir, std::string build, const RecordingSink* sink)
      : m_dir(dir), m_added(std::move(build) + "/added"), m_sink(sink) {}

  // Writes the marker for `rel` (of type `type`) unless it is not needed.
  Status record(const std::string& rel, fs::FileType type);

 private:
  Status ensure(const std::string& name);

  SnapDir& m_dir;
  std::string m_added;
  const RecordingSink* m_sink;
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
