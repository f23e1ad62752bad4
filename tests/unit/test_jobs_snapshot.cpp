#include <doctest/doctest.h>

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <string>
#include <vector>

#include "fs/fault_fs.hpp"
#include "fs/nosync_fs.hpp"
#include "snapshot_fixture.hpp"

using namespace rotator;
using namespace rotator::test;
using config::Naming;
using rotator::DryRun;
using state::Outcome;

TEST_SUITE_BEGIN("jobs::snapshot");

namespace {

using Names = std::vector<std::string>;

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

bool plan_has(const std::vector<std::string>& plan, const std::string& line) {
  return std::find(plan.begin(), plan.end(), line) != plan.end();
}

long mtime_of(const std::string& path) {
  struct stat st {};
  REQUIRE(::lstat(path.c_str(), &st) == 0);
  return st.st_mtime;
}

nlink_t nlink_of(const std::string& path) {
  struct stat st {};
  REQUIRE(::lstat(path.c_str(), &st) == 0);
  return st.st_nlink;
}

}  // namespace

TEST_CASE("rotate: first runs fill daily.0.., then shift and expire the oldest") {
  SnapFixture fx(Naming::rotate, "daily:3 weekly:2");
  std::vector<std::map<std::string, ino_t>> taken;  // clone files at each run
  for (int day = 1; day <= 4; ++day) {
    if (day > 1) {
      fx.change_clone(day);
    }
    taken.push_back(fx.clone_files());
    auto r = fx.run("daily", at(2026, 11, day));
    REQUIRE_MESSAGE(r.outcome == Outcome::ok, r.error);
    // The newest generation is the clone as it is now, taken now.
    CHECK(fx.gen_files("daily.0") == fx.clone_files());
    CHECK(mtime_of(fx.snap("daily.0")) == at(2026, 11, day).time_since_epoch().count());
    CHECK(fx.trash_entries() == 0);
  }
  CHECK(fx.names() == Names{"daily.0", "daily.1", "daily.2"});
  // daily.i is the clone of day 4 - i; day 1's generation expired.
  CHECK(fx.gen_files("daily.1") == taken[2]);
  CHECK(fx.gen_files("daily.2") == taken[1]);
  CHECK(mtime_of(fx.snap("daily.2")) == at(2026, 11, 2).time_since_epoch().count());
}

TEST_CASE("rotate: a run that expires a generation recycles it") {
  SnapFixture fx(Naming::rotate, "daily:2");
  REQUIRE(fx.run("daily", at(2026, 11, 1)).outcome == Outcome::ok);
  fx.change_clone(1);
  REQUIRE(fx.run("daily", at(2026, 11, 2)).outcome == Outcome::ok);
  // daily.1 (day 1) expires with the next run: it becomes the new daily.0.
  ino_t root_ino = inode_of(fx.snap("daily.1"));
  ino_t dir_ino = inode_of(fx.snap("daily.1/dir"));
  ino_t b_ino = inode_of(fx.snap("daily.1/dir/b.txt"));
  // A witness link to day 1's a.txt, which the clone no longer has.
  make_link(fx.snap("daily.1/a.txt"), fx.path("witness"));
  REQUIRE(nlink_of(fx.path("witness")) == 2);
  fx.change_clone(2);
  auto r = fx.run("daily", at(2026, 11, 3));
  REQUIRE_MESSAGE(r.outcome == Outcome::ok, r.error);
  CHECK(contains(r.summary, "created daily.0 (recycled from daily.1)"));
  CHECK(fx.names() == Names{"daily.0", "daily.1"});
  CHECK(inode_of(fx.snap("daily.0")) == root_ino);         // the same tree, recycled
  CHECK(inode_of(fx.snap("daily.0/dir")) == dir_ino);      // unchanged directory kept
  CHECK(inode_of(fx.snap("daily.0/dir/b.txt")) == b_ino);  // unchanged file kept
  CHECK(fx.gen_files("daily.0") == fx.clone_files());
  // What the recycled build displaced was deleted after the commit.
  CHECK(nlink_of(fx.path("witness")) == 1);
  CHECK(fx.trash_entries() == 0);
  CHECK_FALSE(exists(fx.snap(".rotator-staging")));
  CHECK_FALSE(exists(fx.snap(".rotator-staging.from")));
}

