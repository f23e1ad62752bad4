// DirNames: an Fs wrapper for tests that knows which directory each
// descriptor is, so a test can say which directory a descriptor-only call
// (list_dir, fsync_dir, sync_fs) was made on when that call failed.
//
// Put it above a FaultFs: DirNames(FaultFs(PosixFs)). Every open_dir that
// succeeds records the descriptor's path (the name as given for k_cwd, else
// the parent descriptor's path + "/" + name; a trailing "/." is dropped).
// When list_dir, fsync_dir or sync_fs fails, failed_dir() is the path of the
// descriptor it was given ("" when the descriptor is unknown) and
// failed_op() the call. names_dir() then says whether a message names that
// directory.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "fs/fs.hpp"

namespace rotator::test {

class DirNames final : public fs::FsWrapper {
 public:
  explicit DirNames(fs::Fs& target) : FsWrapper(target) {}

  Result<int> open_dir(int d, const std::string& n) override {
    auto r = FsWrapper::open_dir(d, n);
    if (r) {
      std::string path = d == fs::k_cwd ? n : path_of(d) + "/" + n;
      while (path.size() > 2 && path.compare(path.size() - 2, 2, "/.") == 0) {
        path.resize(path.size() - 2);
      }
      m_paths[*r] = path;
    }
    return r;
  }
  void close(int fd) override {
    m_paths.erase(fd);
    FsWrapper::close(fd);
  }
  Result<std::vector<fs::DirEntry>> list_dir(int d) override {
    return seen("list_dir", d, FsWrapper::list_dir(d));
  }
  Status fsync_dir(int d) override { return seen("fsync_dir", d, FsWrapper::fsync_dir(d)); }
  Status sync_fs(int d) override { return seen("sync_fs", d, FsWrapper::sync_fs(d)); }

  const std::string& failed_dir() const { return m_failed_dir; }
  const std::string& failed_op() const { return m_failed_op; }

 private:
  std::string path_of(int fd) const {
    auto it = m_paths.find(fd);
    return it == m_paths.end() ? std::string() : it->second;
  }
  template <typename R>
  R seen(const char* op, int fd, R r) {
    if (!r) {
      m_failed_op = op;
      m_failed_dir = path_of(fd);
    }
    return r;
  }

  std::map<int, std::string> m_paths;
  std::string m_failed_dir;
  std::string m_failed_op;
};

// True when `text` quotes a path where a path belongs but the path is empty
// or a placeholder: '', '<fd>', '<directory>', '<filesystem>', '<lock file>'.
inline bool has_placeholder(std::string_view text) {
  for (const char* p : {"''", "'<fd>'", "'<directory>'", "'<filesystem>'", "'<lock file>'"}) {
    if (text.find(p) != std::string_view::npos) {
      return true;
    }
  }
  return false;
}

// True when `text` names directory `dir` (absolute, as DirNames records it)
// as rotator shows paths: quoted, either absolute or relative to `root` (the
// configured root, as SnapDir shows "snaps/.trash").
inline bool names_dir(std::string_view text, const std::string& dir, const std::string& root) {
  if (dir.empty()) {
    return false;
  }
  if (text.find("'" + dir + "'") != std::string_view::npos) {
    return true;
  }
  std::string under = root + "/";
  return dir.rfind(under, 0) == 0 &&
         text.find("'" + dir.substr(under.size()) + "'") != std::string_view::npos;
}

}  // namespace rotator::test
