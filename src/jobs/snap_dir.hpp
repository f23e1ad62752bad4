// SnapDir: the snapshot directory of one job (`job.path`) and the Fs calls
// rotator makes inside it, with error messages that name entries as the user
// knows them ("snapshots/daily.1", relative to the root when below it).
//
// Every name passed in is relative to `job.path` ("" is the directory
// itself). Nothing here decides what to do; the snapshot run, recovery and
// prune (snapshot_job.cpp, snapshot_recover.cpp, snapshot_prune.cpp) do.
//
// Trash ownership: `.trash` is used and emptied only when it holds rotator's
// marker file (k_trash_marker); an empty `.trash` is adopted (that is also
// what a crash between its mkdir and the marker leaves); a non-empty one
// without the marker may hold a user's data and is refused with an error.
#pragma once

#include <string>
#include <vector>

#include "config/config.hpp"
#include "fs/fs.hpp"
#include "fs/tree.hpp"
#include "history/catalogue.hpp"
#include "jobs/job.hpp"
#include "rotation/execute.hpp"
#include "util/result.hpp"

namespace rotator::jobs {

// The rotation::OpTarget of the snapshot ops: rename inside the directory,
// expire = move into .trash.
class SnapDir final : public rotation::OpTarget {
 public:
  SnapDir(RunContext& ctx, const config::Job& job);

  fs::Fs& fs() { return m_ctx.fs; }
  bool dry() const { return m_ctx.dry_run == DryRun::yes; }
  // The path of `name` for Fs calls, and as shown to the user.
  std::string p(const std::string& name) const { return m_job.path + "/" + name; }
  std::string d(const std::string& name) const { return m_disp + "/" + name; }
  const std::string& disp() const { return m_disp; }

  // false only when `name` does not exist (ENOENT); an Error naming it when
  // it cannot be looked at (EACCES, EIO, ...): recovery never guesses.
  Result<bool> exists(const std::string& name);

  // The sorted names in the directory (or in its subdirectory `sub`). The
  // directory itself is listed through the catalogue (history::
  // list_generations), the one definition of what generations exist.
  Result<std::vector<std::string>> names(const std::string& sub = {});
  // The directory's entries and its committed generations with their times.
  // Error (naming the directory as the user knows it) when it is missing.
  Result<history::GenerationListing> generations();

  Status rename(const std::string& from, const std::string& to,
                fs::RenameMode mode = fs::RenameMode::no_replace);
  enum class IfExists { fail, ok };  // ok: an existing `name` is success
  Status mkdir(const std::string& name, IfExists if_exists);
  Status unlink_if_present(const std::string& name);
  // fsync of .trash (when present), then of the snapshot directory itself:
  // their entries (renames, expiries into .trash, markers) are durable, not
  // the content of the trees they name.
  Status sync();
  // Removes protocol marker `name` (.rotator-intent, .rotator-pending) if
  // present, then fsyncs the snapshot directory.
  Status remove_marker(const std::string& name);
  // syncfs of the filesystem: everything made so far, every tree included,
  // is durable (one call instead of an fsync per directory of a build).
  Status sync_all();
  // Writes `name` atomically: `name`.tmp, then rename over `name`.
  Status write_atomic(const std::string& name, const std::string& content);

  // Creates .trash if needed and makes sure rotator owns it (see above).
  Status ensure_trash();
  enum class Adopt { no, yes };
  // ok when .trash holds the marker or is empty (then, with Adopt::yes, the
  // marker is written); an error for a foreign non-empty .trash.
  Status check_trash_owned(Adopt adopt);
  // Moves generation (or any entry) `name` into .trash under a free name;
  // returns that name (".trash/daily.6").
  Result<std::string> move_to_trash(const std::string& name);
  // Deleting the trash, in two steps (the lazy deletion: the run's lock is
  // not held while the trash is deleted; snapshot_job.hpp, step 6):
  //
  // queue_trash(), under the run's lock: moves every entry of .trash but
  // rotator's own files (the ownership marker, .rotator-deleting and its
  // lock) into .trash/.rotator-deleting/ (one rename each). Everything
  // there is garbage that nothing reads again, which is what makes deleting
  // it without the run's lock safe: a run that starts meanwhile keeps its
  // own build folder in .trash, outside the queue. REQUIRES: no uncommitted
  // build (recovery or the run's own commit or rollback came first). Returns
  // the number of entries queued; refuses a .trash it does not own.
  Result<long> queue_trash();
  // delete_queued(), needs no lock: takes the flock
  // .trash/.rotator-deleting.lock, waiting while another process (or
  // thread) holds it, then empties .trash/.rotator-deleting, listing it
  // again until it stays empty. So deleters take turns, never delete the
  // same tree at once, and when it returns everything queued before the
  // call is gone (deleted by this call or by the one it waited for). A
  // deletion that was killed is resumed by the next call. Returns the
  // number of queued entries this call removed.
  Result<long> delete_queued(fs::RemoveStats* stats);
  // queue_trash() then delete_queued(): the trash deleted now.
  Result<long> delete_trash(fs::RemoveStats* stats);

  // rotation::OpTarget
  Status rename_generation(const std::string& from, const std::string& to) override {
    return rename(from, to);
  }
  Status expire_generation(const std::string& name) override;

  // A dry-run plan line.
  void plan(const std::string& line) { m_ctx.plan(line); }

 private:
  // fsync of directory `name` ("" = the snapshot directory).
  Status fsync_entry(const std::string& name);

  RunContext& m_ctx;
  const config::Job& m_job;
  std::string m_disp;
};

// Step 6 of a run (snapshot_job.hpp): the trash deleted now, or (with
// ctx.trash_deletion == after_unlock) only queued. `clause` is the summary's
// part (", trash deleted (3 files, 2 dirs)", ", trash queued (2 entries,
// deleted after the unlock)"; empty when there was none); `status` the
// failure, if any (the next run resumes).
struct TrashStep {
  Status status = ok();
  std::string clause;
};
TrashStep finish_trash(RunContext& ctx, SnapDir& dir);

}  // namespace rotator::jobs
