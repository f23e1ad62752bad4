// The one seam through which rotator touches the filesystem.
//
// Every filesystem call of the program goes through an `Fs`: PosixFs is the
// real implementation (the only file that includes <fcntl.h>/<unistd.h> for
// file work); FaultFs (fault_fs.hpp) wraps another Fs to fail, "crash" or
// cut the power at the k-th call, for the crash-enumeration tests.
//
// Durability: a change is durable (survives a power cut) only as fsync_dir
// and sync_fs below say, and as write_file / copy_data, which fsync the
// file's data; fault_fs.hpp states the whole model the tests enforce.
//
// Calling convention: directories are opened as descriptors and every call is
// relative to one (openat style), so no path is re-resolved per entry and
// paths longer than PATH_MAX work. `k_cwd` stands for AT_FDCWD: then `name`
// may be any absolute or relative path. Symlinks are never followed: lstat is
// fstatat(AT_SYMLINK_NOFOLLOW), open_dir uses O_NOFOLLOW.
//
// Error handling: every call returns Result; the Error carries errno, the
// operation and the path as given (callers add context with display paths,
// with_context / TRY_CONTEXT in util/result.hpp). A call that is given only
// a descriptor (list_dir, link_max, probe_xattr_support, fsync_dir, sync_fs,
// read_fd, write_fd) cannot name it: its Error has an empty path, and the caller,
// which knows what it opened, names it.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <ctime>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.hpp"

namespace rotator::fs {

inline constexpr int k_cwd = -100;  // == AT_FDCWD on Linux

enum class FileType : std::uint8_t {
  unknown,  // d_type was DT_UNKNOWN: call lstat
  regular,
  directory,
  symlink,
  fifo,
  socket,
  char_device,
  block_device,
};

const char* file_type_name(FileType type);

inline constexpr size_t k_max_read_file = 1 << 20;  // read_file's cap: 1 MiB

// Why read_file failed, for messages: "not a regular file: a fifo",
// "larger than 1 MiB", else strerror ("No such file or directory").
std::string read_failure(const Error& e);

struct DirEntry {
  std::string name;
  ino_t ino = 0;
  FileType type = FileType::unknown;
};

struct Stat {
  dev_t dev = 0;
  ino_t ino = 0;
  mode_t mode = 0;  // full st_mode (type + permission bits)
  uid_t uid = 0;
  gid_t gid = 0;
  nlink_t nlink = 0;
  off_t size = 0;
  blkcnt_t blocks = 0;
  timespec atime{};
  timespec mtime{};
  FileType type() const;
  bool is_dir() const { return type() == FileType::directory; }
};

// What the filesystem of a directory stores (probe_xattr_support).
enum class Support { no, yes };
struct XattrSupport {
  Support xattrs = Support::no;  // user.* extended attributes
  Support acls = Support::no;    // POSIX ACLs (system.posix_acl_access)
};

enum class RenameMode { replace, no_replace };  // no_replace: EEXIST if `new_name` exists
enum class LockMode { no_wait, wait };

// Which of set_metadata's three writes are made: the caller leaves out what
// it knows is right already (a directory mkdir just made with that mode and
// owner), saving the system call.
enum class MetaParts : unsigned { none = 0, owner = 1, mode = 2, times = 4, all = 7 };
constexpr MetaParts operator|(MetaParts a, MetaParts b) {
  return static_cast<MetaParts>(static_cast<unsigned>(a) | static_cast<unsigned>(b));
}
constexpr bool has(MetaParts set, MetaParts part) {
  return (static_cast<unsigned>(set) & static_cast<unsigned>(part)) != 0;
}

// Attributes set by set_metadata. Owner changes need privilege; a failed
// chown by a non-root user is ignored (as rsync -a without root does).
struct Metadata {
  mode_t mode = 0;
  uid_t uid = 0;
  gid_t gid = 0;
  timespec atime{};
  timespec mtime{};
  MetaParts parts = MetaParts::all;  // what set_metadata writes
};

// What mkdir gives a new directory when its parent has neither the setgid
// bit nor a default ACL: owner `uid`, group `gid`, mode `mode & ~umask`.
// `known` is false when the process could not find out (then nothing may be
// assumed).
struct Creation {
  bool known = false;
  uid_t uid = 0;
  gid_t gid = 0;
  mode_t umask = 0;
};

class Fs {
 public:
  virtual ~Fs() = default;

