#include "history/catalogue.hpp"

#include <algorithm>
#include <cerrno>

#include <fmt/format.h>

#include "retention/policy.hpp"
#include "rotation/name.hpp"
#include "state/state.hpp"
#include "util/duration.hpp"

namespace rotator::history {

namespace {

constexpr const char* k_deleting_prefix = ".rotator-deleting.";

Instant from_timespec(const timespec& ts) { return Instant(std::chrono::seconds(ts.tv_sec)); }

// Every entry name of directory `path`, sorted; nullopt when it is missing.
Result<std::optional<std::vector<std::string>>> names_of(fs::Fs& fs, const std::string& path) {
  auto dir = fs::open_dir(fs, fs::k_cwd, path);
  if (!dir) {
    if (dir.error().sys_errno == ENOENT) {
      return std::optional<std::vector<std::string>>();
    }
    return with_context(std::move(dir.error()), "open directory", path);
  }
  auto list = fs.list_dir(dir->fd());
  if (!list) {
    return with_context(std::move(list.error()), "read directory", path);
  }
  std::vector<std::string> out;
  out.reserve(list->size());
  for (const auto& e : *list) {
    out.push_back(e.name);
  }
  std::sort(out.begin(), out.end());
  return std::optional<std::vector<std::string>>(std::move(out));
}

bool older(const Place& a, const Place& b) {
  if (a.current != b.current) {
    return b.current;
  }
  if (a.time != b.time) {
    return a.time < b.time;
  }
  return a.order < b.order;
}

std::optional<Instant> last_success(fs::Fs& fs, const config::Config& cfg, const config::Job& job) {
  auto st = state::load(fs, cfg.state_dir, job.name);
  if (st && st->last_success) {
    return *st->last_success;
  }
  return std::nullopt;
}

}  // namespace

const char* place_kind_name(PlaceKind kind) {
  switch (kind) {
    case PlaceKind::clone:
      return "clone";
    case PlaceKind::backup:
      return "backup";
    case PlaceKind::holding:
      return "holding";
    case PlaceKind::snapshot:
      return "snapshot";
  }
  return "?";
}

std::string Place::qualified() const { return (job ? job->name : std::string()) + ":" + name; }

std::string join(const std::string& base, const std::string& rel) {
  return rel.empty() || rel == "." ? base : base + "/" + rel;
}

namespace {

// The lstat of generation `name` of `job`; nullopt when it vanished (shifted
// away while we listed); an Error naming it when it is not a real directory
// (a symlink, a file, ...): such an entry would be shifted, expired or
// recycled like a generation, so nothing may run until it is moved away.
Result<std::optional<fs::Stat>> generation_stat(fs::Fs& fs, const config::Job& job,
                                                const std::string& name) {
  auto st = fs.lstat(fs::k_cwd, job.path + "/" + name);
  if (!st) {
    if (st.error().sys_errno == ENOENT) {
      return std::optional<fs::Stat>();
    }
    return with_context(std::move(st.error()), "stat", job.path + "/" + name);
  }
  if (!st->is_dir()) {
    return not_a_generation(job, name, st->type());
  }
  return std::optional<fs::Stat>(*st);
}

}  // namespace

Error not_a_generation(const config::Job& job, const std::string& name, fs::FileType type) {
  return plain_error(
      fmt::format("snapshot '{}' is a {}, not a directory: move it out of '{}' and rerun", name,
                  fs::file_type_name(type), job.path));
}

Result<GenerationListing> list_generations(fs::Fs& fs, const config::Job& job, const Zone& zone) {
  GenerationListing out;
  TRY_ASSIGN(auto names, names_of(fs, job.path));
  if (!names) {
    return out;
  }
  out.exists = true;
  out.names = std::move(*names);
  if (job.naming == config::Naming::dated) {
    for (const auto& g : rotation::dated_generations(out.names, job.name_format, zone)) {
      TRY_ASSIGN(auto st, generation_stat(fs, job, g.name));
      if (!st) {
        continue;
      }
      Place p;
      p.kind = PlaceKind::snapshot;
      p.job = &job;
      p.name = g.name;
      p.entry = g.name;
      p.path = job.path + "/" + g.name;
      p.time = g.time;
      p.order = g.suffix;
      out.generations.push_back(std::move(p));
    }
  } else {
    auto policy = retention::parse_rotate_policy(job.keep);
    std::vector<std::string> levels;
    if (policy) {
      for (const auto& l : policy->levels) {
        levels.push_back(l.name);
      }
    }
    for (const auto& n : out.names) {
      auto ln = rotation::parse_level_name(n);
      if (!ln) {
        continue;
      }
      auto it = std::find(levels.begin(), levels.end(), ln->level);
      if (it == levels.end()) {
        continue;  // a level the policy does not know: not rotator's
      }
      TRY_ASSIGN(auto st, generation_stat(fs, job, n));
      if (!st) {
        continue;  // shifted away while we listed
      }
      Place p;
      p.kind = PlaceKind::snapshot;
      p.job = &job;
      p.name = n;
      p.entry = n;
      p.path = job.path + "/" + n;
      p.time = from_timespec(st->mtime);
      // Older = higher level, then higher index.
      p.order =
          -static_cast<int>((it - levels.begin()) * (rotation::k_max_level_index + 1L) + ln->index);
      out.generations.push_back(std::move(p));
    }
  }
  std::sort(out.generations.begin(), out.generations.end(), older);
  return out;
}

Result<HoldingListing> list_holding(fs::Fs& fs, const config::Job& job, const Zone& zone) {
  HoldingListing out;
  if (job.holding.empty()) {
    return out;
  }
  TRY_ASSIGN(auto names, names_of(fs, job.holding));
  if (!names) {
    return out;
  }
  out.exists = true;
  out.names = std::move(*names);
  for (const auto& n : out.names) {
    if (n.rfind(k_deleting_prefix, 0) == 0) {
      continue;
    }
    auto parsed = rotation::parse_dated_name(n, job.holding_format, zone);
    if (!parsed) {
      continue;
    }
    Place p;
    p.kind = PlaceKind::holding;
    p.job = &job;
    p.name = "holding/" + n;
    p.entry = n;
    p.path = job.holding + "/" + n;
    p.time = parsed->time;
    p.order = parsed->suffix;
    out.folders.push_back(std::move(p));
  }
  std::sort(out.folders.begin(), out.folders.end(), older);
  return out;
}

std::string lineage_of(const config::Config& cfg, const config::Job& job) {
  const config::Job* j = &job;
  for (int depth = 0; depth < 16 && j; ++depth) {
    if (j->type == config::JobType::clone) {
      return j->name;
    }
    const config::Job* next = nullptr;
    if (!j->from_job.empty()) {
      next = cfg.find_job(j->from_job);
    } else {
      for (const auto& other : cfg.jobs) {
        if (&other != j && other.path == j->from) {
          next = &other;
          break;
        }
      }
    }
    if (!next) {
      return "path:" + j->from;
    }
    j = next;
  }
  return "path:" + job.from;
}

Result<Catalogue> Catalogue::load(fs::Fs& fs, const config::Config& cfg, const Zone& zone,
                                  Instant now) {
  Catalogue c;
  c.m_cfg = &cfg;
  for (const auto& job : cfg.jobs) {
    std::string lineage = lineage_of(cfg, job);
    if (std::find(c.m_lineages.begin(), c.m_lineages.end(), lineage) == c.m_lineages.end()) {
      c.m_lineages.push_back(lineage);
    }
    auto add = [&](Place p) {
      p.lineage = lineage;
      c.m_places.push_back(std::move(p));
    };
    switch (job.type) {
      case config::JobType::clone: {
        auto st = fs.lstat(fs::k_cwd, job.path);
        if (!st) {
          break;  // never cloned yet
        }
        Place p;
        p.kind = PlaceKind::clone;
        p.job = &job;
        p.name = "clone";
        p.entry = job.path.substr(job.path.rfind('/') + 1);
        p.path = job.path;
        p.time = last_success(fs, cfg, job).value_or(now);
        p.current = true;
        add(std::move(p));
        break;
      }
      case config::JobType::backup: {
        TRY_ASSIGN(auto holding, list_holding(fs, job, zone));
        for (auto& h : holding.folders) {
          add(std::move(h));
        }
        auto st = fs.lstat(fs::k_cwd, job.path);
        if (!st) {
          break;
        }
        Place p;
        p.kind = PlaceKind::backup;
        p.job = &job;
        p.name = "backup";
        p.entry = job.path.substr(job.path.rfind('/') + 1);
        p.path = job.path;
        p.time = last_success(fs, cfg, job).value_or(from_timespec(st->mtime));
        add(std::move(p));
        break;
      }
      case config::JobType::snapshot: {
        TRY_ASSIGN(auto gens, list_generations(fs, job, zone));
        for (auto& g : gens.generations) {
          add(std::move(g));
        }
        break;
      }
    }
  }
  // Several backup jobs: name them "JOB" rather than "backup".
  long backups = std::count_if(cfg.jobs.begin(), cfg.jobs.end(), [](const config::Job& j) {
    return j.type == config::JobType::backup;
  });
  long clones = std::count_if(cfg.jobs.begin(), cfg.jobs.end(), [](const config::Job& j) {
    return j.type == config::JobType::clone;
  });
  for (auto& p : c.m_places) {
    if (p.kind == PlaceKind::backup && backups > 1) {
      p.name = p.job->name;
    } else if (p.kind == PlaceKind::clone && clones > 1) {
      p.name = p.job->name;
    }
  }
  std::stable_sort(c.m_places.begin(), c.m_places.end(), older);
  return c;
}

std::vector<const Place*> Catalogue::of_lineage(const std::string& lineage) const {
  std::vector<const Place*> out;
  for (const auto& p : m_places) {
    if (p.lineage == lineage) {
      out.push_back(&p);
    }
  }
  return out;
}

const Place* Catalogue::current_at(Instant when, const std::string& lineage) const {
  const Place* best = nullptr;
  for (const auto& p : m_places) {
    if (p.lineage != lineage || p.kind == PlaceKind::holding) {
      continue;
    }
    if (p.time <= when && (!best || !older(p, *best))) {
      best = &p;
    }
  }
  return best;
}

Result<const Place*> Catalogue::find(const std::string& spec, const Zone& zone, Instant now) const {
  if (!spec.empty() && spec[0] == '@') {
    TRY_ASSIGN(Instant when, parse_when(spec.substr(1), zone, now));
    if (m_lineages.size() != 1) {
      return plain_error(
          fmt::format("place '{}' is ambiguous: the config has {} clone lineages; name the place",
                      spec, m_lineages.size()));
    }
    const Place* p = current_at(when, m_lineages.front());
    if (!p) {
      return plain_error(fmt::format("no place is as old as '{}' ({}): the history starts later",
                                     spec, zone.format("%Y-%m-%d %H:%M", when)));
    }
    return p;
  }
  std::string job_name;
  std::string name = spec;
  if (auto colon = spec.find(':'); colon != std::string::npos) {
    job_name = spec.substr(0, colon);
    name = spec.substr(colon + 1);
    if (!m_cfg->find_job(job_name)) {
      return plain_error(fmt::format("unknown place '{}': no job '{}'", spec, job_name));
    }
  }
  std::vector<const Place*> hits;
  for (const auto& p : m_places) {
    if (!job_name.empty() && p.job->name != job_name) {
      continue;
    }
    bool match = p.name == name || (p.kind == PlaceKind::clone && name == "clone") ||
                 (p.kind == PlaceKind::backup && name == "backup") ||
                 (p.kind == PlaceKind::holding && name == p.entry && !job_name.empty());
    if (match) {
      hits.push_back(&p);
    }
  }
  if (hits.size() == 1) {
    return hits.front();
  }
  if (hits.empty()) {
    return plain_error(fmt::format(
        "unknown place '{}' (places: clone, backup, holding/DATE, a generation name, JOB:NAME, "
        "@WHEN; `rotator du` lists them)",
        spec));
  }
  std::string names;
  for (const auto* p : hits) {
    names += (names.empty() ? "" : ", ") + p->qualified();
  }
  return plain_error(fmt::format("place '{}' is ambiguous ({}): say JOB:NAME", spec, names));
}

namespace {

// `path` is `base` or below it: the rest ("" for base itself).
std::optional<std::string> under(const std::string& path, const std::string& base) {
  std::string b = base;
  while (b.size() > 1 && b.back() == '/') {
    b.pop_back();
  }
  if (path == b) {
    return std::string();
  }
  if (path.size() > b.size() && path.compare(0, b.size(), b) == 0 && path[b.size()] == '/') {
    return path.substr(b.size() + 1);
  }
  return std::nullopt;
}

// Removes "." components, doubled and trailing slashes.
std::string normalise(const std::string& path) {
  std::string out;
  size_t i = 0;
  if (!path.empty() && path[0] == '/') {
    out = "/";
  }
  while (i < path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string::npos) {
      j = path.size();
    }
    std::string comp = path.substr(i, j - i);
    if (!comp.empty() && comp != ".") {
      if (!out.empty() && out.back() != '/') {
        out += '/';
      }
      out += comp;
    }
    i = j + 1;
  }
  return out;
}

// The local directory of a clone source: "/home/me/" or "host:/home/me/";
// nullopt for rsync daemon URLs and relative remote paths.
std::optional<std::string> source_dir(const std::string& source) {
  if (source.rfind("rsync://", 0) == 0 || source.find("::") != std::string::npos) {
    return std::nullopt;
  }
  if (!source.empty() && source[0] == '/') {
    return source;
  }
  auto colon = source.find(':');
  auto slash = source.find('/');
  if (colon != std::string::npos && (slash == std::string::npos || colon < slash) &&
      colon + 1 < source.size() && source[colon + 1] == '/') {
    return source.substr(colon + 1);
  }
  return std::nullopt;
}

}  // namespace

