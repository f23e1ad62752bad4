// protect_metadata = yes: the history of metadata survives a clone run.
//
// rsync changes the mode, owner, group, mtime, ACLs and xattrs of a file
// whose content it does not transfer in place (`.f...p.....` in its
// itemized output), and the clone's inode is the same inode as the weekly
// backup's and every snapshot's: without this step the old metadata
// vanishes from all of history. A transferred file (`>f`) is written to a
// temporary name and renamed over (the clone always runs with --no-inplace),
// so it gets a new inode anyway and history keeps the old one untouched.
//
// Calling sequence (jobs/clone_job.cpp):
//   1. remove_protect_temps(fs, clone, decode_temps(resume[k_protect_resume_key]))
//      when an interrupted run left a record; then clear the record;
//   2. the dry run (`-n --out-format='%i %n'`, which is --itemize-changes):
//      parse_itemized() each line, spool_protect_item() those metadata_only()
//      says into a PathSpool (util/scratch.hpp: a scratch file, not RAM);
//   3. protect_spooled(fs, clone, spool, ...) before the real rsync run: each
//      such file whose inode is shared (link count > 1) gets a new inode in
//      the clone with the same data, metadata and xattrs;
//   4. the real rsync run then changes the new inode only.
//
// Memory: O(part), whatever rsync lists. Pass 1 lstats each spooled name in
// the clone and writes a compact record (inode, type, path) of each shared
// one to a scratch file; names missing, of another type, or of link count 1
// are counted and dropped there (nothing in the clone or history shares
// such an inode, and pass 1 runs before the step changes anything). When
// more than `part` (k_protect_part) records remain, they are split by a
// hash of the inode into K = 2 * ceil(records / part) part files (written
// k_protect_open_parts at a time, one more read of the records per such
// group), so all names of one inode are in one part; each part is then
// re-inoded in batches as below, in spool order within the part, with the
// map of inodes re-inoded (which keeps a hard-link group one inode) cleared
// between parts. A part holds about part / 2 records; it may exceed `part`
// when the hash is uneven or one inode has very many names; that costs
// memory in proportion, never correctness. The price of splitting: a
// directory's files fall into different parts, so its path is reopened
// more often (one open per component, no data read).
//
// Crash safety (a crash or power cut between any two Fs calls): a file is
// copied (Fs::copy_data: FICLONE where the filesystem can, data fsynced) to
// `.rotator-partial.<inode>` beside it (`.N` appended when that name is
// taken), given the old metadata and xattrs, and renamed over the name, so
// the name is either the old inode or the complete copy. The temporary
// names of a batch (at most k_protect_batch files) are recorded durably
// through `record` (the job's resume state) BEFORE any of them is created,
// and each was checked absent just before: after a crash the rerun removes
// exactly those names that still exist (nothing else creates them: rsync
// has not run yet), never a user's file. After a batch: sync_fs (the renames
// are durable), then `record({})`; the record is cleared durably before
// rsync runs, so a later power cut cannot bring back a list that names a
// file rsync created.
// A crash between the names of one hard-link group (one name given its new
// inode, the next not yet) leaves the clone with two inodes for the group:
// the rerun sees the first name at link count 1 (unshared, skipped) and
// copies the others alone. No data is lost (history keeps the old inode),
// and the rsync run that follows joins them again: with -H it makes every
// name of a source group a link to one inode (itemized `hf`; checked with
// rsync 3.5.0 on a destination holding the pair as two equal files).
//
// Error handling: the first failing Fs call stops with an Error naming the
// clone path; nothing of history is ever touched (old inodes are only read),
// and the record of the current batch stays for the rerun.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fs/fs.hpp"
#include "jobs/job.hpp"
#include "util/result.hpp"
#include "util/scratch.hpp"

