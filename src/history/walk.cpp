#include "history/walk.hpp"

#include "history/catalogue.hpp"

namespace rotator::history {

namespace {

Status walk_level(fs::Fs& fs, int dir_fd, std::string& rel, const Visit& visit) {
  auto listed = fs.list_dir(dir_fd);
  if (!listed) {
    return with_context(std::move(listed.error()), "read directory", rel.empty() ? "." : rel);
  }
  size_t base = rel.size();
  for (auto& e : *listed) {
    rel.resize(base);
    if (!rel.empty()) {
      rel += '/';
    }
    rel += e.name;
    if (e.type == fs::FileType::unknown) {
      auto st = fs.lstat(dir_fd, e.name);
      if (!st) {
        if (st.error().sys_errno == ENOENT) {
          continue;  // gone since the listing
        }
        return with_context(std::move(st.error()), "stat", rel);
      }
      e.type = st->type();
    }
    TRY_ASSIGN(Descend d, visit(rel, e, dir_fd));
    if (d == Descend::yes && e.type == fs::FileType::directory) {
      auto child = fs::open_dir(fs, dir_fd, e.name);
      if (!child) {
        return with_context(std::move(child.error()), "open directory", rel);
      }
      TRY(walk_level(fs, child->fd(), rel, visit));
    }
  }
  rel.resize(base);
  return ok();
}

}  // namespace

Status walk_tree(fs::Fs& fs, int dir_fd, const std::string& prefix, const Visit& visit) {
  std::string rel = prefix;
  return walk_level(fs, dir_fd, rel, visit);
}

Status walk_path(fs::Fs& fs, const std::string& path, const std::string& prefix,
                 const Visit& visit) {
  auto dir = fs::open_dir(fs, fs::k_cwd, path);
  if (!dir) {
    return with_context(std::move(dir.error()), "open directory", ".");
  }
  return walk_tree(fs, dir->fd(), prefix, visit);
}

Error below_start(Error e, const std::string& start) {
  std::string op = e.op;
  std::string detail = e.detail;
  std::string path = join(start, e.path);
  return with_context(std::move(e), op, std::move(path), std::move(detail));
}

}  // namespace rotator::history
