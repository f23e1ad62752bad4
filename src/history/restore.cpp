#include "history/restore.hpp"

#include <cerrno>
#include <map>
#include <utility>

#include <fmt/format.h>

#include "fs/tree.hpp"
#include "history/walk.hpp"

namespace rotator::history {

namespace {

// The place to copy row `v` from: the newest clone/backup/snapshot place at
// or before `at` (any time without `at`), else the newest such place, else
// the newest holding folder.
const Place* pick_place(const Version& v, std::optional<Instant> at) {
  const Place* live_at = nullptr;
  const Place* live = nullptr;
  const Place* held = nullptr;
  for (const Place* p : v.places) {  // oldest first
    if (p->kind == PlaceKind::holding) {
      held = p;
      continue;
    }
    live = p;
    if (!at || p->time <= *at) {
      live_at = p;
    }
  }
  return live_at ? live_at : live ? live : held;
}

std::string dir_of(const std::string& path) {
  auto slash = path.rfind('/');
  if (slash == std::string::npos) {
    return ".";
  }
  return slash == 0 ? "/" : path.substr(0, slash);
}

std::string base_of(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// False only when `path` is absent (ENOENT); any other lstat error is
// returned, so the restore stops instead of guessing.
Result<bool> present(fs::Fs& fs, const std::string& path) {
  auto there = fs::exists(fs, fs::k_cwd, path);
  if (!there) {
    return with_context(std::move(there.error()), "stat", path);
  }
  return *there;
}

// True when directory `dir` (followed) is `target` or below it.
Result<bool> is_within(fs::Fs& fs, const std::string& dir, const fs::Stat& target) {
  std::string cur = dir;
  for (int i = 0; i < 4096; ++i) {
    auto st = fs.lstat(fs::k_cwd, cur + "/.");
    if (!st) {
      return with_context(std::move(st.error()), "stat", dir);
    }
    if (st->dev == target.dev && st->ino == target.ino) {
      return true;
    }
    auto up = fs.lstat(fs::k_cwd, cur + "/..");
    if (!up) {
      return with_context(std::move(up.error()), "stat", dir);
    }
    if (up->dev == st->dev && up->ino == st->ino) {
      return false;  // reached /
    }
    cur += "/..";
  }
  return false;
}

class Copier {
 public:
  // Copies (below) `source` to `tmp_abs`; messages name both by their paths.
  Copier(fs::Fs& fs, std::string source, std::string tmp_abs)
      : m_fs(fs), m_source(std::move(source)), m_tmp(std::move(tmp_abs)) {}

  Status copy(int src_dir, const std::string& src_name, int dst_dir, const std::string& dst_name,
              const std::string& rel) {
    auto st = m_fs.lstat(src_dir, src_name);
    if (!st) {
      return with_context(std::move(st.error()), "stat", src(rel));
    }
    switch (st->type()) {
      case fs::FileType::regular: {
        if (st->nlink > 1) {
          auto key = std::make_pair(st->dev, st->ino);
          if (auto it = m_links.find(key); it != m_links.end()) {
            auto made = m_fs.link(fs::k_cwd, join(m_tmp, it->second), dst_dir, dst_name);
            if (!made) {
              return with_context(std::move(made.error()), "link", dst(rel));
            }
            ++m_stats.links;
            return ok();
          }
          m_links.emplace(key, rel);
        }
        auto copied = m_fs.copy_data(src_dir, src_name, dst_dir, dst_name);
        if (!copied) {
          return with_context(std::move(copied.error()), "copy", src(rel), "to '" + dst(rel) + "'");
        }
        ++m_stats.files;
        m_stats.bytes += st->size;
        return finish(src_dir, src_name, dst_dir, dst_name, *st, rel);
      }
      case fs::FileType::symlink: {
        auto target = m_fs.readlink(src_dir, src_name);
        if (!target) {
          return with_context(std::move(target.error()), "read symlink", src(rel));
        }
        auto made = m_fs.symlink(*target, dst_dir, dst_name);
        if (!made) {
          return with_context(std::move(made.error()), "create symlink", dst(rel));
        }
        ++m_stats.symlinks;
        return finish(src_dir, src_name, dst_dir, dst_name, *st, rel);
      }
      case fs::FileType::directory: {
        auto made = m_fs.mkdir(dst_dir, dst_name, 0700);
        if (!made) {
          return with_context(std::move(made.error()), "create directory", dst(rel));
        }
        ++m_stats.dirs;
        auto s = fs::open_dir(m_fs, src_dir, src_name);
        if (!s) {
          return with_context(std::move(s.error()), "open directory", src(rel));
        }
        auto d = fs::open_dir(m_fs, dst_dir, dst_name);
        if (!d) {
          return with_context(std::move(d.error()), "open directory", dst(rel));
        }
        auto list = m_fs.list_dir(s->fd());
        if (!list) {
          return with_context(std::move(list.error()), "read directory", src(rel));
        }
        for (const auto& e : *list) {
          TRY(copy(s->fd(), e.name, d->fd(), e.name, (rel.empty() ? e.name : rel + "/" + e.name)));
        }
        return finish(src_dir, src_name, dst_dir, dst_name, *st, rel);
      }
      default:
        ++m_stats.skipped;
        return ok();
    }
  }

  RestoreStats& stats() { return m_stats; }

 private:
  // xattrs first (a read-only mode would forbid them), then owner, mode, times.
  Status finish(int src_dir, const std::string& src_name, int dst_dir, const std::string& dst_name,
                const fs::Stat& st, const std::string& rel) {
    if (st.type() != fs::FileType::symlink) {
      auto xattrs = m_fs.get_xattrs(src_dir, src_name);
      if (!xattrs) {
        return with_context(std::move(xattrs.error()), "read xattrs of", src(rel));
      }
      for (const auto& [k, v] : *xattrs) {
        TRY_CONTEXT(m_fs.set_xattr(dst_dir, dst_name, k, v), "set xattr " + k + " on", dst(rel));
      }
    }
    auto set = m_fs.set_metadata(dst_dir, dst_name, fs::metadata_of(st));
    if (!set) {
      return with_context(std::move(set.error()), "set metadata of", dst(rel));
    }
    return ok();
  }

  // `rel` (relative to the source, "" for it) in the source and in the copy.
  std::string src(const std::string& rel) const { return join(m_source, rel); }
  std::string dst(const std::string& rel) const { return join(m_tmp, rel); }

  fs::Fs& m_fs;
  std::string m_source;
  std::string m_tmp;
  std::map<std::pair<dev_t, ino_t>, std::string> m_links;
  RestoreStats m_stats;
};

}  // namespace

Result<RestoreChoice> choose_restore(const FileVersions& v, const RestoreRequest& req,
                                     const Zone& zone) {
  if (v.versions.empty()) {
    return plain_error(
        fmt::format("'{}' is not in any place (never seen; try `rotator find`)", show_path(v.rel)));
  }
  int chosen = -1;
  if (req.version) {
    if (*req.version < 1 || *req.version > static_cast<int>(v.versions.size())) {
      return plain_error(
          fmt::format("'{}' has no version {} (versions 1..{}; see `rotator "
                      "versions`)",
                      show_path(v.rel), *req.version, v.versions.size()));
    }
    chosen = *req.version - 1;
    if (v.versions[chosen].type == fs::FileType::directory) {
      return plain_error(fmt::format(
          "'{}' is a directory in version {}: a directory has no versions of its own; use --at "
          "WHEN",
          show_path(v.rel), *req.version));
    }
  } else if (req.at) {
    Instant at = *req.at;
    for (int i = 0; i < static_cast<int>(v.versions.size()); ++i) {
      if (v.versions[i].first_seen <= at) {
        chosen = i;  // sorted by first_seen: the last such row replaced the others
      }
    }
    if (chosen < 0) {
      return plain_error(fmt::format("{} is before any history of '{}' (first seen {})",
                                     show_time(at, zone), show_path(v.rel),
                                     show_time(v.versions.front().first_seen, zone)));
    }
    const Version& ver = v.versions[chosen];
    // The last sighting in a clone, backup or snapshot (a holding folder's
    // time only bounds when the version stopped being current).
    const Place* last_live = nullptr;
    for (const Place* p : ver.places) {
      if (p->kind != PlaceKind::holding) {
        last_live = p;
      }
    }
    if (!ver.current && last_live && last_live->time < at) {
      for (const Place* p : v.absent) {
        if (p->kind != PlaceKind::holding && p->time > last_live->time && p->time <= at) {
          return plain_error(
              fmt::format("'{}' did not exist at {}: last seen {} in {}, absent from {} ({})",
                          show_path(v.rel), show_time(at, zone), show_time(last_live->time, zone),
                          last_live->name, p->name, show_time(p->time, zone)));
        }
      }
    }
  } else {
    chosen = 0;
    for (int i = 0; i < static_cast<int>(v.versions.size()); ++i) {
      const Version& a = v.versions[i];
      const Version& b = v.versions[chosen];
      if (a.current || (!b.current && a.last_seen >= b.last_seen)) {
        chosen = i;
      }
    }
  }
  const Version& ver = v.versions[chosen];
  RestoreChoice c;
  c.version = chosen + 1;
  c.type = ver.type;
  c.place = pick_place(ver, req.at);
  c.source = join(c.place->path, v.rel);
  return c;
}

Result<RestoreStats> survey_restore(fs::Fs& fs, const std::string& source) {
  RestoreStats s;
  TRY_ASSIGN(auto st, fs.lstat(fs::k_cwd, source));
  std::map<std::pair<dev_t, ino_t>, int> seen;
  auto count = [&](const fs::Stat& e) {
    switch (e.type()) {
      case fs::FileType::regular:
        if (e.nlink > 1 && !seen.emplace(std::make_pair(e.dev, e.ino), 1).second) {
          ++s.links;
        } else {
          ++s.files;
          s.bytes += e.size;
        }
        break;
      case fs::FileType::symlink:
        ++s.symlinks;
        break;
      case fs::FileType::directory:
        ++s.dirs;
        break;
      default:
        ++s.skipped;
    }
  };
  count(st);
  if (st.is_dir()) {
    auto walked =
        walk_path(fs, source, "", [&](const std::string& rel, const fs::DirEntry& e, int parent) {
          auto est = fs.lstat(parent, e.name);
          if (!est) {
            return Result<Descend>(with_context(std::move(est.error()), "stat", rel));
          }
          count(*est);
          return Result<Descend>(Descend::yes);
        });
    if (!walked) {
      return below_start(std::move(walked.error()), source);
    }
  }
  return s;
}

Status check_destination(fs::Fs& fs, const std::string& dest, const std::string& root,
                         Force force) {
  if (dest.empty()) {
    return plain_error("empty destination");
  }
  std::string parent = dir_of(dest);
  auto pst = fs.lstat(fs::k_cwd, parent + "/.");
  if (!pst || !pst->is_dir()) {
    return plain_error(
        fmt::format("cannot restore to '{}': its directory '{}' does not exist", dest, parent));
  }
  auto rst = fs.lstat(fs::k_cwd, root + "/.");
  if (rst) {
    TRY_ASSIGN(bool inside, is_within(fs, parent, *rst));
    auto dst = fs.lstat(fs::k_cwd, dest);
    if (!inside && dst && dst->is_dir()) {
      // DEST itself: root or a directory holding root.
      TRY_ASSIGN(bool holds, is_within(fs, root, *dst));
      inside = holds;
    }
    if (inside) {
      return plain_error(fmt::format(
          "refusing to restore to '{}': it is inside rotator's root '{}' (the next run would "
          "overwrite or archive it); use --to with a path outside it",
          dest, root));
    }
  }
  TRY_ASSIGN(bool dest_there, present(fs, dest));
  if (dest_there && force == Force::no) {
    return plain_error(fmt::format(
        "'{}' exists; rotator never overwrites (use --force to rename it to '{}.~N~' first, or "
        "--to another name)",
        dest, dest));
  }
  return ok();
}

Result<RestoreStats> execute_restore(fs::Fs& fs, const std::string& source, const std::string& dest,
                                     const std::string& root, Force force) {
  TRY(check_destination(fs, dest, root, force));
  std::string parent = dir_of(dest);
  std::string base = base_of(dest);
  std::string tmp = "." + base + ".rotator-restore";
  for (int k = 1;; ++k) {
    TRY_ASSIGN(bool taken, present(fs, parent + "/" + tmp));
    if (!taken) {
      break;
    }
    tmp = fmt::format(".{}.rotator-restore.{}", base, k);
  }
  std::string tmp_abs = parent + "/" + tmp;
  auto pdir = fs::open_dir(fs, fs::k_cwd, parent);
  if (!pdir) {
    return with_context(std::move(pdir.error()), "open directory", parent);
  }
  auto sdir = fs::open_dir(fs, fs::k_cwd, dir_of(source));
  if (!sdir) {
    return with_context(std::move(sdir.error()), "open directory", dir_of(source));
  }
  Copier copier(fs, source, tmp_abs);
  auto copied = copier.copy(sdir->fd(), base_of(source), pdir->fd(), tmp, "");
  auto undo = [&](const Error& e) -> Error {
    // Take back what this restore wrote; DEST is untouched.
    (void)fs::remove_tree(fs, pdir->fd(), tmp, tmp_abs);
    return plain_error(
        fmt::format("restore to '{}' failed, nothing was written: {}", dest, e.message()));
  };
  if (!copied) {
    return undo(copied.error());
  }
  RestoreStats stats = copier.stats();
  auto dest_now = present(fs, dest);
  if (!dest_now) {
    return undo(dest_now.error());
  }
  if (*dest_now) {
    // Force::yes (checked above): keep the existing DEST as DEST.~N~.
    std::string backup;
    for (int n = 1;; ++n) {
      backup = fmt::format("{}.~{}~", dest, n);
      auto taken = present(fs, backup);
      if (!taken) {
        return undo(taken.error());
      }
      if (!*taken) {
        break;
      }
    }
    auto moved = fs.rename(fs::k_cwd, dest, fs::k_cwd, backup, fs::RenameMode::no_replace);
    if (!moved) {
      return undo(with_context(std::move(moved.error()), "rename", dest, "to '" + backup + "'"));
    }
    stats.backup_name = backup;
  }
  auto done = fs.rename(pdir->fd(), tmp, fs::k_cwd, dest, fs::RenameMode::no_replace);
  if (!done) {
    if (!stats.backup_name.empty()) {
      (void)fs.rename(fs::k_cwd, stats.backup_name, fs::k_cwd, dest, fs::RenameMode::no_replace);
    }
    return undo(with_context(std::move(done.error()), "rename", tmp_abs, "to '" + dest + "'"));
  }
  if (auto synced = fs.fsync_dir(pdir->fd()); !synced) {
    return plain_error(fmt::format(
        "restored to '{}', but syncing its directory failed: {}", dest,
        with_context(std::move(synced.error()), "sync the directory of", dest).message()));
  }
  return stats;
}

}  // namespace rotator::history
