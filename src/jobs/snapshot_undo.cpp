#include "jobs/snapshot_undo.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <optional>
#include <set>

#include <fmt/format.h>

#include "jobs/snapshot_job.hpp"
#include "rotation/name.hpp"

namespace rotator::jobs {

Status AddRecorder::record(const std::string& rel, fs::FileType type, engine::AddKind kind) {
  if (kind == engine::AddKind::replaces_displaced) {
    return ok();  // replaces a displaced entry: the rollback finds it there
  }
  for (size_t slash = rel.find('/'); slash != std::string::npos; slash = rel.find('/', slash + 1)) {
    if (m_added_dirs.count(rel.substr(0, slash))) {
      return ok();
    }
  }
  std::string marker = m_added;
  TRY(ensure(marker));
  for (size_t start = 0, slash; (slash = rel.find('/', start)) != std::string::npos;
       start = slash + 1) {
    TRY(ensure(m_added + "/" + rel.substr(0, slash)));
  }
  std::string name = m_added + "/" + rel;
  auto w = m_dir.fs().symlink("added", fs::k_cwd, m_dir.p(name));
  if (!w && w.error().sys_errno != EEXIST) {
    return with_context(std::move(w.error()), "create marker", m_dir.d(name));
  }
  if (type == fs::FileType::directory) {
    m_added_dirs.insert(rel);
  }
  return ok();
}

Status AddRecorder::ensure(const std::string& name) {
  if (m_made.count(name)) {
    return ok();
  }
  TRY(m_dir.mkdir(name, SnapDir::IfExists::ok));
  m_made.insert(name);
  return ok();
}

namespace {

// `.trash/BUILD-ID/undo`: where a rollback moves what the build added. Lists
// the folder once (it may hold entries of an earlier, interrupted rollback)
// and then names entries from a counter, so a rollback of n entries makes n
// renames, not n listings of a growing folder.
class UndoFolder {
 public:
  UndoFolder(SnapDir& dir, std::string path) : m_dir(dir), m_path(std::move(path)) {}

  // Moves `name` (relative to the snapshot directory) into the folder under
  // a name not used there.
  Status take(const std::string& name) {
    if (!m_ready) {
      TRY(m_dir.mkdir(m_path, SnapDir::IfExists::ok));
      TRY_ASSIGN(auto list, m_dir.names(m_path));
      m_next = static_cast<long>(list.size());
      m_used.insert(list.begin(), list.end());
      m_ready = true;
    }
    std::string to;
    do {
      to = std::to_string(m_next++);
    } while (m_used.count(to));
    TRY(m_dir.rename(name, m_path + "/" + to));
    m_used.insert(to);
    return ok();
  }