TEST_CASE("rotate: higher-level promotion and the rsnapshot#331 refusal (daily:3 weekly:2)") {
  SnapFixture fx(Naming::rotate, "daily:3 weekly:2");
  int day = 1;
  auto daily = [&] {
    fx.change_clone(day);
    auto r = fx.run("daily", at(2026, 11, day++));
    REQUIRE_MESSAGE(r.outcome == Outcome::ok, r.error);
  };
  auto weekly = [&] { return fx.run("weekly", at(2026, 11, day, 1)); };

  SUBCASE("nothing to promote changes nothing and fails") {
    daily();
    daily();
    auto before = fx.state();
    auto r = weekly();
    CHECK(r.outcome == Outcome::error);
    CHECK(r.error == "nothing to promote: 'daily.2' not present (yet); nothing was changed");
    CHECK(fx.state() == before);
  }
  SUBCASE("three dailies, then three weeklies: no weekly is lost") {
    daily();
    daily();
    daily();
    auto oldest = fx.gen_files("daily.2");
    auto r = weekly();
    REQUIRE_MESSAGE(r.outcome == Outcome::ok, r.error);
    CHECK(fx.names() == Names{"daily.0", "daily.1", "weekly.0"});
    CHECK(fx.gen_files("weekly.0") == oldest);
    auto after_first = fx.state();
    CHECK(weekly().outcome == Outcome::error);
    CHECK(weekly().outcome == Outcome::error);
    CHECK(fx.state() == after_first);  // rsnapshot 1.4 would have shifted weekly.0 away
  }
  SUBCASE("promotion shifts the level and expires beyond its count") {
    std::vector<std::map<std::string, ino_t>> promoted;
    for (int week = 0; week < 3; ++week) {
      while (!exists(fx.snap("daily.2"))) {
        daily();
      }
      promoted.push_back(fx.gen_files("daily.2"));
      auto r = weekly();
      REQUIRE_MESSAGE(r.outcome == Outcome::ok, r.error);
    }
    CHECK(fx.names() == Names{"daily.0", "daily.1", "weekly.0", "weekly.1"});
    CHECK(fx.gen_files("weekly.0") == promoted[2]);
    CHECK(fx.gen_files("weekly.1") == promoted[1]);
    CHECK(fx.trash_entries() == 0);
    CHECK_FALSE(exists(fx.snap(".rotator-intent")));
  }
}

TEST_CASE("dated: creation, latest, a suffix for a taken name, foreign entries untouched") {
  SnapFixture fx(Naming::dated, "daily:7", {"daily"});
  make_dir(fx.snap("notes"));
  write_file(fx.snap("README"), "mine");
  make_dir(fx.snap("2026-11-01"));  // does not parse as the name format
  ino_t notes = inode_of(fx.snap("notes"));
  ino_t readme = inode_of(fx.snap("README"));
  REQUIRE(fx.run("daily", at(2026, 11, 1)).outcome == Outcome::ok);
  CHECK(fx.gen_files("2026-11-01_020000") == fx.clone_files());
  CHECK(std::filesystem::read_symlink(fx.snap("latest")) == "2026-11-01_020000");
  fx.change_clone(1);
  auto r = fx.run("daily", at(2026, 11, 1));
  REQUIRE_MESSAGE(r.outcome == Outcome::ok, r.error);
  CHECK(contains(r.summary, "created 2026-11-01_020000.1 (recycled from 2026-11-01_020000)"));
  CHECK(std::filesystem::read_symlink(fx.snap("latest")) == "2026-11-01_020000.1");
  CHECK(fx.gen_files("2026-11-01_020000.1") == fx.clone_files());
  // daily:7 keeps one per day: the second of the day wins, the first expires.
  CHECK(fx.names() == Names{"2026-11-01", "2026-11-01_020000.1", "README", "notes"});
  CHECK(inode_of(fx.snap("notes")) == notes);
  CHECK(inode_of(fx.snap("README")) == readme);
  CHECK(read_file(fx.snap("README")) == "mine");
}

TEST_CASE("dated: keep = daily:7 weekly:4 over a simulated month") {
  SnapFixture fx(Naming::dated, "daily:7 weekly:4", {"daily"});
  size_t most = 0;
  for (unsigned d = 1; d <= 30; ++d) {
    fx.change_clone(static_cast<int>(d));
    auto r = fx.run("daily", at(2026, 11, d));
    REQUIRE_MESSAGE(r.outcome == Outcome::ok, r.error);
    most = std::max(most, fx.names().size());
    CHECK(std::filesystem::read_symlink(fx.snap("latest")) ==
          fmt::format("2026-11-{:02}_020000", d));
  }
  // 2026-11-30 is a Monday (W49). daily:7 keeps Nov 24..30; weekly:4 finds
  // W49 and W48 consumed, then keeps the newest of W47, W46, W45, W44.
  CHECK(fx.names() == Names{"2026-11-01_020000", "2026-11-08_020000", "2026-11-15_020000",
                            "2026-11-22_020000", "2026-11-24_020000", "2026-11-25_020000",
                            "2026-11-26_020000", "2026-11-27_020000", "2026-11-28_020000",
                            "2026-11-29_020000", "2026-11-30_020000"});
  CHECK(most <= 12);  // expiry happened as the month went, never more than 11 + the new one
  CHECK(fx.trash_entries() == 0);
}

