#include "filter/filter.hpp"

#include <cstring>

#include <fmt/format.h>

namespace rotator::filter {

Result<std::unique_ptr<RuleFilter>> RuleFilter::load(fs::Fs& fs, const std::string& rules_path,
                                                     const std::string& source_root_abs) {
  if (source_root_abs.empty() || source_root_abs[0] != '/') {
    return plain_error(
        fmt::format("source root '{}' is not an absolute path", source_root_abs));
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
  return filter;
}

Status RuleFilter::enter_dir(fs::Fs& fs, int src_dir_fd, const std::string& rel_dir) {
  const auto& merges = m_rules.dir_merges;
  Frame frame;
  frame.owned.resize(merges.size());
  frame.lists.resize(merges.size());
  std::string dir_abs;
  for (std::size_t i = 0; i < merges.size(); ++i) {
    const DirMerge& dm = merges[i];
    bool keep_inherited = !dm.options.no_inherit && !m_frames.empty();
    std::vector<const Rule*> parents;
    if (m_frames.empty() && !dm.parent_start.empty() && !dm.options.no_inherit) {
      TRY_ASSIGN(parents, read_parents(fs, i));
      keep_inherited = true;
    }
    auto content = fs.read_file(src_dir_fd, dm.name);
    if (content) {
      if (dir_abs.empty()) {
        dir_abs = m_root_abs == "/" ? std::string() : m_root_abs;
        if (!rel_dir.empty()) {
          dir_abs.push_back('/');
          dir_abs.append(rel_dir);
        }
        if (dir_abs.empty()) {
          dir_abs.assign(1, '/');
        }
      }
      ParseEnv env;
      env.fs = &fs;
      env.per_dir_abs = dir_abs;
      RuleSet set;
      std::string display = rel_dir;
      if (!display.empty()) {
        display.push_back('/');
      }
      display.append(dm.name);
      TRY(parse_rules(env, *content, display, dm.options, set));
      if (set.cleared) {
        keep_inherited = false;
      }
      frame.owned[i] = std::move(set.rules);
    }
    for (const Rule& rule : frame.owned[i]) {
      frame.lists[i].push_back(&rule);
    }
    if (keep_inherited) {
      const auto& parent = m_frames.empty() ? parents : m_frames.back().lists[i];
      frame.lists[i].insert(frame.lists[i].end(), parent.begin(), parent.end());
    }
  }
  m_frames.push_back(std::move(frame));
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
    auto content = fs.read_file(fs::k_cwd, path);
    if (content) {
      ParseEnv env;
      env.fs = &fs;
      env.per_dir_abs = dir;
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
    m_frames.pop_back();
  }
}

bool RuleFilter::applies(const Rule& rule, Side side, bool skip_perishable) const {
  if (skip_perishable && (rule.flags & k_rule_perishable) != 0) {
    return false;
  }
  if (side == Side::sender) {
    // --delete-excluded: rules without a side are sender-only.
    return (rule.flags & k_rule_receiver) == 0 || (rule.flags & k_rule_sender) != 0;
  }
  return (rule.flags & k_rule_receiver) != 0;
}

int RuleFilter::evaluate(const std::string& rel_path, bool is_dir, Side side,
                         bool skip_perishable, Scope scope) {
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
    if (rule.kind == Rule::Kind::dir_merge) {
      if (m_frames.empty() || scope == Scope::global_rules) {
        continue;
      }
      for (const Rule* sub : m_frames.back().lists[rule.merge_index]) {
        if (applies(*sub, side, skip_perishable) && rule_matches(*sub, subject, m_scratch)) {
          return (sub->flags & k_rule_include) != 0 ? 1 : -1;
        }
      }
      continue;
    }
    if (applies(rule, side, skip_perishable) && rule_matches(rule, subject, m_scratch)) {
      return (rule.flags & k_rule_include) != 0 ? 1 : -1;
    }
  }
  return 0;
}

bool RuleFilter::included(const std::string& rel_path, bool is_dir) {
  return evaluate(rel_path, is_dir, Side::sender, false) >= 0;
}

bool RuleFilter::protects(const std::string& rel_path, bool is_dir) {
  return protects(rel_path, is_dir, InsideDeletedDir::no);
}

bool RuleFilter::protects(const std::string& rel_path, bool is_dir, InsideDeletedDir inside) {
  return evaluate(rel_path, is_dir, Side::receiver, inside == InsideDeletedDir::yes) < 0;
}

bool RuleFilter::keeps_empty_dir(const std::string& rel_dir) {
  return evaluate(rel_dir, true, Side::receiver, false, Scope::global_rules) < 0;
}

}  // namespace rotator::filter
