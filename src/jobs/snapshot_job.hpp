// type = snapshot: hard-linked generations of `from` inside `path`.
//
// naming = rotate: rsnapshot names LEVEL.N. `rotator LOWEST` builds a new
// generation, then shifts LOWEST.i -> LOWEST.(i+1) (rotation::plan_lowest_commit)
// and commits it as LOWEST.0. `rotator HIGHER` promotes the next-lower
// level's oldest generation to HIGHER.0 (rotation::plan_higher); with nothing
// to promote it changes nothing and fails (exit 1, rsnapshot 1.5).
// naming = dated: a run of a run_on level creates `path/<name_format of now>`
// (".K" suffix when taken), swaps the `latest` symlink, and expires what
// retention::select_dated does not keep.
//
// On-disk protocol (all names inside `path`; none of them parses as a
// generation name, so retention never sees them):
//   .rotator-staging       the generation being built; not committed
//   .rotator-staging.from  written (tmp + rename) before a recycled build
//                          starts: "ORIGINAL-NAME\nBUILD-ID\n"
//   .rotator-committed     (rotate) the committed new generation, waiting for
//                          the shift; renamed to LOWEST.0 as the last step
//   .rotator-intent        (rotate) "promote LEVEL\n", written (tmp + rename)
//                          before the first op of a promotion, removed after
//   .trash/BUILD-ID/displaced-list/N-ESC  what a recycled build displaced,
//                          one rename each, its path in the name (N.path
//                          records a path too long for a name;
//                          DisplacedList in snapshot_undo.hpp)
//   .trash/BUILD-ID/displaced[.K]/REL     the same as an older rotator
//                          wrote it (a TreeSink); still rolled back
//   .trash/BUILD-ID/added-list/N-ESC, N  one record per entry the
//                          recycled build added where the generation had
//                          nothing, written before the entry is created:
//                          for a file or symlink linked from the clone a
//                          hard link to its inode named by a sequence number
//                          and the entry's escaped path (N-ESC); otherwise
//                          a symlink N whose target is the path (a file
//                          holding it when longer than a symlink target may
//                          be; snapshot_undo.hpp); nothing is recorded below an
//                          added directory, nor for an entry that replaces
//                          a displaced one (the rollback finds that one's
//                          place occupied)
//   .trash/BUILD-ID/added/REL       the same record as an older rotator
//                          wrote it (a marker symlink at REL below
//                          directories mirroring REL's parents); still
//                          rolled back
//   .trash/BUILD-ID/undo/N          entries a rollback removed from staging
//   .trash/NAME[.K]        an expired generation (one rename)
//   .trash/.rotator-deleting/NAME   trash queued for deletion (step 6)
//   .trash/.rotator-deleting.lock   flock of whoever deletes the queue
//   .rotator-pending       (dated) "NAME\n", written (tmp + rename) just before
//                          the commit rename, removed after the post-commit
//                          steps (latest, expiry): recovery finishes them
//   latest                 (dated) symlink to the newest generation
//
// Calling sequence of a run (run_snapshot):
//   1. recovery (recover_snapshot), before anything else;
//   2. plan (plan_snapshot_run, snapshot_plan.hpp: pure, over the listing):
//      the new name, what is recycled, the ops after the commit; a dry run
//      prints this plan and the engine's dry-run walk, nothing else;
//   3. build (the executor, execute_build): recycle a generation that expires anyway in this run
//   (write
//      .rotator-staging.from, rename it to .rotator-staging, mirror the
//      source into it with a DisplacedList into its trash folder), else mkdir
//      .rotator-staging and mirror into it; set its mtime to `now`;
//   4. commit: sync_fs (the whole build, and a recycled build's trash
//      folder, durable before it is named), then one rename: dated
//      .rotator-staging -> NAME; rotate .rotator-staging ->
//      .rotator-committed, fsync_dir, then the shift (expiry = rename into
//      .trash) and .rotator-committed -> LOWEST.0; fsync_dir of .trash and
//      of the directory;
//   5. dated: swap `latest`, expire (into .trash), fsync_dir of both, then
//      .rotator-pending is removed and the directory fsynced (a promotion
//      removes .rotator-intent the same way);
//   6. the trash: every entry of .trash is queued (renamed into
//      .trash/.rotator-deleting), then deleted (fs::remove_tree) by
//      SnapDir::delete_queued, not synced: a power cut may bring trash
//      back, which the next run deletes. With ctx.trash_deletion ==
//      after_unlock (the command line's runs) the deletion comes after the
//      run has released its lock (rsnapshot's use_lazy_deletes, made safe):
//      the process still deletes it before it exits, but the next run need
//      not wait for it; the queue holds nothing a run needs (a run's own
//      build folder stays outside it until that run has committed or rolled
//      back), concurrent deleters take turns on the flock
//      .trash/.rotator-deleting.lock (a run waits for the one deleting, so
//      its own trash is gone when it exits), and what a killed deletion
//      left is deleted by the next one.
//
// Durability (fault_fs.hpp states the model the power-cut tests enforce):
// a power cut at any point leaves either the state before the run (what
// was never synced is lost, and it was all uncommitted) or a committed
// generation that is complete; what a successful run reported survives.
//
// Recovery (recover_snapshot): a leftover .rotator-staging is rolled back (a
// fresh build goes to trash; a recycled one is restored exactly: the entries
// named by the undo records are moved to undo, newest first, each displaced
// entry is moved back, after moving to undo whatever the build put in its
// place, and the tree
// gets its original name again; directory attributes the build rewrote are
// not restored); .rotator-committed is finished (shift, then
// LOWEST.0); a .rotator-pending dated commit gets its `latest` and expiry;
// a .rotator-intent promotion is re-planned with plan_higher and
// finished; (dated) `latest` is pointed at the newest generation; then the
// trash is deleted. Only after a complete recovery does a run do its own work.
//
// Error handling: every failure returns a JobResult with outcome error and a
// message that names what failed; nothing is expired, shifted or promoted
// unless the new generation was committed (or, for a higher level, the
// promotion is valid). A failure before the commit leaves a .rotator-staging
// that the next run (or `rotator prune`) rolls back; one after it leaves
// work that the next recovery finishes.
#pragma once