Result<Catalogue::Resolved> Catalogue::resolve(const std::string& raw) const {
  if (raw.empty()) {
    return plain_error("empty path");
  }
  std::string path = normalise(raw);
  for (const auto& comp : {std::string("/../"), std::string("../")}) {
    if (path.rfind("..", 0) == 0 || path.find(comp) != std::string::npos ||
        (path.size() >= 3 && path.compare(path.size() - 3, 3, "/..") == 0)) {
      return plain_error(fmt::format("path '{}' may not contain '..'", raw));
    }
  }
  if (path[0] != '/') {
    if (m_lineages.size() != 1) {
      return plain_error(fmt::format(
          "path '{}' is ambiguous: {} clone lineages; give an absolute path inside a place", raw,
          m_lineages.size()));
    }
    return Resolved{m_lineages.front(), path};
  }
  // Inside a place (deepest match first: a holding folder before holding).
  const Place* best = nullptr;
  std::string rel;
  for (const auto& p : m_places) {
    if (auto r = under(path, p.path); r && (!best || p.path.size() > best->path.size())) {
      best = &p;
      rel = *r;
    }
  }
  if (best) {
    return Resolved{best->lineage, rel};
  }
  for (const auto& job : m_cfg->jobs) {
    if (job.type == config::JobType::snapshot) {
      if (auto r = under(path, job.path + "/latest")) {
        return Resolved{lineage_of(*m_cfg, job), *r};
      }
    }
  }
  std::vector<Resolved> hits;
  for (const auto& job : m_cfg->jobs) {
    if (job.type != config::JobType::clone) {
      continue;
    }
    if (auto dir = source_dir(job.source)) {
      if (auto r = under(path, normalise(*dir))) {
        hits.push_back(Resolved{job.name, *r});
      }
    }
  }
  if (hits.size() == 1) {
    return hits.front();
  }
  if (hits.size() > 1) {
    return plain_error(fmt::format(
        "path '{}' is ambiguous: it is under the source of {} clone jobs", raw, hits.size()));
  }
  return plain_error(fmt::format(
      "path '{}' is outside every place rotator knows (give it relative to the clone, as an "
      "absolute path inside a place, or under the clone's source)",
      raw));
}

Result<Instant> parse_when(const std::string& text, const Zone& zone, Instant now) {
  if (auto t = zone.parse_iso(text)) {
    return *t;
  }
  if (auto d = zone.parse("%Y-%m-%d", text)) {
    // A date means the whole day: the last second of it.
    return subtract(*d, Duration{-1, 'd'}, zone) - std::chrono::seconds(1);
  }
  if (auto age = parse_duration(text)) {
    return subtract(now, *age, zone);
  }
  return plain_error(fmt::format(
      "bad time '{}' (expected a date 2026-11-24, a date-time 2026-11-24T14:00, or an age such "
      "as 10d, 3w, 36h)",
      text));
}

bool vanished(fs::Fs& fs, const Place& p) {
  auto st = fs.lstat(fs::k_cwd, p.path);
  return !st && st.error().sys_errno == ENOENT;
}

}  // namespace rotator::history
