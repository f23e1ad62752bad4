#include "history/du.hpp"

#include <algorithm>
#include <cerrno>
#include <unordered_map>

#include <fmt/format.h>

#include "history/inode_marks.hpp"
#include "history/versions.hpp"
#include "history/walk.hpp"
#include "state/state.hpp"

namespace rotator::history {

namespace {

struct Key {
  dev_t dev;
  ino_t ino;
  bool operator==(const Key&) const = default;
};
struct KeyHash {
  size_t operator()(const Key& k) const { return std::hash<ino_t>()(k.ino) * 31 + k.dev; }
};

// An inode met twice or more in one place (a hard link inside it).
struct Repeat {
  nlink_t nlink = 0;
  nlink_t seen = 0;
  long long blocks = 0;
};

long long disk_bytes(const fs::Stat& st) { return static_cast<long long>(st.blocks) * 512; }

// Walks place number `index`; fills `row` and adds to `freed`. `marks`
// carries, per inode with st_nlink > 1, the links seen in the places walked
// so far and the last place seen in: an inode is freed by the place where
// its count reaches st_nlink, exclusive to a place holding all its links.
//
// `root_bytes` (when not null) also gets the place's share of the root total:
// its directories and single-link files, and each inode with more links the
// first time any place shows it (InodeMarks::Mark::place still 0).
Status du_place(fs::Fs& fs, const Place& p, uint32_t index, DuRow& row, InodeMarks& marks,
                long long& freed, long long* root_bytes, Key& root_key) {
  std::unordered_map<Key, Repeat, KeyHash> repeats;  // rare: most inodes occur once
  auto root = fs.lstat(fs::k_cwd, p.path);
  if (!root) {
    return with_context(std::move(root.error()), "stat", p.path);
  }
  row.apparent += root->size;
  row.exclusive += disk_bytes(*root);
  long long freed_here = disk_bytes(*root);
  long long root_share = disk_bytes(*root);
  root_key = Key{root->dev, root->ino};
  uint32_t here = index + 1;
  TRY(walk_path(fs, p.path, "", [&](const std::string& rel, const fs::DirEntry& e, int parent) {
    ++row.entries;
    auto st = fs.lstat(parent, e.name);
    if (!st) {
      return Result<Descend>(with_context(std::move(st.error()), "stat", rel));
    }
    if (st->is_dir() || st->nlink <= 1) {
      row.apparent += st->size;
      row.exclusive += disk_bytes(*st);
      freed_here += disk_bytes(*st);
      root_share += disk_bytes(*st);
      return Result<Descend>(Descend::yes);
    }
    auto m = marks.get(st->dev, st->ino);
    if (m.place == 0) {
      root_share += disk_bytes(*st);
    }
    if (m.place != here) {
      row.apparent += st->size;
      m.place = here;
    } else {
      auto it =
          repeats.try_emplace(Key{st->dev, st->ino}, Repeat{st->nlink, 1, disk_bytes(*st)}).first;
      ++it->second.seen;
    }
    if (m.links != InodeMarks::k_done && ++m.links >= st->nlink) {
      freed_here += disk_bytes(*st);  // its last link outside older places
      m.links = InodeMarks::k_done;
    }
    marks.set(st->dev, st->ino, m);
    return Result<Descend>(Descend::yes);
  }));
  freed += freed_here;
  if (root_bytes) {
    *root_bytes += root_share;
  }
  for (const auto& [k, r] : repeats) {
    if (r.seen >= r.nlink) {
      row.exclusive += r.blocks;
    }
  }
  return ok();
}

}  // namespace

Result<DuResult> disk_usage(fs::Fs& fs, const Catalogue& cat, const std::string& job) {
  DuResult out;
  const config::Config& cfg = cat.config();
  out.root = cfg.root;
  if (!job.empty() && !cfg.find_job(job)) {
    return plain_error(fmt::format("unknown job '{}'", job));
  }
  // The root total shares the places' walks when every place walked lies
  // under the root (the usual layout): the root walk then skips the place
  // directories and counts only the rest (state, staging, other jobs' trees),
  // so du reads each entry once, as `du -s ROOT` does. Else it walks the
  // whole root on its own.
  std::string under = cfg.root + (cfg.root.size() > 1 && cfg.root.back() == '/' ? "" : "/");
  bool shared = true;
  for (const auto& p : cat.places()) {
    if (p.kind != PlaceKind::clone && (job.empty() || p.job->name == job) &&
        p.path.rfind(under, 0) != 0) {
      shared = false;
    }
  }
  InodeMarks marks;
  std::vector<Key> walked;  // the place directories the root walk skips
  long long place_bytes = 0;
  long long freed = 0;
  uint32_t index = 0;
  for (const auto& p : cat.places()) {
    if (p.kind == PlaceKind::clone || (!job.empty() && p.job->name != job)) {
      continue;
    }
    DuRow row;
    row.place = &p;
    long long before = freed;
    Key root_key{};
    auto done =
        du_place(fs, p, index++, row, marks, freed, shared ? &place_bytes : nullptr, root_key);
    if (!done) {
      if (done.error().sys_errno == ENOENT && vanished(fs, p)) {
        row.vanished = true;
        freed = before;
      } else {
        std::string where = join(p.path, done.error().path);
        return with_context(std::move(done.error()), "read", where);
      }
    } else if (shared) {
      walked.push_back(root_key);
    }
    row.freed = freed;
    out.rows.push_back(row);
  }
  // The root's real total: every inode once. A place that vanished left
  // marks without its share: then the root is walked on its own.
  bool gone =
      std::any_of(out.rows.begin(), out.rows.end(), [](const DuRow& r) { return r.vanished; });
  if (!shared || gone) {
    shared = false;
    walked.clear();
    marks = InodeMarks();
  }
  uint32_t in_root = index + 1;  // a mark's place for "counted by the root walk"
  auto rst = fs.lstat(fs::k_cwd, cfg.root);
  if (!rst) {
    return with_context(std::move(rst.error()), "stat", cfg.root);
  }
  out.root_bytes = disk_bytes(*rst) + (shared ? place_bytes : 0);
  auto walked_root =
      walk_path(fs, cfg.root, "", [&](const std::string& rel, const fs::DirEntry& e, int parent) {
        auto st = fs.lstat(parent, e.name);
        if (!st) {
          if (st.error().sys_errno == ENOENT) {
            return Result<Descend>(Descend::no);  // vanished: a run is under way
          }
          return Result<Descend>(with_context(std::move(st.error()), "stat", rel));
        }
        if (st->is_dir() &&
            std::find(walked.begin(), walked.end(), Key{st->dev, st->ino}) != walked.end()) {
          return Result<Descend>(Descend::no);  // a place: counted by its walk
        }
        if (st->nlink > 1 && !st->is_dir()) {
          if (marks.get(st->dev, st->ino).place != 0) {
            return Result<Descend>(Descend::yes);
          }
          marks.set(st->dev, st->ino, InodeMarks::Mark{0, in_root});
        }
        out.root_bytes += disk_bytes(*st);
        return Result<Descend>(Descend::yes);
      });
  if (!walked_root) {
    return below_start(std::move(walked_root.error()), cfg.root);
  }
  for (const auto& j : cfg.jobs) {
    if (j.type != config::JobType::clone || j.relink != config::Relink::yes ||
        (!job.empty() && j.name != job)) {
      continue;
    }
    RelinkSaved saved;
    saved.job = j.name;
    // A state that cannot be read reports nothing here (status says why).
    if (auto st = state::load(fs, cfg.state_dir, j.name); st) {
      saved.last_files = st->last_relinked_files;
      saved.last_bytes = st->last_relinked_bytes;
      saved.total_files = st->relinked_files_total;
      saved.total_bytes = st->relinked_bytes_total;
      saved.since = st->relinked_since;
    }
    out.relink.push_back(saved);
  }
  return out;
}

namespace {

std::string human(long long bytes) {
  const char* units[] = {"B", "K", "M", "G", "T", "P"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024 && u < 5) {
    v /= 1024;
    ++u;
  }
  return u == 0 ? fmt::format("{}B", bytes) : fmt::format("{:.1f}{}", v, units[u]);
}

}  // namespace

std::string format_du(const DuResult& d, const Zone& zone) {
  std::string out = fmt::format("{:<28} {:<16} {:>10} {:>10} {:>12}\n", "PLACE", "TIME", "APPARENT",
                                "EXCLUSIVE", "FREED<=THIS");
  for (const auto& r : d.rows) {
    std::string name = r.place->job->name + ":" + r.place->name;
    if (r.vanished) {
      out += fmt::format("{:<28} {:<16} (vanished while it was read)\n", name,
                         show_time(r.place->time, zone));
      continue;
    }
    out += fmt::format("{:<28} {:<16} {:>10} {:>10} {:>12}\n", name, show_time(r.place->time, zone),
                       human(r.apparent), human(r.exclusive), human(r.freed));
  }
  out += fmt::format("total {} (every inode once): {} bytes, {} KiB as du -s counts\n",
                     show_path(d.root), d.root_bytes, (d.root_bytes + 1023) / 1024);
  for (const auto& r : d.relink) {
    if (r.total_files < 0 || r.total_bytes < 0) {
      out += fmt::format("relink [{}]: nothing recorded yet\n", r.job);
      continue;
    }
    std::string last =
        r.last_files >= 0 && r.last_bytes >= 0
            ? fmt::format("last run {} file{}, {} ({} bytes); ", r.last_files,
                          r.last_files == 1 ? "" : "s", human(r.last_bytes), r.last_bytes)
            : std::string("last run not recorded; ");
    out +=
        fmt::format("relink [{}]: {}since {}: {} file{}, {} ({} bytes) not stored again\n", r.job,
                    last, r.since ? show_time(*r.since, zone) : std::string("?"), r.total_files,
                    r.total_files == 1 ? "" : "s", human(r.total_bytes), r.total_bytes);
  }
  return out;
}

json::Json du_json(const DuResult& d, const Zone& zone) {
  json::Json j = json::Json::object();
  j["places"] = json::Json::array();
  for (const auto& r : d.rows) {
    json::Json row = json::Json::object();
    row["job"] = r.place->job->name;
    row["name"] = r.place->name;
    row["kind"] = place_kind_name(r.place->kind);
    row["time"] = iso_time(r.place->time, zone);
    json::put_bytes(row, "path", r.place->path);
    row["vanished"] = r.vanished;
    row["apparent_bytes"] = r.apparent;
    row["exclusive_bytes"] = r.exclusive;
    row["freed_bytes_with_older"] = r.freed;
    row["entries"] = r.entries;
    j["places"].push_back(std::move(row));
  }
  json::put_bytes(j, "root", d.root);
  j["root_bytes"] = d.root_bytes;
  j["root_kib"] = (d.root_bytes + 1023) / 1024;
  j["relink"] = json::Json::array();
  for (const auto& r : d.relink) {
    json::Json row = json::Json::object();
    auto count = [](long long v) { return v >= 0 ? json::Json(v) : json::Json(nullptr); };
    row["job"] = r.job;
    row["last_files"] = count(r.last_files);
    row["last_bytes"] = count(r.last_bytes);
    row["total_files"] = count(r.total_files);
    row["total_bytes"] = count(r.total_bytes);
    row["since"] = r.since ? json::Json(iso_time(*r.since, zone)) : json::Json(nullptr);
    j["relink"].push_back(std::move(row));
  }
  return j;
}

}  // namespace rotator::history
