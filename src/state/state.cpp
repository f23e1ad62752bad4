#include "state/state.hpp"

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "util/text.hpp"

namespace rotator::state {

const char* outcome_name(Outcome o) {
  switch (o) {
    case Outcome::none:
      return "none";
    case Outcome::ok:
      return "ok";
    case Outcome::warning:
      return "warning";
    case Outcome::partial:
      return "partial";
    case Outcome::error:
      return "error";
    case Outcome::running:
      return "running";
  }
  return "none";
}

Outcome parse_outcome(const std::string& s) {
  for (Outcome o :
       {Outcome::ok, Outcome::warning, Outcome::partial, Outcome::error, Outcome::running}) {
    if (s == outcome_name(o)) {
      return o;
    }
  }
  return Outcome::none;
}

namespace {

std::string escape(const std::string& s) { return escape_text(s); }
std::string unescape(const std::string& s) { return unescape_text(s); }

void put_time(std::string& out, const char* key, const std::optional<Instant>& t) {
  if (t) {
    out += fmt::format("{}={}\n", key, t->time_since_epoch().count());
  }
}

std::optional<Instant> get_time(const std::string& v) {
  char* end = nullptr;
  long long n = std::strtoll(v.c_str(), &end, 10);
  if (v.empty() || *end != '\0') {
    return std::nullopt;
  }
  return Instant(std::chrono::seconds(n));
}

long long get_count(const std::string& v) {
  char* end = nullptr;
  long long n = std::strtoll(v.c_str(), &end, 10);
  return v.empty() || *end != '\0' || n < 0 ? -1 : n;
}

}  // namespace

std::string serialize(const JobState& st) {
  std::string out = "# rotator job state (written atomically; do not edit while rotator runs)\n";
  put_time(out, "last_start", st.last_start);
  put_time(out, "last_end", st.last_end);
  out += fmt::format("last_result={}\n", outcome_name(st.last_result));
  out += fmt::format("last_summary={}\n", escape(st.last_summary));
  put_time(out, "last_success", st.last_success);
  out += fmt::format("last_success_summary={}\n", escape(st.last_success_summary));
  put_time(out, "last_failure", st.last_failure);
  out += fmt::format("last_failure_message={}\n", escape(st.last_failure_message));
  if (st.last_entries >= 0) {
    out += fmt::format("last_entries={}\n", st.last_entries);
  }
  if (st.last_bytes >= 0) {
    out += fmt::format("last_bytes={}\n", st.last_bytes);
  }
  if (st.last_relinked_files >= 0) {
    out += fmt::format("last_relinked_files={}\n", st.last_relinked_files);
  }
  if (st.last_relinked_bytes >= 0) {
    out += fmt::format("last_relinked_bytes={}\n", st.last_relinked_bytes);
  }
  if (st.relinked_files_total >= 0) {
    out += fmt::format("relinked_files_total={}\n", st.relinked_files_total);
  }
  if (st.relinked_bytes_total >= 0) {
    out += fmt::format("relinked_bytes_total={}\n", st.relinked_bytes_total);
  }
  put_time(out, "relinked_since", st.relinked_since);
  if (!st.churn_warning.empty()) {
    out += fmt::format("churn_warning={}\n", escape(st.churn_warning));
  }
  for (const auto& [k, v] : st.resume) {
    out += fmt::format("resume.{}={}\n", k, escape(v));
  }
  return out;
}

JobState parse(const std::string& text) {
  JobState st;
  if (text.find_first_not_of(" \t\r\n") == std::string::npos) {
    st.defect = "is empty";
    return st;
  }
  bool has_result = false;
  auto corrupt = [&](long line_no, const std::string& why) {
    if (st.defect.empty()) {
      st.defect = fmt::format("is corrupt (line {}: {})", line_no, why);
    }
  };
  auto time_of = [&](long line_no, const std::string& v) {
    auto t = get_time(v);
    if (!t) {
      corrupt(line_no, fmt::format("bad time '{}'", escape_control(v)));
    }
    return t;
  };
  size_t pos = 0;
  long line_no = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    std::string line = text.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
    pos = end == std::string::npos ? text.size() : end + 1;
    ++line_no;
    if (line.empty() || line[0] == '#') {
      continue;
    }
    size_t eq = line.find('=');
    if (eq == std::string::npos) {
      corrupt(line_no, fmt::format("'{}' is not KEY=VALUE", escape_control(line.substr(0, 40))));
      continue;
    }
    std::string k = line.substr(0, eq), v = unescape(line.substr(eq + 1));
    if (k == "last_start")
      st.last_start = time_of(line_no, v);
    else if (k == "last_end")
      st.last_end = time_of(line_no, v);
    else if (k == "last_result") {
      st.last_result = parse_outcome(v);
      has_result = true;
      if (st.last_result == Outcome::none && v != "none") {
        corrupt(line_no, fmt::format("unknown last_result '{}'", escape_control(v)));
      }
    } else if (k == "last_summary")
      st.last_summary = v;
    else if (k == "last_success")
      st.last_success = time_of(line_no, v);
    else if (k == "last_success_summary")
      st.last_success_summary = v;
    else if (k == "last_failure")
      st.last_failure = time_of(line_no, v);
    else if (k == "last_failure_message")
      st.last_failure_message = v;
    else if (k == "last_entries")
      st.last_entries = get_count(v);
    else if (k == "last_bytes")
      st.last_bytes = get_count(v);
    else if (k == "last_relinked_files")
      st.last_relinked_files = get_count(v);
    else if (k == "last_relinked_bytes")
      st.last_relinked_bytes = get_count(v);
    else if (k == "relinked_files_total")
      st.relinked_files_total = get_count(v);
    else if (k == "relinked_bytes_total")
      st.relinked_bytes_total = get_count(v);
    else if (k == "relinked_since")
      st.relinked_since = time_of(line_no, v);
    else if (k == "churn_warning")
      st.churn_warning = v;
    else if (k.rfind("resume.", 0) == 0)
      st.resume[k.substr(7)] = v;
  }
  if (!has_result && st.defect.empty()) {
    st.defect = "is corrupt (no last_result)";
  }
  return st;
}

