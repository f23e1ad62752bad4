// The real Fs: POSIX/Linux system calls. The only file doing file I/O
// syscalls directly (`make lint` enforces it).
#pragma once

#include "fs/fs.hpp"

namespace rotator::fs {

class PosixFs final : public Fs {
 public:
  Result<int> open_dir(int dir_fd, const std::string& name) override;
  void close(int fd) override;
  Result<std::vector<DirEntry>> list_dir(int dir_fd) override;
  Result<Stat> lstat(int dir_fd, const std::string& name) override;
  Result<std::string> readlink(int dir_fd, const std::string& name) override;
  Result<long> link_max(int dir_fd) override;
  Result<XattrSupport> probe_xattr_support(int dir_fd) override;
  Result<std::string> read_file(int dir_fd, const std::string& name) override;
  Result<int> open_read(int dir_fd, const std::string& name) override;
  Result<size_t> read_fd(int fd, char* buf, size_t size) override;
  Result<std::vector<std::pair<std::string, std::string>>> get_xattrs(
      int dir_fd, const std::string& name) override;
  Status mkdir(int dir_fd, const std::string& name, mode_t mode) override;
  Status link(int old_dir, const std::string& old_name, int new_dir,
              const std::string& new_name) override;
  Status symlink(const std::string& target, int dir_fd, const std::string& name) override;
  Status rename(int old_dir, const std::string& old_name, int new_dir, const std::string& new_name,
                RenameMode mode) override;
  Status unlink(int dir_fd, const std::string& name) override;
  Status rmdir(int dir_fd, const std::string& name) override;
  Status copy_data(int old_dir, const std::string& old_name, int new_dir,
                   const std::string& new_name) override;
  Status write_file(int dir_fd, const std::string& name, std::string_view content) override;
  Status set_metadata(int dir_fd, const std::string& name, const Metadata& meta) override;
  Status set_xattr(int dir_fd, const std::string& name, const std::string& key,
                   const std::string& value) override;
  Status fsync_dir(int dir_fd) override;
  Status sync_fs(int dir_fd) override;
  Status check_writable(int dir_fd, const std::string& name) override;
  Result<int> lock_file(const std::string& path, LockMode mode) override;
  Result<int> lock_file_at(int dir_fd, const std::string& name, LockMode mode) override;
  Status write_fd(int fd, std::string_view content) override;
  bool concurrent_safe() const override { return true; }
  Creation creation() override;
};

}  // namespace rotator::fs
