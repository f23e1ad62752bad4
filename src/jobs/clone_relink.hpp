// relink = yes: renames and copies on the source cost no space in history.
//
// rsync gives every file it transfers a new inode in the clone (--no-inplace).
// When the source renamed or copied a file, that new inode holds exactly the
// data an inode of the previous generation (the newest snapshot of each
// snapshot job fed by the clone, and each backup tree fed by it) already
// holds under another name: the clone, the next snapshot and the next weekly
// backup would each share the new copy instead of the old one. This step,
// run after the rsync run, replaces such a file in the clone by a hard link
// to the older inode.
//
// Calling sequence (jobs/clone_job.cpp): the real rsync run's itemized lines
// `>f...` name the files it wrote (new inodes) and its `*deleting NAME` lines
// the names it removed; both are streamed into PathSpools (unlinked scratch
// files, util/scratch.hpp), never held in RAM; then relink_spooled(fs, clone,
// written, deleted, previous generation roots, ...).
//
// What is linked: a clone file that is regular, has link count 1 (a new
// inode: every inode a snapshot or backup shares has more) and size > 0, and
// an inode of a previous generation on the same filesystem with the same
// size, mtime (to the nanosecond), mode, owner, group and xattrs, whose
// content hashes equal (XXH3-64) AND compare equal byte by byte: a hash
// collision can never merge two different files.
//
// Cost and memory: the new files are taken in chunks of at most `chunk`
// (k_relink_chunk) compact records (path + size, mtime, mode, owner, dev,
// inode); memory is O(chunk), whatever rsync wrote. Candidates come first
// from the deleted paths: a rename on the source is `*deleting OLD` plus
// `>f+++++++++ NEW`, and the previous generation still holds OLD's inode at
// OLD, so one lstat per deleted path and previous root (once per run, into a
// scratch file of compact records read again per chunk, no Fs calls) finds
// it: a pure rename costs O(changes) and never walks history. Only when new
// files of a chunk are still unmatched after that (a copy of an existing
// file, `cp -a`, or a move rsync does not report as a deletion) is each
// previous root walked (an lstat per regular file): O(size of history) per
// such chunk, so a run with u unmatched-chunk(s) walks history u times
// (at most ceil(new files / chunk)). Candidate inodes already tried in a
// chunk are remembered (at most 4 * chunk, then forgotten: only repeated
// work, never a wrong link). Directories are reached through a DirCache per
// root (clone_protect.hpp; k_relink_history_levels levels open over all
// roots): the candidates and the new files come in rsync's order, so a file
// costs about one directory open, not one per path component.
//
// Crash safety (a crash or power cut between any two Fs calls): the older
// inode is linked to `.rotator-partial.<inode>` beside the clone file
// (checked absent just before) and renamed over it, so the name is either
// the new inode or the older one with equal content and attributes. The
// temporary names of a batch are recorded durably through `record` (the
// job's resume state, key k_relink_resume_key) before any of them exists;
// the next run removes exactly those that remain (remove_protect_temps)
// before rsync runs. After a batch: sync_fs, then `record({})`. History is
// only read, never changed (its inodes only gain a link).
//
// Error handling: the first failing Fs call stops with an Error naming the
// path; EMLINK (the older inode has the filesystem's maximum of links) skips
// that candidate.
#pragma once

#include <cstdio>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "fs/fs.hpp"
#include "jobs/clone_protect.hpp"
#include "util/result.hpp"
#include "util/scratch.hpp"

namespace rotator::jobs {

inline constexpr const char* k_relink_resume_key = "relink_tmp";
// New files per chunk (the bound of the step's memory).
inline constexpr size_t k_relink_chunk = 16384;
// Directory levels the previous roots' DirCaches keep open, all roots
// together (each root gets an equal share, at most DirCache::k_max_depth,
// possibly 0): the step's descriptors stay bounded however many backup
// trees and snapshot jobs the lineage has.
inline constexpr size_t k_relink_history_levels = 128;

struct RelinkStats {
  long examined = 0;    // new-inode files looked at (regular, link count 1, size > 0)
  long linked = 0;      // replaced by a link to an older inode
  long differ = 0;      // candidates with equal size and mtime rejected (attributes or content)
  long long bytes = 0;  // apparent size of the linked files (the data not stored twice)
};

// Relinks the files `written` (relative to `clone`) as the file comment
// says, against the trees `previous` (absolute paths; a missing one is
// skipped), looking first at the names `deleted` (relative, as rsync
// printed them; directories, ending in '/', are skipped) in each of them.
// `chunk` (>= 1) new files at a time. `plan` (may be empty) gets
// "relink PATH to PREVIOUS/REL" per file after it was done. Returns the
// counts, or the first Error.
Result<RelinkStats> relink_spooled(fs::Fs& fs, const std::string& clone, PathSpool& written,
                                   PathSpool& deleted, const std::vector<std::string>& previous,
                                   const RecordTemps& record,
                                   const std::function<void(std::string_view)>& plan,
                                   size_t chunk = k_relink_chunk);

// relink_spooled() with the names given as vectors (tests, small lists).
Result<RelinkStats> relink_files(fs::Fs& fs, const std::string& clone,
                                 const std::vector<std::string>& new_files,
                                 const std::vector<std::string>& previous,
                                 const RecordTemps& record,
                                 const std::function<void(std::string_view)>& plan,
                                 const std::vector<std::string>& deleted = {},
                                 size_t chunk = k_relink_chunk);

// XXH3-64 of the content of regular file `name` under `dir_fd`, read in
// chunks through `fs` (open_read, read_fd).
Result<std::uint64_t> hash_file(fs::Fs& fs, int dir_fd, const std::string& name);

// True when the regular files a and b have the same bytes (read through `fs`).
Result<bool> same_content(fs::Fs& fs, int a_dir, const std::string& a_name, int b_dir,
                          const std::string& b_name);

}  // namespace rotator::jobs
