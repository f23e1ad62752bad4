// plan_snapshot_run: every decision of a snapshot run, without a disk.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include <date/date.h>

#include "jobs/snapshot_plan.hpp"
#include "rotation/plan.hpp"

using namespace rotator;
using namespace rotator::jobs;
using rotation::Op;
using rotation::OpKind;

namespace {

Instant at(int y, unsigned m, unsigned d, int h = 2) {
  return date::sys_days{date::year{y} / date::month{m} / date::day{d}} + std::chrono::hours{h};
}

SnapshotPolicy rotate(const char* keep, const char* level) {
  SnapshotPolicy p;
  p.job = "snapshots";
  p.naming = config::Naming::rotate;
  p.level = level;
  auto r = retention::parse_rotate_policy(keep);
  REQUIRE(r);
  p.rotate = *r;
  return p;
}

SnapshotPolicy dated(const char* keep) {
  SnapshotPolicy p;
  p.job = "snapshots";
  p.naming = config::Naming::dated;
  p.level = "daily";
  p.name_format = "%Y-%m-%d_%H%M%S";
  auto r = retention::parse_dated_policy(keep);
  REQUIRE(r);
  p.dated = *r;
  return p;
}

Op ren(const char* from, const char* to) { return Op{OpKind::rename, from, to}; }
Op exp(const char* name) { return Op{OpKind::expire, name, {}}; }

}  // namespace

TEST_SUITE_BEGIN("jobs::snapshot_plan");

TEST_CASE(
    "rotate, lowest level: fresh until a generation expires, then recycle the newest expiring") {
  auto pol = rotate("daily:3 weekly:2", "daily");
  SUBCASE("empty directory: a fresh daily.0, nothing to shift") {
    auto plan = plan_snapshot_run({}, pol, at(2026, 11, 1));
    REQUIRE(plan);
    CHECK(plan->action == SnapshotAction::build);
    CHECK(plan->name == "daily.0");
    CHECK(plan->recycle.empty());
    CHECK(plan->ops.empty());
    CHECK(plan_lines(*plan, pol) ==
          std::vector<std::string>{"commit .rotator-staging -> .rotator-committed",
                                   "rename .rotator-committed -> daily.0", "delete-trash"});
  }
  SUBCASE("two kept: shift both, nothing expires") {
    auto plan = plan_snapshot_run({"daily.0", "daily.1", "weekly.0"}, pol, at(2026, 11, 3));
    REQUIRE(plan);
    CHECK(plan->recycle.empty());
    CHECK(plan->ops == std::vector<Op>{ren("daily.1", "daily.2"), ren("daily.0", "daily.1")});
  }
  SUBCASE("full level with a hole: the lowest-indexed expiring one is recycled, not shifted") {
    // daily.0 daily.1 daily.4 daily.7 under daily:3: ranks 3 and 4 expire;
    // daily.4 is the newer of the two.
    std::vector<std::string> listing{".trash", "daily.0", "daily.1", "daily.4", "daily.7", "notes"};
    auto plan = plan_snapshot_run(listing, pol, at(2026, 11, 5));
    REQUIRE(plan);
    CHECK(plan->recycle == "daily.4");
    CHECK(plan->ops ==
          std::vector<Op>{exp("daily.7"), ren("daily.1", "daily.2"), ren("daily.0", "daily.1")});
    CHECK(plan_lines(*plan, pol) ==
          std::vector<std::string>{"commit .rotator-staging -> .rotator-committed",
                                   "expire daily.7", "rename daily.1 -> daily.2",
                                   "rename daily.0 -> daily.1",
                                   "rename .rotator-committed -> daily.0", "delete-trash"});
  }
}

TEST_CASE("rotate, higher level: the promotion, or why there is none") {
  auto pol = rotate("daily:2 weekly:2", "weekly");
  auto plan = plan_snapshot_run({"daily.0", "daily.1", "weekly.0"}, pol, at(2026, 11, 3));
  REQUIRE(plan);
  CHECK(plan->action == SnapshotAction::promote);
  CHECK(plan->name == "weekly.0");
  CHECK(plan->ops == std::vector<Op>{ren("weekly.0", "weekly.1"), ren("daily.1", "weekly.0")});
  CHECK(plan_lines(*plan, pol) == std::vector<std::string>{"rename weekly.0 -> weekly.1",
                                                           "rename daily.1 -> weekly.0",
                                                           "delete-trash"});
  auto none = plan_snapshot_run({"daily.0"}, pol, at(2026, 11, 3));
  REQUIRE_FALSE(none);
  CHECK(none.error().message() ==
        "nothing to promote: 'daily.1' not present (yet); nothing was changed");
}

TEST_CASE("dated: new name, recycle the oldest expiring, latest and expiry after the commit") {
  auto pol = dated("last:2");
  SUBCASE("first run: fresh, latest on it") {
    auto plan = plan_snapshot_run({}, pol, at(2026, 11, 1));
    REQUIRE(plan);
    CHECK(plan->name == "2026-11-01_020000");
    CHECK(plan->recycle.empty());
    CHECK(plan->latest == "2026-11-01_020000");
    CHECK(plan->ops.empty());
    CHECK(plan_lines(*plan, pol) ==
          std::vector<std::string>{"commit .rotator-staging -> 2026-11-01_020000",
                                   "latest -> 2026-11-01_020000", "delete-trash"});
  }
  SUBCASE("two expire: the oldest is recycled, the other one expires") {
    std::vector<std::string> listing{"2026-11-01_020000", "2026-11-02_020000", "2026-11-03_020000",
                                     "latest"};
    auto plan = plan_snapshot_run(listing, pol, at(2026, 11, 4));
    REQUIRE(plan);
    CHECK(plan->name == "2026-11-04_020000");
    CHECK(plan->recycle == "2026-11-01_020000");
    CHECK(plan->latest == "2026-11-04_020000");
    CHECK(plan->ops == std::vector<Op>{exp("2026-11-02_020000")});
  }
  SUBCASE("the name is taken (same second): a free .K suffix") {
    auto plan = plan_snapshot_run({"2026-11-04_020000"}, pol, at(2026, 11, 4));
    REQUIRE(plan);
    CHECK(plan->name == "2026-11-04_020000.1");
    CHECK(plan->latest == "2026-11-04_020000.1");
    CHECK(plan->recycle.empty());
  }
  SUBCASE("a generation after now: the clock is wrong, no plan") {
    auto plan = plan_snapshot_run({"2026-11-05_020000"}, pol, at(2026, 11, 4));
    REQUIRE_FALSE(plan);
    CHECK(
        plan.error().message() ==
        "generation '2026-11-05_020000' is dated after now (2026-11-04 02:00:00); the clock looks "
        "wrong, nothing was changed");
  }
}

TEST_CASE("plan_dated_finish never expires the new generation") {
  auto pol = dated("last:1");
  // A new generation that sorts older than an existing one (recovery after
  // the clock was fixed): it still stays, latest goes to the newest.
  auto f = plan_dated_finish({"2026-11-01_020000", "2026-11-03_020000"}, pol, "2026-11-01_020000");
  CHECK(f.latest == "2026-11-03_020000");
  CHECK(f.ops.empty());
  f = plan_dated_finish({"2026-11-01_020000", "2026-11-03_020000"}, pol, "2026-11-03_020000");
  CHECK(f.ops == std::vector<Op>{exp("2026-11-01_020000")});
}

TEST_SUITE_END();
