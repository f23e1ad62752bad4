#include "jobs/snapshot_undo.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <optional>
#include <set>

#include <fmt/format.h>

#include "jobs/snapshot_job.hpp"
#include "rotation/name.hpp"
#include "util/text.hpp"

namespace rotator::jobs {

namespace {

constexpr size_t k_max_name = 255;  // NAME_MAX

std::string escape_rel(const std::string& rel) {
  std::string out;
  out.reserve(rel.size());
  for (char c : rel) {
    if (c == '%') {
      out += "%25";
    } else if (c == '/') {
      out += "%2F";
    } else {
      out += c;
    }
  }
  return out;
}

// The inverse of escape_rel; nullopt for a text escape_rel cannot make.
std::optional<std::string> unescape_rel(const std::string& esc) {
  std::string out;
  for (size_t i = 0; i < esc.size(); ++i) {
    if (esc[i] != '%') {
      out += esc[i];
    } else if (esc.compare(i, 3, "%25") == 0) {
      out += '%';
      i += 2;
    } else if (esc.compare(i, 3, "%2F") == 0) {
      out += '/';
      i += 2;
    } else {
      return std::nullopt;
    }
  }
  return out;
}

}  // namespace

Status AddRecorder::record(const engine::AddInfo& add) {
  const std::string& rel = add.rel;
  if (add.kind == engine::AddKind::replaces_displaced) {
    return ok();  // replaces a displaced entry: the rollback finds it there
  }
  for (size_t slash = rel.find('/'); slash != std::string::npos; slash = rel.find('/', slash + 1)) {
    if (m_added_dirs.count(rel.substr(0, slash))) {
      return ok();
    }
  }
  if (!m_handle.valid()) {
    TRY(m_dir.mkdir(m_list, SnapDir::IfExists::fail));
    auto h = fs::open_dir(m_dir.fs(), fs::k_cwd, m_dir.p(m_list));
    if (!h) {
      return with_context(std::move(h.error()), "open directory", m_dir.d(m_list));
    }
    m_handle = std::move(*h);
  }
  std::string seq = std::to_string(m_next);
  std::string name;
  if (add.s_dir >= 0 && !add.s_name.empty() && add.type != fs::FileType::directory) {
    name = seq + "-" + escape_rel(rel);
    if (name.size() <= k_max_name) {
      Status l = m_dir.fs().link(add.s_dir, std::string(add.s_name), m_handle.fd(), name);
      if (l) {
        ++m_next;
        ++m_linked;
        return ok();
      }
      int e = l.error().sys_errno;
      if (e != EMLINK && e != EPERM && e != EXDEV) {
        return with_context(std::move(l.error()), "create undo record",
                            m_dir.d(m_list + "/" + name));
      }
      // The inode cannot take another link (or not from here): a symlink
      // record says the same.
    }
  }
  name = seq;
  Status w = rel.size() <= m_max_target ? m_dir.fs().symlink(rel, m_handle.fd(), name)
                                        : m_dir.fs().write_file(m_handle.fd(), name, rel);
  if (!w) {
    return with_context(std::move(w.error()), "create undo record", m_dir.d(m_list + "/" + name));
  }
  ++m_next;
  if (add.type == fs::FileType::directory) {
    m_added_dirs.insert(rel);
  }
  return ok();
}

Result<engine::Taken> DisplacedList::take(fs::Fs& fs, std::span<const int> t_dirs,
                                          const std::string& rel_path,
                                          std::string_view from_display,
                                          engine::Collision /*on_collision: never collides*/,
                                          std::span<const fs::Stat* const> /*t_stats*/) {
  // t_stats is not needed: the flat list creates no directory of T's shape.
  size_t slash = rel_path.rfind('/');
  std::string base = slash == std::string::npos ? rel_path : rel_path.substr(slash + 1);
  if (t_dirs.empty() || base.empty()) {
    return plain_error("internal error: sink take of '" + rel_path + "' without its directory");
  }
  if (!m_handle.valid()) {
    TRY(m_dir.mkdir(m_list, SnapDir::IfExists::fail));
    auto h = fs::open_dir(fs, fs::k_cwd, m_dir.p(m_list));
    if (!h) {
      return with_context(std::move(h.error()), "open directory", m_dir.d(m_list));
    }
    m_handle = std::move(*h);
  }
  std::string seq = std::to_string(m_next);
  std::string name = seq + "-" + escape_rel(rel_path);
  if (name.size() > k_max_name) {
    name = seq;
    std::string rec = seq + ".path";
    Status w = rel_path.size() <= k_max_link_target ? fs.symlink(rel_path, m_handle.fd(), rec)
                                                    : fs.write_file(m_handle.fd(), rec, rel_path);
    if (!w) {
      return with_context(std::move(w.error()), "create undo record", m_dir.d(m_list + "/" + rec));
    }
  }
  auto moved = fs.rename(t_dirs.back(), base, m_handle.fd(), name, fs::RenameMode::no_replace);
  if (!moved) {
    return with_context(moved.error(), "move", std::string(from_display),
                        "to '" + m_dir.d(m_list + "/" + name) + "'");
  }
  ++m_next;
  return engine::Taken::moved;
}

std::string DisplacedList::display(const std::string& rel_path) const {
  return m_dir.d(m_list + "/N-" + escape_rel(rel_path));  // N: its sequence number
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

// Moves .rotator-staging/REL, the entry one record (of either format)
// names, into `undo` and counts it in *moved; an entry not there (not
// created yet, or already moved by an earlier rollback) is skipped.
Status undo_one(SnapDir& dir, const std::string& rel, UndoFolder& undo, long* moved) {
  std::string staged = std::string(k_snap_staging) + "/" + rel;
  TRY_ASSIGN(bool staged_there, dir.exists(staged));
  if (!staged_there) {
    return ok();
  }
  TRY(undo.take(staged));
  ++*moved;
  return ok();
}

// The earlier format (a build left by an older rotator): moves out of
// .rotator-staging every entry named by a marker symlink at `markers/REL`
// (below marker directories mirroring REL's parents), into `undo`.
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
    TRY(undo_one(dir, sub, undo, moved));
  }
  return ok();
}

