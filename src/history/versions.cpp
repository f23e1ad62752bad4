#include "history/versions.hpp"

#include <algorithm>
#include <cerrno>

#include <fmt/format.h>

#include "filter/wildmatch.hpp"
#include "history/merge_walk.hpp"
#include "rotation/name.hpp"

namespace rotator::history {

std::string show_time(Instant t, const Zone& zone) { return zone.format("%Y-%m-%d %H:%M", t); }
std::string iso_time(Instant t, const Zone& zone) { return zone.format("%Y-%m-%dT%H:%M:%S%z", t); }

std::string show_path(const std::string& path) {
  bool utf8 = json::is_valid_utf8(path);
  std::string out;
  for (unsigned char c : path) {
    if (c < 0x20 || c == 0x7f || c == '\\' || (!utf8 && c >= 0x80)) {
      out += fmt::format("\\{:03o}", c);
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

std::string place_list(const std::vector<const Place*>& in) {
  // Grouped by job (config order), each job's places oldest first.
  std::vector<const Place*> places = in;
  std::stable_sort(places.begin(), places.end(),
                   [](const Place* x, const Place* y) { return x->job < y->job; });
  std::string out;
  auto add = [&](const std::string& s) { out += (out.empty() ? "" : ", ") + s; };
  size_t i = 0;
  while (i < places.size()) {
    const Place* p = places[i];
    if (p->kind != PlaceKind::snapshot) {
      add(p->name);
      ++i;
      continue;
    }
    size_t j = i + 1;
    if (p->job->naming == config::Naming::rotate) {
      // A run of one level has falling indices.
      auto ln = rotation::parse_level_name(p->name);
      int lo = ln ? ln->index : 0;
      while (ln && j < places.size() && places[j]->job == p->job) {
        auto next = rotation::parse_level_name(places[j]->name);
        if (!next || next->level != ln->level || next->index != lo - 1) {
          break;
        }
        lo = next->index;
        ++j;
      }
      add(j - i == 1 ? p->name : fmt::format("{}.{}..{}", ln->level, lo, ln->index));
    } else {
      while (j < places.size() && places[j]->job == p->job &&
             places[j]->kind == PlaceKind::snapshot) {
        ++j;
      }
      if (j - i <= 2) {
        for (size_t k = i; k < j; ++k) {
          add(places[k]->name);
        }
      } else {
        add(fmt::format("{}..{} ({})", p->name, places[j - 1]->name, j - i));
      }
    }
    i = j;
  }
  return out;
}

Result<FileVersions> file_versions(fs::Fs& fs, const Catalogue& cat,
                                   const Catalogue::Resolved& path) {
  FileVersions out;
  out.rel = path.rel;
  long last_idx = -1;  // the version of the previous sighting
  for (const Place* p : cat.of_lineage(path.lineage)) {
    std::string full = join(p->path, path.rel);
    auto st = fs.lstat(fs::k_cwd, full);
    if (!st) {
      int e = st.error().sys_errno;
      if (e == ENOENT || e == ENOTDIR) {
        if (vanished(fs, *p)) {
          out.vanished.push_back(p->qualified());
        } else {
          out.absent.push_back(p);
        }
        last_idx = -1;
        continue;
      }
      return with_context(std::move(st.error()), "stat", full);
    }
    Version* v = nullptr;
    if (st->is_dir()) {
      // One row per run of consecutive directory sightings.
      if (last_idx >= 0 && out.versions[last_idx].type == fs::FileType::directory) {
        v = &out.versions[last_idx];
      }
    } else {
      for (auto& cand : out.versions) {
        if (cand.type != fs::FileType::directory && cand.dev == st->dev && cand.ino == st->ino) {
          v = &cand;
          break;
        }
      }
    }
    if (!v) {
      Version nv;
      nv.type = st->type();
      nv.dev = st->dev;
      nv.ino = st->ino;
      nv.size = st->size;
      nv.mtime = st->mtime;
      nv.first_seen = p->time;
      nv.last_seen = p->time;
      if (nv.type == fs::FileType::symlink) {
        auto t = fs.readlink(fs::k_cwd, full);
        if (t) {
          nv.target = *t;
        }
      }
      out.versions.push_back(std::move(nv));
      v = &out.versions.back();
    }
    last_idx = static_cast<long>(v - out.versions.data());
    v->places.push_back(p);
    v->first_seen = std::min(v->first_seen, p->time);
    v->last_seen = std::max(v->last_seen, p->time);
    v->current = v->current || p->current;
  }
  std::stable_sort(out.versions.begin(), out.versions.end(),
                   [](const Version& a, const Version& b) { return a.first_seen < b.first_seen; });
  return out;
}

namespace {

// Adds a sighting of `rel` in place `p` with inode `ino` and type `type`.
void sight(PathHistory& h, const Place* p, fs::FileType type, ino_t ino) {
  if (type != fs::FileType::directory &&
      std::find(h.inodes.begin(), h.inodes.end(), ino) == h.inodes.end()) {
    h.inodes.push_back(ino);
  }
  if (!h.last_seen || p->time >= *h.last_seen) {
    h.last_seen = p->time;
    h.last_place = p;
    h.type = type;
  }
  if (p->kind != PlaceKind::holding && (!h.last_present || p->time >= *h.last_present)) {
    h.last_present = p->time;
  }
  h.in_clone = h.in_clone || p->current;
}

// For a path not in the clone: when it was gone by (file comment). `order`
// are the places of its lineage, `held` the times of the holding folders
// holding it, in the order they were sighted.
void settle(PathHistory& h, const std::vector<const Place*>& order,
            const std::vector<Instant>& held) {
  if (h.in_clone) {
    return;
  }
  std::optional<Instant> by;
  for (const Place* p : order) {
    if (p->kind != PlaceKind::holding && (!h.last_present || p->time > *h.last_present)) {
      by = p->time;
      break;
    }
  }
  for (Instant t : held) {
    if ((!h.last_present || t >= *h.last_present) && (!by || t < *by)) {
      by = t;
    }
  }
  h.gone_by = by;
}

// The history of one path from its sightings in `starts`.
PathHistory history_of(const std::vector<MergeStart>& starts, const std::vector<Sighting>& seen,
                       const std::vector<const Place*>& order, std::vector<Instant>& held) {
  PathHistory h;
  held.clear();
  for (const Sighting& s : seen) {
    const Place* p = starts[s.start].place;
    sight(h, p, s.type, s.ino);
    if (p->kind == PlaceKind::holding) {
      held.push_back(p->time);
    }
  }
  settle(h, order, held);
  return h;
}

}  // namespace

Result<TreeVersions> tree_versions(fs::Fs& fs, const Catalogue& cat,
                                   const Catalogue::Resolved& path, const PathSink& sink) {
  TreeVersions out;
  out.rel = path.rel;
  auto places = cat.of_lineage(path.lineage);
  std::vector<MergeStart> starts;
  for (const Place* p : places) {
    std::string start = join(p->path, path.rel);
    auto st = fs.lstat(fs::k_cwd, start);
    if (!st || !st->is_dir()) {
      if (!st && st.error().sys_errno != ENOENT && st.error().sys_errno != ENOTDIR) {
        return with_context(std::move(st.error()), "stat", start);
      }
      if (!st && vanished(fs, *p)) {
        out.vanished.push_back(p->qualified());
      }
      continue;
    }
    starts.push_back(MergeStart{p, start});
  }
  MergeCounts counts;
  std::vector<Instant> held;
  TRY(merge_walk(
      fs, starts, path.rel,
      [&](const std::string& rel, const std::string&, const std::vector<Sighting>& seen) {
        ++out.paths;
        sink(rel, history_of(starts, seen, places, held));
      },
      counts));
  out.vanished.insert(out.vanished.end(), counts.vanished.begin(), counts.vanished.end());
  return out;
}

Result<FindResult> find_paths(fs::Fs& fs, const Catalogue& cat, const std::string& pattern,
                              const std::function<void(size_t, size_t, long)>& progress,
                              const PathSink& sink) {
  FindResult out;
  bool whole = pattern.find('/') != std::string::npos;
  std::string pat = pattern;
  while (whole && !pat.empty() && pat[0] == '/') {
    pat.erase(0, 1);
  }
  bool several = cat.lineages().size() > 1;
  const auto& places = cat.places();
  // The paths are reported as "LINEAGE:rel" with several lineages: one
  // merged walk per lineage, in the order of those keys.
  std::vector<std::string> lineages = cat.lineages();
  std::sort(lineages.begin(), lineages.end(),
            [](const std::string& x, const std::string& y) { return x + ":" < y + ":"; });
  size_t done = 0;
  long next_report = 1 << 16;
  std::string key;
  std::vector<Instant> held;
  for (const auto& lineage : lineages) {
    std::vector<const Place*> order;
    std::vector<MergeStart> starts;
    for (const auto& p : places) {
      if (p.lineage == lineage) {
        order.push_back(&p);
        starts.push_back(MergeStart{&p, p.path});
      }
    }
    std::string key_prefix = several ? lineage + ":" : "";
    MergeCounts counts;
    auto walked = merge_walk(
        fs, starts, "",
        [&](const std::string& rel, const std::string& name, const std::vector<Sighting>& seen) {
          if (progress && out.entries + counts.entries >= next_report) {
            progress(done, places.size(), out.entries + counts.entries);
            next_report = out.entries + counts.entries + (1 << 16);
          }
          if (!filter::wildmatch(pat, whole ? rel : name)) {
            return;
          }
          key = key_prefix;
          key += rel;
          ++out.paths;
          sink(key, history_of(starts, seen, order, held));
        },
        counts);
    if (!walked) {
      return walked.error();
    }
    out.entries += counts.entries;
    out.vanished.insert(out.vanished.end(), counts.vanished.begin(), counts.vanished.end());
    done += starts.size();
    if (progress) {
      progress(done, places.size(), out.entries);
    }
  }
  return out;
}

// ---- renderings -------------------------------------------------------------

namespace {

std::string show_size(off_t size) { return fmt::format("{}", static_cast<long long>(size)); }

std::string show_mtime(const timespec& ts, const Zone& zone) {
  return show_time(Instant(std::chrono::seconds(ts.tv_sec)), zone);
}

std::string status_text(const PathHistory& h, const Zone& zone) {
  if (h.in_clone) {
    return "current";
  }
  if (h.last_present && h.gone_by) {
    return fmt::format("deleted between {} and {}", show_time(*h.last_present, zone),
                       show_time(*h.gone_by, zone));
  }
  if (h.gone_by) {
    return fmt::format("deleted before {}", show_time(*h.gone_by, zone));
  }
  if (h.last_present) {
    return fmt::format("deleted after {}", show_time(*h.last_present, zone));
  }
  return "deleted";
}

// "docs/" for a directory, "docs/a.txt" else (escaped).
std::string shown_name(const std::string& rel, const PathHistory& h) {
  return show_path(rel) + (h.type == fs::FileType::directory ? "/" : "");
}

std::string version_count(const PathHistory& h) {
  return h.type == fs::FileType::directory
             ? "directory"
             : fmt::format("{} version{}", h.inodes.size(), h.inodes.size() == 1 ? "" : "s");
}

}  // namespace

json::Json path_history_json(const std::string& rel, const PathHistory& h, const Zone& zone) {
  json::Json j = json::Json::object();
  json::put_bytes(j, "path", rel);
  j["type"] = fs::file_type_name(h.type);
  j["versions"] = h.inodes.size();
  j["current"] = h.in_clone;
  j["last_seen"] = h.last_seen ? json::Json(iso_time(*h.last_seen, zone)) : json::Json(nullptr);
  j["last_seen_in"] = h.last_place ? json::Json(h.last_place->qualified()) : json::Json(nullptr);
  if (!h.in_clone) {
    j["deleted_after"] =
        h.last_present ? json::Json(iso_time(*h.last_present, zone)) : json::Json(nullptr);
    j["deleted_by"] = h.gone_by ? json::Json(iso_time(*h.gone_by, zone)) : json::Json(nullptr);
  }
  return j;
}

std::string format_file_versions(const FileVersions& v, const Zone& zone) {
  std::string out = fmt::format("{}: {} version{}\n", show_path(v.rel), v.versions.size(),
                                v.versions.size() == 1 ? "" : "s");
  out += fmt::format("{:>3}  {:<9} {:>12}  {:<16}  {:<16}  {:<16}  {}\n", "#", "TYPE", "SIZE",
                     "MTIME", "FIRST SEEN", "LAST SEEN", "PLACES");
  int n = 0;
  for (const auto& ver : v.versions) {
    ++n;
    std::string type = fs::file_type_name(ver.type);
    out += fmt::format("{:>3}  {:<9} {:>12}  {:<16}  {:<16}  {:<16}  {}{}\n", n, type,
                       ver.type == fs::FileType::directory ? "-" : show_size(ver.size),
                       show_mtime(ver.mtime, zone), show_time(ver.first_seen, zone),
                       ver.current ? "current" : show_time(ver.last_seen, zone),
                       place_list(ver.places),
                       ver.type == fs::FileType::symlink ? " -> " + show_path(ver.target) : "");
  }
  return out + format_vanished(v.vanished);
}

json::Json file_versions_json(const FileVersions& v, const Zone& zone) {
  json::Json j = json::Json::object();
  json::put_bytes(j, "path", v.rel);
  j["versions"] = json::Json::array();
  int n = 0;
  for (const auto& ver : v.versions) {
    json::Json r = json::Json::object();
    r["version"] = ++n;
    r["type"] = fs::file_type_name(ver.type);
    r["inode"] = ver.ino;
    r["size"] = ver.type == fs::FileType::directory ? json::Json(nullptr) : json::Json(ver.size);
    r["mtime"] = iso_time(Instant(std::chrono::seconds(ver.mtime.tv_sec)), zone);
    r["first_seen"] = iso_time(ver.first_seen, zone);
    r["last_seen"] = ver.current ? json::Json(nullptr) : json::Json(iso_time(ver.last_seen, zone));
    r["current"] = ver.current;
    if (ver.type == fs::FileType::symlink) {
      json::put_bytes(r, "target", ver.target);
    }
    json::Json places = json::Json::array();
    for (const Place* p : ver.places) {
      json::Json pj = json::Json::object();
      pj["name"] = p->name;
      pj["job"] = p->job->name;
      pj["kind"] = place_kind_name(p->kind);
      pj["time"] = iso_time(p->time, zone);
      places.push_back(std::move(pj));
    }
    r["places"] = std::move(places);
    j["versions"].push_back(std::move(r));
  }
  j["vanished"] = v.vanished;
  return j;
}

std::string format_tree_path(const std::string& rel, const PathHistory& h, const Zone& zone) {
  return fmt::format("{}  {}  {}\n", shown_name(rel, h), version_count(h), status_text(h, zone));
}

std::string format_find_path(const std::string& rel, const PathHistory& h, const Zone& zone) {
  return fmt::format("{}  {}  last seen {} in {}  {}\n", shown_name(rel, h), version_count(h),
                     h.last_seen ? show_time(*h.last_seen, zone) : "-",
                     h.last_place ? h.last_place->name : "-", status_text(h, zone));
}

std::string format_vanished(const std::vector<std::string>& vanished) {
  std::string out;
  for (const auto& name : vanished) {
    out += fmt::format("note: place {} vanished while it was read\n", name);
  }
  return out;
}

}  // namespace rotator::history
