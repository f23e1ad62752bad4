// The link-mirror engine: make T a hard-link mirror of S, sending every entry
// it displaces to a Sink.
//
// One function serves three jobs:
//   weekly backup      S = clone, T = backup, sink = TreeSink(holding, DATE)
//   fresh snapshot     S = clone, T = an empty new generation, no sink needed
//   recycled snapshot  S = clone, T = the expiring oldest generation,
//                      sink = TreeSink(.trash, ID)
//
// Result, for every path p selected in S (filter::Selector::included):
//   * T/p exists; a non-directory is the same inode as S/p (hard link made by
//     linkat, never followed: files, symlinks, fifos, sockets, devices);
//   * a directory has S/p's mode, owner, group, mtime and xattrs (xattrs are
//     added or overwritten, never removed from T);
//   * every entry of T that is not part of the result (S/p is now another
//     inode or type, S/p is gone, or p is no longer selected) is in the sink
//     at the same relative path, same inode (one rename; a whole directory
//     moves with one rename). Entries that Selector::protects() stay in T, and
//     so do the directories on the way to them.
//   * PruneEmpty::yes (rsync -m): a directory with no selected non-directory
//     below it does not exist in T; an existing T directory that ends up empty
//     that way goes to the sink (one rename) or, when entries below it were
//     just sent there (so its sink path exists), is removed with rmdir (it is
//     empty: no data).
//   * Unchanged entries (same name, same d_ino and type in both listings) are
//     not touched and cost no stat. (A regular file whose inode differs
//     costs one lstat of S/p, which also gives its byte count and an EMLINK
//     copy's metadata, and an lstat of T/p when S/p is at the link limit:
//     see EMLINK below.)
//   * No file data is copied, except when linkat fails with EMLINK: that file
//     is copied to `.rotator-partial.<S inode>` in its T directory, gets S's
//     metadata and xattrs, and is renamed into place (MirrorStats::copied_emlink).
//     If that name is taken, `.<n>` is appended. Nothing in T is ever
//     deleted: a leftover partial copy of a crashed run is not in S and goes
//     to the sink like any other entry (a user's file may have such a name).
//     A later run finds T/p a different inode from S/p; when S/p is still at
//     the link limit (Fs::link_max) and T/p is a regular file with S/p's
//     size, mtime, mode, owner and group, T/p is that copy, unchanged: it
//     stays, counted in MirrorStats::emlink_copies_kept (no archive, no new
//     copy). Otherwise it is displaced to the sink and the link tried again.
//
// Calling sequence:
//   TreeSink sink(holding_fd, "2026-11-22", "holding");
//   MirrorOptions opt;
//   opt.selector = &selector; opt.sink = &sink; opt.prune_empty = PruneEmpty::yes;
//   opt.src_display = "clone"; opt.dst_display = "backup";
//   TRY_ASSIGN(MirrorStats st, mirror(fs, "/srv/clone", "/srv/backup", opt));
//
// Operation order (crash safety: a crash between any two Fs calls loses
// nothing, and a rerun with the same options and sink folder converges):
//   * a displaced entry is renamed into the sink before its replacement is
//     created (link/mkdir): the old inode is always in T or in the sink;
//   * a new directory is created (with S's permission bits and always the
//     owner's rwx; never setuid, setgid or sticky) just before the first
//     entry goes in it (or, without PruneEmpty, after its walk found nothing
//     to put in it), filled, then given S's metadata and xattrs: a crash
//     leaves a directory whose metadata the rerun compares and fixes. Only
//     the writes that are needed are made (fs::MetaParts): what differs from
//     T's stat, or, for a created directory, from what its mkdir gave
//     (fs::Creation, when T's root has no setgid bit and no default ACL, and
//     the walk's first created directory, stat'ed once, agrees);
//   * an existing directory's metadata is written after its contents are
//     done (adding or removing entries changes its mtime);
//   * the EMLINK copy goes through a temporary name that a rerun removes.
//
// Plan lines (opt.plan, called in real runs and dry runs alike, in walk
// order; a real run calls it just after the action succeeded, a dry run
// instead of the action). Paths are relative to T's root ("." for the root):
//   link PATH                  hard-link S/PATH to T/PATH
//   copy PATH                  EMLINK fallback: T/PATH is a copy (real runs
//                              only: a dry run cannot predict EMLINK and says
//                              `link` for such a file)
//   mkdir PATH                 create directory T/PATH
//   meta PATH                  set T/PATH's mode/owner/times/xattrs from S/PATH
//   archive PATH -> SINKPATH   move T/PATH to the sink (Sink::display path; a
//                              dry run does not predict a switch to `folder.1`)
//   remove PATH                rmdir an empty pruned directory (its entries
//                              were sent to the sink)
//
// Error handling: the first failing Fs call aborts the walk; the Error names
// the paths as the user knows them (opt.src_display / opt.dst_display joined
// with the relative path), e.g.
//   failed to link 'clone/a/b.txt' to 'backup/a/b.txt': No space left on device
// EXDEV on link is returned as such (sys_errno == EXDEV); the job reports it
// as a configuration error. Roots on different filesystems are refused
// before anything is read: "failed to mirror 'clone' to 'backup': Invalid
// cross-device link". Because of the operation order nothing is lost
// on any error; rerunning finishes the work.
//
// Selector use: enter_dir/included/leave_dir follow the S walk as
// selector.hpp describes; protects() is asked for T entries that are not
// selected, including entries below a T directory that is being deleted (not
// in S, or no longer selected) before it is moved whole, so that protected
// entries stay. Such a directory is entered with T's descriptor (its
// per-directory rule files are read from T, as rsync's receiver does) and
// the entries below it are asked with InsideDeletedDir::yes (perishable rules
// do not protect there). A selector error (a bad rule file) aborts the walk
// like an Fs error; a job that must not stop half-way validates the rules
// first with a dry run (backup_job).
//
// Limits: one open descriptor pair per directory level (deep trees need
// that many descriptors); memory is the listings of the directories on the
// current path. A T directory without write permission for the user cannot
// be changed (rotator normally runs as root). Owner changes that fail with
// EPERM are ignored by the Fs, so a non-root run rewrites such a directory's
// metadata every time.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "core/types.hpp"
#include "engine/sink.hpp"
#include "filter/selector.hpp"
#include "fs/fs.hpp"
#include "log/progress.hpp"
#include "util/result.hpp"

