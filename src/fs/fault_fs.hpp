// FaultFs: an Fs wrapper for tests that records, fails, "crashes" or cuts
// the power.
//
// Calls are counted per category (mutating calls by default: mkdir, link,
// symlink, rename, unlink, rmdir, copy_data, write_file, set_metadata,
// set_xattr, fsync_dir, sync_fs; with Count::all, reads too; with fail_at's
// `only_op`, that one operation alone, read or not). close(), lock_file()
// and write_fd() are never counted or refused.
//
//   Mode::record     pass everything through, append mutating calls to journal().
//   Mode::fail       the k-th counted call returns Error{errno} without touching
//                    the disk; all others pass through.
//   Mode::crash      calls 1..k pass; every counted call after the k-th, and
//                    every read after it, is refused with EIO without touching
//                    the disk: the process "died" between two system calls. The
//                    test then reopens the tree with a fresh PosixFs and reruns.
//                    Crash mode keeps every change made (the kernel survived).
//   Mode::power_cut  as crash, but right after the k-th call completes, every
//                    change under `root` that was not made durable is thrown
//                    away on the real tree (leveldb's FaultInjectionTestEnv):
//                    the test then sees the tree a power cut could leave.
//                    fsync_dir and sync_fs are recorded, not passed on (the
//                    model, not the disk, decides what is durable).
//
// Durability model (the contract power_cut enforces; the code under test
// must make its commit points durable under it):
//   * A directory change is an entry added to or removed from a parent
//     directory: mkdir, link, symlink, the name created by copy_data or
//     write_file, rename (removes the old name, adds the new one), unlink,
//     rmdir. It is durable once its parent directory was fsynced
//     (Fs::fsync_dir on that directory) after it; a rename is one atomic
//     change (journalling filesystems make it one) and is durable only when
//     both parent directories were fsynced after it. Fs::sync_fs makes every
//     earlier change on the filesystem durable.
//   * A directory reachable only through a non-durable mkdir is lost with it:
//     undoing the mkdir removes the directory and everything below it, also
//     what was durably moved into it (fsck would put it in lost+found).
//   * File data: write_file and copy_data fsync the file before they return
//     (fs.hpp), so their content is durable at once; only their new names
//     follow the rule above. write_fd (the lock file) does not sync: the lock
//     file's content reverts to what it was when it was opened.
//   * Inode attributes (set_metadata) are durable only after a fsync_dir of
//     that directory itself, or sync_fs; otherwise the old mode, owner and
//     times come back. Extended attributes (set_xattr) are not modelled:
//     they are taken as durable at once.
//   * Everything that existed before the FaultFs was made is durable.
//
// The cut undoes, newest first, every change that is not durable, on the
// tree as it is then (directories are followed by inode, so a later durable
// rename of a parent, such as .rotator-staging -> daily.0, is respected).
// An undo that a later kept change makes impossible (the name to restore is
// occupied, or the entry to move back is gone) keeps its change: a later
// durable change implies the earlier ones on the same names, as an ordered
// journal gives. Changes in directories outside `root` are not undone.
// Removed entries are kept for the undo in a sibling directory
// `root`.faultfs-saved, which the cut (or the destructor) empties and
// removes: a removed file by a hard link (it shows a link count one higher
// meanwhile), an empty directory by moving it there instead of rmdir (same
// inode when it comes back).
#pragma once

#include <sys/types.h>

#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "fs/fs.hpp"

namespace rotator::fs {

class FaultFs final : public FsWrapper {
 public:
  enum class Mode { record, fail, crash, power_cut };
  enum class Count { mutating, all };

  explicit FaultFs(Fs& target) : FsWrapper(target) {}
  ~FaultFs() override;
  FaultFs(const FaultFs&) = delete;
  FaultFs& operator=(const FaultFs&) = delete;

  void record() { m_mode = Mode::record; }
  // Fail the k-th (1-based) counted call with `err`; optionally only calls of
  // operation `only_op` ("link", "rename", "list_dir", ...) are counted,
  // reads too whatever set_count says: fail_at(k, EIO, "list_dir") fails
  // the k-th listing.
  void fail_at(long k, int err, std::string only_op = {}) {
    m_mode = Mode::fail;
    m_k = k;
    m_errno = err;
    m_only_op = std::move(only_op);
  }
  // Fail the next call of operation `op` ("link", ...) with `err`: fail_at
  // counting only `op`, from the calls counted so far.
  void fail_next(int err, std::string op) { fail_at(m_calls + 1, err, std::move(op)); }
  void crash_after(long k) {
    m_mode = Mode::crash;
    m_k = k;
  }
  // Power cut right after the k-th counted call: every non-durable change
  // below directory `root` (an absolute path) is undone, then every later
  // call is refused with EIO. REQUIRES: called before the first call.
  void power_cut_after(long k, const std::string& root);
  void set_count(Count c) { m_count = c; }
  // Emulates a filesystem whose hard-link limit is `n` (ext4's is 65000):
  // link_max() returns n, and link() of a source that already has n or more
  // links fails with EMLINK without touching the disk, as the kernel does.
  // Applies in every mode, for the whole life of this FaultFs.
  void set_link_limit(long n) { m_link_limit = n; }

