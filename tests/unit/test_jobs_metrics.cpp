#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "config/config.hpp"
#include "jobs/metrics.hpp"
#include "jobs/status.hpp"
#include "util/zone.hpp"

using namespace rotator;

TEST_SUITE_BEGIN("jobs::metrics");

namespace {

// A clone job whose last run relinked 4 files (8 MiB), and a backup job
// without relink data.
struct TwoJobs {
  config::Job clone;
  config::Job backup;
  std::vector<jobs::JobStatus> sts;
  TwoJobs() {
    clone.name = "clone";
    clone.type = config::JobType::clone;
    backup.name = "backup";
    backup.type = config::JobType::backup;
    jobs::JobStatus c;
    c.job = &clone;
    c.healthy = true;
    c.severity = jobs::Severity::ok;
    c.state.last_result = state::Outcome::ok;
    c.state.last_relinked_files = 4;
    c.state.last_relinked_bytes = 8388608;
    jobs::JobStatus b;
    b.job = &backup;
    b.healthy = true;
    b.severity = jobs::Severity::ok;
    b.state.last_result = state::Outcome::ok;
    sts = {c, b};
  }
};

bool has_line(const std::string& text, const std::string& line) {
  return ("\n" + text).find("\n" + line + "\n") != std::string::npos;
}

}  // namespace

TEST_CASE("metrics: relinked files and bytes per clone job, no sample where none is recorded") {
  TwoJobs t;
  std::string out = jobs::format_metrics(t.sts, "", Instant(std::chrono::seconds(1795000000)));
  CHECK(has_line(out, "# TYPE rotator_last_run_relinked_files gauge"));
  CHECK(has_line(out, "# TYPE rotator_last_run_relinked_bytes gauge"));
  CHECK(has_line(out, "rotator_last_run_relinked_files{job=\"clone\"} 4"));
  CHECK(has_line(out, "rotator_last_run_relinked_bytes{job=\"clone\"} 8388608"));
  CHECK(out.find("rotator_last_run_relinked_files{job=\"backup\"}") == std::string::npos);
  CHECK(out.find("rotator_last_run_relinked_bytes{job=\"backup\"}") == std::string::npos);
  // Zero is a value (relink ran, nothing matched), not a missing sample.
  t.sts[0].state.last_relinked_files = 0;
  t.sts[0].state.last_relinked_bytes = 0;
  out = jobs::format_metrics(t.sts, "", Instant(std::chrono::seconds(1795000000)));
  CHECK(has_line(out, "rotator_last_run_relinked_files{job=\"clone\"} 0"));
  CHECK(has_line(out, "rotator_last_run_relinked_bytes{job=\"clone\"} 0"));
}

TEST_CASE("status: the full table says what relink saved; --json has the two counts") {
  TwoJobs t;
  Zone utc = Zone::utc();
  std::string table = jobs::format_status_table(t.sts, utc, jobs::OnlyProblems::no);
  CHECK(has_line(table, "clone: last run relinked 4 files to history (8388608 bytes saved)"));
  CHECK(table.find("backup: last run relinked") == std::string::npos);
  // Not a problem: -q (only problems) prints nothing when all is well.
  CHECK(jobs::format_status_table(t.sts, utc, jobs::OnlyProblems::yes).empty());
  std::string json =
      jobs::format_status_json(t.sts, utc, Instant(std::chrono::seconds(1795000000)), "");
  CHECK(json.find("\"last_relinked_files\": 4") != std::string::npos);
  CHECK(json.find("\"last_relinked_bytes\": 8388608") != std::string::npos);
  CHECK(json.find("\"last_relinked_files\": null") != std::string::npos);  // the backup job
  t.sts[0].state.last_relinked_files = 1;
  t.sts[0].state.last_relinked_bytes = 10;
  table = jobs::format_status_table(t.sts, utc, jobs::OnlyProblems::no);
  CHECK(has_line(table, "clone: last run relinked 1 file to history (10 bytes saved)"));
}

TEST_SUITE_END();
