#include "history/merge_walk.hpp"

#include <algorithm>
#include <cerrno>

namespace rotator::history {

bool subtree_before(const std::string& dir, const std::string& name) {
  int c = name.compare(0, dir.size(), dir);
  if (c != 0) {
    return c > 0;
  }
  // `name` starts with `dir` (and is longer: names are distinct).
  return name.size() > dir.size() && static_cast<unsigned char>(name[dir.size()]) > '/';
}

namespace {

// One start's open directory at one level of the walk.
struct Side {
  size_t start = 0;
  fs::DirHandle dir;
  std::vector<fs::DirEntry> entries;  // sorted by name
  size_t pos = 0;
};

// A directory of the current level whose subtree is still to be walked:
// its name and the sides (indices into the level) where it is a directory.
struct Deferred {
  std::string name;
  std::vector<size_t> sides;
};

class Merger {
 public:
  Merger(fs::Fs& fs, const std::vector<MergeStart>& starts, size_t prefix_len,
         const MergeVisit& visit, MergeCounts& counts)
      : m_fs(fs),
        m_starts(starts),
        m_prefix_len(prefix_len),
        m_visit(visit),
        m_counts(counts),
        m_dead(starts.size(), 0) {}

  Status run(std::vector<Side> level, std::string& rel) {
    for (auto& s : level) {
      TRY(list(s, rel));
    }
    std::vector<Deferred> deferred;  // a stack: the top sorts first
    std::vector<Sighting> seen;
    std::vector<size_t> here;
    size_t base = rel.size();
    while (true) {
      const std::string* least = nullptr;
      for (auto& s : level) {
        if (s.pos < s.entries.size() && !m_dead[s.start] &&
            (!least || s.entries[s.pos].name < *least)) {
          least = &s.entries[s.pos].name;
        }
      }
      if (!least) {
        break;
      }
      std::string name = *least;
      while (!deferred.empty() && subtree_before(deferred.back().name, name)) {
        Deferred d = std::move(deferred.back());
        deferred.pop_back();
        TRY(descend(level, d, rel));
      }
      seen.clear();
      here.clear();
      for (size_t k = 0; k < level.size(); ++k) {
        Side& s = level[k];
        if (s.pos < s.entries.size() && !m_dead[s.start] && s.entries[s.pos].name == name) {
          const fs::DirEntry& e = s.entries[s.pos];
          seen.push_back(Sighting{s.start, e.type, e.ino});
          if (e.type == fs::FileType::directory) {
            here.push_back(k);
          }
          ++s.pos;
        }
      }
      rel.resize(base);
      if (!rel.empty()) {
        rel += '/';
      }
      rel += name;
      m_visit(rel, name, seen);
      rel.resize(base);
      if (!here.empty()) {
        deferred.push_back(Deferred{std::move(name), here});
      }
    }
    while (!deferred.empty()) {
      Deferred d = std::move(deferred.back());
      deferred.pop_back();
      TRY(descend(level, d, rel));
    }
    return ok();
  }

  Status start(std::string& rel) {
    std::vector<Side> level;
    for (size_t i = 0; i < m_starts.size(); ++i) {
      auto dir = fs::open_dir(m_fs, fs::k_cwd, m_starts[i].path);
      if (!dir) {
        TRY(failed(i, std::move(dir.error()), ""));
        continue;
      }
      level.push_back(Side{i, std::move(*dir), {}, 0});
    }
    return run(std::move(level), rel);
  }

 private:
  // A call on start `i` failed at `below` (relative to its start): drop a
  // vanished place, else the error.
  Status failed(size_t i, Error e, const std::string& below) {
    const Place& p = *m_starts[i].place;
    if (e.sys_errno == ENOENT && vanished(m_fs, p)) {
      m_dead[i] = 1;
      m_counts.vanished.push_back(p.qualified());
      return ok();
    }
    return with_context(std::move(e), "read", join(m_starts[i].path, below));
  }

  Status list(Side& s, const std::string& rel) {
    std::string below = rel.substr(std::min(rel.size(), m_prefix_len));
    auto listed = m_fs.list_dir(s.dir.fd());
    if (!listed) {
      return failed(s.start, std::move(listed.error()), below);
    }
    auto& entries = *listed;
    size_t kept = 0;
    for (auto& e : entries) {
      if (e.type == fs::FileType::unknown) {
        auto st = m_fs.lstat(s.dir.fd(), e.name);
        if (!st) {
          if (st.error().sys_errno == ENOENT) {
            continue;  // gone since the listing
          }
          return with_context(
              std::move(st.error()), "read",
              join(m_starts[s.start].path, below.empty() ? e.name : below + "/" + e.name));
        }
        e.type = st->type();
      }
      if (&entries[kept] != &e) {
        entries[kept] = std::move(e);
      }
      ++kept;
    }
    entries.resize(kept);
    m_counts.entries += static_cast<long>(kept);
    std::sort(entries.begin(), entries.end(),
              [](const fs::DirEntry& x, const fs::DirEntry& y) { return x.name < y.name; });
    s.entries = std::move(entries);
    return ok();
  }

  Status descend(std::vector<Side>& level, const Deferred& d, std::string& rel) {
    size_t base = rel.size();
    if (!rel.empty()) {
      rel += '/';
    }
    rel += d.name;
    std::vector<Side> next;
    for (size_t k : d.sides) {
      Side& s = level[k];
      if (m_dead[s.start]) {
        continue;
      }
      auto dir = fs::open_dir(m_fs, s.dir.fd(), d.name);
      if (!dir) {
        std::string below = rel.substr(std::min(rel.size(), m_prefix_len));
        auto st = failed(s.start, std::move(dir.error()), below);
        if (!st) {
          rel.resize(base);
          return st;
        }
        continue;
      }
      next.push_back(Side{s.start, std::move(*dir), {}, 0});
    }
    auto st = run(std::move(next), rel);
    rel.resize(base);
    return st;
  }

  fs::Fs& m_fs;
  const std::vector<MergeStart>& m_starts;
  size_t m_prefix_len;  // the prefix's length plus its '/' (0: no prefix)
  const MergeVisit& m_visit;
  MergeCounts& m_counts;
  std::vector<char> m_dead;
};

}  // namespace

Status merge_walk(fs::Fs& fs, const std::vector<MergeStart>& starts, const std::string& prefix,
                  const MergeVisit& visit, MergeCounts& counts) {
  Merger m(fs, starts, prefix.empty() ? 0 : prefix.size() + 1, visit, counts);
  std::string rel = prefix;
  return m.start(rel);
}

}  // namespace rotator::history
