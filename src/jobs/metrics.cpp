#include "jobs/metrics.hpp"

#include <fmt/format.h>

#include "core/types.hpp"

namespace rotator::jobs {

std::string prometheus_label(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

namespace {

long long seconds_of(Instant t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

// The exit status the last run had; -1 for none.
int result_code(state::Outcome o) {
  switch (o) {
    case state::Outcome::none:
      return -1;
    case state::Outcome::ok:
      return k_exit_ok;
    case state::Outcome::warning:
    case state::Outcome::partial:
      return k_exit_warning;
    case state::Outcome::error:
    case state::Outcome::running:
      return k_exit_error;
  }
  return k_exit_error;
}

struct Family {
  const char* name;
  const char* help;
};

}  // namespace

std::string format_metrics(const std::vector<JobStatus>& sts, const std::string& root_problem,
                           Instant now) {
  std::string out;
  auto family = [&](const Family& f, auto&& value_of) {
    std::string samples;
    for (const auto& s : sts) {
      std::optional<long long> v = value_of(s);
      if (v) {
        samples += fmt::format("{}{{job=\"{}\"}} {}\n", f.name, prometheus_label(s.job->name), *v);
      }
    }
    out += fmt::format("# HELP {} {}\n# TYPE {} gauge\n{}", f.name, f.help, f.name, samples);
  };
  using O = std::optional<long long>;
  family({"rotator_last_success_timestamp_seconds",
          "End of the job's last successful run, Unix time (0: never)."},
         [](const JobStatus& s) -> O {
           return s.state.last_success ? seconds_of(*s.state.last_success) : 0;
         });
  family({"rotator_last_run_result",
          "Result of the job's last run: 0 ok, 1 error or interrupted, 2 warning or partial, -1 "
          "never run."},
         [](const JobStatus& s) -> O { return result_code(s.state.last_result); });
  family({"rotator_job_overdue", "1 when the job is overdue (no success within max_age)."},
         [](const JobStatus& s) -> O { return s.overdue ? 1 : 0; });
  family(
      {"rotator_run_duration_seconds", "Duration of the job's last run."},
      [](const JobStatus& s) -> O {
        if (!s.state.last_start || !s.state.last_end || *s.state.last_end < *s.state.last_start) {
          return std::nullopt;
        }
        return seconds_of(*s.state.last_end) - seconds_of(*s.state.last_start);
      });
  family({"rotator_last_run_entries", "Entries processed by the job's last run."},
         [](const JobStatus& s) -> O {
           return s.state.last_entries >= 0 ? O(s.state.last_entries) : std::nullopt;
         });
  family({"rotator_last_run_bytes", "Bytes processed by the job's last run."},
         [](const JobStatus& s) -> O {
           return s.state.last_bytes >= 0 ? O(s.state.last_bytes) : std::nullopt;
         });
  family({"rotator_last_run_relinked_files",
          "Files the clone job's last run replaced by a hard link to history (relink = yes)."},
         [](const JobStatus& s) -> O {
           return s.state.last_relinked_files >= 0 ? O(s.state.last_relinked_files) : std::nullopt;
         });
  family({"rotator_last_run_relinked_bytes",
          "Bytes the clone job's last run did not store again thanks to relink = yes."},
         [](const JobStatus& s) -> O {
           return s.state.last_relinked_bytes >= 0 ? O(s.state.last_relinked_bytes) : std::nullopt;
         });
  family({"rotator_max_age_seconds", "Effective max_age of the job."},
         [](const JobStatus& s) -> O { return s.max_age ? O(s.max_age->count()) : std::nullopt; });
  out += fmt::format(
      "# HELP rotator_root_ok 1 when the backup root is present.\n# TYPE rotator_root_ok gauge\n"
      "rotator_root_ok {}\n",
      root_problem.empty() ? 1 : 0);
  out += fmt::format(
      "# HELP rotator_metrics_timestamp_seconds When rotator wrote this file, Unix time.\n"
      "# TYPE rotator_metrics_timestamp_seconds gauge\nrotator_metrics_timestamp_seconds {}\n",
      seconds_of(now));
  return out;
}

Status write_metrics_file(fs::Fs& fs, const std::string& path, const std::string& text) {
  size_t slash = path.rfind('/');
  std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
  TRY_ASSIGN(auto handle, fs::open_dir(fs, fs::k_cwd, dir));
  std::string tmp = "." + name + ".tmp";
  std::string tmp_path = (dir == "/" ? "" : dir) + "/" + tmp;
  TRY_CONTEXT(fs.write_file(handle.fd(), tmp, text), "write", tmp_path);
  TRY_CONTEXT(fs.rename(handle.fd(), tmp, handle.fd(), name, fs::RenameMode::replace), "rename",
              tmp_path, "to '" + path + "'");
  TRY_CONTEXT(fs.fsync_dir(handle.fd()), "sync directory", dir);
  return ok();
}

}  // namespace rotator::jobs
