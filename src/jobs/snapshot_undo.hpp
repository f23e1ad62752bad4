// The undo log of a recycled snapshot build, and the rollback of an
// uncommitted .rotator-staging (fresh or recycled), as described in
// snapshot_job.hpp ("On-disk protocol", "Recovery").
//
// A recycled build writes, before the engine creates each entry, a record
// in `.trash/BUILD-ID/added-list/` (AddRecorder, fed by the engine's
// `before_add` hook); what the build displaces goes to
// `.trash/BUILD-ID/displaced-list/` (a DisplacedList). rollback() undoes exactly
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

// The record of what a recycled build adds: `.trash/ID/added-list/`, a flat
// directory holding one entry per recorded addition, named by a sequence
// number ("0", "1", ...) in the order of the additions:
//   * a symlink whose target is REL, the added entry's path relative to the
//     generation (a symlink target holds up to k_max_link_target bytes; a
//     symlink costs one inode and no data block for targets up to 60 bytes
//     on ext4, and no fsync);
//   * for a REL longer than that (the walk is descriptor-relative, so paths
//     beyond PATH_MAX occur), a regular file holding REL (write_file, which
//     fsyncs it: rare, so its cost does not matter).
// The record is written before the engine creates the entry (the engine's
// before_add hook), so under fault_fs.hpp's model an entry that exists
// after a crash or power cut has its record too: nothing in the build is
// synced before the commit's syncfs, and a power cut undoes changes newest
// first, so an entry whose creation survives implies its earlier record
// survives. This is the guarantee the earlier format (a marker symlink at
// `.trash/ID/added/REL`, below marker directories mirroring REL's parents)
// gave; it cost a mkdir per directory on the path of an addition, each an
// inode creation, the expensive operation; the flat list costs one mkdir
// per build. rollback() still reads the earlier format (a build left by an
// older rotator).
//
// Nothing is recorded below an added directory (removing the directory
// removes all of it), so no recorded REL lies below another; rollback
// nevertheless undoes the records newest first (children before the
// parents they were created in), which is right in any case. Nothing is
// recorded for an entry the engine says replaces a displaced one
// (AddKind::replaces_displaced: a rollback moves whatever occupies a
// displaced entry's place out of the way before putting the entry back).
inline constexpr const char* k_added_list = "added-list";
inline constexpr size_t k_max_link_target = 4095;  // PATH_MAX - 1: Linux's symlink target limit

class AddRecorder {
 public:
  // `build` is ".trash/ID"; `max_target` is the longest REL recorded as a
  // symlink (tests lower it to exercise the file fallback).
  AddRecorder(SnapDir& dir, std::string build, size_t max_target = k_max_link_target)
      : m_dir(dir), m_list(std::move(build) + "/" + k_added_list), m_max_target(max_target) {}

  // Writes the record for `rel` (of type `type`) unless it is not needed.
  // An Error (naming the record) aborts the build before the entry exists.
  Status record(const std::string& rel, fs::FileType type, engine::AddKind kind);

  long recorded() const { return m_next; }

 private:
  SnapDir& m_dir;
  std::string m_list;
  size_t m_max_target;
  fs::DirHandle m_handle;  // the list directory, once made
  long m_next = 0;
  std::set<std::string> m_added_dirs;
};

// The sink of a recycled build: `.trash/ID/displaced-list/`, a flat
// directory that receives each displaced entry by one rename, under the
// name "N-ESC" (N the sequence number, ESC the entry's path in the
// generation with '%' written "%25" and '/' "%2F"), so the entry and the
// record of where it came from are one atomic step and no directory is
// created per displaced entry's parent (TreeSink mirrors the parents: an
// mkdir, the expensive call, and three attribute writes each, all deleted
// again after the commit). When "N-ESC" would exceed a file name's 255
// bytes, the path is first recorded as `N.path` (a symlink to REL, or a
// file holding it when longer than k_max_link_target) and the entry is
// renamed to `N`: a crash between the two leaves a record without an
// entry, which the rollback skips (the entry is still in the generation).
// rollback() puts entries back newest first; it still reads the earlier
// `displaced[.K]/` trees of an older rotator.
inline constexpr const char* k_displaced_list = "displaced-list";

class DisplacedList final : public engine::Sink {
 public:
  DisplacedList(SnapDir& dir, std::string build)
      : m_dir(dir), m_list(std::move(build) + "/" + k_displaced_list) {}

  Result<engine::Taken> take(fs::Fs& fs, std::span<const int> t_dirs, const std::string& rel_path,
                             std::string_view from_display, engine::Collision on_collision,
                             std::span<const fs::Stat* const> t_stats = {}) override;
  std::string display(const std::string& rel_path) const override;

  long taken() const { return m_next; }

 private:
  SnapDir& m_dir;
  std::string m_list;
  fs::DirHandle m_handle;
  long m_next = 0;
};

// Rolls back an uncommitted .rotator-staging: a fresh build goes to the
// trash; a recycled one (.rotator-staging.from present) is restored exactly
// under its original name. Appends one line saying what was done (in a dry
// run: what would be done, changing nothing) to `log`. An error when the
// recycle marker is not rotator's, the original name is taken again, or an
// Fs call fails; the next run then tries again.
Status rollback(SnapDir& dir, std::vector<std::string>& log);

}  // namespace rotator::jobs