 private:
  SnapDir& m_dir;
  std::string m_path;
  bool m_ready = false;
  long m_next = 0;
  std::set<std::string> m_used;
};

// Moves out of .rotator-staging every entry named by a marker under
// `markers` (relative path `rel`), into `undo`.
Status undo_additions(SnapDir& dir, const std::string& markers, const std::string& rel,
                      UndoFolder& undo, long* moved) {
  TRY_ASSIGN(auto list, dir.names(rel.empty() ? markers : markers + "/" + rel));
  for (const auto& n : list) {
    std::string sub = rel.empty() ? n : rel + "/" + n;
    auto st = dir.fs().lstat(fs::k_cwd, dir.p(markers + "/" + sub));
    if (!st) {
      return with_context(std::move(st.error()), "stat", dir.d(markers + "/" + sub));
    }
    if (st->is_dir()) {
      TRY(undo_additions(dir, markers, sub, undo, moved));
      continue;
    }
    std::string staged = std::string(k_snap_staging) + "/" + sub;
    TRY_ASSIGN(bool staged_there, dir.exists(staged));
    if (!staged_there) {
      continue;  // not created yet, or already moved by an earlier rollback
    }
    TRY(undo.take(staged));
    ++*moved;
  }
  return ok();
}

// Moves every entry of the sink folder `sink` (at relative path `rel`) back
// to the same place in .rotator-staging. Whatever occupies that place
// (other than a directory that holds displaced entries) was added by the
// build and goes to `undo` first.
Status restore_displaced(SnapDir& dir, const std::string& sink, const std::string& rel,
                         UndoFolder& undo, long* restored, long* removed) {
  TRY_ASSIGN(auto list, dir.names(rel.empty() ? sink : sink + "/" + rel));
  for (const auto& n : list) {
    std::string sub = rel.empty() ? n : rel + "/" + n;
    std::string from = sink + "/" + sub;
    std::string to = std::string(k_snap_staging) + "/" + sub;
    auto there = dir.fs().lstat(fs::k_cwd, dir.p(to));
    if (!there && there.error().sys_errno != ENOENT) {
      return with_context(std::move(there.error()), "stat", dir.d(to));
    }
    if (!there) {
      TRY(dir.rename(from, to));
      ++*restored;
      continue;
    }
    auto mine = dir.fs().lstat(fs::k_cwd, dir.p(from));
    if (!mine) {
      return with_context(std::move(mine.error()), "stat", dir.d(from));
    }
    if (mine->is_dir() && there->is_dir()) {
      TRY(restore_displaced(dir, sink, sub, undo, restored, removed));  // a parent the sink created
      continue;
    }
    TRY(undo.take(to));
    ++*removed;
    TRY(dir.rename(from, to));
    ++*restored;
  }
  return ok();
}

struct StagingFrom {
  std::string original;
  std::string build;  // ".trash/ID"
};

std::optional<StagingFrom> parse_staging_from(const std::string& text) {
  size_t nl = text.find('\n');
  if (nl == std::string::npos) {
    return std::nullopt;
  }
  StagingFrom f;
  f.original = text.substr(0, nl);
  size_t nl2 = text.find('\n', nl + 1);
  f.build = text.substr(nl + 1, nl2 == std::string::npos ? std::string::npos : nl2 - nl - 1);
  if (f.original.empty() || f.original.find('/') != std::string::npos || f.original[0] == '.' ||
      f.build.rfind(std::string(k_snap_trash) + "/", 0) != 0) {
    return std::nullopt;
  }
  return f;
}

}  // namespace

// Rolls back an uncommitted .rotator-staging.
Status rollback(SnapDir& dir, std::vector<std::string>& log) {
  std::optional<StagingFrom> from;
  TRY_ASSIGN(bool recycled, dir.exists(k_snap_staging_from));
  if (recycled) {
    auto text = dir.fs().read_file(fs::k_cwd, dir.p(k_snap_staging_from));
    if (!text) {
      return with_context(std::move(text.error()), "read", dir.d(k_snap_staging_from));
    }
    from = parse_staging_from(*text);
    if (!from) {
      return plain_error(
          fmt::format("'{}' is not a rotator recycle marker; remove it after checking '{}'",
                      dir.d(k_snap_staging_from), dir.d(k_snap_staging)));
    }
  }
  if (!from) {
    if (dir.dry()) {
      log.push_back(
          fmt::format("roll back {}: move it to {}", dir.d(k_snap_staging), dir.d(k_snap_trash)));
      return ok();
    }
    TRY(dir.move_to_trash(k_snap_staging));
    TRY(dir.unlink_if_present(k_snap_pending));
    TRY(dir.unlink_if_present(".rotator-pending.tmp"));
    log.push_back(fmt::format("rolled back an interrupted fresh build ({} moved to trash)",
                              dir.d(k_snap_staging)));
    return ok();
  }
  TRY_ASSIGN(bool original_taken, dir.exists(from->original));
  if (original_taken) {
    return plain_error(fmt::format("cannot roll back '{}' to '{}': that name exists",
                                   dir.d(k_snap_staging), dir.d(from->original)));
  }
  if (dir.dry()) {
    log.push_back(fmt::format("roll back {}: restore {} from {}", dir.d(k_snap_staging),
                              dir.d(from->original), dir.d(from->build)));
    return ok();
  }
  long removed = 0;
  long restored = 0;
  TRY_ASSIGN(bool has_build, dir.exists(from->build));
  if (has_build) {
    UndoFolder undo(dir, from->build + "/undo");
    TRY_ASSIGN(bool has_markers, dir.exists(from->build + "/added"));
    if (has_markers) {
      TRY(undo_additions(dir, from->build + "/added", "", undo, &removed));
    }
    TRY_ASSIGN(auto folders, dir.names(from->build));
    std::vector<std::pair<int, std::string>> sinks;
    for (const auto& f : folders) {
      if (f == "displaced") {
        sinks.emplace_back(0, f);
      } else if (f.rfind("displaced.", 0) == 0) {
        sinks.emplace_back(std::atoi(f.c_str() + 10), f);
      }
    }
    std::sort(sinks.begin(), sinks.end());
    for (const auto& s : sinks) {
      TRY(restore_displaced(dir, from->build + "/" + s.second, "", undo, &restored, &removed));
    }
  }
  TRY(dir.rename(k_snap_staging, from->original));
  TRY(dir.sync());
  TRY(dir.unlink_if_present(k_snap_staging_from));
  TRY(dir.unlink_if_present(k_snap_pending));
  TRY(dir.unlink_if_present(".rotator-pending.tmp"));
  log.push_back(
      fmt::format("rolled back an interrupted recycled build: {} restored ({} added "
                  "entries removed, {} displaced entries put back)",
                  dir.d(from->original), removed, restored));
  return ok();
}

}  // namespace rotator::jobs