  // --- read-only -------------------------------------------------------
  // Opens directory `name` relative to `dir_fd` (O_DIRECTORY|O_NOFOLLOW).
  // Returns the descriptor; the caller closes it with close().
  virtual Result<int> open_dir(int dir_fd, const std::string& name) = 0;
  // Never fails; never counted or refused by FaultFs.
  virtual void close(int fd) = 0;
  // All entries of the open directory except "." and "..", unsorted, with
  // d_ino and d_type (FileType::unknown when the filesystem gives none).
  // REQUIRES: `dir_fd` was not listed before (a descriptor from open_dir is
  // read from its start, and no rewind is made): to list a directory again,
  // open it again. FaultFs refuses a second listing of one descriptor.
  virtual Result<std::vector<DirEntry>> list_dir(int dir_fd) = 0;
  // fstatat(AT_SYMLINK_NOFOLLOW); an empty `name` stats `dir_fd` itself.
  virtual Result<Stat> lstat(int dir_fd, const std::string& name) = 0;
  virtual Result<std::string> readlink(int dir_fd, const std::string& name) = 0;
  // The filesystem's hard-link limit for an inode on it (fpathconf
  // _PC_LINK_MAX of the open directory `dir_fd`: 65000 on ext4); a link(2)
  // to an inode with that many links fails with EMLINK. LONG_MAX when the
  // filesystem reports no limit.
  virtual Result<long> link_max(int dir_fd) = 0;
  // Whole content of a regular file (small files only: state, config, rules).
  // Opened O_NONBLOCK (a fifo never blocks); anything but a regular file is
  // refused (EISDIR for a directory, else EINVAL, the detail saying "(not a
  // regular file: a fifo)"), and so is a file larger than k_max_read_file (EFBIG).
  // read_failure() words these for messages.
  virtual Result<std::string> read_file(int dir_fd, const std::string& name) = 0;
  // Opens regular file `name` under `dir_fd` for streaming reads with
  // read_fd (O_RDONLY|O_NOFOLLOW|O_NONBLOCK, and O_NOATIME where the process
  // may use it, so reading leaves the access time alone). Anything but a
  // regular file is refused as read_file refuses it. The caller closes the
  // descriptor with close().
  virtual Result<int> open_read(int dir_fd, const std::string& name) = 0;
  // Reads up to `size` bytes from the current offset of `fd` (from
  // open_read) into `buf`: the count read, 0 at the end of the file.
  virtual Result<size_t> read_fd(int fd, char* buf, size_t size) = 0;
  // Whether this process (its effective ids) may create and remove entries in
  // directory `name`: faccessat(W_OK|X_OK, AT_EACCESS). ok(), or the Error
  // (EACCES when permissions deny it, EROFS on a read-only mount). Changes
  // nothing; never counted by FaultFs.
  virtual Status check_writable(int dir_fd, const std::string& name) = 0;
  // Extended attributes of `name` (not followed): list of (key, value). An
  // empty `name` reads those of the open descriptor `dir_fd` itself.
  virtual Result<std::vector<std::pair<std::string, std::string>>> get_xattrs(
      int dir_fd, const std::string& name) = 0;