TEST_CASE("dated: names in the config time zone across a DST change; an outage deletes nothing") {
  auto paris = Zone::from_name("Europe/Paris");
  REQUIRE(paris);
  SnapFixture fx(Naming::dated, "hourly:3 daily:2", {"hourly"});
  fx.set_zone(*paris);
  // 2026-10-25: clocks go back at 03:00 CEST to 02:00 CET. 00:30 and 01:30
  // UTC are both 02:30 local: the second run gets the suffix.
  for (int h : {23, 24}) {  // hours after 2026-10-24 00:00 UTC: 01:30 and 02:30 CEST
    auto r = fx.run("hourly", at(2026, 10, 24, h, 30));
    REQUIRE_MESSAGE(r.outcome == Outcome::ok, r.error);
  }
  CHECK(fx.names() == Names{"2026-10-25_013000", "2026-10-25_023000"});
  // 02:30 CET: the same local name, and the same hourly period, so the
  // earlier 02:30 expires and is recycled.
  auto r = fx.run("hourly", at(2026, 10, 25, 1, 30));
  REQUIRE_MESSAGE(r.outcome == Outcome::ok, r.error);
  CHECK(contains(r.summary, "created 2026-10-25_023000.1 (recycled from 2026-10-25_023000)"));
  r = fx.run("hourly", at(2026, 10, 25, 2, 30));  // 03:30 CET
  REQUIRE_MESSAGE(r.outcome == Outcome::ok, r.error);
  CHECK(fx.names() == Names{"2026-10-25_013000", "2026-10-25_023000.1", "2026-10-25_033000"});
  fx.clear_plan();
  r = fx.prune(at(2026, 10, 25, 3), jobs::Explain::yes, DryRun::yes);
  REQUIRE_MESSAGE(r.outcome == Outcome::ok, r.error);
  CHECK(fx.plan() == std::vector<std::string>{
                         "keep   2026-10-25_033000        newest",
                         "keep   2026-10-25_023000.1      hourly 2026-10-25 02h",
                         "keep   2026-10-25_013000        hourly 2026-10-25 01h",
                     });
  auto before = fx.state();
  // Six months without a new generation: windows are anchored at the newest
  // generation, so pruning (at any time) deletes nothing.
  REQUIRE(fx.prune(at(2027, 4, 25), jobs::Explain::no).outcome == Outcome::ok);
  CHECK(fx.state() == before);
  // The first run after the outage (04:00 CEST) expires only what the counts
  // exclude: hourly:3 counts 04h, 03h and 02h; daily:2 finds both days consumed.
  r = fx.run("hourly", at(2027, 4, 25));
  REQUIRE_MESSAGE(r.outcome == Outcome::ok, r.error);
  CHECK(fx.names() == Names{"2026-10-25_023000.1", "2026-10-25_033000", "2027-04-25_040000"});
}

