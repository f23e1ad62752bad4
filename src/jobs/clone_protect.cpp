#include "jobs/clone_protect.hpp"
#include "util/text.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <map>
#include <set>
#include <utility>

#include <fmt/format.h>

#include "engine/mirror.hpp"

namespace rotator::jobs {

namespace {

bool is_attr_char(char c) {
  return c == '.' || c == ' ' || c == '+' || c == '?' || (c >= 'a' && c <= 'z') ||
         (c >= 'A' && c <= 'Z');
}

bool missing(const Error& e) { return e.sys_errno == ENOENT || e.sys_errno == ENOTDIR; }

struct Work {
  std::string dir;  // relative to the clone
  std::string name;
  std::string tmp;  // temporary name in `dir`
  fs::Stat st;      // before anything was read (the atime to restore)
};

}  // namespace

Result<int> DirCache::get(const std::string& rel) {
  std::vector<std::string_view> comps;
  for (size_t pos = 0; pos <= rel.size();) {
    size_t slash = std::min(rel.find('/', pos), rel.size());
    if (slash > pos) {
      comps.push_back(std::string_view(rel).substr(pos, slash - pos));
    }
    pos = slash + 1;
  }
  if (comps.empty()) {
    return m_root;
  }
  if (comps.size() > m_max_depth && m_deep.valid() && rel == m_deep_rel) {
    return m_deep.fd();
  }
  m_deep.reset();
  size_t kept = std::min(comps.size(), m_max_depth);
  size_t common = 0;
  while (common < m_open.size() && common < kept && m_open[common].name == comps[common]) {
    ++common;
  }
  m_open.erase(m_open.begin() + static_cast<std::ptrdiff_t>(common), m_open.end());
  for (size_t i = common; i < kept; ++i) {
    int at = i == 0 ? m_root : m_open.back().dir.fd();
    TRY_ASSIGN(fs::DirHandle next, fs::open_dir(m_fs, at, std::string(comps[i])));
    m_open.push_back(Level{std::string(comps[i]), std::move(next)});
  }
  if (comps.size() == kept) {
    return m_open.back().dir.fd();
  }
  fs::DirHandle cur;
  for (size_t i = kept; i < comps.size(); ++i) {
    int at = cur.valid() ? cur.fd() : m_open.empty() ? m_root : m_open.back().dir.fd();
    TRY_ASSIGN(fs::DirHandle next, fs::open_dir(m_fs, at, std::string(comps[i])));
    cur = std::move(next);
  }
  m_deep = std::move(cur);
  m_deep_rel = rel;
  return m_deep.fd();
}

Result<std::optional<fs::Stat>> DirCache::lstat(const std::string& root_display,
                                                const std::string& rel) {
  auto [dir, name] = split_rel(rel);
  auto dfd = get(dir);
  if (!dfd) {
    if (missing(dfd.error())) {
      return std::optional<fs::Stat>();
    }
    return with_context(dfd.error(), "open directory", root_display + "/" + dir);
  }
  auto st = m_fs.lstat(*dfd, name);
  if (!st) {
    if (missing(st.error())) {
      return std::optional<fs::Stat>();
    }
    return with_context(st.error(), "stat", root_display + "/" + rel);
  }
  return std::optional<fs::Stat>(*st);
}

Result<fs::DirHandle> open_rel_dir(fs::Fs& fs, int root_fd, const std::string& rel) {
  fs::DirHandle cur;
  int at = root_fd;
  size_t pos = 0;
  std::string comp = ".";
  if (rel.empty()) {
    return fs::open_dir(fs, root_fd, ".");
  }
  while (pos <= rel.size()) {
    size_t slash = rel.find('/', pos);
    comp = rel.substr(pos, slash == std::string::npos ? std::string::npos : slash - pos);
    pos = slash == std::string::npos ? rel.size() + 1 : slash + 1;
    if (comp.empty()) {
      continue;
    }
    TRY_ASSIGN(fs::DirHandle next, fs::open_dir(fs, at, comp));
    cur = std::move(next);
    at = cur.fd();
  }
  return cur;
}

std::string unescape_rsync_name(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 4 < s.size() && s[i + 1] == '#' && s[i + 2] >= '0' && s[i + 2] <= '3' &&
        s[i + 3] >= '0' && s[i + 3] <= '7' && s[i + 4] >= '0' && s[i + 4] <= '7') {
      out.push_back(
          static_cast<char>((s[i + 2] - '0') * 64 + (s[i + 3] - '0') * 8 + (s[i + 4] - '0')));
      i += 4;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

std::optional<Itemized> parse_itemized(std::string_view line) {
  static constexpr std::string_view k_updates = "<>ch.";
  static constexpr std::string_view k_types = "fdLDS";
  if (line.size() < 13 || line[11] != ' ' || k_updates.find(line[0]) == std::string_view::npos ||
      k_types.find(line[1]) == std::string_view::npos) {
    return std::nullopt;
  }
  for (size_t i = 2; i < 11; ++i) {
    if (!is_attr_char(line[i])) {
      return std::nullopt;
    }
  }
  Itemized it;
  it.update = line[0];
  it.type = line[1];
  it.attrs = std::string(line.substr(2, 9));
  it.path = unescape_rsync_name(line.substr(12));
  return it;
}

bool metadata_only(const Itemized& item) {
  if (item.update != '.' || (item.type != 'f' && item.type != 'L') || item.attrs.size() != 9) {
    return false;
  }
  // Columns: c0 s1 t2 p3 o4 g5 u6 a7 x8.
  for (size_t i : {2, 3, 4, 5, 7, 8}) {
    if (item.attrs[i] != '.' && item.attrs[i] != ' ') {
      return true;
    }
  }
  return false;
}

std::string encode_temps(const std::vector<std::string>& temps) {
  std::string out;
  for (const auto& t : temps) {
    if (!out.empty()) {
      out.push_back('\0');
    }
    out += t;
  }
  return out;
}

std::vector<std::string> decode_temps(std::string_view text) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\0', pos);
    if (end == std::string_view::npos) {
      end = text.size();
    }
    if (end > pos) {
      out.emplace_back(text.substr(pos, end - pos));
    }
    pos = end + 1;
  }
  return out;
}

