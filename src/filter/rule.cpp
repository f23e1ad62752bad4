#include "filter/rule.hpp"

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "filter/wildmatch.hpp"

namespace rotator::filter {

namespace {

constexpr std::uint32_t k_sides = k_rule_sender | k_rule_receiver;

struct LongName {
  std::string_view name;
  char rule;
};

constexpr LongName k_long_names[] = {
    {"clear", '!'}, {"dir-merge", ':'}, {"exclude", '-'}, {"hide", 'H'}, {"include", '+'},
    {"merge", '.'}, {"protect", 'P'},   {"risk", 'R'},    {"show", 'S'},
};

Error rule_error(const std::string& file, int line, const std::string& what) {
  return plain_error(fmt::format("{}:{}: {}", file, line, what));
}

std::string_view basename_of(std::string_view path) {
  auto slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

bool anchors_per_dir(ParseContext c) {
  return c == ParseContext::per_dir || c == ParseContext::parent_scan;
}

bool inside_merge_of_per_dir(ParseContext c) {
  return c == ParseContext::per_dir_merge || c == ParseContext::parent_scan_merge;
}

// Where a rule is in effect (rsync with --delete-excluded), from its declared
// sides and where it was read:
//   * global list (send_rules): no side = sender (--delete-excluded), 's'
//     sender, 'r' receiver, both = both; a dir-merge placeholder is on both
//     sides whatever its modifiers (check_filter never elides it);
//   * a per-directory file (add_rule drops the other side's rules): the same,
//     except that a rule built by rsync itself (the `e` exclude) has no side
//     and stays on both;
//   * a file merged from a per-directory file: both (rsync neither drops nor
//     elides those rules, and check_filter does not look at sides).
enum class Origin { parsed, exclude_self, placeholder };
std::uint8_t effective_sides(std::uint32_t flags, Origin origin, ParseContext context) {
  const std::uint8_t both = k_on_sender | k_on_receiver;
  if (inside_merge_of_per_dir(context)) {
    return both;
  }
  if (context == ParseContext::global && origin == Origin::placeholder) {
    // rsync's check_filter evaluates a global dir-merge list on both sides
    // whatever its side (elision applies to pattern rules only); the side
    // only reaches the rules read from its files, as their default.
    return both;
  }
  const std::uint32_t sides = flags & k_sides;
  if (sides == k_rule_sender) {
    return k_on_sender;
  }
  if (sides == k_rule_receiver) {
    return k_on_receiver;
  }
  if (sides == k_sides) {
    return both;
  }
  // No declared side.
  if (context == ParseContext::global) {
    return k_on_sender;
  }
  // Per-directory file: parsed rules got 's' from --delete-excluded.
  return origin == Origin::parsed ? k_on_sender : both;
}

// Adds a compiled pattern rule; the caller has checked the pattern is non-empty.
Status add_pattern(std::string_view pattern, std::uint32_t flags, Origin origin,
                   const ParseEnv& env, const std::string& file, int line, std::string_view text,
                   RuleSet& out) {
  if (pattern.size() > k_max_pattern_len) {
    return rule_error(file, line,
                      fmt::format("filter pattern longer than {} bytes in '{}'", k_max_pattern_len,
                                  text.substr(0, 40)));
  }
  Rule rule;
  rule.flags = flags;
  rule.applies_to = effective_sides(flags, origin, env.context);
  // rsync anchors only the per-directory file's own rules (XFLG_ANCHORED2ABS);
  // not its `e` exclude, not the rules of files it merges.
  compile_pattern(pattern,
                  anchors_per_dir(env.context) && origin == Origin::parsed
                      ? std::string_view(env.per_dir_abs)
                      : std::string_view(),
                  rule);
  out.rules.push_back(std::move(rule));
  return ok();
}

Status parse_merge(ParseEnv& env, char kind, std::string_view name, const MergeOptions& opts,
                   const std::string& file, int line, std::string_view text, RuleSet& out);

// Parses one rule (one line, or one word of a 'w' file).
Status parse_one(ParseEnv& env, std::string_view text, const std::string& file, int line,
                 const MergeOptions& tmpl, RuleSet& out) {
  if (tmpl.no_prefixes) {
    std::uint32_t flags = tmpl.defaults | (tmpl.include_lines ? k_rule_include : 0);
    return add_pattern(text, flags, Origin::parsed, env, file, line, text, out);
  }
  std::size_t pos = 0;
  char kind = 0;
  for (const auto& ln : k_long_names) {
    if (text.substr(0, ln.name.size()) == ln.name &&
        (text.size() == ln.name.size() || text[ln.name.size()] == ' ' ||
         text[ln.name.size()] == '_' || text[ln.name.size()] == ',')) {
      kind = ln.rule;
      pos = ln.name.size();
      break;
    }
  }
  if (kind == 0) {
    if (std::strchr("-+HSPR.:!", text[0]) == nullptr || text[0] == '\0') {
      return rule_error(file, line, fmt::format("unknown filter rule '{}'", text));
    }
    kind = text[0];
    pos = 1;
  }
  if (pos < text.size() && text[pos] == ',') {
    ++pos;
  }
  if (kind == '!') {
    if (pos < text.size()) {
      return rule_error(file, line, fmt::format("'!' rule has trailing characters in '{}'", text));
    }
    out.rules.clear();
    out.dir_merges.clear();  // their placeholders are gone: rsync stops reading them
    out.cleared = true;
    return ok();
  }
  const bool is_merge = kind == '.' || kind == ':';
  const bool side_prefix = kind == 'H' || kind == 'S' || kind == 'P' || kind == 'R';
  std::uint32_t flags = 0;
  MergeOptions mopts;
  switch (kind) {
    case '+':
      flags = k_rule_include;
      break;
    case 'S':
      flags = k_rule_include | k_rule_sender;
      break;
    case 'H':
      flags = k_rule_sender;
      break;
    case 'R':
      flags = k_rule_include | k_rule_receiver;
      break;
    case 'P':
      flags = k_rule_receiver;
      break;
    default:
      break;
  }
  for (; pos < text.size() && text[pos] != ' ' && text[pos] != '_'; ++pos) {
    char m = text[pos];
    bool valid = true;
    switch (m) {
      case '/':
        flags |= k_rule_abs_path;
        break;
      case '!':
        valid = !is_merge;
        flags |= k_rule_negate;
        break;
      case 'p':
        flags |= k_rule_perishable;
        break;
      case 's':
        valid = !side_prefix;
        flags |= k_rule_sender;
        break;
      case 'r':
        valid = !side_prefix;
        flags |= k_rule_receiver;
        break;
      case 'e':
        valid = is_merge;
        mopts.exclude_self = true;
        break;
      case 'n':
        valid = is_merge;
        mopts.no_inherit = true;
        break;
      case 'w':
        valid = is_merge;
        mopts.word_split = true;
        break;
      case '-':
        valid = is_merge;
        mopts.no_prefixes = true;
        break;
      case '+':
        valid = is_merge;
        mopts.no_prefixes = true;
        mopts.include_lines = true;
        break;
      case 'C':
        return rule_error(
            file, line, fmt::format("CVS-exclude rules are not supported by rotator: '{}'", text));
      case 'x':
        return rule_error(
            file, line,
            fmt::format("xattr filter rules (modifier 'x') are not supported by rotator: '{}'",
                        text));
      default:
        valid = false;
        break;
    }
    if (!valid) {
      return rule_error(file, line,
                        fmt::format("invalid modifier '{}' in filter rule '{}'", m, text));
    }
  }
  if (pos < text.size()) {
    ++pos;  // exactly one separator
  }
  std::string_view pattern = text.substr(pos);
  if (pattern.empty()) {
    return rule_error(file, line, fmt::format("unexpected end of filter rule '{}'", text));
  }
  if ((tmpl.defaults & k_sides) != 0 && (flags & k_sides) != 0) {
    return rule_error(
        file, line,
        fmt::format("specified-side merge file contains specified-side filter '{}'", text));
  }
  flags |= tmpl.defaults;
  if (is_merge) {
    mopts.defaults = flags & (k_rule_abs_path | k_rule_perishable | k_sides);
    return parse_merge(env, kind, pattern, mopts, file, line, text, out);
  }
  return add_pattern(pattern, flags, Origin::parsed, env, file, line, text, out);
}

// Lexically normalises an absolute path: no "." or ".." components, no
// repeated or trailing '/' ("/" stays "/"). ".." above "/" stays at "/".
std::string normalize_abs(const std::string& path) {
  std::vector<std::string_view> parts;
  std::string_view rest = path;
  while (!rest.empty()) {
    auto slash = rest.find('/');
    std::string_view part = rest.substr(0, slash);
    rest = slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
    if (part.empty() || part == ".") {
      continue;
    }
    if (part == "..") {
      if (!parts.empty()) {
        parts.pop_back();
      }
      continue;
    }
    parts.push_back(part);
  }
  std::string out;
  for (auto part : parts) {
    out.push_back('/');
    out.append(part);
  }
  if (out.empty()) {
    out.push_back('/');
  }
  return out;
}

std::string join_dir(const std::string& dir, std::string_view name) {
  std::string path = dir;
  if (path.empty() || path.back() != '/') {
    path.push_back('/');
  }
  path.append(name);
  return path;
}

Status parse_merge(ParseEnv& env, char kind, std::string_view name, const MergeOptions& opts,
                   const std::string& file, int line, std::string_view text, RuleSet& out) {
  const bool nested = env.context != ParseContext::global;
  const bool has_slash = name.find('/') != std::string_view::npos;
  if (kind == ':' && nested &&
      (env.context == ParseContext::parent_scan ||
       env.context == ParseContext::parent_scan_merge)) {
    return rule_error(file, line,
                      fmt::format("dir-merge rules in a file read in the parents of the root "
                                  "are not supported by rotator: '{}'",
                                  text));
  }
  if (kind == ':' && nested && has_slash) {
    return rule_error(file, line,
                      fmt::format("a dir-merge name with '/' inside a per-directory file is "
                                  "not supported by rotator: '{}'",
                                  text));
  }
  if (opts.exclude_self) {
    // Built by rsync itself with no side (item of exclude.c parse_filter_str):
    // in the global list --delete-excluded makes it sender-only, in a
    // per-directory list it is in effect on both sides.
    TRY(add_pattern(basename_of(name), 0, Origin::exclude_self, env, file, line, text, out));
  }
  if (kind == ':') {
    std::string parent_start;
    std::string_view base = name;
    auto slash = name.rfind('/');
    if (slash != std::string_view::npos) {
      base = name.substr(slash + 1);
      std::string dir(name.substr(0, slash));
      if (dir.empty() || dir[0] != '/') {
        dir = env.base_dir + "/" + dir;
      }
      if (dir[0] != '/') {
        return rule_error(file, line,
                          fmt::format("relative dir-merge directory needs an absolute rules file "
                                      "path in '{}'",
                                      text));
      }
      parent_start = normalize_abs(dir);
      if (base.empty()) {
        return rule_error(file, line, fmt::format("dir-merge file name ends in '/' in '{}'", text));
      }
    }
    // rsync activates a dir-merge name once per side (by its last
    // component), also when the active one was declared elsewhere: the new
    // one is in effect only on the sides where the name is still free.
    std::uint8_t taken = 0;
    for (const auto& dm : out.dir_merges) {
      if (dm.name == base) {
        taken |= dm.applies_to;
      }
    }
    if (env.active != nullptr) {
      for (const auto& dm : *env.active) {
        if (dm.name == base) {
          taken |= dm.applies_to;
        }
      }
    }
    const std::uint8_t sides =
        effective_sides(opts.defaults, Origin::placeholder, env.context) & ~taken;
    if (sides == 0) {
      return ok();
    }
    Rule rule;
    rule.kind = Rule::Kind::dir_merge;
    rule.flags = opts.defaults;
    rule.applies_to = sides;
    rule.merge_index = static_cast<int>(out.dir_merges.size());
    out.dir_merges.push_back(
        DirMerge{std::string(base), opts, std::move(parent_start), rule.applies_to});
    out.rules.push_back(std::move(rule));
    return ok();
  }
  // rsync 3.5.0 (parse_filter_file) refuses to open a file while 32 are
  // open: the rules file (or per-directory file) and 31 nested merges at most.
  if (env.depth + 1 >= k_max_merge_depth) {
    return rule_error(file, line,
                      fmt::format("merge-file include depth limit ({}) exceeded in '{}'",
                                  k_max_merge_depth, text));
  }
  std::string path(name);
  if (path[0] != '/') {
    if (!nested) {
      if (!env.base_dir.empty()) {
        path = join_dir(env.base_dir, path);
      }
    } else if (has_slash) {
      path = join_dir(env.per_dir_abs, path);
    } else {
      path = join_dir(env.plain_dir, path);
    }
  }
  // A directory, fifo or device is refused (rsync reads a directory as an
  // empty rule set: the backup would silently select everything).
  auto content = env.read ? env.read(path) : env.fs->read_file(fs::k_cwd, path);
  std::string data;
  if (content) {
    data = std::move(content.value());
  } else {
    return rule_error(
        file, line,
        fmt::format("failed to open merge file '{}': {}", name, fs::read_failure(content.error())));
  }
  ParseContext saved = env.context;
  if (env.context == ParseContext::per_dir) {
    env.context = ParseContext::per_dir_merge;
  } else if (env.context == ParseContext::parent_scan) {
    env.context = ParseContext::parent_scan_merge;
  }
  ++env.depth;
  Status st = parse_rules(env, data, std::string(name), opts, out);
  --env.depth;
  env.context = saved;
  return st;
}

}  // namespace

void compile_pattern(std::string_view pattern, std::string_view per_dir_abs, Rule& rule) {
  if (pattern.size() > 1 && pattern.back() == '/') {
    pattern.remove_suffix(1);
    rule.flags |= k_rule_dir_only;
  }
  std::string full;
  // A '/'-modifier rule is already absolute: no directory prefix (oracle
  // seeds 860 and 1043: "-/ /?" in a per-dir file matches from the fs root).
  if (!per_dir_abs.empty() && pattern[0] == '/' && (rule.flags & k_rule_abs_path) == 0) {
    full.assign(per_dir_abs);
    if (full.back() == '/') {
      full.pop_back();
    }
    full.append(pattern);
    rule.flags |= k_rule_abs_path;
  } else {
    full.assign(pattern);
  }
  rule.slash_cnt = 0;
  for (char c : full) {
    if (c == '/') {
      ++rule.slash_cnt;
    }
  }
  if (full.find_first_of("*?[") != std::string::npos) {
    rule.flags |= k_rule_wild;
    auto star2 = full.find("**");
    if (star2 != std::string::npos) {
      rule.flags |= k_rule_wild2;
      if (star2 == 0) {
        rule.flags |= k_rule_wild2_prefix;
      }
      if (full.size() >= 3 && full.compare(full.size() - 3, 3, "***") == 0) {
        rule.flags |= k_rule_wild3_suffix;
      }
    }
  }
  if (!full.empty() && full[0] == '/') {
    rule.flags |= k_rule_anchored;
    full.erase(0, 1);
  }
  rule.pattern = std::move(full);
}

bool rule_matches(const Rule& rule, const Subject& subject, std::string& scratch) {
  const std::uint32_t f = rule.flags;
  const bool negate = (f & k_rule_negate) != 0;
  std::string_view s;
  bool in_scratch = false;
  if (rule.slash_cnt == 0 && (f & k_rule_wild2) == 0) {
    s = subject.last;
  } else if ((f & k_rule_abs_path) != 0 && !subject.root_rel.empty()) {
    scratch.assign(subject.root_rel);
    scratch.push_back('/');
    scratch.append(subject.name);
    in_scratch = true;
  } else if ((f & k_rule_wild2_prefix) != 0) {
    scratch.assign(1, '/');
    scratch.append(subject.name);
    in_scratch = true;
  } else {
    s = subject.name;
  }
  if (subject.is_dir) {
    if ((f & k_rule_wild3_suffix) != 0) {
      if (!in_scratch) {
        scratch.assign(s);
        in_scratch = true;
      }
      scratch.push_back('/');
    }
  } else if ((f & k_rule_dir_only) != 0) {
    return negate;
  }
  if (in_scratch) {
    s = scratch;
  }
  const bool anchored = (f & k_rule_anchored) != 0;
  const bool wild = (f & k_rule_wild) != 0;
  const std::string_view pat = rule.pattern;
  bool matched = false;
  if (!anchored && rule.slash_cnt > 0 && (f & k_rule_wild2) == 0) {
    // The last slash_cnt+1 components of s.
    int need = rule.slash_cnt;
    std::size_t start = s.size();
    bool enough = true;
    while (need > 0) {
      if (start == 0) {
        enough = false;
        break;
      }
      auto slash = s.rfind('/', start - 1);
      if (slash == std::string_view::npos) {
        enough = false;
        break;
      }
      start = slash;
      --need;
    }
    if (enough) {
      // `start` is at the slash before the wanted components; find the one before it.
      auto prev = start == 0 ? std::string_view::npos : s.rfind('/', start - 1);
      std::size_t from = prev == std::string_view::npos ? 0 : prev + 1;
      std::string_view tail = s.substr(from);
      matched = wild ? wildmatch(pat, tail) : tail == pat;
    }
  } else if (!anchored && (f & k_rule_wild2) != 0 && (f & k_rule_wild2_prefix) == 0) {
    std::size_t from = 0;
    while (true) {
      if (wildmatch(pat, s.substr(from))) {
        matched = true;
        break;
      }
      auto slash = s.find('/', from);
      if (slash == std::string_view::npos) {
        break;
      }
      from = slash + 1;
    }
  } else {
    matched = wild ? wildmatch(pat, s) : s == pat;
  }
  return matched != negate;
}

Status parse_rules(ParseEnv& env, std::string_view content, const std::string& file_name,
                   const MergeOptions& tmpl, RuleSet& out) {
  std::size_t i = 0;
  int line = 0;
  while (i < content.size()) {
    std::string_view item;
    if (tmpl.word_split) {
      while (i < content.size() && std::strchr(" \t\n\r\f\v", content[i]) != nullptr) {
        if (content[i] == '\n' ||
            (content[i] == '\r' && (i + 1 >= content.size() || content[i + 1] != '\n'))) {
          ++line;
        }
        ++i;
      }
      std::size_t start = i;
      while (i < content.size() && std::strchr(" \t\n\r\f\v", content[i]) == nullptr) {
        ++i;
      }
      item = content.substr(start, i - start);
      if (item.empty()) {
        break;
      }
    } else {
      std::size_t start = i;
      while (i < content.size() && content[i] != '\n' && content[i] != '\r') {
        ++i;
      }
      item = content.substr(start, i - start);
      if (i < content.size()) {
        if (content[i] == '\r' && i + 1 < content.size() && content[i + 1] == '\n') {
          ++i;
        }
        ++i;
      }
      ++line;
      if (item.empty() || item[0] == '#' || item[0] == ';') {
        continue;
      }
    }
    int shown_line = tmpl.word_split ? line + 1 : line;
    if (item.find('\0') != std::string_view::npos) {
      return rule_error(file_name, shown_line, "NUL byte in rule");
    }
    if (item.size() > k_max_line_len) {
      return rule_error(file_name, shown_line,
                        fmt::format("filter rule longer than {} bytes", k_max_line_len));
    }
    TRY(parse_one(env, item, file_name, shown_line, tmpl, out));
  }
  return ok();
}

}  // namespace rotator::filter