  long calls() const { return m_calls; }          // counted calls seen so far
  bool triggered() const { return m_triggered; }  // the fault has fired
  const std::vector<std::string>& journal() const { return m_journal; }
  // Power-cut mode: changes undone by the cut, and changes whose undo was
  // impossible (kept); the cut's own failures (an Error text each, empty
  // when the cut was clean: a test asserts it).
  long undone() const { return m_undone; }
  long kept() const { return m_kept; }
  const std::vector<std::string>& cut_errors() const { return m_cut_errors; }

  Result<int> open_dir(int d, const std::string& n) override;
  void close(int fd) override;
  Result<std::vector<DirEntry>> list_dir(int d) override;
  Result<Stat> lstat(int d, const std::string& n) override;
  Result<std::string> readlink(int d, const std::string& n) override;
  Result<long> link_max(int d) override;
  Result<XattrSupport> probe_xattr_support(int d) override;
  Result<std::string> read_file(int d, const std::string& n) override;
  Result<int> open_read(int d, const std::string& n) override;
  Result<size_t> read_fd(int fd, char* b, size_t n) override;
  Result<std::vector<std::pair<std::string, std::string>>> get_xattrs(
      int d, const std::string& n) override;
  Status mkdir(int d, const std::string& n, mode_t m) override;
  Status link(int od, const std::string& on, int nd, const std::string& nn) override;
  Status symlink(const std::string& t, int d, const std::string& n) override;
  Status rename(int od, const std::string& on, int nd, const std::string& nn,
                RenameMode m) override;
  Status unlink(int d, const std::string& n) override;
  Status rmdir(int d, const std::string& n) override;
  Status copy_data(int od, const std::string& on, int nd, const std::string& nn) override;
  Status write_file(int d, const std::string& n, std::string_view c) override;
  Status set_metadata(int d, const std::string& n, const Metadata& m) override;
  Status set_xattr(int d, const std::string& n, const std::string& k,
                   const std::string& v) override;
  Status fsync_dir(int d) override;
  Status sync_fs(int d) override;
  Result<int> lock_file(const std::string& p, LockMode m) override;
  Status write_fd(int fd, std::string_view c) override;

 private:
  // One recorded change (power-cut mode). Directories are named by an id
  // (stable across renames; a removed directory's inode number is forgotten,
  // so a reused number gets a new id).
  using DirId = long;
  enum class Kind { create, rename, unlink, rmdir, metadata };
  struct Change {
    Kind kind;
    long seq = 0;
    DirId parent = -1;  // create/unlink/rmdir/metadata: the entry's parent
    std::string name;
    DirId parent2 = -1;  // rename: the new parent and name
    std::string name2;
    ino_t ino = 0;      // the entry's inode (create: the new one; rename: the moved one)
    DirId dir = -1;     // the entry is this directory (create of a directory, rename of one)
    std::string saved;  // unlink / rmdir / replacing rename: the removed entry in the save area
    bool replaced_dir = false;  // replacing rename: an (empty) directory was replaced
    DirId dir2 = -1;            // ... and its id
    Stat old;                   // rmdir / replaced directory / metadata: the attributes to restore
  };
  struct Where {  // a parent directory and a base name
    DirId parent = -1;
    std::string name;
  };

  enum class Call { reads, mutates };  // mutating calls are journaled and always counted
  // True (and *err set) when this call must not reach the disk.
  bool refuse(const char* op, Call call, const std::string& what, int* err);
  // Power-cut mode, after a call went through: performs the cut if it is due.
  void after_call();
  bool recording() const { return m_mode == Mode::power_cut && !m_cut_done; }

  Where where(int d, const std::string& n);
  DirId id_of(const Stat& st);
  DirId dir_id(int d, const std::string& n);
  std::string save(int d, const std::string& n);
  void push(Change c);
  bool durable(const Change& c) const;
  bool synced_after(DirId dir, long seq) const;
  void cut();
  void undo(const Change& c, std::map<DirId, std::string>& paths);

  Mode m_mode = Mode::record;
  Count m_count = Count::mutating;
  long m_k = 0;
  int m_errno = 0;
  std::string m_only_op;
  long m_calls = 0;
  bool m_triggered = false;
  std::vector<std::string> m_journal;
  long m_link_limit = 0;  // 0: the target's

  // Power-cut state.
  std::string m_root;
  std::string m_save_dir;
  long m_saved_count = 0;
  bool m_cut_done = false;
  long m_seq = 0;
  long m_fs_synced = -1;  // seq of the last sync_fs
  std::map<std::pair<dev_t, ino_t>, DirId> m_ids;
  DirId m_next_id = 0;
  std::map<DirId, long> m_synced;  // dir -> seq of its last fsync_dir
  std::vector<Change> m_changes;
  std::map<int, std::pair<std::string, std::string>> m_lock_files;  // fd -> path, durable content
  std::set<int> m_listed;  // descriptors list_dir has read (fs.hpp: once each)
  long m_undone = 0;
  long m_kept = 0;
  std::vector<std::string> m_cut_errors;
};

}  // namespace rotator::fs
