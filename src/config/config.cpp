#include "config/config.hpp"

#include <algorithm>
#include <cstring>
#include <functional>
#include <map>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "config/ini_reader.hpp"
#include "fs/resolve.hpp"
#include "retention/policy.hpp"
#include "rotation/name.hpp"
#include "util/zone.hpp"

namespace rotator::config {

namespace {

// ---------------------------------------------------------------------------
// The key table and the job types (k_job_types, below) drive parse_config:
// grouping rejects a key the table does not list for its scope (with a
// "did you mean"), and a job rejects a key whose row does not name its type.
//
// To add a key: add a row here, a field in Config/Job, its parsing in
// apply_global or in the apply_<type> of each type it applies to, and
// document it in man/rotator.conf.5 and etc/rotator.conf
// (tests/unit/test_config.cpp checks the man page lists every key).
// To add a job type: a JobType (config.hpp), a row in k_job_types with its
// apply_<type>, and its bit in the rows of the keys it takes (a key for
// every job type, k_all_jobs, applies to it already).

enum class Scope { global, job };

constexpr unsigned type_bit(JobType t) { return 1u << static_cast<unsigned>(t); }
constexpr unsigned k_clone = type_bit(JobType::clone);
constexpr unsigned k_backup = type_bit(JobType::backup);
constexpr unsigned k_snapshot = type_bit(JobType::snapshot);
constexpr unsigned k_all_jobs = ~0u;

struct KeyInfo {
  const char* name;
  Scope scope;
  unsigned types;  // for job keys: the job types it applies to (type_bit)
};

constexpr KeyInfo k_config_keys[] = {
    {"root", Scope::global, 0},
    {"lockfile", Scope::global, 0},
    {"logfile", Scope::global, 0},
    {"syslog", Scope::global, 0},
    {"metrics_file", Scope::global, 0},
    {"timezone", Scope::global, 0},
    {"rsync", Scope::global, 0},
    {"sync", Scope::global, 0},
    {"type", Scope::job, k_all_jobs},
    {"run_on", Scope::job, k_all_jobs},
    {"path", Scope::job, k_all_jobs},
    {"max_age", Scope::job, k_all_jobs},
    {"pre_exec", Scope::job, k_all_jobs},
    {"post_exec", Scope::job, k_all_jobs},
    {"fail_exec", Scope::job, k_all_jobs},
    {"source", Scope::job, k_clone},
    {"rsync_args", Scope::job, k_clone},
    {"max_delete", Scope::job, k_clone},
    {"churn_warn", Scope::job, k_clone},
    {"protect_metadata", Scope::job, k_clone},
    {"relink", Scope::job, k_clone},
    {"from", Scope::job, k_backup | k_snapshot},
    {"filter", Scope::job, k_backup},
    {"prune_empty_dirs", Scope::job, k_backup},
    {"holding", Scope::job, k_backup},
    {"holding_format", Scope::job, k_backup},
    {"holding_keep", Scope::job, k_backup},
    {"naming", Scope::job, k_snapshot},
    {"keep", Scope::job, k_snapshot},
    {"name_format", Scope::job, k_snapshot},
};

constexpr const char* k_global_section = "rotator";

// Words rotator uses as commands: never level names.
const std::set<std::string> k_reserved = {"check", "status", "prune", "versions", "restore",
                                          "find",  "du",     "diff",  "help",     "version"};

// rsync options that rewrite destination files in place (shared inodes!).
// --write-devices implies --inplace (rsync(1)). The clone job also passes
// --no-inplace after the user's arguments (clone_rsync_argv).
const std::set<std::string> k_inplace_args = {"--inplace", "--append", "--append-verify",
                                              "--write-devices"};

// rsync options that would silence the output the clone job's safety checks
// read, or turn every run into a no-op reported as success.
const std::set<std::string> k_blinding_args = {
    "-n",           "--dry-run",  "--list-only",        "-q",
    "--quiet",      "--info",     "--out-format",       "--log-format",
    "--max-delete", "--existing", "--only-write-batch", "--read-batch",
    "--write-batch"};

// Returns the offending option of `arg`, or empty. Short-option clusters
// ("-aqz") are checked letter by letter for q and n.
std::string blinding_option(const std::string& arg) {
  std::string opt = arg.substr(0, arg.find('='));
  if (k_blinding_args.count(opt)) {
    return opt;
  }
  if (arg.size() > 1 && arg[0] == '-' && arg[1] != '-') {
    bool letters = std::all_of(arg.begin() + 1, arg.end(), [](char c) {
      return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    });
    if (letters && (arg.find('q') != std::string::npos || arg.find('n') != std::string::npos)) {
      return arg;
    }
  }
  return {};
}

const KeyInfo* find_key(const std::string& name) {
  for (const auto& k : k_config_keys) {
    if (name == k.name) {
      return &k;
    }
  }
  return nullptr;
}

std::string suggest(const std::string& name, Scope scope) {
  std::string best;
  size_t best_d = 3;  // only close matches
  for (const auto& k : k_config_keys) {
    if (k.scope != scope) {
      continue;
    }
    size_t d = edit_distance(name, k.name);
    if (d < best_d) {
      best_d = d;
      best = k.name;
    }
  }
  return best;
}

Result<bool> parse_bool(const std::string& v) {
  static const std::set<std::string> yes = {"yes", "true", "on", "1"};
  static const std::set<std::string> no = {"no", "false", "off", "0"};
  if (yes.count(v)) {
    return true;
  }
  if (no.count(v)) {
    return false;
  }
  return plain_error(fmt::format("bad value '{}' (expected yes or no)", v));
}

bool valid_level_name(const std::string& s) {
  if (s.empty()) {
    return false;
  }
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  });
}