TEST_CASE("a failed build exits with an error and loses or shifts nothing") {
  SUBCASE("source missing") {
    SnapFixture fx(Naming::rotate, "daily:2");
    REQUIRE(fx.run("daily", at(2026, 11, 1)).outcome == Outcome::ok);
    auto before = fx.state();
    std::filesystem::rename(fx.clone(""), fx.path("clone-away"));
    auto r = fx.run("daily", at(2026, 11, 2));
    CHECK(r.outcome == Outcome::error);
    CHECK(contains(r.error, "is not a directory"));
    CHECK(fx.state() == before);
  }
  SUBCASE("source empty (unmounted)") {
    SnapFixture fx(Naming::rotate, "daily:1");
    REQUIRE(fx.run("daily", at(2026, 11, 1)).outcome == Outcome::ok);
    auto before = fx.state();
    std::filesystem::rename(fx.clone(""), fx.path("clone-away"));
    make_dir(fx.clone(""));
    auto r = fx.run("daily", at(2026, 11, 2));
    CHECK(r.outcome == Outcome::error);
    CHECK(contains(r.error, "is empty (not mounted? a failed clone?)"));
    CHECK(fx.state() == before);
  }
  for (int err : {ENOSPC, EIO}) {
    for (const char* naming : {"rotate", "dated"}) {
      // (a) a fresh build fails at its k-th link; (b) a recycled build fails
      // at its k-th mutating call of any kind. Either way the run fails, and
      // the snapshot directory holds exactly what it held before.
      bool dated = std::string(naming) == "dated";
      for (int recycled = 0; recycled < 2; ++recycled) {
        for (long k = 1;; ++k) {
          CAPTURE(err);
          CAPTURE(naming);
          CAPTURE(recycled);
          CAPTURE(k);
          SnapFixture fx(dated ? Naming::dated : Naming::rotate, recycled ? "daily:2" : "daily:5",
                         dated ? std::vector<std::string>{"daily"} : std::vector<std::string>{});
          if (dated && recycled) {
            fx.job().keep = "last:2";
          }
          REQUIRE(fx.run("daily", at(2026, 11, 1)).outcome == Outcome::ok);
          fx.change_clone(1);
          REQUIRE(fx.run("daily", at(2026, 11, 2)).outcome == Outcome::ok);
          fx.change_clone(2);
          auto before = fx.state();
          fs::FaultFs faulty(fx.posix());
          if (recycled) {
            faulty.fail_at(k, err);
          } else {
            faulty.fail_at(k, err, "link");
          }
          auto r = fx.run(faulty, "daily", at(2026, 11, 3));
          if (!faulty.triggered()) {
            CHECK(r.outcome == Outcome::ok);
            CHECK(k > 3);
            break;
          }
          // A failure after the commit point (shift, expiry, trash) is
          // reported, and finished by the next run; one before it changes
          // nothing at all.
          bool committed = r.outcome != Outcome::error || contains(r.error, "was committed");
          if (!committed) {
            CHECK_MESSAGE(fx.state() == before, r.error);
          }
          // And the next run completes normally.
          auto again = fx.run("daily", at(2026, 11, 3));
          CHECK_MESSAGE(again.outcome == Outcome::ok, again.error);
          CHECK(fx.trash_entries() == 0);
        }
      }
    }
  }
}

TEST_CASE("an entry named like a generation that is not a directory stops the job by name") {
  // (a) a symlink daily.0 -> a directory outside, a regular file daily.1, a
  // dated-name symlink; (b) the run, a promotion, recovery and prune all
  // fail with the message naming the entry and what to move away;
  // (c) nothing in the snapshot directory changes, the symlink's target is
  // untouched; (d) once it is moved away the run works.
  struct Variant {
    Naming naming;
    const char* keep;
    const char* name;
    fs::FileType type;
  };
  for (const Variant& v :
       {Variant{Naming::rotate, "daily:3 weekly:2", "daily.0", fs::FileType::symlink},
        Variant{Naming::rotate, "daily:3 weekly:2", "daily.1", fs::FileType::regular},
        Variant{Naming::dated, "daily:7", "2026-10-30_020000", fs::FileType::symlink}}) {
    CAPTURE(v.name);
    SnapFixture fx(v.naming, v.keep, {"daily"});
    REQUIRE(fx.run("daily", at(2026, 11, 1)).outcome == Outcome::ok);
    fx.change_clone(1);
    REQUIRE(fx.run("daily", at(2026, 11, 2)).outcome == Outcome::ok);
    write_file(fx.path("elsewhere/precious.txt"), "mine");
    auto elsewhere = list_tree(fx.path("elsewhere"));
    if (v.type == fs::FileType::symlink) {
      if (exists(fx.snap(v.name))) {
        std::filesystem::rename(fx.snap(v.name), fx.path("moved-gen"));
      }
      make_symlink(fx.path("elsewhere"), fx.snap(v.name));
    } else {
      if (exists(fx.snap(v.name))) {
        std::filesystem::rename(fx.snap(v.name), fx.path("moved-gen"));
      }
      write_file(fx.snap(v.name), "not a generation");
    }
    std::string expected = std::string("snapshot '") + v.name + "' is a " +
                           fs::file_type_name(v.type) + ", not a directory: move it out of '" +
                           fx.snap("").substr(0, fx.snap("").size() - 1) + "' and rerun";
    auto before = fx.state();
    fx.change_clone(2);
    auto r = fx.run("daily", at(2026, 11, 3));
    CHECK(r.outcome == Outcome::error);
    CHECK(r.error == expected);
    if (v.naming == Naming::rotate) {
      auto w = fx.run("weekly", at(2026, 11, 3, 1));
      CHECK(w.outcome == Outcome::error);
      CHECK(w.error == expected);
    }
    auto p = fx.prune(at(2026, 11, 20), jobs::Explain::no);
    CHECK(p.outcome == Outcome::error);
    CHECK(p.error == expected);
    auto rec = fx.recover(fx.posix());
    REQUIRE_FALSE(rec);
    CHECK(rec.error().message() == expected);
    CHECK(fx.state() == before);
    CHECK(list_tree(fx.path("elsewhere")) == elsewhere);
    CHECK(read_file(fx.path("elsewhere/precious.txt")) == "mine");
    std::filesystem::remove(fx.snap(v.name));
    auto again = fx.run("daily", at(2026, 11, 3));
    CHECK_MESSAGE(again.outcome == Outcome::ok, again.error);
  }
}

