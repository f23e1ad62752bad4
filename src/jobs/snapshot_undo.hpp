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
// number N ("0", "1", ...) in the order of the additions:
//   * for a non-directory linked from S (the clone): `N-ESC`, a hard link to
//     the S inode about to be linked at REL (the added entry's path relative
//     to the generation; ESC is REL escaped as DisplacedList does, '%' as
//     "%25", '/' as "%2F"). Made by linkat from the engine's S directory
//     descriptor and entry name (AddInfo), no path resolved. It allocates
//     no inode and its unlink frees none (a symlink record costs an inode
//     allocation, ~175-200 us on ext4, and its deletion after the commit
//     frees it again);
//   * otherwise `N`, a symlink whose target is REL (a symlink target holds
//     up to k_max_link_target bytes; no fsync), or for a REL longer than
//     that (the walk is descriptor-relative, so paths beyond PATH_MAX occur)
//     a regular file holding REL (write_file, which fsyncs it: rare). `N`
//     is used for a directory, a `.rotator-partial.*` temporary (no S
//     inode), when "N-ESC" would exceed a name's 255 bytes, and when the
//     record's link fails with EMLINK (the inode is at the link limit),
//     EPERM (e.g. protected_hardlinks for a non-root user) or EXDEV. Any
//     other error of the record's link (ENOSPC, EIO, EROFS, EDQUOT, ENOENT,
//     ...) is one the entry's own link or the symlink would meet as well: it
//     aborts the build, before the entry exists. A fallback that fails
//     aborts too.
// The record is written before the engine creates the entry (the engine's
// before_add hook), so under fault_fs.hpp's model an entry that exists
// after a crash or power cut has its record too: a link, like a symlink, is
// one directory change (a name added to added-list), nothing in the build
// is synced before the commit's syncfs, and a power cut undoes changes
// newest first, so an entry whose creation survives implies its earlier
// record survives. (A record that survives without its entry is skipped by
// the rollback, as before.) This is the guarantee the earlier format (a
// marker symlink at `.trash/ID/added/REL`, below marker directories
// mirroring REL's parents) gave; it cost a mkdir per directory on the path
// of an addition; the flat list costs one mkdir per build. rollback()
// reads `N`, `N-ESC` and the earlier format (a build left by an older
// rotator); it stops, moving nothing, at an entry of the list that is no
// record: a name that is not `N` or `N-ESC` of a path inside the
// generation, a directory, or an `N` that is neither symlink nor file.
//
// Link counts: an `N-ESC` record raises the S inode's link count by one
// until the build's trash is deleted (after the commit, possibly after the
// unlock; or after a rollback moved the build to the trash). Nothing
// relies on link counts meanwhile: the mirror engine compares inode
// numbers; its EMLINK fallback reacts to the kernel's EMLINK (an inode one
// below the limit now reaches it with the record, and the entry is copied
// instead of linked: a file with 64999 links on ext4, rare enough that the
// copy does not matter). The other readers of st_nlink outside fs/, and
// what a record's extra link does to them while it exists:
// clone_relink.cpp relinks a clone file only when its link count is 1: a
// record can only make it skip a file (a missed saving, never a wrong
// link), and it examines the files its own rsync run just wrote (new
// inodes, which no earlier snapshot build linked). clone_protect.cpp gives
// a new inode only to a file whose link count is above 1: a record can make
// it copy a clone-only file it would have skipped (an extra copy, history
// unchanged). history/du.cpp counts an inode as exclusive or freed when the
// places it walks hold all its links: an inode with a record is neither
// until the trash is deleted (its figures come out low meanwhile).
// history/restore.cpp uses the count only to find hard-link groups to keep
// together (an extra link costs a lookup).
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

  // Writes the record for `add.rel` unless it is not needed: `N-ESC` when
  // add.s_dir/s_name give an S inode, else (or on fallback) `N`. An Error
  // (naming the record) aborts the build before the entry exists.
  Status record(const engine::AddInfo& add);

  long recorded() const { return m_next; }
  long linked() const { return m_linked; }  // of them, `N-ESC` hard links

 private:
  SnapDir& m_dir;
  std::string m_list;
  size_t m_max_target;
  fs::DirHandle m_handle;  // the list directory, once made
  long m_next = 0;
  long m_linked = 0;
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