// A rotate snapshot's levels are those of its keep (it takes no run_on).
bool levels_from_keep(const Job& job) {
  return job.type == JobType::snapshot && job.naming == Naming::rotate;
}

// Lexical normalisation of an absolute path ("/a/./b/../c" -> "/a/c").
std::string normalize(const std::string& path) {
  std::vector<std::string> parts;
  size_t pos = 0;
  while (pos <= path.size()) {
    size_t end = path.find('/', pos);
    if (end == std::string::npos) {
      end = path.size();
    }
    std::string part = path.substr(pos, end - pos);
    if (part == "..") {
      if (!parts.empty()) {
        parts.pop_back();
      }
    } else if (!part.empty() && part != ".") {
      parts.push_back(part);
    }
    pos = end + 1;
  }
  std::string out;
  for (const auto& p : parts) {
    out += "/" + p;
  }
  return out.empty() ? "/" : out;
}

// The trees rotator reads and writes, with the line that configured each.
// A holding inside a clone is wiped by the clone's rsync --delete, two jobs
// sharing a holding prune each other's history, a backup inside its own
// source walks into itself.
struct Tree {
  std::string path;
  std::string what;  // "[backup] holding"
  int line;
  bool written;
  const Job* job;
};

std::vector<Tree> config_trees(const Config& cfg) {
  std::vector<Tree> trees;
  if (!cfg.root.empty()) {
    trees.push_back({cfg.state_dir, "rotator's state directory", cfg.root_line, true, nullptr});
  }
  for (const auto& job : cfg.jobs) {
    auto line_of = [&](const char* key) {
      auto it = job.key_lines.find(key);
      return it == job.key_lines.end() ? job.line : it->second;
    };
    if (!job.path.empty()) {
      trees.push_back({job.path, fmt::format("[{}] path", job.name), line_of("path"), true, &job});
    }
    if (job.type == JobType::backup && !job.holding.empty()) {
      trees.push_back(
          {job.holding, fmt::format("[{}] holding", job.name), line_of("holding"), true, &job});
    }
    if (job.type != JobType::clone && !job.from.empty()) {
      trees.push_back({job.from, fmt::format("[{}] from", job.name), line_of("from"), false, &job});
    }
  }
  return trees;
}

bool lexically_within(const std::string& sub, const std::string& top) {
  return sub == top || top == "/" || sub.rfind(top + "/", 0) == 0;
}

// Reports every pair of `trees` where one lies within the other.
// `within(i, j)`: tree i is tree j or below it; `same(i, j)` is within both
// ways; `note(i, j)` is appended to the subject of a message (where the
// trees really are, when that differs from their names).
template <typename Within, typename Note, typename Report>
void report_overlaps(const std::vector<Tree>& trees, Within within, Note note, Report report) {
  for (size_t i = 0; i < trees.size(); ++i) {
    for (size_t j = 0; j < trees.size(); ++j) {
      if (i == j) {
        continue;
      }
      const Tree& a = trees[i];
      const Tree& t = trees[j];
      // A read-only `from` only matters against its own job's trees (a
      // clone job's path is legitimately another job's from).
      if (!a.written && !t.written) {
        continue;
      }
      if ((!a.written || !t.written) && a.job != t.job) {
        continue;
      }
      if (!within(i, j)) {
        continue;
      }
      bool same = within(j, i);
      if (same && j < i) {
        continue;  // reported once
      }
      int line = std::max(a.line, t.line);
      if (same && a.path == t.path) {
        report(line, fmt::format("{} and {} are the same directory '{}'", t.what, a.what, a.path));
      } else if (same) {
        report(line, fmt::format("{} '{}' and {} '{}' are the same directory{}", t.what, t.path,
                                 a.what, a.path, note(j, i)));
      } else {
        report(line, fmt::format("{} '{}' is inside {} '{}'{}; the trees rotator reads and "
                                 "writes may not contain one another",
                                 a.what, a.path, t.what, t.path, note(i, j)));
      }
    }
  }
}
}  // namespace

