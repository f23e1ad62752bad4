#include "jobs/status.hpp"

#include <fmt/format.h>

#include "util/duration.hpp"
#include "util/json.hpp"

namespace rotator::jobs {

std::vector<JobStatus> collect_status(fs::Fs& fs, const config::Config& cfg, Instant now) {
  std::vector<JobStatus> out;
  for (const auto& job : cfg.jobs) {
    JobStatus s;
    s.job = &job;
    auto st = state::load(fs, cfg.state_dir, job.name);
    if (!st) {
      s.problem = "cannot read state: " + st.error().message();
      out.push_back(s);
      continue;
    }
    s.state = *st;
    s.max_age = config::effective_max_age(job);
    if (s.state.last_success) {
      s.age = std::chrono::duration_cast<std::chrono::seconds>(now - *s.state.last_success);
    }
    s.overdue = !s.state.last_success || (s.max_age && s.age && *s.age > *s.max_age);
    using state::Outcome;
    Outcome r = s.state.last_result;
    bool last_ok = r == Outcome::ok || r == Outcome::warning;
    if (r == Outcome::none) {
      s.problem = "never run";
    } else if (r == Outcome::running) {
      s.problem = "running, or interrupted (crash or kill)";
    } else if (!last_ok) {
      s.problem = fmt::format("last run {}: {}", state::outcome_name(r), s.state.last_summary);
    } else if (s.age && s.age->count() < -300) {
      s.problem = fmt::format("last success is {} in the future: is the clock right?",
                              format_age(-*s.age));
    } else if (s.overdue) {
      s.problem = fmt::format("overdue: last success {} ago (max_age {})", format_age(*s.age),
                              format_age(*s.max_age));
    }
    if (s.overdue && s.problem.empty()) {
      s.problem = "no successful run yet";
    }
    s.healthy = s.problem.empty();
    out.push_back(s);
  }
  return out;
}

namespace {

std::string when(const std::optional<Instant>& t, const Zone& zone) {
  return t ? zone.format("%Y-%m-%d %H:%M", *t) : "never";
}

}  // namespace

std::string format_status_table(const std::vector<JobStatus>& sts, const Zone& zone) {
  std::string out = fmt::format("{:<12} {:<8} {:<16} {:<16} {:<9} {:<16} {}\n", "JOB", "TYPE",
                                "LEVELS", "LAST SUCCESS", "AGE", "LAST FAILURE", "STATUS");
  for (const auto& s : sts) {
    std::string levels;
    for (const auto& l : s.job->levels()) {
      levels += (levels.empty() ? "" : ",") + l;
    }
    out += fmt::format("{:<12} {:<8} {:<16} {:<16} {:<9} {:<16} {}\n", s.job->name,
                       config::job_type_name(s.job->type), levels,
                       when(s.state.last_success, zone), s.age ? format_age(*s.age) : "-",
                       when(s.state.last_failure, zone), s.healthy ? "ok" : s.problem);
  }
  return out;
}

std::string format_status_json(const std::vector<JobStatus>& sts, const Zone& zone, Instant now) {
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
    if (s.problem.empty()) {
      j["problem"] = nullptr;
    } else {
      json::put_bytes(j, "problem", s.problem);
    }
    jobs.push_back(std::move(j));
  }
  Json doc = Json::object();
  doc["now"] = t(now);
  doc["ok"] = all_ok;
  doc["jobs"] = std::move(jobs);
  return json::dump(doc) + "\n";
}

}  // namespace rotator::jobs