#include <string>
#include <vector>

#include "jobs/job.hpp"
#include "util/result.hpp"

namespace rotator::jobs {

inline constexpr const char* k_snap_staging = ".rotator-staging";
inline constexpr const char* k_snap_staging_from = ".rotator-staging.from";
inline constexpr const char* k_snap_committed = ".rotator-committed";
inline constexpr const char* k_snap_intent = ".rotator-intent";
inline constexpr const char* k_snap_pending = ".rotator-pending";
inline constexpr const char* k_snap_trash = ".trash";
// Marker file inside .trash: rotator made it and may empty it.
inline constexpr const char* k_trash_marker = ".rotator-trash";
// Inside .trash: what is only waiting to be deleted (queued there under the
// run's lock, deleted after it), and the lock of whoever deletes it.
inline constexpr const char* k_trash_deleting = ".rotator-deleting";
inline constexpr const char* k_trash_deleting_lock = ".rotator-deleting.lock";
inline constexpr const char* k_snap_latest = "latest";
inline constexpr const char* k_snap_latest_tmp = ".rotator-latest.tmp";

// One run of `job` for ctx.level (see the file comment). Outcome error with
// the reason on failure (including "nothing to promote: ..."), warning when
// files had to be copied (EMLINK), ok otherwise.
JobResult run_snapshot(RunContext& ctx, const config::Job& job);

// Recovery alone. Returns one line per action taken ("rolled back ...",
// "finished ...", "deleted trash ..."), empty when there was nothing to do;
// an Error when recovery could not complete (then nothing else may run).
// With ctx.dry_run == yes nothing is changed and the lines say what would be.
Result<std::vector<std::string>> recover_snapshot(RunContext& ctx, const config::Job& job);

// The trash queued by a run with ctx.trash_deletion == after_unlock, deleted
// without the run's lock (SnapDir::delete_queued: waits for another
// deleter). Sets `done` to what it did ("trash deleted after the unlock (3
// files, 2 dirs)"), leaves it empty when nothing was queued. An Error when
// deleting failed; the next run resumes it.
Status delete_queued_trash(RunContext& ctx, const config::Job& job, std::string& done);

enum class Explain { no, yes };

// `rotator prune`: recovery, then every generation's keep/expire decision
// (printed through ctx.plan when `explain` is yes or in a dry run:
// "keep   daily.0             daily #1"), then (not in a dry run) expiry into
// .trash and deletion of the trash. Creates nothing. For rotate naming the
// generations LEVEL.i with i >= the level's count expire.
JobResult prune_snapshot(RunContext& ctx, const config::Job& job, Explain explain);

}  // namespace rotator::jobs