std::vector<std::string> Job::levels() const {
  if (levels_from_keep(*this)) {
    std::vector<std::string> out;
    auto words = split_words(keep);
    if (words) {
      for (const auto& w : *words) {
        out.push_back(w.substr(0, w.find(':')));
      }
    }
    return out;
  }
  return run_on;
}

std::vector<std::string> Config::levels() const {
  std::vector<std::string> out;
  for (const auto& job : jobs) {
    for (const auto& l : job.levels()) {
      if (std::find(out.begin(), out.end(), l) == out.end()) {
        out.push_back(l);
      }
    }
  }
  return out;
}

const Job* Config::find_job(const std::string& name) const {
  for (const auto& j : jobs) {
    if (j.name == name) {
      return &j;
    }
  }
  return nullptr;
}

std::optional<std::chrono::seconds> effective_max_age(const Job& job) {
  if (job.max_age) {
    return approx_seconds(*job.max_age);
  }
  auto levels = job.levels();
  if (levels.empty()) {
    return std::nullopt;
  }
  static const std::map<std::string, long> periods = {
      {"hourly", 3600},        {"daily", 86400},        {"weekly", 7 * 86400},
      {"monthly", 31 * 86400}, {"yearly", 366 * 86400},
  };
  auto it = periods.find(levels.front());
  if (it == periods.end()) {
    return std::nullopt;
  }
  return std::chrono::seconds(it->second * 3 / 2);
}

std::vector<std::string> config_key_names() {
  std::vector<std::string> out;
  for (const auto& k : k_config_keys) {
    out.push_back(k.name);
  }
  return out;
}

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) {
    prev[j] = j;
  }
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t sub = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

Result<std::vector<std::string>> split_words(const std::string& text) {
  std::vector<std::string> out;
  std::string cur;
  bool in_word = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == ' ' || c == '\t' || c == '\n') {
      if (in_word) {
        out.push_back(cur);
        cur.clear();
        in_word = false;
      }
      continue;
    }
    in_word = true;
    if (c == '\'') {
      size_t end = text.find('\'', i + 1);
      if (end == std::string::npos) {
        return plain_error("unclosed quote");
      }
      cur += text.substr(i + 1, end - i - 1);
      i = end;
    } else if (c == '"') {
      size_t j = i + 1;
      for (; j < text.size() && text[j] != '"'; ++j) {
        if (text[j] == '\\' && j + 1 < text.size()) {
          ++j;
        }
        cur += text[j];
      }
      if (j >= text.size()) {
        return plain_error("unclosed quote");
      }
      i = j;
    } else if (c == '\\' && i + 1 < text.size()) {
      cur += text[++i];
    } else {
      cur += c;
    }
  }
  if (in_word) {
    out.push_back(cur);
  }
  return out;
}

namespace {

// ---------------------------------------------------------------------------
// parse_config, in stages: scan_headers, group_sections, apply_global,
// apply_job (the keys every job has, then its type's apply_<type>),
// resolve_from_jobs and the overlap check. Every stage reports all it finds
// through the Loader and goes on, so one run lists every problem.

struct Value {
  std::string text;
  int line = 0;
};

struct Section {
  std::string name;
  int line = 0;
  std::map<std::string, Value> values;
};

// The configuration being built and the problems found so far.
class Loader {
 public:
  explicit Loader(const std::string& file) { m_cfg.file = file; }

  void error(int line, const std::string& msg) {
    m_errors.push_back(fmt::format("{}:{}: {}", m_cfg.file, line, msg));
  }
  bool failed() const { return !m_errors.empty(); }
  std::string errors() const { return fmt::format("{}", fmt::join(m_errors, "\n")); }

  Config& cfg() { return m_cfg; }

