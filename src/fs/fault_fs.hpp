// FaultFs: an Fs wrapper for tests that records, fails or "crashes".
//
// Calls are counted per category (mutating calls by default: mkdir, link,
// symlink, rename, unlink, rmdir, copy_data, write_file, set_metadata,
// set_xattr, fsync_dir; with Count::all, reads too). close() is never counted
// or refused.
//
//   Mode::record  pass everything through, append mutating calls to journal().
//   Mode::fail    the k-th counted call returns Error{errno} without touching
//                 the disk; all others pass through.
//   Mode::crash   calls 1..k pass; every counted call after the k-th, and every
//                 read after it, is refused with EIO without touching the disk:
//                 the process "died" between two system calls. The test then
//                 reopens the tree with a fresh PosixFs and reruns.
//
// Crash mode does not model the loss of unsynced data.
#pragma once

#include <string>
#include <vector>

#include "fs/fs.hpp"

namespace rotator::fs {

class FaultFs final : public FsWrapper {
 public:
  enum class Mode { record, fail, crash };
  enum class Count { mutating, all };

  explicit FaultFs(Fs& target) : FsWrapper(target) {}

  void record() { m_mode = Mode::record; }
  // Fail the k-th (1-based) counted call with `err`; optionally only calls of
  // operation `only_op` ("link", "rename", ...) are counted.
  void fail_at(long k, int err, std::string only_op = {}) {
    m_mode = Mode::fail;
    m_k = k;
    m_errno = err;
    m_only_op = std::move(only_op);
  }
  void crash_after(long k) {
    m_mode = Mode::crash;
    m_k = k;
  }
  void set_count(Count c) { m_count = c; }

  long calls() const { return m_calls; }           // counted calls seen so far
  bool triggered() const { return m_triggered; }   // the fault has fired
  const std::vector<std::string>& journal() const { return m_journal; }

  Result<int> open_dir(int d, const std::string& n) override;
  Result<std::vector<DirEntry>> list_dir(int d) override;
  Result<Stat> lstat(int d, const std::string& n) override;
  Result<std::string> readlink(int d, const std::string& n) override;
  Result<std::string> read_file(int d, const std::string& n) override;
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
  Result<int> lock_file(const std::string& p, LockMode m) override;
  Status write_fd(int fd, std::string_view c) override;

 private:
  // Returns an Error when this call must not reach the disk.
  bool refuse(const char* op, bool mutating, const std::string& what, int* err);

  Mode m_mode = Mode::record;
  Count m_count = Count::mutating;
  long m_k = 0;
  int m_errno = 0;
  std::string m_only_op;
  long m_calls = 0;
  bool m_triggered = false;
  std::vector<std::string> m_journal;
};

}  // namespace rotator::fs
