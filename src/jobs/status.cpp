#include "jobs/status.hpp"

#include <cerrno>

#include <fmt/format.h>

#include "util/duration.hpp"
#include "util/json.hpp"
#include "util/text.hpp"

namespace rotator::jobs {

std::string root_problem(fs::Fs& fs, const config::Config& cfg) {
  auto root = fs.lstat(fs::k_cwd, cfg.root + "/.");
  if (root && root->is_dir()) {
    return {};
  }
  return fmt::format("root '{}' {} (is the backup disk mounted?)", cfg.root,
                     root ? "is not a directory" : "is missing: " + root.error().message());
}

std::vector<JobStatus> collect_status(fs::Fs& fs, const config::Config& cfg, Instant now) {
  std::vector<JobStatus> out;
  std::string root_bad = root_problem(fs, cfg);
  // An existing but empty mount point: no state directory at all.
  bool no_state_dir = false;
  if (root_bad.empty()) {
    auto sd = fs.lstat(fs::k_cwd, cfg.state_dir);
    no_state_dir = !sd && sd.error().sys_errno == ENOENT;
  }
  for (const auto& job : cfg.jobs) {
    JobStatus s;
    s.job = &job;
    s.max_age = config::effective_max_age(job);
    if (!root_bad.empty()) {
      s.problem = root_bad;
      s.overdue = true;
      out.push_back(s);
      continue;
    }
    auto st = state::load(fs, cfg.state_dir, job.name);
    if (!st) {
      s.problem = "cannot read state: " + st.error().message();
      out.push_back(s);
      continue;
    }
    s.state = *st;
    if (s.state.last_success) {
      s.age = std::chrono::duration_cast<std::chrono::seconds>(now - *s.state.last_success);
    }
    s.overdue = !s.state.last_success || (s.max_age && s.age && *s.age > *s.max_age);
    using state::Outcome;
    Outcome r = s.state.last_result;
    bool last_ok = r == Outcome::ok || r == Outcome::warning;
    s.severity = Severity::critical;
    if (!s.state.defect.empty()) {
      // Unknown, not "never run": the file is there but says nothing usable.
      s.severity = Severity::warning;
      s.problem = s.state.defect + "; the last results are unknown until the next run";
    } else if (r == Outcome::running && !s.state.unsaved.empty()) {
      s.problem = fmt::format("the last run could not save its state: {} (its result is unknown)",
                              s.state.unsaved);
    } else if (r == Outcome::none) {
      s.problem = no_state_dir ? fmt::format(
                                     "never run (no state directory '{}': is the backup "
                                     "disk mounted?)",
                                     cfg.state_dir)
                               : "never run";
    } else if (r == Outcome::running) {
      s.problem = "running, or interrupted (crash or kill)";
    } else if (s.age && s.age->count() < -300) {
      s.problem =
          fmt::format("last success is {} in the future: is the clock right?", format_age(-*s.age));
    } else if (s.overdue && s.state.last_success) {
      s.problem = fmt::format("overdue: last success {} ago (max_age {})", format_age(*s.age),
                              format_age(*s.max_age));
      if (!last_ok) {
        s.problem += fmt::format("; last run {}: {}", state::outcome_name(r), s.state.last_summary);
      }
    } else if (r == Outcome::partial && !s.overdue) {
      // rsync 23: known and accepted until the last success is older than max_age.
      s.severity = Severity::warning;
      s.problem = fmt::format("last run partial: {}", s.state.last_summary);
    } else if (!last_ok) {
      s.problem = fmt::format("last run {}: {}", state::outcome_name(r), s.state.last_summary);
    } else if (s.overdue) {
      s.problem = "no successful run yet";
    } else if (!s.state.churn_warning.empty()) {
      // The link-efficiency guard fired on the last run: loud until the next
      // normal clone run clears it (runner.cpp).
      s.severity = Severity::warning;
      s.problem = s.state.churn_warning;
    } else {
      s.severity = Severity::ok;
    }
    s.healthy = s.severity == Severity::ok;
    out.push_back(s);
  }
  return out;
}

Severity overall(const std::vector<JobStatus>& sts) {
  Severity worst = Severity::ok;
  for (const auto& s : sts) {
    if (static_cast<int>(s.severity) > static_cast<int>(worst)) {
      worst = s.severity;
    }
  }
  return worst;
}

ExitStatus status_exit_code(const std::vector<JobStatus>& sts) {
  switch (overall(sts)) {
    case Severity::ok:
      return k_exit_ok;
    case Severity::warning:
      return k_exit_warning;
    case Severity::critical:
      return k_exit_error;
  }
  return k_exit_error;
}

namespace {

const char* severity_name(Severity s) {
  switch (s) {
    case Severity::ok:
      return "ok";
    case Severity::warning:
      return "warning";
    case Severity::critical:
      return "critical";
  }
  return "critical";
}

std::string when(const std::optional<Instant>& t, const Zone& zone) {
  return t ? zone.format("%Y-%m-%d %H:%M", *t) : "never";
}

}  // namespace

std::string format_status_table(const std::vector<JobStatus>& sts, const Zone& zone,
                                OnlyProblems only) {
  if (only == OnlyProblems::yes && overall(sts) == Severity::ok) {
    return {};
  }
  std::string out = fmt::format("{:<12} {:<8} {:<16} {:<16} {:<9} {:<16} {}\n", "JOB", "TYPE",
                                "LEVELS", "LAST SUCCESS", "AGE", "LAST FAILURE", "STATUS");
  for (const auto& s : sts) {
    if (only == OnlyProblems::yes && s.healthy) {
      continue;
    }
    std::string levels;
    for (const auto& l : s.job->levels()) {
      levels += (levels.empty() ? "" : ",") + l;
    }
    out += fmt::format(
        "{:<12} {:<8} {:<16} {:<16} {:<9} {:<16} {}\n", s.job->name,
        config::job_type_name(s.job->type), levels, when(s.state.last_success, zone),
        s.age ? format_age(*s.age) : "-", when(s.state.last_failure, zone),
        s.healthy
            ? std::string("ok")
            : escape_control((s.severity == Severity::warning ? "warning: " : "") + s.problem));
  }
  // What relink = yes saved in each clone's last finished run (not a
  // problem: only in the full table).
  if (only == OnlyProblems::no) {
    for (const auto& s : sts) {
      if (s.state.last_relinked_files >= 0 && s.state.last_relinked_bytes >= 0) {
        out +=
            fmt::format("{}: last run relinked {} file{} to history ({} bytes saved)\n",
                        s.job->name, s.state.last_relinked_files,
                        s.state.last_relinked_files == 1 ? "" : "s", s.state.last_relinked_bytes);
      }
    }
  }
  return out;
}

std::string format_status_json(const std::vector<JobStatus>& sts, const Zone& zone, Instant now,
                               const std::string& root_bad) {
  using json::Json;
  auto t = [&](const std::optional<Instant>& i) {
    return i ? Json(zone.format("%Y-%m-%dT%H:%M:%S%z", *i)) : Json(nullptr);
  };
  auto secs = [](const std::optional<std::chrono::seconds>& s) {
    return s ? Json(s->count()) : Json(nullptr);
  };
  bool all_ok = true;
  Json jobs = Json::array();
  for (const auto& s : sts) {
    all_ok = all_ok && s.healthy;
    Json j = Json::object();
    json::put_bytes(j, "name", s.job->name);
    j["type"] = config::job_type_name(s.job->type);
    Json levels = Json::array();
    for (const auto& l : s.job->levels()) {
      levels.push_back(json::text(l));
    }
    j["levels"] = levels;
    j["last_start"] = t(s.state.last_start);
    j["last_end"] = t(s.state.last_end);
    j["last_result"] = state::outcome_name(s.state.last_result);
    json::put_bytes(j, "last_summary", s.state.last_summary);
    j["last_success"] = t(s.state.last_success);
    j["last_failure"] = t(s.state.last_failure);
    json::put_bytes(j, "last_failure_message", s.state.last_failure_message);
    j["age_seconds"] = secs(s.age);
    j["max_age_seconds"] = secs(s.max_age);
    j["overdue"] = s.overdue;
    j["ok"] = s.healthy;
    j["severity"] = severity_name(s.severity);
    auto count = [](long long n) { return n >= 0 ? Json(n) : Json(nullptr); };
    j["last_relinked_files"] = count(s.state.last_relinked_files);
    j["last_relinked_bytes"] = count(s.state.last_relinked_bytes);
    if (s.state.churn_warning.empty()) {
      j["churn_warning"] = nullptr;
    } else {
      j["churn_warning"] = s.state.churn_warning;
    }
    if (s.problem.empty()) {
      j["problem"] = nullptr;
    } else {
      json::put_bytes(j, "problem", s.problem);
    }
    jobs.push_back(std::move(j));
  }
  Json doc = Json::object();
  doc["now"] = t(now);
  doc["ok"] = all_ok && root_bad.empty();
  doc["severity"] = severity_name(root_bad.empty() ? overall(sts) : Severity::critical);
  doc["root_ok"] = root_bad.empty();
  if (root_bad.empty()) {
    doc["problem"] = nullptr;
  } else {
    json::put_bytes(doc, "problem", root_bad);
  }
  doc["jobs"] = std::move(jobs);
  return json::dump(doc) + "\n";
}

std::string format_config_error_json(const std::string& file, const std::string& message) {
  json::Json doc = json::Json::object();
  doc["ok"] = false;
  doc["severity"] = "unknown";
  json::put_bytes(doc, "config", file);
  json::put_bytes(doc, "config_error", message);
  doc["jobs"] = json::Json::array();
  return json::dump(doc) + "\n";
}

namespace {

// Free text on the plugin's one line: no control characters, no '|' (which
// starts the perfdata).
std::string plugin_text(const std::string& s) {
  std::string out = escape_control(s);
  for (char& c : out) {
    if (c == '|') {
      c = '/';
    }
  }
  return out;
}

}  // namespace

NagiosReport format_status_nagios(const std::vector<JobStatus>& sts, const std::string& root_bad) {
  enum { ok = 0, warning = 1, critical = 2 };
  int worst = ok;
  std::string problems;
  std::string perf;
  for (const auto& s : sts) {
    int level = ok;
    if (s.severity == Severity::critical) {
      bool only_late = s.overdue && s.state.last_success && s.max_age && s.age &&
                       (s.state.last_result == state::Outcome::ok ||
                        s.state.last_result == state::Outcome::warning ||
                        s.state.last_result == state::Outcome::partial) &&
                       s.age->count() >= 0;
      level = only_late && *s.age <= 2 * *s.max_age ? warning : critical;
    } else if (s.severity == Severity::warning) {
      level = warning;
    }
    worst = std::max(worst, level);
    if (level != ok) {
      problems += fmt::format("{}{}: {}", problems.empty() ? "" : "; ", s.job->name,
                              plugin_text(s.problem));
    }
    std::string value = s.age ? fmt::format("{}s", s.age->count()) : std::string("U");
    std::string warn = s.max_age ? std::to_string(s.max_age->count()) : std::string();
    std::string crit = s.max_age ? std::to_string(2 * s.max_age->count()) : std::string();
    perf +=
        fmt::format("{}age_{}={};{};{}", perf.empty() ? "" : " ", s.job->name, value, warn, crit);
  }
  NagiosReport r;
  std::string text;
  if (!root_bad.empty()) {
    worst = critical;
    text = plugin_text(root_bad);
  } else if (worst == ok) {
    text = fmt::format("{} job{} ok", sts.size(), sts.size() == 1 ? "" : "s");
  } else {
    text = problems;
  }
  static const char* const k_names[] = {"OK", "WARNING", "CRITICAL"};
  r.exit_code = worst;
  r.line =
      fmt::format("ROTATOR {} - {}{}{}\n", k_names[worst], text, perf.empty() ? "" : " | ", perf);
  return r;
}

NagiosReport nagios_config_error(const std::string& message) {
  return NagiosReport{fmt::format("ROTATOR UNKNOWN - config error: {}\n", plugin_text(message)), 3};
}

}  // namespace rotator::jobs