  // `v` as an absolute path: relative ones under root, which they may not
  // escape. An empty value is an error (and resolves to "").
  std::string resolve(const Value& v, const std::string& key, const std::string& section) {
    if (v.text.empty()) {
      error(v.line, fmt::format("empty value for '{}' in [{}]", key, section));
      return {};
    }
    if (v.text[0] == '/') {
      return normalize(v.text);
    }
    std::string joined = normalize(m_cfg.root + "/" + v.text);
    if (m_cfg.root.empty()) {
      return joined;
    }
    if (joined != m_cfg.root && joined.rfind(m_cfg.root + "/", 0) != 0 && m_cfg.root != "/") {
      error(v.line, fmt::format("relative path '{}' for '{}' in [{}] escapes root '{}'", v.text,
                                key, section, m_cfg.root));
    }
    return joined;
  }

 private:
  Config m_cfg;
  std::vector<std::string> m_errors;
};

// The values of one job section, read the way every job reads them.
class JobKeys {
 public:
  JobKeys(Loader& loader, const Section& sec) : m_loader(loader), m_sec(sec) {}

  const std::string& job() const { return m_sec.name; }
  int line() const { return m_sec.line; }
  const std::string& root() { return m_loader.cfg().root; }
  void error(int line, const std::string& msg) { m_loader.error(line, msg); }

  const Value* get(const char* key) const {
    auto it = m_sec.values.find(key);
    return it == m_sec.values.end() ? nullptr : &it->second;
  }
  // get(), reporting a missing key.
  const Value* required(const char* key) {
    const Value* v = get(key);
    if (!v) {
      error(m_sec.line, fmt::format("missing required key '{}' in [{}]", key, m_sec.name));
    }
    return v;
  }
  std::string path(const Value& v, const char* key) { return m_loader.resolve(v, key, m_sec.name); }
  // A duration; an empty value leaves `out` unset.
  void duration(const char* key, std::optional<Duration>& out) {
    if (const Value* v = get(key)) {
      if (v->text.empty()) {
        return;
      }
      auto d = parse_duration(v->text);
      if (!d) {
        error(v->line, fmt::format("{}: {}", key, d.error().message()));
      } else {
        out = *d;
      }
    }
  }
  // A command or argument list (split_words).
  void command(const char* key, std::vector<std::string>& out) {
    if (const Value* v = get(key)) {
      auto words = split_words(v->text);
      if (!words) {
        error(v->line, fmt::format("{}: {}", key, words.error().message()));
      } else {
        out = *words;
      }
    }
  }

 private:
  Loader& m_loader;
  const Section& m_sec;
};

// "50%", "50" or "12.5%" (0 to 100) as a fraction; none if malformed.
// Only decimal digits with an optional fraction are a number here: strtod
// alone would also take "nan" (which compares false with every bound, so a
// guard set to it never fires), "inf", "-0", "+5", "1e1" and "0x32".
std::optional<double> parse_percent(std::string t) {
  bool percent = !t.empty() && t.back() == '%';
  if (percent) {
    t.pop_back();
  }
  auto is_digit = [](char c) { return c >= '0' && c <= '9'; };
  size_t i = 0;
  while (i < t.size() && is_digit(t[i])) {
    ++i;
  }
  size_t int_digits = i;
  if (i < t.size() && t[i] == '.') {
    size_t frac_start = ++i;
    while (i < t.size() && is_digit(t[i])) {
      ++i;
    }
    if (i == frac_start) {
      return std::nullopt;  // "5." has no fraction digits
    }
  }
  if (int_digits == 0 || i != t.size()) {
    return std::nullopt;
  }
  double d = std::strtod(t.c_str(), nullptr);
  if (!(d >= 0 && d <= 100)) {
    return std::nullopt;
  }
  return d / 100.0;
}

// Line of each [section] header (inih reports only key lines).
std::map<std::string, int> scan_headers(const std::string& text) {
  std::map<std::string, int> header_lines;
  int n = 0;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t end = text.find('\n', pos);
    std::string line = text.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
    ++n;
    size_t a = line.find_first_not_of(" \t");
    if (a != std::string::npos && line[a] == '[') {
      size_t close = line.find(']', a);
      if (close != std::string::npos) {
        header_lines.emplace(line.substr(a + 1, close - a - 1), n);
      }
    }
    if (end == std::string::npos) {
      break;
    }
    pos = end + 1;
  }
  return header_lines;
}

