#include "history/diff.hpp"

#include <algorithm>
#include <vector>

#include <fmt/format.h>

#include "history/catalogue.hpp"

namespace rotator::history {

namespace {

using fs::DirEntry;
using fs::FileType;

std::string child(const std::string& rel, const std::string& name) {
  return rel.empty() ? name : rel + "/" + name;
}

// Messages name an entry by its path in the tree it was read from: `a_path`
// or `b_path` (the compared directories, at relative path `top`) joined with
// the rest of its relative path.
class Differ {
 public:
  enum class Side { a, b };
  Differ(fs::Fs& fs, const std::function<void(char, const std::string&, bool)>& emit,
         std::string a_path, std::string b_path, std::string top)
      : m_fs(fs),
        m_emit(emit),
        m_a_path(std::move(a_path)),
        m_b_path(std::move(b_path)),
        m_top(std::move(top)) {}

  Status both(int a_fd, int b_fd, const std::string& rel) {
    TRY_ASSIGN(auto a, list(Side::a, a_fd, rel));
    TRY_ASSIGN(auto b, list(Side::b, b_fd, rel));
    size_t i = 0, j = 0;
    while (i < a.size() || j < b.size()) {
      if (j >= b.size() || (i < a.size() && a[i].name < b[j].name)) {
        TRY(one_side('-', a_fd, a[i], child(rel, a[i].name)));
        ++i;
      } else if (i >= a.size() || b[j].name < a[i].name) {
        TRY(one_side('+', b_fd, b[j], child(rel, b[j].name)));
        ++j;
      } else {
        TRY(pair(a_fd, a[i], b_fd, b[j], child(rel, a[i].name)));
        ++i;
        ++j;
      }
    }
    return ok();
  }

  DiffSummary summary;

 private:
  // `rel` (relative to the place roots) as a path in side `side`.
  std::string at(Side side, const std::string& rel) const {
    std::string below = rel.substr(std::min(rel.size(), m_top.size()));
    if (!below.empty() && below.front() == '/') {
      below.erase(0, 1);
    }
    return join(side == Side::a ? m_a_path : m_b_path, below);
  }
  static Side side_of(char code) { return code == '-' ? Side::a : Side::b; }

  Result<std::vector<DirEntry>> list(Side side, int fd, const std::string& rel) {
    auto listed = m_fs.list_dir(fd);
    if (!listed) {
      return with_context(std::move(listed.error()), "read directory", at(side, rel));
    }
    for (auto& e : *listed) {
      if (e.type == FileType::unknown) {
        auto st = m_fs.lstat(fd, e.name);
        if (st) {
          e.type = st->type();
        }
      }
    }
    std::sort(listed->begin(), listed->end(),
              [](const DirEntry& x, const DirEntry& y) { return x.name < y.name; });
    return std::move(*listed);
  }

  long long size_of(int fd, const std::string& name) {
    auto st = m_fs.lstat(fd, name);
    return st && !st->is_dir() ? static_cast<long long>(st->size) : 0;
  }

  // `e` (in directory `fd`) exists on one side only: it and everything below.
  Status one_side(char code, int fd, const DirEntry& e, const std::string& rel) {
    bool dir = e.type == FileType::directory;
    m_emit(code, rel, dir);
    long long bytes = dir ? 0 : size_of(fd, e.name);
    if (code == '+') {
      ++summary.added;
      summary.bytes_added += bytes;
    } else {
      ++summary.deleted;
      summary.bytes_deleted += bytes;
    }
    if (dir) {
      TRY(below(code, fd, e.name, rel));
    }
    return ok();
  }

  Status below(char code, int fd, const std::string& name, const std::string& rel) {
    auto sub = fs::open_dir(m_fs, fd, name);
    if (!sub) {
      return with_context(std::move(sub.error()), "open directory", at(side_of(code), rel));
    }
    TRY_ASSIGN(auto entries, list(side_of(code), sub->fd(), rel));
    for (const auto& c : entries) {
      TRY(one_side(code, sub->fd(), c, child(rel, c.name)));
    }
    return ok();
  }

