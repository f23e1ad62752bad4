#include "history/du.hpp"

#include <cerrno>
#include <unordered_map>

#include <fmt/format.h>

#include "history/versions.hpp"
#include "history/walk.hpp"

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

struct Pending {
  nlink_t nlink = 0;
  nlink_t seen = 0;
  long long blocks = 0;
};

long long disk_bytes(const fs::Stat& st) { return static_cast<long long>(st.blocks) * 512; }

// Walks one place; fills `row` and the cross-place `pending` counts.
Status du_place(fs::Fs& fs, const Place& p, DuRow& row,
                std::unordered_map<Key, Pending, KeyHash>& pending, long long& freed) {
  std::unordered_map<Key, Pending, KeyHash> here;  // files with st_nlink > 1
  auto root = fs.lstat(fs::k_cwd, p.path);
  if (!root) {
    return sys_error(root.error().sys_errno, "stat", p.path);
  }
  row.apparent += root->size;
  row.exclusive += disk_bytes(*root);
  long long dirs_and_singles = disk_bytes(*root);
  TRY(walk_path(fs, p.path, "", [&](const std::string& rel, const fs::DirEntry& e, int parent) {
    ++row.entries;
    auto st = fs.lstat(parent, e.name);
    if (!st) {
      return Result<Descend>(sys_error(st.error().sys_errno, "stat", rel));
    }
    if (st->is_dir() || st->nlink <= 1) {
      row.apparent += st->size;
      row.exclusive += disk_bytes(*st);
      dirs_and_singles += disk_bytes(*st);
      return Result<Descend>(Descend::yes);
    }
    auto [it, fresh] = here.try_emplace(Key{st->dev, st->ino});
    if (fresh) {
      it->second.nlink = st->nlink;
      it->second.blocks = disk_bytes(*st);
      row.apparent += st->size;
    }
    ++it->second.seen;
    return Result<Descend>(Descend::yes);
  }));
  freed += dirs_and_singles;
  for (const auto& [k, h] : here) {
    if (h.seen >= h.nlink) {
      row.exclusive += h.blocks;
      freed += h.blocks;
      continue;
    }
    auto [it, fresh] = pending.try_emplace(k, h);
    if (!fresh) {
      it->second.seen += h.seen;
    }
    if (it->second.seen >= it->second.nlink) {
      freed += it->second.blocks;
      pending.erase(it);
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
  std::unordered_map<Key, Pending, KeyHash> pending;
  long long freed = 0;
  for (const auto& p : cat.places()) {
    if (p.kind == PlaceKind::clone || (!job.empty() && p.job->name != job)) {
      continue;
    }
    DuRow row;
    row.place = &p;
    long long before = freed;
    auto done = du_place(fs, p, row, pending, freed);
    if (!done) {
      if (done.error().sys_errno == ENOENT && vanished(fs, p)) {
        row.vanished = true;
        freed = before;
      } else {
        return sys_error(done.error().sys_errno, "read", join(p.path, done.error().path));
      }
    }
    row.freed = freed;
    out.rows.push_back(row);
  }
  // The root's real total: every inode once.
  std::unordered_map<Key, char, KeyHash> seen;
  auto rst = fs.lstat(fs::k_cwd, cfg.root);
  if (!rst) {
    return sys_error(rst.error().sys_errno, "stat", cfg.root);
  }
  out.root_bytes = disk_bytes(*rst);
  TRY(walk_path(fs, cfg.root, "", [&](const std::string& rel, const fs::DirEntry& e, int parent) {
    auto st = fs.lstat(parent, e.name);
    if (!st) {
      if (st.error().sys_errno == ENOENT) {
        return Result<Descend>(Descend::no);  // vanished: a run is under way
      }
      return Result<Descend>(sys_error(st.error().sys_errno, "stat", rel));
    }
    if (st->nlink > 1 && !st->is_dir() && !seen.emplace(Key{st->dev, st->ino}, 1).second) {
      return Result<Descend>(Descend::yes);
    }
    out.root_bytes += disk_bytes(*st);
    return Result<Descend>(Descend::yes);
  }));
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
  return j;
}

}  // namespace rotator::history
