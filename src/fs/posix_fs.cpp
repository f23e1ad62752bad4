#include "fs/posix_fs.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>

namespace rotator::fs {

namespace {

FileType type_of_dtype(unsigned char d) {
  switch (d) {
    case DT_REG:
      return FileType::regular;
    case DT_DIR:
      return FileType::directory;
    case DT_LNK:
      return FileType::symlink;
    case DT_FIFO:
      return FileType::fifo;
    case DT_SOCK:
      return FileType::socket;
    case DT_CHR:
      return FileType::char_device;
    case DT_BLK:
      return FileType::block_device;
    default:
      return FileType::unknown;
  }
}

struct linux_dirent64 {
  ino64_t d_ino;
  off64_t d_off;
  unsigned short d_reclen;
  unsigned char d_type;
  char d_name[];
};

// Retries a call interrupted by a signal.
template <typename F>
auto retry_eintr(F f) {
  decltype(f()) r;
  do {
    r = f();
  } while (r < 0 && errno == EINTR);
  return r;
}

Status write_all(int fd, std::string_view content, const std::string& name) {
  size_t done = 0;
  while (done < content.size()) {
    ssize_t n =
        retry_eintr([&] { return ::write(fd, content.data() + done, content.size() - done); });
    if (n < 0) {
      return sys_error(errno, "write", name);
    }
    done += static_cast<size_t>(n);
  }
  return ok();
}

}  // namespace

Result<int> PosixFs::open_dir(int dir_fd, const std::string& name) {
  int fd = retry_eintr([&] {
    return ::openat(dir_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  });
  if (fd < 0) {
    return sys_error(errno, "open directory", name);
  }
  return fd;
}

void PosixFs::close(int fd) {
  if (fd >= 0) {
    ::close(fd);
  }
}

Result<std::vector<DirEntry>> PosixFs::list_dir(int dir_fd) {
  // No lseek to 0: the descriptor is fresh (fs.hpp), and a rewind would be
  // one more system call per directory of every walk.
  std::vector<DirEntry> out;
  alignas(linux_dirent64) char buf[64 * 1024];
  for (;;) {
    long n = retry_eintr([&] { return ::syscall(SYS_getdents64, dir_fd, buf, sizeof buf); });
    if (n < 0) {
      return sys_error(errno, "read directory", "");
    }
    if (n == 0) {
      break;
    }
    for (long pos = 0; pos < n;) {
      auto* d = reinterpret_cast<linux_dirent64*>(buf + pos);
      pos += d->d_reclen;
      const char* nm = d->d_name;
      if (nm[0] == '.' && (nm[1] == 0 || (nm[1] == '.' && nm[2] == 0))) {
        continue;
      }
      out.push_back(DirEntry{nm, static_cast<ino_t>(d->d_ino), type_of_dtype(d->d_type)});
    }
  }
  return out;
}

Result<Stat> PosixFs::lstat(int dir_fd, const std::string& name) {
  struct stat st;
  int flags = AT_SYMLINK_NOFOLLOW | (name.empty() ? AT_EMPTY_PATH : 0);
  if (::fstatat(dir_fd, name.c_str(), &st, flags) < 0) {
    return sys_error(errno, "stat", name);
  }
  Stat s;
  s.dev = st.st_dev;
  s.ino = st.st_ino;
  s.mode = st.st_mode;
  s.uid = st.st_uid;
  s.gid = st.st_gid;
  s.nlink = st.st_nlink;
  s.size = st.st_size;
  s.blocks = st.st_blocks;
  s.atime = st.st_atim;
  s.mtime = st.st_mtim;
  return s;
}

Result<std::string> PosixFs::readlink(int dir_fd, const std::string& name) {
  std::string buf(256, '\0');
  for (;;) {
    ssize_t n = ::readlinkat(dir_fd, name.c_str(), buf.data(), buf.size());
    if (n < 0) {
      return sys_error(errno, "read link", name);
    }
    if (static_cast<size_t>(n) < buf.size()) {
      buf.resize(static_cast<size_t>(n));
      return buf;
    }
    buf.resize(buf.size() * 2);
  }
}

Result<long> PosixFs::link_max(int dir_fd) {
  errno = 0;
  long n = ::fpathconf(dir_fd, _PC_LINK_MAX);
  if (n < 0) {
    if (errno == 0) {
      return LONG_MAX;  // no limit
    }
    return sys_error(errno, "query the link limit of", "");
  }
  return n;
}

Result<XattrSupport> PosixFs::probe_xattr_support(int dir_fd) {
  const char* named = ".rotator-probe";
  bool is_named = false;
  int fd = ::openat(dir_fd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
    is_named = true;
    fd = ::openat(dir_fd, named, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0 && errno == EEXIST) {  // a crashed probe's leftover: rotator's own name
      ::unlinkat(dir_fd, named, 0);
      fd = ::openat(dir_fd, named, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC | O_NOFOLLOW, 0600);
    }
  }
  if (fd < 0) {
    return sys_error(errno, "create a probe file in", "");
  }
  XattrSupport out;
  int failed = 0;
  if (::fsetxattr(fd, "user.rotator.probe", "1", 1, 0) == 0) {
    out.xattrs = Support::yes;
    ::fremovexattr(fd, "user.rotator.probe");
  } else if (errno != ENOTSUP) {
    failed = errno;
  }
  // A minimal access ACL (user::rw-, group::---, other::---; little-endian
  // posix_acl_xattr format, version 2): the kernel accepts it exactly when
  // the filesystem has ACLs, and stores it as the mode 0600.
  const unsigned char acl[] = {2,    0, 0, 0,                           // a_version
                               0x01, 0, 6, 0, 0xff, 0xff, 0xff, 0xff,   // ACL_USER_OBJ rw-
                               0x04, 0, 0, 0, 0xff, 0xff, 0xff, 0xff,   // ACL_GROUP_OBJ ---
                               0x20, 0, 0, 0, 0xff, 0xff, 0xff, 0xff};  // ACL_OTHER ---
  if (failed == 0) {
    if (::fsetxattr(fd, "system.posix_acl_access", acl, sizeof acl, 0) == 0) {
      out.acls = Support::yes;
    } else if (errno != ENOTSUP) {
      failed = errno;
    }
  }
  ::close(fd);
  if (is_named) {
    ::unlinkat(dir_fd, named, 0);
  }
  if (failed != 0) {
    return sys_error(failed, "probe extended attributes in", "");
  }
  return out;
}

// open_read and read_file read regular files only: fd (just opened for
// `name`) is closed, and an error naming `name` returned, when it is
// something else (a FIFO would block, a device read forever).
static Status close_unless_regular(int fd, const std::string& name) {
  struct stat st;
  if (::fstat(fd, &st) < 0) {
    int e = errno;
    ::close(fd);
    return sys_error(e, "stat", name);
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    if (S_ISDIR(st.st_mode)) {
      return sys_error(EISDIR, "read", name);
    }
    Stat typed;
    typed.mode = st.st_mode;
    return sys_error(EINVAL, "read", name,
                     std::string("(not a regular file: a ") + file_type_name(typed.type()) + ")");
  }
  return ok();
}

Result<int> PosixFs::open_read(int dir_fd, const std::string& name) {
  const int flags = O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY;
  int fd = retry_eintr([&] { return ::openat(dir_fd, name.c_str(), flags | O_NOATIME); });
  if (fd < 0 && errno == EPERM) {
    // O_NOATIME needs the file's owner or CAP_FOWNER.
    fd = retry_eintr([&] { return ::openat(dir_fd, name.c_str(), flags); });
  }
  if (fd < 0) {
    return sys_error(errno, "open", name);
  }
  TRY(close_unless_regular(fd, name));
  return fd;
}

Result<size_t> PosixFs::read_fd(int fd, char* buf, size_t size) {
  ssize_t n = retry_eintr([&] { return ::read(fd, buf, size); });
  if (n < 0) {
    return sys_error(errno, "read", "");
  }
  return static_cast<size_t>(n);
}

Result<std::string> PosixFs::read_file(int dir_fd, const std::string& name) {
  int fd = retry_eintr(
      [&] { return ::openat(dir_fd, name.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC); });
  if (fd < 0) {
    return sys_error(errno, "open", name);
  }
  TRY(close_unless_regular(fd, name));
  std::string out;
  char buf[65536];
  for (;;) {
    if (out.size() > k_max_read_file) {
      ::close(fd);
      return sys_error(EFBIG, "read", name);
    }
    ssize_t n = retry_eintr([&] { return ::read(fd, buf, sizeof buf); });
    if (n < 0) {
      int e = errno;
      ::close(fd);
      return sys_error(e, "read", name);
    }
    if (n == 0) {
      break;
    }
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

Result<std::vector<std::pair<std::string, std::string>>> PosixFs::get_xattrs(
    int dir_fd, const std::string& name) {
  std::vector<std::pair<std::string, std::string>> out;
  // An empty name reads the descriptor's own inode (flistxattr, fgetxattr).
  // Otherwise: *xattr calls have no *at variant, so go through
  // /proc/self/fd for a descriptor-relative, non-following path.
  const bool by_fd = name.empty() && dir_fd != k_cwd;
  std::string path = by_fd             ? std::string()
                     : dir_fd == k_cwd ? name
                                       : "/proc/self/fd/" + std::to_string(dir_fd) + "/" + name;
  auto list = [&](char* buf, size_t size) {
    return by_fd ? ::flistxattr(dir_fd, buf, size) : ::llistxattr(path.c_str(), buf, size);
  };
  auto get = [&](const char* key, void* buf, size_t size) {
    return by_fd ? ::fgetxattr(dir_fd, key, buf, size) : ::lgetxattr(path.c_str(), key, buf, size);
  };
  ssize_t len = list(nullptr, 0);
  if (len < 0) {
    if (errno == ENOTSUP || errno == ENODATA) {
      return out;
    }
    return sys_error(errno, "list xattrs of", name);
  }
  if (len == 0) {
    return out;
  }
  std::string names(static_cast<size_t>(len), '\0');
  len = list(names.data(), names.size());
  if (len < 0) {
    return sys_error(errno, "list xattrs of", name);
  }
  names.resize(static_cast<size_t>(len));
  for (size_t pos = 0; pos < names.size();) {
    std::string key = names.c_str() + pos;
    pos += key.size() + 1;
    ssize_t vlen = get(key.c_str(), nullptr, 0);
    if (vlen < 0) {
      continue;  // vanished or not readable: skip that attribute
    }
    std::string value(static_cast<size_t>(vlen), '\0');
    vlen = get(key.c_str(), value.data(), value.size());
    if (vlen < 0) {
      continue;
    }
    value.resize(static_cast<size_t>(vlen));
    out.emplace_back(std::move(key), std::move(value));
  }
  return out;
}

Status PosixFs::mkdir(int dir_fd, const std::string& name, mode_t mode) {
  if (::mkdirat(dir_fd, name.c_str(), mode) < 0) {
    return sys_error(errno, "create directory", name);
  }
  return ok();
}

Status PosixFs::link(int old_dir, const std::string& old_name, int new_dir,
                     const std::string& new_name) {
  if (::linkat(old_dir, old_name.c_str(), new_dir, new_name.c_str(), 0) < 0) {
    return sys_error(errno, "link", old_name, "to '" + new_name + "'");
  }
  return ok();
}

Status PosixFs::symlink(const std::string& target, int dir_fd, const std::string& name) {
  if (::symlinkat(target.c_str(), dir_fd, name.c_str()) < 0) {
    return sys_error(errno, "create symlink", name);
  }
  return ok();
}

Status PosixFs::rename(int old_dir, const std::string& old_name, int new_dir,
                       const std::string& new_name, RenameMode mode) {
  unsigned flags = mode == RenameMode::no_replace ? 1u /* RENAME_NOREPLACE */ : 0u;
  long r = ::syscall(SYS_renameat2, old_dir, old_name.c_str(), new_dir, new_name.c_str(), flags);
  if (r < 0 && errno == EINVAL && flags != 0) {
    // Filesystem without RENAME_NOREPLACE: check, then rename. The only
    // writer is rotator under its lock, so the window is not a race in practice.
    struct stat st;
    if (::fstatat(new_dir, new_name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
      errno = EEXIST;
      r = -1;
    } else {
      r = ::renameat(old_dir, old_name.c_str(), new_dir, new_name.c_str());
    }
  }
  if (r < 0) {
    return sys_error(errno, "rename", old_name, "to '" + new_name + "'");
  }
  return ok();
}

Status PosixFs::unlink(int dir_fd, const std::string& name) {
  if (::unlinkat(dir_fd, name.c_str(), 0) < 0) {
    return sys_error(errno, "remove", name);
  }
  return ok();
}

Status PosixFs::rmdir(int dir_fd, const std::string& name) {
  if (::unlinkat(dir_fd, name.c_str(), AT_REMOVEDIR) < 0) {
    return sys_error(errno, "remove directory", name);
  }
  return ok();
}

// Copies all of `in` to `out`: a reflink (FICLONE) where the filesystem
// shares extents (btrfs, xfs), else copy_file_range (in-kernel, no user
// copy), else read/write when neither is possible (another filesystem,
// an old kernel).
static Status copy_fd(int in, int out, const std::string& old_name, const std::string& new_name) {
  if (::ioctl(out, FICLONE, in) == 0) {
    return ok();
  }
  bool kernel_copy = true;
  for (;;) {
    ssize_t n =
        retry_eintr([&] { return ::copy_file_range(in, nullptr, out, nullptr, 1 << 30, 0); });
    if (n < 0) {
      if (errno == EXDEV || errno == ENOSYS || errno == EINVAL || errno == EOPNOTSUPP ||
          errno == EBADF) {
        kernel_copy = false;  // the read/write loop goes on from the file offsets
        break;
      }
      return sys_error(errno, "copy", old_name, "to '" + new_name + "'");
    }
    if (n == 0) {
      return ok();
    }
  }
  if (!kernel_copy) {
    // Restart from wherever copy_file_range stopped (the offsets moved).
    char buf[128 * 1024];
    for (;;) {
      ssize_t n = retry_eintr([&] { return ::read(in, buf, sizeof buf); });
      if (n < 0) {
        return sys_error(errno, "read", old_name);
      }
      if (n == 0) {
        return ok();
      }
      TRY(write_all(out, std::string_view(buf, static_cast<size_t>(n)), new_name));
    }
  }
  return ok();
}

Status PosixFs::copy_data(int old_dir, const std::string& old_name, int new_dir,
                          const std::string& new_name) {
  int in = retry_eintr(
      [&] { return ::openat(old_dir, old_name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC); });
  if (in < 0) {
    return sys_error(errno, "open", old_name);
  }
  int out = retry_eintr([&] {
    return ::openat(new_dir, new_name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  });
  if (out < 0) {
    int e = errno;
    ::close(in);
    return sys_error(e, "create", new_name);
  }
  Status st = copy_fd(in, out, old_name, new_name);
  if (st && ::fsync(out) < 0) {
    st = sys_error(errno, "fsync", new_name);
  }
  ::close(in);
  if (::close(out) < 0 && st) {
    st = sys_error(errno, "close", new_name);
  }
  return st;
}

Status PosixFs::write_file(int dir_fd, const std::string& name, std::string_view content) {
  int fd = retry_eintr([&] {
    return ::openat(dir_fd, name.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
                    0644);
  });
  if (fd < 0) {
    return sys_error(errno, "create", name);
  }
  Status st = write_all(fd, content, name);
  if (st && ::fsync(fd) < 0) {
    st = sys_error(errno, "fsync", name);
  }
  if (::close(fd) < 0 && st) {
    st = sys_error(errno, "close", name);
  }
  return st;
}

Status PosixFs::set_metadata(int dir_fd, const std::string& name, const Metadata& meta) {
  if (has(meta.parts, MetaParts::owner) &&
      ::fchownat(dir_fd, name.c_str(), meta.uid, meta.gid, AT_SYMLINK_NOFOLLOW) < 0) {
    if (errno != EPERM) {
      return sys_error(errno, "change owner of", name);
    }
  }
  if (has(meta.parts, MetaParts::mode) && !S_ISLNK(meta.mode) &&
      ::fchmodat(dir_fd, name.c_str(), meta.mode & 07777, 0) < 0) {
    return sys_error(errno, "change mode of", name);
  }
  timespec times[2] = {meta.atime, meta.mtime};
  if (has(meta.parts, MetaParts::times) &&
      ::utimensat(dir_fd, name.c_str(), times, AT_SYMLINK_NOFOLLOW) < 0) {
    return sys_error(errno, "set times of", name);
  }
  return ok();
}

Creation PosixFs::creation() {
  // The umask cannot be read without setting it (a race with other
  // threads), except from procfs (Linux >= 4.7).
  Creation c;
  auto status = read_file(k_cwd, "/proc/self/status");
  if (!status) {
    return c;
  }
  size_t at = status->find("\nUmask:");
  if (at == std::string::npos) {
    return c;
  }
  c.umask = static_cast<mode_t>(std::strtoul(status->c_str() + at + 7, nullptr, 8)) & 0777;
  c.uid = ::geteuid();
  c.gid = ::getegid();
  c.known = true;
  return c;
}

Status PosixFs::set_xattr(int dir_fd, const std::string& name, const std::string& key,
                          const std::string& value) {
  std::string path =
      dir_fd == k_cwd ? name : "/proc/self/fd/" + std::to_string(dir_fd) + "/" + name;
  if (::lsetxattr(path.c_str(), key.c_str(), value.data(), value.size(), 0) < 0) {
    if (errno == ENOTSUP || errno == EPERM) {
      return ok();  // filesystem or privilege does not allow it: as rsync -X, skip
    }
    return sys_error(errno, "set xattr " + key + " on", name);
  }
  return ok();
}

Status PosixFs::fsync_dir(int dir_fd) {
  if (::fsync(dir_fd) < 0 && errno != EINVAL) {
    return sys_error(errno, "fsync", "");
  }
  return ok();
}

Status PosixFs::check_writable(int dir_fd, const std::string& name) {
  if (::faccessat(dir_fd, name.c_str(), W_OK | X_OK, AT_EACCESS) < 0) {
    return sys_error(errno, "access", name);
  }
  return ok();
}

Status PosixFs::sync_fs(int dir_fd) {
  if (::syncfs(dir_fd) < 0) {
    return sys_error(errno, "sync", "");
  }
  return ok();
}

Result<int> PosixFs::lock_file(const std::string& path, LockMode mode) {
  return lock_file_at(k_cwd, path, mode);
}

Result<int> PosixFs::lock_file_at(int dir_fd, const std::string& name, LockMode mode) {
  int fd = retry_eintr([&] {
    return ::openat(dir_fd, name.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC,
                    0644);
  });
  if (fd < 0) {
    return sys_error(errno, "open lock file", name);
  }
  struct stat st;
  if (::fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return sys_error(EINVAL, "open lock file", name, "(not a regular file)");
  }
  int op = LOCK_EX | (mode == LockMode::no_wait ? LOCK_NB : 0);
  if (retry_eintr([&] { return ::flock(fd, op); }) < 0) {
    int e = errno;
    ::close(fd);
    return sys_error(e, "lock", name);
  }
  return fd;
}

Status PosixFs::write_fd(int fd, std::string_view content) {
  if (::ftruncate(fd, 0) < 0 || ::lseek(fd, 0, SEEK_SET) < 0) {
    return sys_error(errno, "write", "");
  }
  return write_all(fd, content, "");
}

}  // namespace rotator::fs
