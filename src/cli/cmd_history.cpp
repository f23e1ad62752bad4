#include "cli/cmd_history.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <optional>
#include <set>

#include <fmt/format.h>

#include "history/catalogue.hpp"
#include "history/diff.hpp"
#include "history/du.hpp"
#include "history/restore.hpp"
#include "history/versions.hpp"
#include "util/json.hpp"

namespace rotator::cli {

namespace {

// Options of one history command: flags, options with a value, positionals.
struct Args {
  std::vector<std::string> positional;
  std::map<std::string, std::string> values;
  std::set<std::string> flags;
};

// Returns nullopt (after printing why) on an unknown option or a missing value.
std::optional<Args> parse_args(const Invocation& inv, const std::set<std::string>& flags,
                               const std::set<std::string>& valued) {
  Args out;
  for (size_t i = 0; i < inv.args.size(); ++i) {
    const std::string& a = inv.args[i];
    if (a == "--") {
      out.positional.insert(out.positional.end(), inv.args.begin() + i + 1, inv.args.end());
      break;
    }
    if (a.size() > 1 && a[0] == '-') {
      std::string name = a;
      std::optional<std::string> value;
      if (auto eq = a.find('='); eq != std::string::npos && a.rfind("--", 0) == 0) {
        name = a.substr(0, eq);
        value = a.substr(eq + 1);
      }
      if (flags.count(name) && !value) {
        out.flags.insert(name);
        continue;
      }
      if (valued.count(name)) {
        if (!value) {
          if (i + 1 >= inv.args.size()) {
            fmt::print(stderr, "rotator: {}: option '{}' needs a value\n", inv.command, name);
            return std::nullopt;
          }
          value = inv.args[++i];
        }
        out.values[name] = *value;
        continue;
      }
      fmt::print(stderr, "rotator: {}: unknown option '{}'\n", inv.command, a);
      return std::nullopt;
    }
    out.positional.push_back(a);
  }
  return out;
}

int fail(const Invocation& inv, const std::string& msg) {
  fmt::print(stderr, "rotator: {}: {}\n", inv.command, msg);
  return k_exit_error;
}

int usage(const Invocation& inv, const char* synopsis) {
  fmt::print(stderr, "rotator: {}: usage: rotator {}\n", inv.command, synopsis);
  return k_exit_error;
}

void print_json(const json::Json& j) { fmt::print("{}\n", json::dump(j)); }

int vanished_exit(const std::vector<std::string>& vanished) {
  for (const auto& v : vanished) {
    fmt::print(stderr,
               "rotator: warning: place {} vanished while it was read (a run is under "
               "way?); its answer is missing\n",
               v);
  }
  return vanished.empty() ? k_exit_ok : k_exit_warning;
}

// The newest row: the current one, else the one seen last.
const history::Version* newest_row(const history::FileVersions& v) {
  const history::Version* best = nullptr;
  for (const auto& r : v.versions) {
    if (!best || r.current || (!best->current && r.last_seen >= best->last_seen)) {
      best = &r;
    }
  }
  return best;
}

// The paths of `versions DIR` and `find`, printed as the walk finds them (a
// tree of a million paths is never held in memory): text lines made by
// `line`, or one JSON document whose "paths" array is streamed.
class PathPrinter {
 public:
  using Line = std::string (*)(const std::string&, const history::PathHistory&, const Zone&);
  PathPrinter(bool json, const Zone& zone, Line line)
      : m_json(json), m_zone(zone), m_line(line), m_stream("paths") {}

  // `head`: the document's members before "paths".
  void begin(const json::Json& head) {
    if (m_json) {
      fmt::print("{}", m_stream.begin(head));
    }
  }
  void path(const std::string& rel, const history::PathHistory& h) {
    if (m_json) {
      fmt::print("{}", m_stream.item(history::path_history_json(rel, h, m_zone)));
    } else {
      fmt::print("{}", m_line(rel, h, m_zone));
    }
  }
  // A walk that failed after begin(): the JSON document is still closed (its
  // "paths" hold what was found, "error" says why it stops there), so that
  // --json output stays one valid document; then the usual message and exit 1.
  int fail_after_begin(const Invocation& inv, const std::string& msg) {
    if (m_json) {
      json::Json tail = json::Json::object();
      tail["error"] = msg;
      tail["vanished"] = std::vector<std::string>{};
      fmt::print("{}\n", m_stream.end(tail));
    }
    return fail(inv, msg);
  }
  // `tail`: the members after "paths" (JSON), ending with "vanished".
  void end(json::Json tail, const std::vector<std::string>& vanished) {
    if (m_json) {
      tail["vanished"] = vanished;
      fmt::print("{}\n", m_stream.end(tail));
    } else {
      fmt::print("{}", history::format_vanished(vanished));
    }
  }