// Groups the records into sections in file order, rejecting keys outside a
// section, keys the table does not know for the section's scope and
// duplicates; an indented continuation line appends to its key.
std::vector<Section> group_sections(const std::vector<IniRecord>& records,
                                    const std::map<std::string, int>& header_lines, Loader& l) {
  std::vector<Section> sections;
  std::map<std::string, size_t> section_index;
  for (const auto& r : records) {
    auto it = section_index.find(r.section);
    if (it == section_index.end()) {
      if (r.section.empty()) {
        l.error(r.line, fmt::format("key '{}' outside any section", r.key));
        continue;
      }
      section_index[r.section] = sections.size();
      auto header = header_lines.find(r.section);
      sections.push_back(
          Section{r.section, header == header_lines.end() ? r.line : header->second, {}});
      it = section_index.find(r.section);
    }
    Section& sec = sections[it->second];
    Scope scope = r.section == k_global_section ? Scope::global : Scope::job;
    const KeyInfo* info = find_key(r.key);
    if (!info || info->scope != scope) {
      std::string hint = suggest(r.key, scope);
      l.error(r.line, fmt::format("unknown key '{}' in [{}]{}", r.key, r.section,
                                  hint.empty() ? "" : fmt::format("; did you mean '{}'?", hint)));
      continue;
    }
    auto existing = sec.values.find(r.key);
    if (existing != sec.values.end()) {
      if (r.continuation) {
        existing->second.text += " " + r.value;
      } else {
        l.error(r.line, fmt::format("duplicate key '{}' in [{}] (first set on line {})", r.key,
                                    r.section, existing->second.line));
      }
      continue;
    }
    sec.values[r.key] = Value{r.value, r.line};
  }
  return sections;
}

// The [rotator] section (`global`, null when there is none).
void apply_global(Loader& l, const Section* global) {
  Config& cfg = l.cfg();
  auto gv = [&](const char* key) -> const Value* {
    if (!global) {
      return nullptr;
    }
    auto it = global->values.find(key);
    return it == global->values.end() ? nullptr : &it->second;
  };
  cfg.root_line = global ? global->line : 1;
  if (const Value* v = gv("root")) {
    cfg.root_line = v->line;
    if (v->text.empty() || v->text[0] != '/') {
      l.error(v->line, fmt::format("root must be an absolute path, not '{}'", v->text));
    } else if (normalize(v->text) == "/") {
      // Its state, trash and every relative path would sit among the
      // system's own directories, and a relative `path = etc` is /etc.
      l.error(v->line,
              "root = / is refused: give the backup disk's own directory (e.g. "
              "/srv/backup)");
    } else {
      cfg.root = normalize(v->text);
    }
  } else {
    l.error(global ? global->line : 1, "missing required key 'root' in [rotator]");
  }
  cfg.state_dir = cfg.root + "/.rotator";
  cfg.lockfile = cfg.state_dir + "/lock";
  if (const Value* v = gv("lockfile")) {
    cfg.lockfile = l.resolve(*v, "lockfile", k_global_section);
  }
  if (const Value* v = gv("logfile")) {
    cfg.logfile = l.resolve(*v, "logfile", k_global_section);
  }
  if (const Value* v = gv("metrics_file")) {
    cfg.metrics_file = l.resolve(*v, "metrics_file", k_global_section);
  }
  if (const Value* v = gv("syslog")) {
    auto r = parse_bool(v->text);
    if (!r) {
      l.error(v->line, fmt::format("syslog: {}", r.error().message()));
    } else {
      cfg.syslog = *r;
    }
  }
  if (const Value* v = gv("timezone")) {
    cfg.timezone = v->text;
    auto z = Zone::from_name(v->text);
    if (!z) {
      l.error(v->line, z.error().message());
    }
  }
  if (const Value* v = gv("rsync")) {
    if (v->text.empty()) {
      l.error(v->line, "empty value for 'rsync' in [rotator]");
    } else {
      cfg.rsync = v->text;
    }
  }
  if (const Value* v = gv("sync")) {
    if (v->text == "commit") {
      cfg.sync = Sync::commit;
    } else if (v->text == "none") {
      cfg.sync = Sync::none;
    } else {
      l.error(v->line, fmt::format("sync: '{}' is not commit or none", v->text));
    }
  }
}

