#include "filter/filter.hpp"

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace rotator::filter {

Result<std::unique_ptr<RuleFilter>> RuleFilter::load(fs::Fs& fs, const std::string& rules_path,
                                                     const std::string& source_root_abs) {
  if (source_root_abs.empty() || source_root_abs[0] != '/') {
    return plain_error(fmt::format("source root '{}' is not an absolute path", source_root_abs));
  }
  std::unique_ptr<RuleFilter> filter(new RuleFilter());
  filter->m_root_abs = source_root_abs;
  while (filter->m_root_abs.size() > 1 && filter->m_root_abs.back() == '/') {
    filter->m_root_abs.pop_back();
  }
  filter->m_root_rel = filter->m_root_abs.substr(1);
  auto content = fs.read_file(fs::k_cwd, rules_path);
  if (!content) {
    return plain_error(fmt::format("failed to read rules file '{}': {}", rules_path,
                                   fs::read_failure(content.error())));
  }
  ParseEnv env;
  env.fs = &fs;
  auto slash = rules_path.rfind('/');
  env.base_dir = slash == std::string::npos ? std::string(".")
                 : slash == 0               ? std::string("/")
                                            : rules_path.substr(0, slash);
  TRY(parse_rules(env, *content, rules_path, MergeOptions{}, filter->m_rules));
  filter->m_active = filter->m_rules.dir_merges;
  return filter;
}

Result<std::string> RuleFilter::read_path(fs::Fs& fs, const std::string& path) {
  if (!m_cache_on) {
    return fs.read_file(fs::k_cwd, path);
  }
  return cached_read(fs, fs::k_cwd, "P" + path, path);
}

Result<std::string> RuleFilter::cached_read(fs::Fs& fs, int dir_fd, std::string key,
                                            const std::string& name) {
  auto it = m_cache.find(key);
  if (it == m_cache.end()) {
    auto got = fs.read_file(dir_fd, name);
    Cached c;
    if (got) {
      c.data = std::move(*got);
    } else {
      c.error = std::move(got.error());
    }
    it = m_cache.emplace(std::move(key), std::move(c)).first;
  }
  if (const auto& failed = it->second.error) {
    return with_context(*failed, "read", name, failed->detail);
  }
  return it->second.data;
}

Result<std::string> RuleFilter::read_in_dir(fs::Fs& fs, int dir_fd, const std::string& dir_key,
                                            const std::string& name) {
  if (!m_cache_on || dir_key.empty()) {
    return fs.read_file(dir_fd, name);
  }
  return cached_read(fs, dir_fd, dir_key + name, name);
}

namespace {

// A per-directory rule file that exists but cannot be read: the walk stops.
Error unreadable_rule_file(const std::string& dir_abs, const std::string& name, const Error& e) {
  std::string path = dir_abs;
  if (path.empty() || path.back() != '/') {
    path.push_back('/');
  }
  path.append(name);
  return plain_error(
      fmt::format("cannot read per-directory rule file '{}': {}", path, fs::read_failure(e)));
}

}  // namespace

Status RuleFilter::enter_dir(fs::Fs& fs, int src_dir_fd, const std::string& rel_dir) {
  return enter(fs, src_dir_fd, rel_dir, k_on_sender | k_on_receiver);
}

Status RuleFilter::enter_deleted_dir(fs::Fs& fs, int dst_dir_fd, const std::string& rel_dir) {
  return enter(fs, dst_dir_fd, rel_dir, k_on_receiver);
}

Status RuleFilter::enter(fs::Fs& fs, int dir_fd, const std::string& rel_dir, std::uint8_t sides) {
  const std::size_t before = m_active.size();
  // Built in place: the rules it owns are pointed to, and never move.
  m_frames.emplace_back();
  m_frames.back().active_before = before;
  Status st = push_frame(fs, dir_fd, rel_dir, sides);
  if (!st) {
    m_frames.pop_back();
    m_active.resize(before);  // nothing activated by the failed frame stays
  }
  return st;
}

Status RuleFilter::push_frame(fs::Fs& fs, int dir_fd, const std::string& rel_dir,
                              std::uint8_t sides) {
  Frame& frame = m_frames.back();
  const Frame* parent = m_frames.size() < 2 ? nullptr : &m_frames[m_frames.size() - 2];
  std::string dir_abs;
  std::string dir_key;
  if (m_cache_on && !m_active.empty()) {
    TRY_ASSIGN(auto st, fs.lstat(dir_fd, ""));
    dir_key = fmt::format("D{}:{}/", st.dev, st.ino);
  }
  // Note: m_active may grow inside the loop (nested dir-merge rules); the new
  // merges are read in this same directory, as rsync's push_local_filters does.
  for (std::size_t i = 0; i < m_active.size(); ++i) {
    const DirMerge dm = m_active[i];  // a copy: m_active may reallocate below
    std::vector<const Rule*> inherited;
    if (!dm.options.no_inherit) {
      if (parent != nullptr) {
        if (i < parent->lists.size()) {
          inherited = parent->lists[i];
        }
      } else if (!dm.parent_start.empty()) {
        TRY_ASSIGN(inherited, read_parents(fs, i));
      }
    }
    std::vector<const Rule*> list;
    // A missing per-directory file is ignored, as in rsync; one that exists
    // but cannot be read stops the walk (see the header); one that no side
    // walking here would read is not read.
    Result<std::string> content = sys_error(ENOENT, "read", dm.name);
    if ((dm.applies_to & sides) != 0) {
      content = read_in_dir(fs, dir_fd, dir_key, dm.name);
    }
    if (dir_abs.empty() && (content || content.error().sys_errno != ENOENT)) {
      dir_abs = m_root_abs == "/" ? std::string() : m_root_abs;
      if (!rel_dir.empty()) {
        dir_abs.push_back('/');
        dir_abs.append(rel_dir);
      }
      if (dir_abs.empty()) {
        dir_abs.assign(1, '/');
      }
    }
    if (!content && content.error().sys_errno != ENOENT) {
      return unreadable_rule_file(dir_abs, dm.name, content.error());
    }
    if (content) {
      ParseEnv env;
      env.fs = &fs;
      env.context = ParseContext::per_dir;
      env.per_dir_abs = dir_abs;
      env.plain_dir = m_root_abs;
      env.active = &m_active;  // not changed while the file is parsed
      env.read = [this, &fs](const std::string& path) { return read_path(fs, path); };
      RuleSet set;
      std::string display = rel_dir;
      if (!display.empty()) {
        display.push_back('/');
      }
      display.append(dm.name);
      TRY(parse_rules(env, *content, display, dm.options, set));
      if (set.cleared) {
        inherited.clear();
      }
      const int base = static_cast<int>(m_active.size());
      for (auto& nested : set.dir_merges) {
        m_active.push_back(std::move(nested));
      }
      for (Rule& rule : set.rules) {
        if (rule.kind == Rule::Kind::dir_merge) {
          rule.merge_index += base;
        }
        frame.owned.push_back(std::move(rule));
        list.push_back(&frame.owned.back());
      }
    }
    list.insert(list.end(), inherited.begin(), inherited.end());
    if (frame.lists.size() <= i) {
      frame.lists.resize(i + 1);
    }
    frame.lists[i] = std::move(list);
  }
  frame.lists.resize(m_active.size());
  return ok();
}

Result<std::vector<const Rule*>> RuleFilter::read_parents(fs::Fs& fs, std::size_t index) {
  const DirMerge& dm = m_rules.dir_merges[index];
  if (m_parents_read.size() != m_rules.dir_merges.size()) {
    m_parents_read.assign(m_rules.dir_merges.size(), 0);
    m_parent_lists.assign(m_rules.dir_merges.size(), {});
  }
  if (m_parents_read[index] != 0) {
    return m_parent_lists[index];
  }
  const std::string& start = dm.parent_start;
  std::vector<const Rule*> list;
  bool ancestor = start == "/" || (m_root_abs.size() > start.size() &&
                                   m_root_abs.compare(0, start.size(), start) == 0 &&
                                   m_root_abs[start.size()] == '/');
  if (!ancestor || m_root_abs == "/") {
    return list;
  }
  std::string dir = start;
  while (dir != m_root_abs) {
    std::string path = dir;
    if (path.back() != '/') {
      path.push_back('/');
    }
    path.append(dm.name);
    auto content = read_path(fs, path);
    if (!content && content.error().sys_errno != ENOENT) {
      return unreadable_rule_file(dir, dm.name, content.error());
    }
    if (content) {
      ParseEnv env;
      env.fs = &fs;
      env.context = ParseContext::parent_scan;
      env.per_dir_abs = dir;
      env.plain_dir = dir;
      env.read = [this, &fs](const std::string& p) { return read_path(fs, p); };
      RuleSet set;
      TRY(parse_rules(env, *content, path, dm.options, set));
      auto owned = std::make_unique<std::vector<Rule>>(std::move(set.rules));
      std::vector<const Rule*> next;
      for (const Rule& rule : *owned) {
        next.push_back(&rule);
      }
      if (!set.cleared) {
        next.insert(next.end(), list.begin(), list.end());
      }
      list = std::move(next);
      m_parent_rules.push_back(std::move(owned));
    }
    std::size_t from = dir == "/" ? 1 : dir.size() + 1;
    std::size_t slash = m_root_abs.find('/', from);
    dir = m_root_abs.substr(0, slash == std::string::npos ? m_root_abs.size() : slash);
  }
  m_parents_read[index] = 1;
  m_parent_lists[index] = list;
  return list;
}

void RuleFilter::leave_dir() {
  if (!m_frames.empty()) {
    m_active.resize(m_frames.back().active_before);
    m_frames.pop_back();
  }
}

bool RuleFilter::applies(const Rule& rule, Side side, InsideDeletedDir inside) const {
  if (inside == InsideDeletedDir::yes && (rule.flags & k_rule_perishable) != 0) {
    return false;
  }
  return (rule.applies_to & (side == Side::sender ? k_on_sender : k_on_receiver)) != 0;
}

int RuleFilter::evaluate_list(const std::vector<const Rule*>& list, const Subject& subject,
                              Side side, InsideDeletedDir inside) {
  for (const Rule* rule : list) {
    if (!applies(*rule, side, inside)) {
      continue;
    }
    if (rule->kind == Rule::Kind::dir_merge) {
      // Activation order makes the nesting acyclic: a placeholder only ever
      // names a merge activated after the list that holds it.
      int rc = evaluate_list(m_frames.back().lists[static_cast<std::size_t>(rule->merge_index)],
                             subject, side, inside);
      if (rc != 0) {
        return rc;
      }
      continue;
    }
    if (rule_matches(*rule, subject, m_scratch)) {
      return (rule->flags & k_rule_include) != 0 ? 1 : -1;
    }
  }
  return 0;
}

int RuleFilter::evaluate(const std::string& rel_path, bool is_dir, Side side,
                         InsideDeletedDir inside, Scope scope) {
  if (rel_path.empty()) {
    return 0;
  }
  Subject subject;
  subject.name = rel_path;
  auto slash = rel_path.rfind('/');
  subject.last = slash == std::string::npos ? subject.name : subject.name.substr(slash + 1);
  subject.root_rel = m_root_rel;
  subject.is_dir = is_dir;
  for (const Rule& rule : m_rules.rules) {
    if (!applies(rule, side, inside)) {
      continue;
    }
    if (rule.kind == Rule::Kind::dir_merge) {
      if (m_frames.empty() || scope == Scope::global_rules) {
        continue;
      }
      int rc = evaluate_list(m_frames.back().lists[static_cast<std::size_t>(rule.merge_index)],
                             subject, side, inside);
      if (rc != 0) {
        return rc;
      }
      continue;
    }
    if (rule_matches(rule, subject, m_scratch)) {
      return (rule.flags & k_rule_include) != 0 ? 1 : -1;
    }
  }
  return 0;
}

bool RuleFilter::included(const std::string& rel_path, bool is_dir) {
  return evaluate(rel_path, is_dir, Side::sender, InsideDeletedDir::no) >= 0;
}

bool RuleFilter::protects(const std::string& rel_path, bool is_dir) {
  return protects(rel_path, is_dir, InsideDeletedDir::no);
}

bool RuleFilter::protects(const std::string& rel_path, bool is_dir, InsideDeletedDir inside) {
  return evaluate(rel_path, is_dir, Side::receiver, inside) < 0;
}

bool RuleFilter::keeps_empty_dir(const std::string& rel_dir) {
  return evaluate(rel_dir, true, Side::receiver, InsideDeletedDir::no, Scope::global_rules) < 0;
}

}  // namespace rotator::filter