 private:
  bool m_json;
  const Zone& m_zone;
  Line m_line;
  json::ArrayStream m_stream;
};

}  // namespace

int cmd_versions(Invocation& inv) {
  auto args = parse_args(inv, {"--json", "--deleted"}, {});
  if (!args) {
    return k_exit_error;
  }
  if (args->positional.size() != 1) {
    return usage(inv, "versions PATH [--deleted] [--json]");
  }
  auto cat = history::Catalogue::load(inv.fs, inv.cfg, inv.zone, inv.now);
  if (!cat) {
    return fail(inv, cat.error().message());
  }
  auto path = cat->resolve(args->positional[0]);
  if (!path) {
    return fail(inv, path.error().message());
  }
  bool json = args->flags.count("--json") > 0;
  bool only_deleted = args->flags.count("--deleted") > 0;
  auto file = history::file_versions(inv.fs, *cat, *path);
  if (!file) {
    return fail(inv, file.error().message());
  }
  const history::Version* newest = newest_row(*file);
  if (!newest) {
    return fail(inv, fmt::format("'{}' is not in any place (never seen; try `rotator find`)",
                                 history::show_path(path->rel)));
  }
  if (newest->type != fs::FileType::directory) {
    if (only_deleted) {
      return fail(inv,
                  "--deleted lists the deleted paths below a directory; "
                  "'" +
                      history::show_path(path->rel) + "' is not one");
    }
    if (json) {
      print_json(history::file_versions_json(*file, inv.zone));
    } else {
      fmt::print("{}", history::format_file_versions(*file, inv.zone));
    }
    return vanished_exit(file->vanished);
  }
  PathPrinter out(json, inv.zone, history::format_tree_path);
  json::Json head = json::Json::object();
  json::put_bytes(head, "path", path->rel);
  head["type"] = "directory";
  out.begin(head);
  auto tree = history::tree_versions(inv.fs, *cat, *path,
                                     [&](const std::string& rel, const history::PathHistory& h) {
                                       if (!only_deleted || !h.in_clone) {
                                         out.path(rel, h);
                                       }
                                     });
  if (!tree) {
    return out.fail_after_begin(inv, tree.error().message());
  }
  out.end(json::Json::object(), tree->vanished);
  return vanished_exit(tree->vanished);
}

int cmd_find(Invocation& inv) {
  auto args = parse_args(inv, {"--json"}, {});
  if (!args) {
    return k_exit_error;
  }
  if (args->positional.size() != 1 || args->positional[0].empty()) {
    return usage(inv, "find PATTERN [--json]");
  }
  auto cat = history::Catalogue::load(inv.fs, inv.cfg, inv.zone, inv.now);
  if (!cat) {
    return fail(inv, cat.error().message());
  }
  bool tty = ::isatty(STDERR_FILENO) == 1;
  auto progress = [&](size_t done, size_t all, long entries) {
    if (tty) {
      fmt::print(stderr, "\rfind: {}/{} places, {} entries{}", done, all, entries,
                 done == all ? "\n" : "");
    }
  };
  PathPrinter out(args->flags.count("--json") > 0, inv.zone, history::format_find_path);
  json::Json head = json::Json::object();
  json::put_bytes(head, "pattern", args->positional[0]);
  out.begin(head);
  auto found = history::find_paths(
      inv.fs, *cat, args->positional[0], progress,
      [&](const std::string& key, const history::PathHistory& h) { out.path(key, h); });
  if (!found) {
    return out.fail_after_begin(inv, found.error().message());
  }
  json::Json tail = json::Json::object();
  tail["entries_read"] = found->entries;
  out.end(tail, found->vanished);
  if (found->paths == 0) {
    return std::max(vanished_exit(found->vanished), static_cast<int>(k_exit_error));
  }
  return vanished_exit(found->vanished);
}

int cmd_restore(Invocation& inv) {
  auto args = parse_args(inv, {"--json", "--force"}, {"--at", "--version", "--to"});
  if (!args) {
    return k_exit_error;
  }
  if (args->positional.size() != 1) {
    return usage(inv, "restore PATH [--at WHEN | --version N] [--to DEST] [-n] [--force]");
  }
  if (args->values.count("--at") && args->values.count("--version")) {
    return fail(inv, "--at and --version exclude each other");
  }
  auto cat = history::Catalogue::load(inv.fs, inv.cfg, inv.zone, inv.now);
  if (!cat) {
    return fail(inv, cat.error().message());
  }
  auto path = cat->resolve(args->positional[0]);
  if (!path) {
    return fail(inv, path.error().message());
  }
  history::RestoreRequest req;
  if (auto it = args->values.find("--at"); it != args->values.end()) {
    auto at = history::parse_when(it->second, inv.zone, inv.now);
    if (!at) {
      return fail(inv, at.error().message());
    }
    req.at = *at;
  }
  if (auto it = args->values.find("--version"); it != args->values.end()) {
    char* end = nullptr;
    long n = std::strtol(it->second.c_str(), &end, 10);
    if (it->second.empty() || *end != '\0' || n < 1 || n > 1000000) {
      return fail(inv, fmt::format("--version: bad number '{}'", it->second));
    }
    req.version = static_cast<int>(n);
  }
  auto file = history::file_versions(inv.fs, *cat, *path);
  if (!file) {
    return fail(inv, file.error().message());
  }
  auto choice = history::choose_restore(*file, req, inv.zone);
  if (!choice) {
    return fail(inv, choice.error().message());
  }
  std::string dest;
  if (auto it = args->values.find("--to"); it != args->values.end()) {
    dest = it->second;
  } else {
    std::string last =
        path->rel.empty() ? choice->place->entry : path->rel.substr(path->rel.rfind('/') + 1);
    dest = "./" + last;
  }
  while (dest.size() > 1 && dest.back() == '/') {
    dest.pop_back();
  }
  auto force = args->flags.count("--force") ? history::Force::yes : history::Force::no;
  bool json = args->flags.count("--json") > 0;
  bool dry = inv.dry_run == DryRun::yes;
  auto checked = history::check_destination(inv.fs, dest, inv.cfg.root, force);
  if (!checked) {
    return fail(inv, checked.error().message());
  }
  auto stats = dry ? history::survey_restore(inv.fs, choice->source)
                   : history::execute_restore(inv.fs, choice->source, dest, inv.cfg.root, force);
  if (!stats) {
    return fail(inv, stats.error().message());
  }
  const history::Place& p = *choice->place;
  if (json) {
    json::Json j = json::Json::object();
    json::put_bytes(j, "path", path->rel);
    j["version"] = choice->version;
    j["type"] = fs::file_type_name(choice->type);
    j["place"] = p.name;
    j["job"] = p.job->name;
    j["place_time"] = history::iso_time(p.time, inv.zone);
    json::put_bytes(j, "source", choice->source);
    json::put_bytes(j, "dest", dest);
    j["dry_run"] = dry;
    j["files"] = stats->files;
    j["hard_links"] = stats->links;
    j["symlinks"] = stats->symlinks;
    j["directories"] = stats->dirs;
    j["skipped"] = stats->skipped;
    j["bytes"] = stats->bytes;
    if (!stats->backup_name.empty()) {
      json::put_bytes(j, "moved_existing_to", stats->backup_name);
    }
    print_json(j);
  } else {
    fmt::print(
        "{} '{}' version {} from {} ({}) {} '{}': {} file{}, {} bytes, {} hard link{}, {} "
        "symlink{}, {} director{}\n",
        dry ? "would copy" : "restored", history::show_path(history::join(p.path, path->rel)),
        choice->version, p.name, history::show_time(p.time, inv.zone), dry ? "to" : "to",
        history::show_path(dest), stats->files, stats->files == 1 ? "" : "s", stats->bytes,
        stats->links, stats->links == 1 ? "" : "s", stats->symlinks,
        stats->symlinks == 1 ? "" : "s", stats->dirs, stats->dirs == 1 ? "y" : "ies");
    if (!stats->backup_name.empty()) {
      fmt::print("the existing '{}' was renamed to '{}'\n", history::show_path(dest),
                 history::show_path(stats->backup_name));
    }
  }
  if (stats->skipped > 0) {
    fmt::print(stderr, "rotator: warning: {} special file{} (fifo, socket, device) not restored\n",
               stats->skipped, stats->skipped == 1 ? "" : "s");
    return k_exit_warning;
  }
  return k_exit_ok;
}

int cmd_diff(Invocation& inv) {
  auto args = parse_args(inv, {"--json"}, {});
  if (!args) {
    return k_exit_error;
  }
  if (args->positional.size() < 2 || args->positional.size() > 3) {
    return usage(inv, "diff A B [PATH] [--json]");
  }
  auto cat = history::Catalogue::load(inv.fs, inv.cfg, inv.zone, inv.now);
  if (!cat) {
    return fail(inv, cat.error().message());
  }
  auto a = cat->find(args->positional[0], inv.zone, inv.now);
  if (!a) {
    return fail(inv, a.error().message());
  }
  auto b = cat->find(args->positional[1], inv.zone, inv.now);
  if (!b) {
    return fail(inv, b.error().message());
  }
  std::string rel;
  if (args->positional.size() == 3) {
    auto path = cat->resolve(args->positional[2]);
    if (!path) {
      return fail(inv, path.error().message());
    }
    rel = path->rel;
  }
  bool json = args->flags.count("--json") > 0;
  json::Json changes = json::Json::array();
  auto emit = [&](char code, const std::string& p, bool dir) {
    if (json) {
      json::Json c = json::Json::object();
      c["code"] = std::string(1, code);
      json::put_bytes(c, "path", p);
      c["directory"] = dir;
      changes.push_back(std::move(c));
    } else {
      fmt::print("{} {}{}\n", code, history::show_path(p), dir ? "/" : "");
    }
  };
  std::string a_path = history::join((*a)->path, rel);
  std::string b_path = history::join((*b)->path, rel);
  for (const auto* p : {&a_path, &b_path}) {
    auto st = inv.fs.lstat(fs::k_cwd, *p);
    if (!st || !st->is_dir()) {
      return fail(inv, fmt::format("'{}' is not a directory in {}", history::show_path(rel),
                                   p == &a_path ? (*a)->name : (*b)->name));
    }
  }
  auto summary = history::diff_trees(inv.fs, a_path, b_path, rel, emit);
  if (!summary) {
    for (const auto* place : {*a, *b}) {
      if (history::vanished(inv.fs, *place)) {
        return fail(inv, fmt::format("place {} vanished while it was read (a run is under way?)",
                                     place->qualified()));
      }
    }
    return fail(inv, summary.error().message());
  }
  if (json) {
    json::Json j = json::Json::object();
    j["a"] = (*a)->qualified();
    j["b"] = (*b)->qualified();
    json::put_bytes(j, "path", rel);
    j["changes"] = std::move(changes);
    const auto& s = *summary;
    j["summary"] = {{"added", s.added},
                    {"deleted", s.deleted},
                    {"changed", s.changed},
                    {"type_changed", s.type_changed},
                    {"metadata", s.metadata},
                    {"bytes_added", s.bytes_added},
                    {"bytes_deleted", s.bytes_deleted},
                    {"bytes_changed", s.bytes_changed}};
    print_json(j);
  } else {
    fmt::print("{} -> {}: {}\n", (*a)->name, (*b)->name, history::format_diff_summary(*summary));
  }
  return k_exit_ok;
}

int cmd_du(Invocation& inv) {
  auto args = parse_args(inv, {"--json"}, {});
  if (!args) {
    return k_exit_error;
  }
  if (args->positional.size() > 1) {
    return usage(inv, "du [JOB] [--json]");
  }
  auto cat = history::Catalogue::load(inv.fs, inv.cfg, inv.zone, inv.now);
  if (!cat) {
    return fail(inv, cat.error().message());
  }
  auto du = history::disk_usage(inv.fs, *cat, args->positional.empty() ? "" : args->positional[0]);
  if (!du) {
    return fail(inv, du.error().message());
  }
  if (args->flags.count("--json")) {
    print_json(history::du_json(*du, inv.zone));
  } else {
    fmt::print("{}", history::format_du(*du, inv.zone));
  }
  std::vector<std::string> gone;
  for (const auto& r : du->rows) {
    if (r.vanished) {
      gone.push_back(r.place->qualified());
    }
  }
  return vanished_exit(gone);
}

}  // namespace rotator::cli
