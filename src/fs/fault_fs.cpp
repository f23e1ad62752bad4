#include "fs/fault_fs.hpp"

#include <cerrno>

namespace rotator::fs {

bool FaultFs::refuse(const char* op, bool mutating, const std::string& what, int* err) {
  if (mutating) {
    m_journal.push_back(std::string(op) + " " + what);
  }
  if (m_mode == Mode::crash && m_triggered) {
    *err = EIO;
    return true;
  }
  bool counted = (mutating || m_count == Count::all) && (m_only_op.empty() || m_only_op == op);
  if (!counted) {
    return false;
  }
  ++m_calls;
  if (m_mode == Mode::fail && m_calls == m_k) {
    m_triggered = true;
    *err = m_errno;
    return true;
  }
  if (m_mode == Mode::crash && m_calls >= m_k) {
    // The k-th call itself completes; everything after it is refused.
    m_triggered = true;
    return false;
  }
  return false;
}

#define FAULT_GUARD(op, mutating, what)      \
  do {                                               \
    int fault_err_ = 0;                              \
    if (refuse(op, mutating, what, &fault_err_)) {   \
      return sys_error(fault_err_, op, what);        \
    }                                                \
  } while (false)

Result<int> FaultFs::open_dir(int d, const std::string& n) {
  FAULT_GUARD("open_dir", false, n);
  return FsWrapper::open_dir(d, n);
}
Result<std::vector<DirEntry>> FaultFs::list_dir(int d) {
  FAULT_GUARD("list_dir", false, std::string("<fd>"));
  return FsWrapper::list_dir(d);
}
Result<Stat> FaultFs::lstat(int d, const std::string& n) {
  FAULT_GUARD("lstat", false, n);
  return FsWrapper::lstat(d, n);
}
Result<std::string> FaultFs::readlink(int d, const std::string& n) {
  FAULT_GUARD("readlink", false, n);
  return FsWrapper::readlink(d, n);
}
Result<std::string> FaultFs::read_file(int d, const std::string& n) {
  FAULT_GUARD("read_file", false, n);
  return FsWrapper::read_file(d, n);
}
Result<std::vector<std::pair<std::string, std::string>>> FaultFs::get_xattrs(
    int d, const std::string& n) {
  FAULT_GUARD("get_xattrs", false, n);
  return FsWrapper::get_xattrs(d, n);
}
Status FaultFs::mkdir(int d, const std::string& n, mode_t m) {
  FAULT_GUARD("mkdir", true, n);
  return FsWrapper::mkdir(d, n, m);
}
Status FaultFs::link(int od, const std::string& on, int nd, const std::string& nn) {
  FAULT_GUARD("link", true, on + " -> " + nn);
  return FsWrapper::link(od, on, nd, nn);
}
Status FaultFs::symlink(const std::string& t, int d, const std::string& n) {
  FAULT_GUARD("symlink", true, n);
  return FsWrapper::symlink(t, d, n);
}
Status FaultFs::rename(int od, const std::string& on, int nd, const std::string& nn,
                       RenameMode m) {
  FAULT_GUARD("rename", true, on + " -> " + nn);
  return FsWrapper::rename(od, on, nd, nn, m);
}
Status FaultFs::unlink(int d, const std::string& n) {
  FAULT_GUARD("unlink", true, n);
  return FsWrapper::unlink(d, n);
}
Status FaultFs::rmdir(int d, const std::string& n) {
  FAULT_GUARD("rmdir", true, n);
  return FsWrapper::rmdir(d, n);
}
Status FaultFs::copy_data(int od, const std::string& on, int nd, const std::string& nn) {
  FAULT_GUARD("copy_data", true, on + " -> " + nn);
  return FsWrapper::copy_data(od, on, nd, nn);
}
Status FaultFs::write_file(int d, const std::string& n, std::string_view c) {
  FAULT_GUARD("write_file", true, n);
  return FsWrapper::write_file(d, n, c);
}
Status FaultFs::set_metadata(int d, const std::string& n, const Metadata& m) {
  FAULT_GUARD("set_metadata", true, n);
  return FsWrapper::set_metadata(d, n, m);
}
Status FaultFs::set_xattr(int d, const std::string& n, const std::string& k,
                          const std::string& v) {
  FAULT_GUARD("set_xattr", true, n);
  return FsWrapper::set_xattr(d, n, k, v);
}
Status FaultFs::fsync_dir(int d) {
  FAULT_GUARD("fsync_dir", true, std::string("<fd>"));
  return FsWrapper::fsync_dir(d);
}
Result<int> FaultFs::lock_file(const std::string& p, LockMode m) {
  return FsWrapper::lock_file(p, m);
}
Status FaultFs::write_fd(int fd, std::string_view c) {
  return FsWrapper::write_fd(fd, c);
}

#undef FAULT_GUARD

}  // namespace rotator::fs