// A REL read from a record: relative, no empty, "." or ".." component.
bool plausible_rel(const std::string& rel) {
  if (rel.empty() || rel[0] == '/') {
    return false;
  }
  for (size_t start = 0;;) {
    size_t slash = rel.find('/', start);
    std::string part =
        rel.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
    if (part.empty() || part == "." || part == "..") {
      return false;
    }
    if (slash == std::string::npos) {
      return true;
    }
    start = slash + 1;
  }
}

// Moves out of .rotator-staging every entry recorded in the flat list
// `list` (AddRecorder), newest record first, into `undo`. One listing, one
// readlink (or read) per symlink (file) record, none for an "N-ESC" one,
// one lstat and at most one rename per recorded entry.
Status undo_recorded(SnapDir& dir, const std::string& list, UndoFolder& undo, long* moved) {
  auto h = fs::open_dir(dir.fs(), fs::k_cwd, dir.p(list));
  if (!h) {
    return with_context(std::move(h.error()), "open directory", dir.d(list));
  }
  auto entries = dir.fs().list_dir(h->fd());
  if (!entries) {
    return with_context(std::move(entries.error()), "read directory", dir.d(list));
  }
  std::vector<std::pair<unsigned long long, std::string>> records;
  records.reserve(entries->size());
  for (const auto& e : *entries) {
    std::string shown = dir.d(list + "/" + e.name);
    auto not_a_record = [&] {
      return plain_error(
          fmt::format("'{}' is not a rotator undo record; rolling back stopped", shown));
    };
    size_t digits = std::min(e.name.find_first_not_of("0123456789"), e.name.size());
    if (digits == 0 || digits > 18) {
      return not_a_record();
    }
    unsigned long long seq = std::stoull(e.name.substr(0, digits));
    fs::FileType type = e.type;
    if (type == fs::FileType::unknown) {
      auto st = dir.fs().lstat(h->fd(), e.name);
      if (!st) {
        return with_context(std::move(st.error()), "stat", shown);
      }
      type = st->type();
    }
    // AddRecorder makes no directory here: a directory named as a record is
    // not one (and a hard link to a directory cannot exist).
    if (type == fs::FileType::directory) {
      return not_a_record();
    }
    if (digits < e.name.size()) {
      // "N-ESC": a hard link to the added inode, REL in the name.
      auto rel = e.name[digits] == '-' ? unescape_rel(e.name.substr(digits + 1)) : std::nullopt;
      if (!rel) {
        return not_a_record();
      }
      if (!plausible_rel(*rel)) {
        return plain_error(
            fmt::format("'{}' is not a rotator undo record (it names '{}'); rolling "
                        "back stopped",
                        shown, escape_control(*rel)));
      }
      records.emplace_back(seq, std::move(*rel));
      continue;
    }
    if (type != fs::FileType::symlink && type != fs::FileType::regular) {
      return not_a_record();
    }
    auto rel = type == fs::FileType::symlink ? dir.fs().readlink(h->fd(), e.name)
                                             : dir.fs().read_file(h->fd(), e.name);
    if (!rel) {
      return with_context(std::move(rel.error()), "read", shown);
    }
    if (!plausible_rel(*rel)) {
      return plain_error(
          fmt::format("'{}' is not a rotator undo record (it names '{}'); rolling "
                      "back stopped",
                      shown, escape_control(*rel)));
    }
    records.emplace_back(seq, std::move(*rel));
  }
  std::sort(records.begin(), records.end(),
            [](const auto& a, const auto& b) { return a.first > b.first; });
  for (const auto& [seq, rel] : records) {
    TRY(undo_one(dir, rel, undo, moved));
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

// Puts every entry of the flat sink `list` (DisplacedList) back into
// .rotator-staging, newest first; whatever occupies its place was put there
// by the build and goes to `undo` first. One listing, at most one readlink
// (long paths only), one lstat and one or two renames per entry.
Status restore_listed(SnapDir& dir, const std::string& list, UndoFolder& undo, long* restored,
                      long* removed) {
  auto h = fs::open_dir(dir.fs(), fs::k_cwd, dir.p(list));
  if (!h) {
    return with_context(std::move(h.error()), "open directory", dir.d(list));
  }
  auto entries = dir.fs().list_dir(h->fd());
  if (!entries) {
    return with_context(std::move(entries.error()), "read directory", dir.d(list));
  }
  std::set<std::string> names;
  for (const auto& e : *entries) {
    names.insert(e.name);
  }
  struct Listed {
    unsigned long long seq;
    std::string name;
    std::string rel;
  };
  std::vector<Listed> listed;
  for (const auto& n : names) {
    std::string shown = dir.d(list + "/" + n);
    auto not_a_record = [&] {
      return plain_error(
          fmt::format("'{}' is not a rotator undo record; rolling back stopped", shown));
    };
    size_t digits = std::min(n.find_first_not_of("0123456789"), n.size());
    if (digits == 0 || digits > 18) {
      return not_a_record();
    }
    std::string tail = n.substr(digits);
    if (tail == ".path") {
      continue;  // read with its entry; alone, the entry was never moved
    }
    Listed l{std::stoull(n.substr(0, digits)), n, {}};
    if (tail.empty()) {
      std::string rec = n + ".path";
      if (!names.count(rec)) {
        return not_a_record();
      }
      auto st = dir.fs().lstat(h->fd(), rec);
      if (!st) {
        return with_context(std::move(st.error()), "stat", dir.d(list + "/" + rec));
      }
      auto rel = st->type() == fs::FileType::symlink ? dir.fs().readlink(h->fd(), rec)
                                                     : dir.fs().read_file(h->fd(), rec);
      if (!rel) {
        return with_context(std::move(rel.error()), "read", dir.d(list + "/" + rec));
      }
      l.rel = std::move(*rel);
    } else if (tail[0] == '-') {
      auto rel = unescape_rel(tail.substr(1));
      if (!rel) {
        return not_a_record();
      }
      l.rel = std::move(*rel);
    } else {
      return not_a_record();
    }
    if (!plausible_rel(l.rel)) {
      return plain_error(
          fmt::format("'{}' is not a rotator undo record (it names '{}'); rolling back stopped",
                      shown, escape_control(l.rel)));
    }
    listed.push_back(std::move(l));
  }
  std::sort(listed.begin(), listed.end(),
            [](const Listed& a, const Listed& b) { return a.seq > b.seq; });
  for (const auto& l : listed) {
    std::string from = list + "/" + l.name;
    std::string to = std::string(k_snap_staging) + "/" + l.rel;
    TRY_ASSIGN(bool occupied, dir.exists(to));
    if (occupied) {
      TRY(undo.take(to));
      ++*removed;
    }
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
    TRY_ASSIGN(bool has_list, dir.exists(from->build + "/" + k_added_list));
    if (has_list) {
      TRY(undo_recorded(dir, from->build + "/" + k_added_list, undo, &removed));
    }
    TRY_ASSIGN(bool has_markers, dir.exists(from->build + "/added"));  // the earlier format
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
    for (const auto& s : sinks) {  // the earlier format (a TreeSink per build)
      TRY(restore_displaced(dir, from->build + "/" + s.second, "", undo, &restored, &removed));
    }
    TRY_ASSIGN(bool has_listed, dir.exists(from->build + "/" + k_displaced_list));
    if (has_listed) {
      TRY(restore_listed(dir, from->build + "/" + k_displaced_list, undo, &restored, &removed));
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
