#include "fs/tree.hpp"

#include <cerrno>

namespace rotator::fs {

namespace {

Status remove_contents(Fs& fs, int dir_fd, const std::string& display, RemoveStats* stats) {
  TRY_ASSIGN(auto entries, fs.list_dir(dir_fd));
  for (const auto& e : entries) {
    FileType t = e.type;
    if (t == FileType::unknown) {
      TRY_ASSIGN(auto st, fs.lstat(dir_fd, e.name));
      t = st.type();
    }
    std::string sub = display + "/" + e.name;
    if (t == FileType::directory) {
      TRY_ASSIGN(auto child, open_dir(fs, dir_fd, e.name));
      TRY(remove_contents(fs, child.fd(), sub, stats));
      child.reset();
      auto r = fs.rmdir(dir_fd, e.name);
      if (!r) {
        return sys_error(r.error().sys_errno, "remove directory", sub);
      }
      if (stats) ++stats->dirs;
    } else {
      auto r = fs.unlink(dir_fd, e.name);
      if (!r && r.error().sys_errno != ENOENT) {
        return sys_error(r.error().sys_errno, "remove", sub);
      }
      if (stats) ++stats->files;
    }
  }
  return ok();
}

}  // namespace

Status remove_tree(Fs& fs, int parent_fd, const std::string& name, const std::string& display,
                   RemoveStats* stats) {
  auto st = fs.lstat(parent_fd, name);
  if (!st) {
    if (st.error().sys_errno == ENOENT) {
      return ok();
    }
    return sys_error(st.error().sys_errno, "stat", display);
  }
  if (!st->is_dir()) {
    auto r = fs.unlink(parent_fd, name);
    if (!r) {
      return sys_error(r.error().sys_errno, "remove", display);
    }
    if (stats) ++stats->files;
    return ok();
  }
  {
    auto dir = open_dir(fs, parent_fd, name);
    if (!dir) {
      return sys_error(dir.error().sys_errno, "open directory", display);
    }
    TRY(remove_contents(fs, dir->fd(), display, stats));
  }
  auto r = fs.rmdir(parent_fd, name);
  if (!r) {
    return sys_error(r.error().sys_errno, "remove directory", display);
  }
  if (stats) ++stats->dirs;
  return ok();
}

}  // namespace rotator::fs