TEST_CASE("EMLINK: the file is copied, the run warns and counts it") {
  SnapFixture fx(Naming::rotate, "daily:2");
  fs::FaultFs faulty(fx.posix());
  faulty.fail_at(2, EMLINK, "link");  // the second link of the walk: dir/b.txt
  auto r = fx.run(faulty, "daily", at(2026, 11, 1));
  REQUIRE(faulty.triggered());
  CHECK(r.outcome == Outcome::warning);
  CHECK(contains(r.summary, "1 file copied (hard-link limit reached)"));
  auto files = fx.gen_files("daily.0");
  auto clone = fx.clone_files();
  REQUIRE(files.size() == clone.size());
  int copies = 0;
  for (const auto& [rel, ino] : clone) {
    copies += files.at(rel) != ino;
    CHECK(read_file(fx.snap("daily.0/" + rel)) == read_file(fx.clone(rel)));
  }
  CHECK(copies == 1);
}

TEST_CASE("sync = none: fresh and recycled snapshots make no fsync_dir or syncfs call") {
  for (const char* op : {"fsync_dir", "sync_fs"}) {
    CAPTURE(op);
    SnapFixture control(Naming::rotate, "daily:2");
    fs::FaultFs failing(control.posix());
    failing.fail_at(1, EIO, op);
    CHECK(control.run(failing, "daily", at(2026, 11, 1)).outcome == Outcome::error);
    CHECK(failing.triggered());

    SnapFixture fx(Naming::rotate, "daily:2");
    fs::FaultFs faulty(fx.posix());
    faulty.fail_at(1, EIO, op);
    fs::NoSyncFs nosync(faulty);
    CHECK_FALSE(nosync.concurrent_safe());              // as its FaultFs: deterministic
    CHECK(fs::NoSyncFs(fx.posix()).concurrent_safe());  // as PosixFs: parallel builds stay
    for (unsigned day = 1; day <= 4; ++day) {           // fresh, fresh, then recycled twice
      CAPTURE(day);
      if (day > 1) {
        fx.change_clone(static_cast<int>(day));
      }
      auto r = fx.run(nosync, "daily", at(2026, 11, day));
      REQUIRE_MESSAGE(r.outcome == Outcome::ok, r.error);
    }
    CHECK_FALSE(faulty.triggered());
    auto files = fx.gen_files("daily.0");
    auto clone = fx.clone_files();
    CHECK(files.size() == clone.size());
    for (const auto& [rel, ino] : clone) {
      CAPTURE(rel);
      CHECK(files.count(rel) == 1);
      CHECK(files[rel] == ino);  // hard links to the clone, as with sync = commit
    }
  }
}

TEST_CASE("dry run: plan lines, and nothing changes") {
  SnapFixture fx(Naming::rotate, "daily:2 weekly:1");
  REQUIRE(fx.run("daily", at(2026, 11, 1)).outcome == Outcome::ok);
  fx.change_clone(1);
  REQUIRE(fx.run("daily", at(2026, 11, 2)).outcome == Outcome::ok);
  fx.change_clone(2);
  auto tree = list_tree(fx.snap(""));
  fs::FaultFs rec(fx.posix());
  rec.record();
  fx.clear_plan();
  auto r = fx.run(rec, "daily", at(2026, 11, 3), DryRun::yes);
  REQUIRE_MESSAGE(r.outcome == Outcome::ok, r.error);
  CHECK(rec.journal().empty());
  CHECK(list_tree(fx.snap("")) == tree);
  CHECK(plan_has(fx.plan(), "recycle daily.1"));
  CHECK(plan_has(fx.plan(), "link new2.txt"));
  CHECK(plan_has(fx.plan(), "commit .rotator-staging -> .rotator-committed"));
  CHECK(plan_has(fx.plan(), "rename daily.0 -> daily.1"));
  CHECK(plan_has(fx.plan(), "rename .rotator-committed -> daily.0"));
  CHECK(plan_has(fx.plan(), "delete-trash"));
  fx.clear_plan();
  r = fx.run(rec, "weekly", at(2026, 11, 3), DryRun::yes);
  REQUIRE_MESSAGE(r.outcome == Outcome::ok, r.error);
  CHECK(plan_has(fx.plan(), "rename daily.1 -> weekly.0"));
  CHECK(rec.journal().empty());
  CHECK(list_tree(fx.snap("")) == tree);

  SnapFixture fresh(Naming::dated, "daily:3", {"daily"});
  fs::FaultFs rec2(fresh.posix());
  rec2.record();
  REQUIRE(fresh.run("daily", at(2026, 11, 1)).outcome == Outcome::ok);
  auto tree2 = list_tree(fresh.snap(""));
  fresh.clear_plan();
  r = fresh.run(rec2, "daily", at(2026, 11, 2), DryRun::yes);
  REQUIRE_MESSAGE(r.outcome == Outcome::ok, r.error);
  CHECK(rec2.journal().empty());
  CHECK(list_tree(fresh.snap("")) == tree2);
  CHECK(plan_has(fresh.plan(), "mkdir dir"));
  CHECK(plan_has(fresh.plan(), "link dir/b.txt"));
  CHECK(plan_has(fresh.plan(), "commit .rotator-staging -> 2026-11-02_020000"));
}