namespace rotator::engine {

// Whether the walk sums the sizes of what it links (MirrorStats::linked_bytes).
enum class CountBytes { no, yes };
// What an entry the engine is about to create is (see before_add).
enum class AddKind {
  fresh,               // T had nothing at that path
  replaces_displaced,  // T's entry at that path was just sent to the sink
};

inline constexpr std::string_view k_partial_prefix = ".rotator-partial.";

// What MirrorOptions::before_add is told about the entry about to be created.
struct AddInfo {
  // Relative to T's root.
  const std::string& rel;
  fs::FileType type;
  // replaces_displaced when the entry takes the place of T's entry at `rel`
  // that this walk sent to the sink (a changed file, a type change; a
  // directory's kind is that of the entry it replaced, given when the
  // directory is created), fresh otherwise (also for every
  // `.rotator-partial.*` temporary).
  AddKind kind;
  // For a non-directory about to be hard-linked from S: S's open directory
  // and the entry's name in it (the inode the link will give T/rel; valid
  // for the call only). -1 and empty for a directory and for a
  // `.rotator-partial.*` temporary (a copy: no inode of S).
  int s_dir = -1;
  std::string_view s_name;
};

struct MirrorOptions {
  filter::Selector* selector = nullptr;  // null: everything selected, nothing protected
  PruneEmpty prune_empty = PruneEmpty::no;
  // Where displaced entries go. REQUIRED whenever T may hold entries that are
  // not part of the result; when null and one is found, mirror() returns an
  // Error ("... would be displaced but no sink is configured") before moving it.
  Sink* sink = nullptr;
  DryRun dry_run = DryRun::no;
  std::function<void(std::string_view line)> plan;  // may be empty
  // How messages name the roots; default: the root paths as given.
  std::string src_display;
  std::string dst_display;
  // Called (real runs only) just before the engine creates an entry in T
  // where T has none: before the mkdir of a directory, the link of a
  // non-directory, and before the copy_data of an EMLINK fallback (then with
  // the temporary `.rotator-partial.*` path as well as, earlier, the final
  // path). See AddInfo for what it is told. An Error aborts the walk before
  // the entry is created. May be empty. (The snapshot job records fresh
  // additions here so that an interrupted recycled build can be undone
  // exactly; a replacing one is found by the displaced entry.)
  std::function<Status(const AddInfo& add)> before_add;
  // TargetRoot::absent (DryRun::yes only): `dst_root` does not exist yet; plan
  // as if it were an empty directory (every entry is `mkdir`/`link`), without
  // opening it. With DryRun::no this is an error.
  enum class TargetRoot { existing, absent } target_root = TargetRoot::existing;
  // May be null. The walk calls progress->count_done() for each non-directory
  // linked, found unchanged or copied, and count_archived() for each entry
  // sent to the sink (std::atomic increments only: safe from mirror_fresh's
  // worker threads, no system call, so FaultFs runs stay deterministic).
  log::Progress* progress = nullptr;
  // CountBytes::yes: one lstat of S's entry per regular file or symlink
  // linked (in a dry run: that would be linked), its st_size added to
  // MirrorStats::linked_bytes and progress->count_linked_bytes(); a file
  // that replaces another inode, and an EMLINK copy, add it from the lstat
  // they need anyway (never a second one). Unchanged entries still
  // cost no stat, so this is O(changes) for a backup or a recycled build but
  // one lstat per file for a fresh build: jobs ask for it there only when a
  // progress line is shown. A failing lstat aborts the walk like any Fs error.
  CountBytes count_bytes = CountBytes::no;
};

struct MirrorStats {
  long linked = 0;     // non-directories hard-linked into T
  long unchanged = 0;  // non-directories already the same inode
  long dirs_created = 0;
  long dirs_meta_set = 0;       // directories whose metadata was written
  long archived = 0;            // entries sent to the sink (one rename each)
  long copied_emlink = 0;       // files copied because link failed with EMLINK
  long emlink_copies_kept = 0;  // earlier EMLINK copies found unchanged (S still at the limit)
  long pruned_removed = 0;      // empty pruned directories removed with rmdir
  long protected_kept = 0;      // T entries kept because the selector protects them
  // CountBytes::yes only (else 0): st_size sum of the regular files and
  // symlinks linked or copied into T by this walk (each path once).
  long long linked_bytes = 0;
};

// Makes the directory `dst_root` a hard-link mirror of the directory
// `src_root` (both opened relative to the current directory; same
// filesystem). See the file comment for the guarantees.
//
// REQUIRES: both roots exist and are directories; neither is inside the
// other; the sink is on the same filesystem and outside T.
// Returns the counts on success; an Error (see Error handling) otherwise.
// With DryRun::yes no mutating Fs call is made.
Result<MirrorStats> mirror(fs::Fs& fs, const std::string& src_root, const std::string& dst_root,
                           const MirrorOptions& opt);

// A fresh build (T empty) with the same result and the same MirrorStats as
// mirror(): the top-level directories of S are created, their subtrees
// mirrored by k_mirror_threads threads at once (linkat in different
// directories proceeds in parallel in the kernel; a subtree's directories are
// created ones, never listed in T), then the root level's non-directories
// are linked and the root's metadata set. No directory is listed twice (the
// S root once more, to find the subtrees). Plan lines: only the root level,
// in walk order (a subtree directory is `mkdir D` then `meta D`; the lines
// below it are not reported). Falls back to mirror() unless
// fs.concurrent_safe().
// REQUIRES: `dst_root` exists and is empty; no selector, no sink, no hook,
// no PruneEmpty, not a dry run (those need the single ordered walk).
// Crash safety is the caller's: a fresh build is staged and committed by
// rename, and an uncommitted one is discarded as a whole.
inline constexpr int k_mirror_threads = 4;
Result<MirrorStats> mirror_fresh(fs::Fs& fs, const std::string& src_root,
                                 const std::string& dst_root, const MirrorOptions& opt);

}  // namespace rotator::engine