// The keys every job has (type, path, max_age, the hooks, run_on).
// `bad_level`: run_on named a level that cannot be one.
void apply_common(JobKeys& keys, Job& job, bool& bad_level) {
  if (const Value* v = keys.required("path")) {
    job.path = keys.path(*v, "path");
  }
  keys.duration("max_age", job.max_age);
  keys.command("pre_exec", job.pre_exec);
  keys.command("post_exec", job.post_exec);
  keys.command("fail_exec", job.fail_exec);
  const Value* v = keys.get("run_on");
  if (!v) {
    return;
  }
  auto words = split_words(v->text);
  if (!words) {
    return;
  }
  for (const auto& w : *words) {
    for (size_t start = 0; start <= w.size();) {
      size_t comma = w.find(',', start);
      std::string level =
          w.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      if (!level.empty()) {
        if (!valid_level_name(level)) {
          bad_level = true;
          keys.error(v->line,
                     fmt::format("bad level name '{}' in run_on (letters, digits, '_')", level));
        } else if (k_reserved.count(level)) {
          bad_level = true;
          keys.error(v->line, fmt::format("level name '{}' is a rotator command", level));
        } else {
          job.run_on.push_back(level);
        }
      }
      if (comma == std::string::npos) {
        break;
      }
      start = comma + 1;
    }
  }
}

void apply_clone(JobKeys& keys, Job& job) {
  if (const Value* v = keys.required("source")) {
    if (v->text.empty()) {
      keys.error(v->line, fmt::format("empty value for 'source' in [{}]", keys.job()));
    }
    job.source = v->text;
  }
  keys.command("rsync_args", job.rsync_args);
  for (const auto& a : job.rsync_args) {
    std::string opt = a.substr(0, a.find('='));
    if (std::string bad = blinding_option(a); !bad.empty()) {
      keys.error(keys.get("rsync_args")->line,
                 fmt::format("rsync_args: '{}' would hide what rotator checks before it lets "
                             "rsync delete (or make every run a no-op); remove it (use "
                             "max_delete, -n on the command line, -v for more output)",
                             a));
    }
    if (k_inplace_args.count(opt)) {
      keys.error(keys.get("rsync_args")->line,
                 fmt::format("rsync_args: '{}' updates files in place{} and would rewrite the "
                             "inodes backups and snapshots share with the clone; remove it",
                             a, opt == "--write-devices" ? " (it implies --inplace)" : ""));
    }
  }
  if (const Value* v = keys.get("max_delete")) {
    if (auto fraction = parse_percent(v->text)) {
      job.max_delete = *fraction;
    } else {
      keys.error(
          v->line,
          fmt::format("max_delete: bad value '{}' (expected a percentage such as 50%)", v->text));
    }
  }
  if (const Value* v = keys.get("churn_warn")) {
    if (v->text == "none") {
      job.churn_warn.reset();
    } else if (auto fraction = parse_percent(v->text)) {
      job.churn_warn = *fraction;
    } else {
      keys.error(
          v->line,
          fmt::format("churn_warn: bad value '{}' (expected a percentage such as 30%, or none)",
                      v->text));
    }
  }
  if (const Value* v = keys.get("protect_metadata")) {
    auto r = parse_bool(v->text);
    if (!r) {
      keys.error(v->line, fmt::format("protect_metadata: {}", r.error().message()));
    } else {
      job.protect_metadata = *r ? ProtectMetadata::yes : ProtectMetadata::no;
    }
  }
  if (const Value* v = keys.get("relink")) {
    auto r = parse_bool(v->text);
    if (!r) {
      keys.error(v->line, fmt::format("relink: {}", r.error().message()));
    } else {
      job.relink = *r ? Relink::yes : Relink::no;
    }
  }
}

// `from`: kept as written; resolve_from_jobs() makes it a path once all
// jobs are known.
void apply_from(JobKeys& keys, Job& job) {
  if (const Value* v = keys.required("from")) {
    job.from = v->text;
  }
}

void apply_backup(JobKeys& keys, Job& job) {
  apply_from(keys, job);
  if (const Value* v = keys.get("filter")) {
    if (!v->text.empty()) {
      job.filter = v->text[0] == '/' ? normalize(v->text) : normalize(keys.root() + "/" + v->text);
    }
  }
  if (const Value* v = keys.get("prune_empty_dirs")) {
    auto r = parse_bool(v->text);
    if (!r) {
      keys.error(v->line, fmt::format("prune_empty_dirs: {}", r.error().message()));
    } else {
      job.prune_empty_dirs = *r ? PruneEmpty::yes : PruneEmpty::no;
    }
  }
  Value holding{"holding", keys.line()};
  if (const Value* v = keys.get("holding")) {
    holding = *v;
  }
  job.holding = keys.path(holding, "holding");
  if (const Value* v = keys.get("holding_format")) {
    if (auto checked = rotation::check_name_format(v->text); !checked) {
      keys.error(v->line, fmt::format("holding_format: {}", checked.error().message()));
    } else {
      job.holding_format = v->text;
    }
  }
  keys.duration("holding_keep", job.holding_keep);
}