TEST_CASE("prune --explain: reasons, dry run, then expiry creating nothing") {
  SnapFixture fx(Naming::dated, "last:10", {"daily"});
  for (unsigned d = 1; d <= 9; ++d) {
    REQUIRE(fx.run("daily", at(2026, 11, d)).outcome == Outcome::ok);
  }
  fx.job().keep = "daily:2 weekly:2";
  auto before = fx.state();
  fx.clear_plan();
  auto r = fx.prune(at(2026, 11, 20), jobs::Explain::yes, DryRun::yes);
  REQUIRE_MESSAGE(r.outcome == Outcome::ok, r.error);
  CHECK(fx.state() == before);
  // 11-09 is a Monday (W46); W45 = Nov 2..8, W44 ends Nov 1.
  CHECK(fx.plan() == std::vector<std::string>{
                         "keep   2026-11-09_020000        newest",
                         "keep   2026-11-08_020000        daily 2026-11-08",
                         "expire 2026-11-07_020000        expired",
                         "expire 2026-11-06_020000        expired",
                         "expire 2026-11-05_020000        expired",
                         "expire 2026-11-04_020000        expired",
                         "expire 2026-11-03_020000        expired",
                         "expire 2026-11-02_020000        expired",
                         "keep   2026-11-01_020000        weekly 2026-W44",
                     });
  r = fx.prune(at(2026, 11, 20), jobs::Explain::no);
  REQUIRE_MESSAGE(r.outcome == Outcome::ok, r.error);
  CHECK(r.summary.rfind("3 kept, 6 expired", 0) == 0);
  CHECK(fx.names() == Names{"2026-11-01_020000", "2026-11-08_020000", "2026-11-09_020000"});
  CHECK(fx.trash_entries() == 0);

  SnapFixture rot(Naming::rotate, "daily:4");
  for (unsigned d = 1; d <= 4; ++d) {
    REQUIRE(rot.run("daily", at(2026, 11, d)).outcome == Outcome::ok);
  }
  rot.job().keep = "daily:2";
  rot.clear_plan();
  r = rot.prune(at(2026, 11, 5), jobs::Explain::yes);
  REQUIRE_MESSAGE(r.outcome == Outcome::ok, r.error);
  CHECK(rot.plan() == std::vector<std::string>{
                          "keep   daily.0                  daily #1",
                          "keep   daily.1                  daily #2",
                          "expire daily.2                  expired (beyond daily:2)",
                          "expire daily.3                  expired (beyond daily:2)",
                      });
  CHECK(rot.names() == Names{"daily.0", "daily.1"});
}

TEST_SUITE_END();

TEST_SUITE_BEGIN("jobs::snapshot");

TEST_CASE("prune keeps an rsnapshot tree's generations by rank, as the rotation does") {
  // (a) three generations with holes (daily.0 daily.4 daily.5), keep daily:3:
  // all three are kept, by prune as by the next run's shift.
  SnapFixture fx(Naming::rotate, "daily:3");
  for (unsigned d = 1; d <= 3; ++d) {
    fx.change_clone(d);
    REQUIRE(fx.run("daily", at(2026, 11, d)).outcome == Outcome::ok);
  }
  std::filesystem::rename(fx.snap("daily.2"), fx.snap("daily.5"));
  std::filesystem::rename(fx.snap("daily.1"), fx.snap("daily.4"));
  REQUIRE(fx.names() == Names{"daily.0", "daily.4", "daily.5"});
  auto before = fx.state();
  fx.clear_plan();
  auto explained = fx.prune(at(2026, 11, 4), jobs::Explain::yes, DryRun::yes);
  REQUIRE_MESSAGE(explained.outcome == Outcome::ok, explained.error);
  for (const auto& line : fx.plan()) {
    CAPTURE(line);
    CHECK(line.rfind("keep", 0) == 0);
  }
  auto r = fx.prune(at(2026, 11, 4), jobs::Explain::no);
  REQUIRE_MESSAGE(r.outcome == Outcome::ok, r.error);
  CHECK(fx.state() == before);
}

