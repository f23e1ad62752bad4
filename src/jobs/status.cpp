#include "jobs/status.hpp"

#include <fmt/format.h>

#include "util/duration.hpp"

namespace rotator::jobs {

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (c < 0x20) {
          out += fmt::format("\\u{:04x}", c);
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

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
  auto t = [&](const std::optional<Instant>& i) {
    return i ? json_string(zone.format("%Y-%m-%dT%H:%M:%S%z", *i)) : std::string("null");
  };
  auto secs = [](const std::optional<std::chrono::seconds>& s) {
    return s ? std::to_string(s->count()) : std::string("null");
  };
  bool all_ok = true;
  std::string jobs;
  for (const auto& s : sts) {
    all_ok = all_ok && s.healthy;
    std::string levels;
    for (const auto& l : s.job->levels()) {
      levels += (levels.empty() ? "" : ",") + json_string(l);
    }
    jobs += fmt::format(
        "{}\n    {{\"name\": {}, \"type\": {}, \"levels\": [{}], \"last_start\": {}, "
        "\"last_end\": {}, \"last_result\": {}, \"last_summary\": {}, \"last_success\": {}, "
        "\"last_failure\": {}, \"last_failure_message\": {}, \"age_seconds\": {}, "
        "\"max_age_seconds\": {}, \"overdue\": {}, \"ok\": {}, \"problem\": {}}}",
        jobs.empty() ? "" : ",", json_string(s.job->name),
        json_string(config::job_type_name(s.job->type)), levels, t(s.state.last_start),
        t(s.state.last_end), json_string(state::outcome_name(s.state.last_result)),
        json_string(s.state.last_summary), t(s.state.last_success), t(s.state.last_failure),
        json_string(s.state.last_failure_message), secs(s.age), secs(s.max_age),
        s.overdue ? "true" : "false", s.healthy ? "true" : "false",
        s.problem.empty() ? "null" : json_string(s.problem));
  }
  return fmt::format("{{\n  \"now\": {},\n  \"ok\": {},\n  \"jobs\": [{}\n  ]\n}}\n",
                     t(now), all_ok ? "true" : "false", jobs);
}

}  // namespace rotator::jobs