// `keep` parsed by the retention grammar of `naming`.
Status check_keep(Naming naming, const std::string& text) {
  if (naming == Naming::rotate) {
    auto p = retention::parse_rotate_policy(text);
    if (!p) {
      return p.error();
    }
  } else {
    auto p = retention::parse_dated_policy(text);
    if (!p) {
      return p.error();
    }
  }
  return ok();
}

void apply_snapshot(JobKeys& keys, Job& job) {
  apply_from(keys, job);
  if (const Value* v = keys.get("naming")) {
    if (v->text == "rotate") {
      job.naming = Naming::rotate;
    } else if (v->text == "dated") {
      job.naming = Naming::dated;
    } else {
      keys.error(v->line,
                 fmt::format("bad value '{}' for 'naming' in [{}] (expected rotate or dated)",
                             v->text, keys.job()));
    }
  }
  if (const Value* v = keys.required("keep")) {
    job.keep = v->text;
    if (Status parsed = check_keep(job.naming, v->text); !parsed) {
      keys.error(v->line, parsed.error().message());
    }
  }
  if (const Value* v = keys.get("name_format")) {
    if (job.naming == Naming::rotate) {
      keys.error(v->line,
                 fmt::format("name_format does not apply to naming = rotate in [{}]", keys.job()));
    } else if (auto checked = rotation::check_name_format(v->text); !checked) {
      keys.error(v->line, fmt::format("name_format: {}", checked.error().message()));
    } else {
      job.name_format = v->text;
    }
  }
  if (levels_from_keep(job) && !job.run_on.empty()) {
    keys.error(
        keys.get("run_on")->line,
        fmt::format(
            "run_on does not apply to naming = rotate in [{}]: the levels are those of 'keep'",
            keys.job()));
  }
}

struct JobTypeInfo {
  JobType type;
  const char* name;                        // the value of `type`
  void (*apply)(JobKeys& keys, Job& job);  // the keys of this type, after apply_common
};

constexpr JobTypeInfo k_job_types[] = {
    {JobType::clone, "clone", apply_clone},
    {JobType::backup, "backup", apply_backup},
    {JobType::snapshot, "snapshot", apply_snapshot},
};

const JobTypeInfo* find_job_type(const std::string& name) {
  for (const auto& t : k_job_types) {
    if (name == t.name) {
      return &t;
    }
  }
  return nullptr;
}

// "clone, backup or snapshot"
std::string job_type_names() {
  std::string out;
  size_t n = std::size(k_job_types);
  for (size_t i = 0; i < n; ++i) {
    out += (i == 0 ? "" : i + 1 == n ? " or " : ", ") + std::string(k_job_types[i].name);
  }
  return out;
}

// One job section; none when its type is missing or unknown (nothing else
// about it can be checked then).
std::optional<Job> apply_job(Loader& l, const Section& sec) {
  JobKeys keys(l, sec);
  Job job;
  job.name = sec.name;
  job.line = sec.line;
  for (const auto& [key, val] : sec.values) {
    job.key_lines[key] = val.line;
  }
  const Value* type = keys.get("type");
  if (!type) {
    l.error(sec.line, fmt::format("missing required key 'type' in [{}]", sec.name));
    return std::nullopt;
  }
  const JobTypeInfo* info = find_job_type(type->text);
  if (!info) {
    l.error(type->line, fmt::format("bad value '{}' for 'type' in [{}] (expected {})", type->text,
                                    sec.name, job_type_names()));
    return std::nullopt;
  }
  job.type = info->type;
  if (!valid_level_name(sec.name) && sec.name.find_first_of("/ \t") != std::string::npos) {
    l.error(sec.line, fmt::format("bad job name '{}' (no '/' or spaces)", sec.name));
  }
  for (const auto& [key, val] : sec.values) {
    const KeyInfo* k = find_key(key);
    if (k && !(k->types & type_bit(job.type))) {
      l.error(val.line, fmt::format("key '{}' does not apply to type = {} in [{}]", key, info->name,
                                    sec.name));
    }
  }
  bool bad_level = false;
  apply_common(keys, job, bad_level);
  info->apply(keys, job);
  if (!levels_from_keep(job) && job.run_on.empty() && !bad_level) {
    l.error(sec.line,
            fmt::format("job [{}] is run by no level: set run_on (e.g. run_on = daily)", sec.name));
  }
  return job;
}

