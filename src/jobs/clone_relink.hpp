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
// `>f...` name the files it wrote (new inodes, O(changes)); then
// relink_files(fs, clone, those paths, previous generation roots, ...).
//
// What is linked: a clone file that is regular, has link count 1 (a new
// inode: every inode a snapshot or backup shares has more) and size > 0, and
// an inode of a previous generation on the same filesystem with the same
// size, mtime (to the nanosecond), mode, owner, group and xattrs, whose
// content hashes equal (XXH3-64) AND compare equal byte by byte: a hash
// collision can never merge two different files. Candidates come from one
// walk of each previous root, keeping only files whose (size, mtime) some new
// file has, so memory is O(new files + candidates).
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

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "fs/fs.hpp"
#include "jobs/clone_protect.hpp"
#include "util/result.hpp"

namespace rotator::jobs {

inline constexpr const char* k_relink_resume_key = "relink_tmp";

struct RelinkStats {
  long examined = 0;    // new-inode files looked at (regular, link count 1, size > 0)
  long linked = 0;      // replaced by a link to an older inode
  long differ = 0;      // candidates with equal size and mtime rejected (attributes or content)
  long long bytes = 0;  // apparent size of the linked files (the data not stored twice)
};

// Relinks the files `new_files` (relative to `clone`) as the file comment
// says, against the trees `previous` (absolute paths; a missing one is
// skipped). `plan` (may be empty) gets "relink PATH to PREVIOUS/REL" per
// file after it was done. Returns the counts, or the first Error.
Result<RelinkStats> relink_files(fs::Fs& fs, const std::string& clone,
                                 const std::vector<std::string>& new_files,
                                 const std::vector<std::string>& previous,
                                 const RecordTemps& record,
                                 const std::function<void(std::string_view)>& plan);

// XXH3-64 of the content of regular file `name` under `dir_fd`, read in
// chunks through `fs` (open_read, read_fd).
Result<std::uint64_t> hash_file(fs::Fs& fs, int dir_fd, const std::string& name);

// True when the regular files a and b have the same bytes (read through `fs`).
Result<bool> same_content(fs::Fs& fs, int a_dir, const std::string& a_name, int b_dir,
                          const std::string& b_name);

}  // namespace rotator::jobs