TEST_CASE("a .trash that rotator did not make is never emptied or used") {
  // (a) a user keeps data in path/.trash; (b) a run that must expire a
  // generation refuses instead of using or emptying it; (c) the data stays.
  SnapFixture fx(Naming::rotate, "daily:1");
  REQUIRE(fx.run("daily", at(2026, 11, 1)).outcome == Outcome::ok);
  write_file(fx.snap(".trash/mine/precious"), "data");
  fx.change_clone(2);
  auto r = fx.run("daily", at(2026, 11, 2));
  CHECK(r.outcome == Outcome::error);
  CHECK(contains(r.error, "was not made by rotator"));
  CHECK(read_file(fx.snap(".trash/mine/precious")) == "data");
  CHECK(fx.names() == Names{"daily.0"});
  auto p = fx.prune(at(2026, 11, 2), jobs::Explain::no);
  CHECK(read_file(fx.snap(".trash/mine/precious")) == "data");
}

TEST_SUITE_END();

TEST_SUITE_BEGIN("jobs::snapshot");

TEST_CASE("dated: a clock behind the newest generation is refused and changes nothing") {
  SnapFixture fx(Naming::dated, "last:3", {"daily"});
  for (unsigned d = 1; d <= 3; ++d) {
    REQUIRE(fx.run("daily", at(2026, 11, d)).outcome == Outcome::ok);
  }
  auto before = fx.state();
  auto r = fx.run("daily", at(2000, 1, 1));
  CHECK(r.outcome == Outcome::error);
  CHECK(contains(r.error, "the clock looks wrong, nothing was changed"));
  CHECK(fx.state() == before);
}

TEST_SUITE_END();

TEST_SUITE_BEGIN("jobs::snapshot");

TEST_CASE("a leftover intent of a finished promotion is not repeated, even after keep changed") {
  // (a) daily:3 weekly:2, three dailies and one weekly: daily.2 became
  // weekly.0; (b) a crash left the intent file after the last rename;
  // (c) keep then shrinks to daily:2, so daily.1 would now be promotable:
  // recovery must see the promotion of daily.2 as finished and change nothing.
  SnapFixture fx(Naming::rotate, "daily:3 weekly:2");
  for (unsigned d = 1; d <= 3; ++d) {
    fx.change_clone(d);
    REQUIRE(fx.run("daily", at(2026, 11, d)).outcome == Outcome::ok);
  }
  REQUIRE(fx.run("weekly", at(2026, 11, 3)).outcome == Outcome::ok);
  REQUIRE(fx.names() == Names{"daily.0", "daily.1", "weekly.0"});
  auto before = fx.state();
  write_file(fx.snap(".rotator-intent"), "promote weekly daily.2\n");
  fx.job().keep = "daily:2 weekly:2";
  fs::PosixFs posix;
  auto rec = fx.recover(posix);
  REQUIRE_MESSAGE(rec.has_value(), (rec ? std::string() : rec.error().message()));
  CHECK_FALSE(exists(fx.snap(".rotator-intent")));
  CHECK(fx.names() == Names{"daily.0", "daily.1", "weekly.0"});
  CHECK(fx.state() == before);
}

TEST_SUITE_END();

TEST_SUITE_BEGIN("jobs::snapshot");