// Cross-job: a `from` naming a clone job takes that job's path; any other
// `from` is a path.
void resolve_from_jobs(Loader& l) {
  Config& cfg = l.cfg();
  for (auto& job : cfg.jobs) {
    if (job.type == JobType::clone || job.from.empty()) {
      continue;
    }
    const Job* ref = nullptr;
    for (const auto& other : cfg.jobs) {
      if (other.name == job.from && &other != &job) {
        ref = &other;
      }
    }
    if (ref && ref->type == JobType::clone) {
      job.from_job = ref->name;
      job.from = ref->path;
    } else {
      Value v{job.from, job.key_lines["from"]};
      job.from = l.resolve(v, "from", job.name);
    }
  }
}

// Trees rotator writes never overlap, by their configured names
// (check_real_overlaps() compares where they really are).
void check_overlaps(Loader& l) {
  auto trees = config_trees(l.cfg());
  report_overlaps(
      trees, [&](size_t i, size_t j) { return lexically_within(trees[i].path, trees[j].path); },
      [&](size_t, size_t) { return std::string(); },
      [&](int line, const std::string& msg) { l.error(line, msg); });
}

}  // namespace

const char* job_type_name(JobType type) {
  for (const auto& t : k_job_types) {
    if (t.type == type) {
      return t.name;
    }
  }
  return "?";
}

Result<Config> parse_config(const std::string& file, const std::string& text) {
  TRY_ASSIGN(auto records, parse_ini(file, text));
  Loader l(file);
  std::vector<Section> sections = group_sections(records, scan_headers(text), l);
  const Section* global = nullptr;
  for (const auto& s : sections) {
    if (s.name == k_global_section) {
      global = &s;
    }
  }
  apply_global(l, global);
  for (const auto& sec : sections) {
    if (&sec != global) {
      if (auto job = apply_job(l, sec)) {
        l.cfg().jobs.push_back(std::move(*job));
      }
    }
  }
  resolve_from_jobs(l);
  if (!l.failed()) {
    check_overlaps(l);
  }
  if (global == nullptr && !l.failed() && records.empty()) {
    l.error(1, "empty configuration");
  }
  if (l.failed()) {
    return plain_error(l.errors());
  }
  return std::move(l.cfg());
}

Status check_real_overlaps(fs::Fs& fs, const Config& cfg) {
  auto trees = config_trees(cfg);
  std::vector<fs::ResolvedPath> real;
  std::vector<std::string> errors;
  auto error = [&](int line, const std::string& msg) {
    errors.push_back(fmt::format("{}:{}: {}", cfg.file, line, msg));
  };
  for (const auto& t : trees) {
    auto r = fs::resolve_path(fs, t.path);
    if (!r) {
      error(t.line, fmt::format("cannot resolve {} '{}': {}", t.what, t.path, r.error().message()));
      real.emplace_back();
    } else {
      real.push_back(std::move(*r));
    }
  }
  if (!errors.empty()) {
    return plain_error(fmt::format("{}", fmt::join(errors, "\n")));
  }
  auto shown = [&](size_t i) {
    std::string full = real[i].full();
    return full == trees[i].path ? std::string() : fmt::format("'{}'", full);
  };
  report_overlaps(
      trees, [&](size_t i, size_t j) { return fs::resolved_within(real[i], real[j]); },
      [&](size_t i, size_t j) {
        std::string a = shown(i), t = shown(j);
        if (a.empty() && t.empty()) {
          return std::string(" (the same directory by device and inode)");
        }
        return fmt::format(" (really {} and {})", a.empty() ? "'" + trees[i].path + "'" : a,
                           t.empty() ? "'" + trees[j].path + "'" : t);
      },
      error);
  if (!errors.empty()) {
    return plain_error(fmt::format("{}", fmt::join(errors, "\n")));
  }
  return ok();
}

Result<Config> load_config(fs::Fs& fs, const std::string& file) {
  auto text = fs.read_file(fs::k_cwd, file);
  if (!text) {
    return plain_error(
        fmt::format("cannot read configuration '{}': {}", file, fs::read_failure(text.error())));
  }
  TRY_ASSIGN(Config cfg, parse_config(file, *text));
  TRY(check_real_overlaps(fs, cfg));
  return cfg;
}

}  // namespace rotator::config