  // Whether the filesystem holding directory `dir_fd` stores user extended
  // attributes and POSIX ACLs: sets `user.rotator.probe` and a minimal
  // access ACL on an unnamed temporary file there (O_TMPFILE; where the
  // filesystem has none, a file `.rotator-probe` created and removed again),
  // so the directory is left as it was. ENOTSUP is Support::no; any other
  // failure (EACCES, EROFS, ...) is an Error.
  virtual Result<XattrSupport> probe_xattr_support(int dir_fd) = 0;
  // --- mutating --------------------------------------------------------
  virtual Status mkdir(int dir_fd, const std::string& name, mode_t mode) = 0;
  // Hard link; never follows a symlink at `old_name` (linkat flags 0).
  virtual Status link(int old_dir, const std::string& old_name, int new_dir,
                      const std::string& new_name) = 0;
  virtual Status symlink(const std::string& target, int dir_fd, const std::string& name) = 0;
  // renameat2; RenameMode::no_replace maps to RENAME_NOREPLACE (emulated with
  // a link/lstat check where the filesystem lacks it: never overwrites).
  virtual Status rename(int old_dir, const std::string& old_name, int new_dir,
                        const std::string& new_name, RenameMode mode) = 0;
  virtual Status unlink(int dir_fd, const std::string& name) = 0;
  virtual Status rmdir(int dir_fd, const std::string& name) = 0;
  // Creates `new_name` (O_EXCL) with the data of regular file `old_name`.
  // Metadata is not copied; see set_metadata.
  virtual Status copy_data(int old_dir, const std::string& old_name, int new_dir,
                           const std::string& new_name) = 0;
  // Creates (O_EXCL) or truncates-and-writes `name` with `content`, fsyncs it.
  // For atomic replacement write a temporary name then rename().
  virtual Status write_file(int dir_fd, const std::string& name, std::string_view content) = 0;
  // chown (lchown semantics), chmod (not for symlinks), utimensat(NOFOLLOW);
  // only the writes named in meta.parts.
  virtual Status set_metadata(int dir_fd, const std::string& name, const Metadata& meta) = 0;
  virtual Status set_xattr(int dir_fd, const std::string& name, const std::string& key,
                           const std::string& value) = 0;
  // fsync(2) of the open directory `dir_fd`: its entries (names added,
  // removed, renamed) and its own attributes are durable when it returns.
  // Not its parent's entry for it, nor the content of its subdirectories.
  virtual Status fsync_dir(int dir_fd) = 0;
  // syncfs(2) of the filesystem holding `dir_fd`: every change made on it so
  // far (every directory entry, every file's data and attributes) is durable
  // when it returns. One call makes a whole new tree durable (a snapshot
  // generation, a weekly backup) without an fsync per directory.
  virtual Status sync_fs(int dir_fd) = 0;

  // True when calls may be made from several threads at once (PosixFs:
  // stateless). Wrappers that count or journal calls say false, so code
  // that could parallelise (remove_tree) stays sequential and
  // deterministic under fault injection.
  virtual bool concurrent_safe() const { return false; }

  // The owner, group and umask of directories this process creates (see
  // Creation). Makes no change; never counted or refused by FaultFs.
  virtual Creation creation() { return Creation{}; }

  // --- locks and time ----------------------------------------------------
  // Opens/creates `path` and takes an exclusive flock. Returns the open
  // descriptor (keep it open to hold the lock); EWOULDBLOCK when held and
  // mode is no_wait. A symlink at the last component is never followed
  // (ELOOP). Not counted by FaultFs.
  virtual Result<int> lock_file(const std::string& path, LockMode mode) = 0;
  // lock_file() of `name` relative to `dir_fd` (O_NOFOLLOW|O_CREAT).
  virtual Result<int> lock_file_at(int dir_fd, const std::string& name, LockMode mode) = 0;
  // Replaces the content of the open lock file (holder info).
  virtual Status write_fd(int fd, std::string_view content) = 0;
};

// Forwards every call to `target`; override what you need (leveldb EnvWrapper).
class FsWrapper : public Fs {
 public:
  explicit FsWrapper(Fs& target) : m_target(target) {}
  Fs& target() { return m_target; }