Result<long> remove_protect_temps(fs::Fs& fs, const std::string& clone,
                                  const std::vector<std::string>& temps, std::string_view what) {
  TRY_ASSIGN(fs::DirHandle root, fs::open_dir(fs, fs::k_cwd, clone));
  DirCache dirs(fs, root.fd());
  long removed = 0;
  for (const auto& rel : temps) {
    auto [dir, name] = split_rel(rel);
    std::string disp = clone + "/" + rel;
    // Only names of the protect step's own form are ever removed.
    if (name.rfind(engine::k_partial_prefix, 0) != 0) {
      return plain_error(fmt::format("refusing to remove '{}': not a temporary of {}", disp, what));
    }
    TRY_ASSIGN(auto st, dirs.lstat(clone, rel));
    if (!st) {
      continue;
    }
    TRY_ASSIGN(int dfd, dirs.get(dir));
    if (st->type() != fs::FileType::regular && st->type() != fs::FileType::symlink) {
      continue;  // not what the step creates
    }
    auto un = fs.unlink(dfd, name);
    if (!un) {
      return with_context(un.error(), "remove", disp);
    }
    ++removed;
  }
  if (removed > 0) {
    auto synced = fs.sync_fs(root.fd());
    if (!synced) {
      return with_context(synced.error(), "sync the filesystem of", clone);
    }
  }
  return removed;
}