namespace rotator::jobs {

// The resume key (in the clone job's state) of the recorded temporaries.
inline constexpr const char* k_protect_resume_key = "protect_tmp";
// Files per recorded batch (and at most k_protect_batch_bytes of names): a
// bounded state file, one state save and one sync_fs per batch.
inline constexpr size_t k_protect_batch = 1000;
inline constexpr size_t k_protect_batch_bytes = 256 * 1024;
// Shared names per part (the bound of the step's memory; see Memory).
inline constexpr size_t k_protect_part = 16384;
// Part files open at a time while splitting (file descriptors and stdio
// buffers: 64 x 4 KB).
inline constexpr size_t k_protect_open_parts = 64;

// One line of rsync's itemized output (`%i %n`, rsync(1) --itemize-changes:
// YXcstpoguax, a space, the name).
struct Itemized {
  char update = 0;    // Y: '<' sent, '>' received, 'c' local change, 'h' hard link, '.' not updated
  char type = 0;      // X: 'f' file, 'd' directory, 'L' symlink, 'D' device, 'S' special
  std::string attrs;  // the nine columns c s t p o g u a x ('.', ' ', '+', '?' or the letter)
  std::string path;   // the name, rsync's \#ooo escapes undone (a directory ends with '/')
};

// rsync's output escaping undone: `\#ooo` (three octal digits) is that byte;
// every other backslash is itself (rsync escapes a literal "\#ddd" as
// "\#134#ddd", so this is exact).
std::string unescape_rsync_name(std::string_view s);

// The line parsed, or nullopt when it is not an itemized change line
// (`*deleting` messages, --stats lines, "created directory", ...).
std::optional<Itemized> parse_itemized(std::string_view line);

// True for a regular file or symlink that rsync will not transfer but whose
// mtime (t/T), permissions (p), owner (o), group (g), ACL (a) or xattrs (x)
// it will change in place. Access and creation times (u/n/b) are not
// history: they do not count.
bool metadata_only(const Itemized& item);

struct ProtectStats {
  long files = 0;       // regular files given a new inode (a copy each)
  long hard_links = 0;  // further names of an inode re-inoded in this run (linked to the copy)
  long symlinks = 0;    // symlinks re-created
  long unshared = 0;    // skipped: link count 1, nothing in history shares the inode
  long gone = 0;        // skipped: missing, or not of the itemized type any more
  long long bytes = 0;  // data copied
};

// Records (durably) the temporary names about to be created, relative to
// the clone; an empty list clears the record.
using RecordTemps = std::function<Status(const std::vector<std::string>& temps)>;

// Appends `item` (a metadata_only() one: its type and path, all the step
// uses) to `spool`.
Status spool_protect_item(PathSpool& spool, const Itemized& item);

// Gives every spooled item (spool_protect_item()) whose inode is shared a
// new inode in `clone` as the file comment says, `part` (>= 1) shared names
// at a time (see Memory); hard-linked names of one inode keep sharing the
// new one. With DryRun::yes nothing is changed and only `plan` is called.
// `plan` (may be empty) gets "protect PATH" per file re-inoded (in a real
// run after it was done), in the spool's order when there is one part.
// Reads `items` from its start (rewinds it). Returns the counts, or the
// first Error (see Error handling; a scratch file's error too).
Result<ProtectStats> protect_spooled(fs::Fs& fs, const std::string& clone, PathSpool& items,
                                     DryRun dry, const RecordTemps& record,
                                     const std::function<void(std::string_view)>& plan,
                                     size_t part = k_protect_part);

// protect_spooled() with the items given as a vector (tests, small lists).
Result<ProtectStats> protect_files(fs::Fs& fs, const std::string& clone,
                                   const std::vector<Itemized>& items, DryRun dry,
                                   const RecordTemps& record,
                                   const std::function<void(std::string_view)>& plan,
                                   size_t part = k_protect_part);

// Removes those of `temps` (relative to `clone`, as recorded) that exist and
// are regular files or symlinks, then makes the removal durable (sync_fs).
// Returns how many were removed; an Error other than ENOENT/ENOTDIR on the
// way stops it.
// `what` names the step for the refusal's message ("protect_metadata").
Result<long> remove_protect_temps(fs::Fs& fs, const std::string& clone,
                                  const std::vector<std::string>& temps,
                                  std::string_view what = "protect_metadata");

// Opens directory `rel` (relative, "" = `root_fd` itself) below `root_fd`
// one component at a time, never following a symlink.
Result<fs::DirHandle> open_rel_dir(fs::Fs& fs, int root_fd, const std::string& rel);

// The directory of the items being worked on, below `root_fd`: the open
// directories of its path are kept, so a move to another directory opens
// only the components below the longest prefix the two share (none for the
// same directory, one for a sibling; rsync lists a directory's files
// together, and the relink step's candidates come in that order too). Each
// component is opened relative to its parent, never following a symlink, as
// open_rel_dir does. Descriptors, per cache: the first `max_depth`
// components of the path are kept open, and a directory deeper than that is
// reached from the deepest kept one (two descriptors at a time) and kept as
// well: at most max_depth + 1 between calls, max_depth + 2 during a get().
// max_depth 0 keeps only the directory itself (one descriptor), each move
// opening its whole path. A caller holding many caches at once divides a
// budget between them (clone_relink.cpp: one per previous root).
class DirCache {
 public:
  static constexpr size_t k_max_depth = 32;

  DirCache(fs::Fs& fs, int root_fd, size_t max_depth = k_max_depth)
      : m_fs(fs), m_root(root_fd), m_max_depth(max_depth) {}
  // The open directory `rel` ("" = `root_fd` itself), valid until the next
  // get() or lstat(); ENOENT/ENOTDIR as such.
  Result<int> get(const std::string& rel);
  // The lstat of `rel` (a file path relative to the root, shown as
  // `root_display/rel` in errors): nullopt when it or its directory is gone
  // (ENOENT/ENOTDIR), an Error naming the path otherwise. Leaves its
  // directory open for get().
  Result<std::optional<fs::Stat>> lstat(const std::string& root_display, const std::string& rel);

 private:
  struct Level {
    std::string name;
    fs::DirHandle dir;
  };
  fs::Fs& m_fs;
  int m_root;
  size_t m_max_depth;
  std::vector<Level> m_open;  // the current path's components, outermost first
  std::string m_deep_rel;     // a directory deeper than m_max_depth, and
  fs::DirHandle m_deep;       // its handle
};

// The record's text form (one state value): names separated by NUL.
std::string encode_temps(const std::vector<std::string>& temps);
std::vector<std::string> decode_temps(std::string_view text);

}  // namespace rotator::jobs