  Status pair(int a_fd, const DirEntry& a, int b_fd, const DirEntry& b, const std::string& rel) {
    if (a.type != b.type) {
      m_emit('T', rel, b.type == FileType::directory);
      ++summary.type_changed;
      summary.bytes_changed += b.type == FileType::directory ? 0 : size_of(b_fd, b.name);
      if (a.type == FileType::directory) {
        TRY(below('-', a_fd, a.name, rel));
      }
      if (b.type == FileType::directory) {
        TRY(below('+', b_fd, b.name, rel));
      }
      return ok();
    }
    if (a.type == FileType::directory) {
      auto sa = m_fs.lstat(a_fd, a.name);
      auto sb = m_fs.lstat(b_fd, b.name);
      if (!sa) {
        return with_context(std::move(sa.error()), "stat", at(Side::a, rel));
      }
      if (!sb) {
        return with_context(std::move(sb.error()), "stat", at(Side::b, rel));
      }
      if (sa->mode != sb->mode || sa->uid != sb->uid || sa->gid != sb->gid) {
        m_emit('m', rel, true);
        ++summary.metadata;
      }
      auto da = fs::open_dir(m_fs, a_fd, a.name);
      if (!da) {
        return with_context(std::move(da.error()), "open directory", at(Side::a, rel));
      }
      auto db = fs::open_dir(m_fs, b_fd, b.name);
      if (!db) {
        return with_context(std::move(db.error()), "open directory", at(Side::b, rel));
      }
      return both(da->fd(), db->fd(), rel);
    }
    if (a.ino == b.ino) {
      return ok();  // the same inode is the same version
    }
    if (a.type == FileType::symlink) {
      auto ta = m_fs.readlink(a_fd, a.name);
      auto tb = m_fs.readlink(b_fd, b.name);
      if (ta && tb && *ta == *tb) {
        auto sa = m_fs.lstat(a_fd, a.name);
        auto sb = m_fs.lstat(b_fd, b.name);
        if (sa && sb &&
            (sa->mode != sb->mode || sa->uid != sb->uid || sa->gid != sb->gid ||
             sa->mtime.tv_sec != sb->mtime.tv_sec || sa->mtime.tv_nsec != sb->mtime.tv_nsec)) {
          m_emit('m', rel, false);
          ++summary.metadata;
        }
        return ok();
      }
    }
    m_emit('M', rel, false);
    ++summary.changed;
    summary.bytes_changed += size_of(b_fd, b.name);
    return ok();
  }

  fs::Fs& m_fs;
  const std::function<void(char, const std::string&, bool)>& m_emit;
  std::string m_a_path;
  std::string m_b_path;
  std::string m_top;
};

}  // namespace

Result<DiffSummary> diff_trees(fs::Fs& fs, const std::string& a_path, const std::string& b_path,
                               const std::string& rel,
                               const std::function<void(char, const std::string&, bool)>& emit) {
  auto a = fs::open_dir(fs, fs::k_cwd, a_path);
  if (!a) {
    return with_context(std::move(a.error()), "open directory", a_path);
  }
  auto b = fs::open_dir(fs, fs::k_cwd, b_path);
  if (!b) {
    return with_context(std::move(b.error()), "open directory", b_path);
  }
  Differ d(fs, emit, a_path, b_path, rel);
  TRY(d.both(a->fd(), b->fd(), rel));
  return d.summary;
}

std::string format_diff_summary(const DiffSummary& s) {
  return fmt::format(
      "{} added ({} bytes), {} deleted ({} bytes), {} changed ({} bytes), {} type changes, {} "
      "metadata only",
      s.added, s.bytes_added, s.deleted, s.bytes_deleted, s.changed, s.bytes_changed,
      s.type_changed, s.metadata);
}

}  // namespace rotator::history