namespace {

// One shared name of pass 1 in a scratch file: the inode (8 bytes), the
// itemized type ('f' or 'L'), then the path and a NUL.
struct Shared {
  std::uint64_t ino = 0;
  char type = 0;
  std::string path;
};

Status write_shared(ScratchFile& to, const Shared& s) {
  TRY(to.write(&s.ino, sizeof s.ino));
  TRY(to.write(&s.type, 1));
  return to.write(s.path.c_str(), s.path.size() + 1);
}

Result<bool> read_shared(ScratchFile& from, Shared& s) {
  TRY_ASSIGN(bool more, from.read(&s.ino, sizeof s.ino));
  if (!more) {
    return false;
  }
  TRY_ASSIGN(more, from.read(&s.type, 1));
  if (more) {
    TRY_ASSIGN(more, from.read_name(s.path));
  }
  if (!more) {
    return sys_error(EIO, "read", "a scratch file (a truncated record)");
  }
  return true;
}

// The part of `ino` among `parts` (a multiplicative hash: inode numbers are
// often sequential).
size_t part_of(std::uint64_t ino, size_t parts) {
  return static_cast<size_t>(((ino * 0x9E3779B97F4A7C15ULL) >> 32) % parts);
}

// Whether a name re-inoded is the first of its old inode (a copy) or a
// further one (linked to that copy).
enum class NameOf { first, further };

// The step over the parts: one batch loop per part (the steps 1-4 marked
// in the class below), `reinoded` cleared between parts.
class Protector {
 public:
  Protector(fs::Fs& fs, const std::string& clone, int root_fd, DirCache& dirs, DryRun dry,
            const RecordTemps& record, const std::function<void(std::string_view)>& plan,
            ProtectStats& stats)
      : m_fs(fs),
        m_clone(clone),
        m_root(root_fd),
        m_dirs(dirs),
        m_dry(dry),
        m_record(record),
        m_plan(plan),
        m_stats(stats) {}

  // Every record of `part` (rewound), in its order.
  Status run_part(ScratchFile& part) {
    m_reinoded.clear();
    TRY(part.rewind());
    Shared it;
    for (;;) {
      TRY_ASSIGN(bool more, read_shared(part, it));
      if (!more) {
        break;
      }
      TRY(choose(it));
      if (m_batch.size() >= k_protect_batch || m_batch_bytes >= k_protect_batch_bytes) {
        TRY(flush());
      }
    }
    return flush();
  }

 private:
  // 1. Into the batch: stat the item again, pick a free temporary name.
  Status choose(const Shared& it) {
    const std::string& rel = it.path;
    auto [dir, name] = split_rel(rel);
    TRY_ASSIGN(auto st, m_dirs.lstat(m_clone, rel));
    if (!st) {
      ++m_stats.gone;
      return ok();
    }
    TRY_ASSIGN(int dfd, m_dirs.get(dir));
    fs::FileType want = it.type == 'L' ? fs::FileType::symlink : fs::FileType::regular;
    if (st->type() != want) {
      ++m_stats.gone;
      return ok();
    }
    // A name of an inode already given a new inode in an earlier batch
    // joins that group even when it is now the old inode's last name:
    // the clone's hard links stay hard links across batches (all names of
    // an inode are in one part).
    if (st->nlink <= 1 && !m_reinoded.count(st->ino)) {
      ++m_stats.unshared;
      return ok();
    }
    std::string base = std::string(engine::k_partial_prefix) + std::to_string(st->ino);
    std::string tmp = base;
    for (int n = 1;; ++n) {
      if (!m_taken.count(join_rel(dir, tmp))) {
        TRY_ASSIGN(bool there, fs::exists(m_fs, dfd, tmp));
        if (!there) {
          break;
        }
      }
      tmp = base + "." + std::to_string(n);
    }
    m_taken.insert(join_rel(dir, tmp));
    m_batch_bytes += dir.size() + tmp.size() + 2;
    m_batch.push_back(Work{dir, name, tmp, *st});
    return ok();
  }