TEST_CASE("recovery that cannot look (EACCES) stops with the error, never guesses") {
  // (a) An interrupted recycled build: daily.1 was renamed to
  //     .rotator-staging and partly rebuilt; the crash is the last one before
  //     the commit. (b) Recovery runs with the j-th lstat failing with
  //     EACCES, for every j: it must stop with an error naming the entry
  //     (taking "cannot look" for "absent" would roll the recycled build
  //     back as a fresh one and lose daily.1 to the trash). (c) A recovery
  //     that can look then restores the state from before the run exactly.
  auto make = [] {
    auto fx = std::make_unique<SnapFixture>(Naming::rotate, "daily:2");
    REQUIRE(fx->run("daily", at(2026, 11, 1)).outcome == Outcome::ok);
    fx->change_clone(1);
    REQUIRE(fx->run("daily", at(2026, 11, 2)).outcome == Outcome::ok);
    fx->change_clone(2);
    return fx;
  };
  // The last crash point that leaves the build uncommitted.
  long last_staged = 0;
  for (long k = 1;; ++k) {
    auto fx = make();
    fs::FaultFs crashing(fx->posix());
    crashing.crash_after(k);
    (void)fx->run(crashing, "daily", at(2026, 11, 3));
    if (!crashing.triggered() || (last_staged > 0 && !exists(fx->snap(".rotator-staging")))) {
      break;  // finished, or committed
    }
    if (exists(fx->snap(".rotator-staging"))) {
      last_staged = k;
    }
  }
  REQUIRE(last_staged > 0);
  long failed = 0;
  for (long j = 1;; ++j) {
    CAPTURE(j);
    auto fx = make();
    const SnapState before = fx->state();
    {
      fs::FaultFs crashing(fx->posix());
      crashing.crash_after(last_staged);
      (void)fx->run(crashing, "daily", at(2026, 11, 3));
    }
    REQUIRE(exists(fx->snap(".rotator-staging.from")));
    fs::FaultFs denying(fx->posix());
    denying.set_count(fs::FaultFs::Count::all);
    denying.fail_at(j, EACCES, "lstat");
    auto rec = fx->recover(denying);
    if (!denying.triggered()) {
      REQUIRE(rec);
      CHECK(fx->state() == before);
      break;
    }
    ++failed;
    REQUIRE_FALSE(rec);
    CHECK(contains(rec.error().message(), "Permission denied"));
    CHECK(contains(rec.error().message(), "'snaps"));
    fs::PosixFs fresh;
    auto again = fx->recover(fresh);
    REQUIRE_MESSAGE(again, again.error().message());
    CHECK(fx->state() == before);
  }
  CHECK(failed >= 4);  // the markers, the staging, the build folder, its entries
}

TEST_SUITE_END();

TEST_SUITE_BEGIN("jobs::snapshot");

TEST_CASE(
    "a failing list_dir, fsync_dir or sync_fs is reported naming its directory: fresh and "
    "recycled runs") {
  // (a) two daily runs make daily.0 and daily.1; (b) the third run, fresh
  // (keep daily:5) or recycling daily.1 (keep daily:2), has its k-th call
  // of one kind fail with EIO, for every k; (c) each reported failure names
  // the directory: the source, the snapshot directory, .rotator-staging,
  // .trash or a directory below them.
  for (int recycled = 0; recycled < 2; ++recycled) {
    CAPTURE(recycled);
    for (DirCall op : {DirCall::list_dir, DirCall::fsync_dir, DirCall::sync_fs}) {
      CAPTURE(op);
      auto got = for_each_failing_call(op, [&](fs::Fs& fs) {
        SnapFixture fx(Naming::rotate, recycled ? "daily:2" : "daily:5");
        REQUIRE(fx.run("daily", at(2026, 11, 1)).outcome == Outcome::ok);
        fx.change_clone(1);
        REQUIRE(fx.run("daily", at(2026, 11, 2)).outcome == Outcome::ok);
        fx.change_clone(2);
        fx.log_to(fx.path("run.log"));
        auto r = fx.run(fs, "daily", at(2026, 11, 3));
        return FailingCallRun{r.outcome == Outcome::ok, r.error + "\n" + fx.log_text(), fx.root()};
      });
      // Not vacuous: the walks of the source and the build, the commit's
      // fsyncs and the build's syncfs were all reached and reported.
      CHECK(got.reported >= (op == DirCall::list_dir ? 6 : 1));
    }
  }
}

TEST_CASE("prune: a failing list_dir or fsync_dir is reported naming its directory") {
  // (a) four daily runs, keep daily:5; (b) keep becomes daily:2 and prune
  // expires two generations into .trash and deletes them, with its k-th
  // call of one kind failing with EIO, for every k; (c) each reported
  // failure names the directory (snaps, snaps/.trash, a generation in it).
  for (DirCall op : {DirCall::list_dir, DirCall::fsync_dir}) {
    CAPTURE(op);
    auto got = for_each_failing_call(op, [&](fs::Fs& fs) {
      SnapFixture fx(Naming::rotate, "daily:5");
      for (unsigned day = 1; day <= 4; ++day) {
        fx.change_clone(static_cast<int>(day));
        REQUIRE(fx.run("daily", at(2026, 11, day)).outcome == Outcome::ok);
      }
      fx.job().keep = "daily:2";
      fx.log_to(fx.path("run.log"));
      auto r = fx.prune(fs, at(2026, 11, 5), jobs::Explain::no);
      return FailingCallRun{r.outcome == Outcome::ok, r.error + "\n" + fx.log_text(), fx.root()};
    });
    CHECK(got.reported >= (op == DirCall::list_dir ? 8 : 2));
  }
}

TEST_SUITE_END();