  Result<int> open_dir(int d, const std::string& n) override { return m_target.open_dir(d, n); }
  void close(int fd) override { m_target.close(fd); }
  Result<std::vector<DirEntry>> list_dir(int d) override { return m_target.list_dir(d); }
  Result<Stat> lstat(int d, const std::string& n) override { return m_target.lstat(d, n); }
  Result<std::string> readlink(int d, const std::string& n) override {
    return m_target.readlink(d, n);
  }
  Result<long> link_max(int d) override { return m_target.link_max(d); }
  Result<XattrSupport> probe_xattr_support(int d) override {
    return m_target.probe_xattr_support(d);
  }
  Result<std::string> read_file(int d, const std::string& n) override {
    return m_target.read_file(d, n);
  }
  Result<int> open_read(int d, const std::string& n) override { return m_target.open_read(d, n); }
  Result<size_t> read_fd(int fd, char* b, size_t n) override { return m_target.read_fd(fd, b, n); }
  Status check_writable(int d, const std::string& n) override {
    return m_target.check_writable(d, n);
  }
  Result<std::vector<std::pair<std::string, std::string>>> get_xattrs(
      int d, const std::string& n) override {
    return m_target.get_xattrs(d, n);
  }
  Status mkdir(int d, const std::string& n, mode_t m) override { return m_target.mkdir(d, n, m); }
  Status link(int od, const std::string& on, int nd, const std::string& nn) override {
    return m_target.link(od, on, nd, nn);
  }
  Status symlink(const std::string& t, int d, const std::string& n) override {
    return m_target.symlink(t, d, n);
  }
  Status rename(int od, const std::string& on, int nd, const std::string& nn,
                RenameMode m) override {
    return m_target.rename(od, on, nd, nn, m);
  }
  Status unlink(int d, const std::string& n) override { return m_target.unlink(d, n); }
  Status rmdir(int d, const std::string& n) override { return m_target.rmdir(d, n); }
  Status copy_data(int od, const std::string& on, int nd, const std::string& nn) override {
    return m_target.copy_data(od, on, nd, nn);
  }
  Status write_file(int d, const std::string& n, std::string_view c) override {
    return m_target.write_file(d, n, c);
  }
  Status set_metadata(int d, const std::string& n, const Metadata& m) override {
    return m_target.set_metadata(d, n, m);
  }
  Creation creation() override { return m_target.creation(); }
  Status set_xattr(int d, const std::string& n, const std::string& k,
                   const std::string& v) override {
    return m_target.set_xattr(d, n, k, v);
  }
  Status fsync_dir(int d) override { return m_target.fsync_dir(d); }
  Status sync_fs(int d) override { return m_target.sync_fs(d); }
  Result<int> lock_file(const std::string& p, LockMode m) override {
    return m_target.lock_file(p, m);
  }
  Result<int> lock_file_at(int d, const std::string& n, LockMode m) override {
    return m_target.lock_file_at(d, n, m);
  }
  Status write_fd(int fd, std::string_view c) override { return m_target.write_fd(fd, c); }

 private:
  Fs& m_target;
};

// RAII owner of a directory descriptor opened through an Fs.
class DirHandle {
 public:
  DirHandle() = default;
  DirHandle(Fs& fs, int fd) : m_fs(&fs), m_fd(fd) {}
  DirHandle(DirHandle&& o) noexcept : m_fs(o.m_fs), m_fd(o.m_fd) { o.m_fd = -1; }
  DirHandle& operator=(DirHandle&& o) noexcept {
    if (this != &o) {
      reset();
      m_fs = o.m_fs;
      m_fd = o.m_fd;
      o.m_fd = -1;
    }
    return *this;
  }
  DirHandle(const DirHandle&) = delete;
  DirHandle& operator=(const DirHandle&) = delete;
  ~DirHandle() { reset(); }
  int fd() const { return m_fd; }
  bool valid() const { return m_fd >= 0; }
  void reset() {
    if (m_fd >= 0 && m_fs) {
      m_fs->close(m_fd);
    }
    m_fd = -1;
  }

 private:
  Fs* m_fs = nullptr;
  int m_fd = -1;
};

// Opens `name` under `dir_fd` as a DirHandle.
Result<DirHandle> open_dir(Fs& fs, int dir_fd, const std::string& name);

// "Does `name` (under `dir_fd`) exist?", never following a symlink: true
// when lstat succeeds, false only when it fails with ENOENT; any other
// failure (EACCES, EIO, ENOTDIR, ...) is lstat's Error, so a caller that
// cannot look never guesses "absent".
Result<bool> exists(Fs& fs, int dir_fd, const std::string& name);

// Metadata of a Stat, for set_metadata (copying one entry's attributes to another).
Metadata metadata_of(const Stat& st);

}  // namespace rotator::fs