  void tally(const fs::Stat& st, NameOf n) {
    if (n == NameOf::further) {
      ++m_stats.hard_links;
    } else if (st.type() == fs::FileType::symlink) {
      ++m_stats.symlinks;
    } else {
      ++m_stats.files;
      m_stats.bytes += st.size;
    }
  }

  Status flush() {
    std::vector<Work> batch = std::move(m_batch);
    m_batch.clear();
    m_taken.clear();
    m_batch_bytes = 0;
    if (batch.empty()) {
      return ok();
    }
    if (m_dry == DryRun::yes) {
      // Counted as the real run would count them (the run summary's "N
      // files to protect"); nothing is created.
      for (const auto& w : batch) {
        std::string rel = join_rel(w.dir, w.name);
        tally(w.st, m_reinoded.emplace(w.st.ino, rel).second ? NameOf::first : NameOf::further);
        if (m_plan) {
          m_plan("protect " + rel);
        }
      }
      return ok();
    }
    // 2. Record the names before any of them exists.
    std::vector<std::string> temps;
    temps.reserve(batch.size());
    for (const auto& w : batch) {
      temps.push_back(join_rel(w.dir, w.tmp));
    }
    TRY(m_record(temps));
    // 3. Copy (or link, or re-create), then rename over.
    for (const auto& w : batch) {
      TRY(reinode(w));
    }
    // 4. The renames durable, then the record cleared.
    auto synced = m_fs.sync_fs(m_root);
    if (!synced) {
      return with_context(synced.error(), "sync the filesystem of", m_clone);
    }
    return m_record({});
  }

  Status reinode(const Work& w) {
    std::string rel = join_rel(w.dir, w.name);
    std::string disp = m_clone + "/" + rel;
    std::string tmp_disp = m_clone + "/" + join_rel(w.dir, w.tmp);
    TRY_ASSIGN(int dfd, m_dirs.get(w.dir));
    bool is_link = w.st.type() == fs::FileType::symlink;
    auto group = m_reinoded.find(w.st.ino);
    if (group != m_reinoded.end()) {
      auto [gdir, gname] = split_rel(group->second);
      TRY_ASSIGN(fs::DirHandle gd, open_rel_dir(m_fs, m_root, gdir));
      auto ln = m_fs.link(gd.fd(), gname, dfd, w.tmp);
      if (!ln) {
        return with_context(ln.error(), "link", m_clone + "/" + group->second,
                            "to '" + tmp_disp + "'");
      }
    } else {
      if (is_link) {
        auto target = m_fs.readlink(dfd, w.name);
        if (!target) {
          return with_context(target.error(), "read symlink", disp);
        }
        auto made = m_fs.symlink(*target, dfd, w.tmp);
        if (!made) {
          return with_context(made.error(), "create symlink", tmp_disp);
        }
      } else {
        auto copied = m_fs.copy_data(dfd, w.name, dfd, w.tmp);
        if (!copied) {
          return with_context(copied.error(), "copy", disp, "to '" + tmp_disp + "'");
        }
      }
      auto xattrs = m_fs.get_xattrs(dfd, w.name);
      if (!xattrs) {
        return with_context(xattrs.error(), "read xattrs of", disp);
      }
      for (auto& [key, value] : *xattrs) {
        auto set = m_fs.set_xattr(dfd, w.tmp, key, value);
        if (!set) {
          return with_context(set.error(), "set xattr " + key + " on", tmp_disp);
        }
      }
      auto meta = m_fs.set_metadata(dfd, w.tmp, fs::metadata_of(w.st));
      if (!meta) {
        return with_context(meta.error(), "set attributes of", tmp_disp);
      }
    }
    auto moved = m_fs.rename(dfd, w.tmp, dfd, w.name, fs::RenameMode::replace);
    if (!moved) {
      return with_context(moved.error(), "rename", tmp_disp, "to '" + disp + "'");
    }
    if (group != m_reinoded.end()) {
      tally(w.st, NameOf::further);
    } else {
      m_reinoded.emplace(w.st.ino, rel);
      tally(w.st, NameOf::first);
    }
    if (m_plan) {
      m_plan("protect " + rel);
    }
    return ok();
  }

