#include "fs/fs.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>

namespace rotator::fs {

const char* file_type_name(FileType type) {
  switch (type) {
    case FileType::regular:
      return "file";
    case FileType::directory:
      return "directory";
    case FileType::symlink:
      return "symlink";
    case FileType::fifo:
      return "fifo";
    case FileType::socket:
      return "socket";
    case FileType::char_device:
      return "character device";
    case FileType::block_device:
      return "block device";
    case FileType::unknown:
      break;
  }
  return "unknown";
}

std::string read_failure(const Error& e) {
  if (e.sys_errno == EISDIR) {
    return "not a regular file: a directory";
  }
  if (e.sys_errno == EINVAL && e.detail.size() > 2 && e.detail.front() == '(') {
    return e.detail.substr(1, e.detail.size() - 2);  // "not a regular file: a fifo"
  }
  if (e.sys_errno == EFBIG) {
    return "larger than 1 MiB";
  }
  return std::strerror(e.sys_errno);
}

FileType Stat::type() const {
  switch (mode & S_IFMT) {
    case S_IFREG:
      return FileType::regular;
    case S_IFDIR:
      return FileType::directory;
    case S_IFLNK:
      return FileType::symlink;
    case S_IFIFO:
      return FileType::fifo;
    case S_IFSOCK:
      return FileType::socket;
    case S_IFCHR:
      return FileType::char_device;
    case S_IFBLK:
      return FileType::block_device;
    default:
      return FileType::unknown;
  }
}

Result<DirHandle> open_dir(Fs& fs, int dir_fd, const std::string& name) {
  TRY_ASSIGN(int fd, fs.open_dir(dir_fd, name));
  return DirHandle(fs, fd);
}

Metadata metadata_of(const Stat& st) {
  return Metadata{st.mode, st.uid, st.gid, st.atime, st.mtime};
}

Result<bool> exists(Fs& fs, int dir_fd, const std::string& name) {
  auto st = fs.lstat(dir_fd, name);
  if (st) {
    return true;
  }
  if (st.error().sys_errno == ENOENT) {
    return false;
  }
  return st.error();
}

}  // namespace rotator::fs