namespace {

// Opens `name` under `parent`, a directory rotator keeps its own files in:
// O_NOFOLLOW, created when missing if asked.
Result<fs::DirHandle> open_own_dir(fs::Fs& fs, int parent, const std::string& name,
                                   const std::string& display, Create create) {
  if (create == Create::yes) {
    auto made = fs.mkdir(parent, name, 0755);
    if (!made && made.error().sys_errno != EEXIST) {
      return with_context(std::move(made.error()), "create directory", display);
    }
  }
  auto dir = fs::open_dir(fs, parent, name);
  if (!dir) {
    int e = dir.error().sys_errno;
    if (e == ELOOP || e == ENOTDIR) {
      return plain_error(
          fmt::format("'{}' is a symlink or not a directory: rotator keeps its "
                      "state there and never follows a symlink; move it away",
                      display));
    }
    return with_context(std::move(dir.error()), "open directory", display);
  }
  return dir;
}

std::string parent_of(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == 0 || slash == std::string::npos ? "/" : path.substr(0, slash);
}

constexpr const char* k_unsaved_suffix = ".unsaved";

// The text save() recorded for `job`'s last failed save, "" when none.
std::string read_unsaved(fs::Fs& fs, int dir_fd, const std::string& job) {
  auto target = fs.readlink(dir_fd, job + k_unsaved_suffix);
  return target ? escape_control(*target) : std::string();
}

std::string base_of(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

Result<fs::DirHandle> open_state_dir(fs::Fs& fs, const std::string& state_dir, Create create) {
  // "root/." follows a symlinked root; O_NOFOLLOW then applies to ".".
  TRY_ASSIGN(auto root, fs::open_dir(fs, fs::k_cwd, parent_of(state_dir) + "/."));
  return open_own_dir(fs, root.fd(), base_of(state_dir), state_dir, create);
}

Result<JobState> load(fs::Fs& fs, const std::string& state_dir, const std::string& job) {
  auto top = open_state_dir(fs, state_dir, Create::no);
  if (!top) {
    if (top.error().sys_errno == ENOENT) {
      return JobState{};
    }
    return top.error();
  }
  auto dir = open_own_dir(fs, top->fd(), "state", state_dir + "/state", Create::no);
  if (!dir) {
    if (dir.error().sys_errno == ENOENT) {
      return JobState{};
    }
    return dir.error();
  }
  std::string name = job + ".state";
  std::string display = state_dir + "/state/" + name;
  std::string unsaved = read_unsaved(fs, dir->fd(), job);
  auto st = fs.lstat(dir->fd(), name);
  if (!st) {
    if (st.error().sys_errno == ENOENT) {
      JobState none;
      none.unsaved = unsaved;
      return none;
    }
    return with_context(std::move(st.error()), "stat", display);
  }
  if (st->type() != fs::FileType::regular) {
    return plain_error(fmt::format("state file '{}' is not a regular file (a {}); move it away",
                                   display, fs::file_type_name(st->type())));
  }
  auto text = fs.read_file(dir->fd(), name);
  if (!text) {
    return with_context(std::move(text.error()), "read", display);
  }
  JobState parsed = parse(*text);
  if (!parsed.defect.empty()) {
    parsed.defect = fmt::format("state file '{}' {}", display, parsed.defect);
  }
  parsed.unsaved = unsaved;
  return parsed;
}

Status save(fs::Fs& fs, const std::string& state_dir, const std::string& job, const JobState& st) {
  TRY_ASSIGN(auto top, open_state_dir(fs, state_dir, Create::yes));
  TRY_ASSIGN(auto handle, open_own_dir(fs, top.fd(), "state", state_dir + "/state", Create::yes));
  std::string tmp = job + ".state.tmp";
  Status saved = fs.write_file(handle.fd(), tmp, serialize(st));
  if (saved) {
    saved = fs.rename(handle.fd(), tmp, handle.fd(), job + ".state", fs::RenameMode::replace);
  }
  if (saved) {
    saved = fs.fsync_dir(handle.fd());
    if (!saved) {
      saved = with_context(std::move(saved.error()), "sync directory", state_dir + "/state");
    }
  }
  std::string marker = job + k_unsaved_suffix;
  if (!saved) {
    // What a full disk leaves: free the temporary's blocks, then record the
    // cause in an inode (a short symlink needs no data block).
    (void)fs.unlink(handle.fd(), tmp);
    (void)fs.unlink(handle.fd(), marker);
    std::string why = saved.error().sys_errno != 0 ? std::strerror(saved.error().sys_errno)
                                                   : saved.error().message();
    (void)fs.symlink(why.substr(0, 59), handle.fd(), marker);
    (void)fs.fsync_dir(handle.fd());
    return saved;
  }
  if (fs.lstat(handle.fd(), marker)) {
    (void)fs.unlink(handle.fd(), marker);
  }
  return saved;
}

}  // namespace rotator::state