  fs::Fs& m_fs;
  const std::string& m_clone;
  int m_root;
  DirCache& m_dirs;
  DryRun m_dry;
  const RecordTemps& m_record;
  const std::function<void(std::string_view)>& m_plan;
  ProtectStats& m_stats;
  // Old inode -> the clone path of its new inode (hard links within the
  // clone), for the current part only.
  std::map<ino_t, std::string> m_reinoded;
  std::vector<Work> m_batch;
  std::set<std::string> m_taken;  // temporaries chosen for the batch
  size_t m_batch_bytes = 0;
};

}  // namespace

Status spool_protect_item(PathSpool& spool, const Itemized& item) {
  std::string rec;
  rec.reserve(item.path.size() + 1);
  rec.push_back(item.type);
  rec += item.path;
  return spool.add(rec);
}

Result<ProtectStats> protect_spooled(fs::Fs& fs, const std::string& clone, PathSpool& items,
                                     DryRun dry, const RecordTemps& record,
                                     const std::function<void(std::string_view)>& plan,
                                     size_t part) {
  ProtectStats stats;
  part = std::max<size_t>(part, 1);
  TRY_ASSIGN(fs::DirHandle root, fs::open_dir(fs, fs::k_cwd, clone));
  DirCache dirs(fs, root.fd());

  // Pass 1: the shared names (link count > 1) into a scratch file; the rest
  // counted and dropped (nothing has been changed yet, so a link count of 1
  // means no other name, in the clone or in history).
  ScratchFile shared;
  size_t count = 0;
  {
    TRY(items.rewind());
    std::string rec;
    for (;;) {
      TRY_ASSIGN(bool more, items.next(rec));
      if (!more) {
        break;
      }
      if (rec.size() < 2 || rec.back() == '/') {
        continue;
      }
      Shared s{0, rec[0], rec.substr(1)};
      TRY_ASSIGN(auto st, dirs.lstat(clone, s.path));
      fs::FileType want = s.type == 'L' ? fs::FileType::symlink : fs::FileType::regular;
      if (!st || st->type() != want) {
        ++stats.gone;
        continue;
      }
      if (st->nlink <= 1) {
        ++stats.unshared;
        continue;
      }
      s.ino = static_cast<std::uint64_t>(st->ino);
      TRY(write_shared(shared, s));
      ++count;
    }
  }

  Protector step(fs, clone, root.fd(), dirs, dry, record, plan, stats);
  if (count <= part) {
    TRY(step.run_part(shared));
    return stats;
  }
  // Pass 2: split by inode into `parts` part files, at most
  // k_protect_open_parts of them at a time (one more read of `shared` per
  // group), each run as it is complete.
  size_t parts = 2 * ((count + part - 1) / part);
  for (size_t first = 0; first < parts; first += k_protect_open_parts) {
    size_t n = std::min(k_protect_open_parts, parts - first);
    std::vector<ScratchFile> files(n);
    TRY(shared.rewind());
    Shared s;
    for (;;) {
      TRY_ASSIGN(bool more, read_shared(shared, s));
      if (!more) {
        break;
      }
      size_t p = part_of(s.ino, parts);
      if (p >= first && p < first + n) {
        TRY(write_shared(files[p - first], s));
      }
    }
    for (auto& f : files) {
      TRY(step.run_part(f));
    }
  }
  return stats;
}

Result<ProtectStats> protect_files(fs::Fs& fs, const std::string& clone,
                                   const std::vector<Itemized>& items, DryRun dry,
                                   const RecordTemps& record,
                                   const std::function<void(std::string_view)>& plan, size_t part) {
  PathSpool spool;
  for (const auto& it : items) {
    TRY(spool_protect_item(spool, it));
  }
  return protect_spooled(fs, clone, spool, dry, record, plan, part);
}

}  // namespace rotator::jobs
