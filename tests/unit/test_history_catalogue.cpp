// The catalogue of places: generations of both namings with their times,
// holding folders, the backup, the clone; path resolution; WHEN parsing.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <sys/stat.h>

#include <cstring>
#include <ctime>

#include "config/config.hpp"
#include "fs/posix_fs.hpp"
#include "history/catalogue.hpp"
#include "history/diff.hpp"
#include "history/du.hpp"
#include "history/restore.hpp"
#include "history/versions.hpp"
#include "state/state.hpp"
#include "testutil.hpp"

using namespace rotator;

TEST_SUITE_BEGIN("history::catalogue");

namespace {

Instant at(const std::string& iso) { return Zone::utc().parse_iso(iso).value(); }

void set_mtime(const std::string& path, Instant t) {
  timespec ts[2] = {{t.time_since_epoch().count(), 0}, {t.time_since_epoch().count(), 0}};
  REQUIRE(utimensat(AT_FDCWD, path.c_str(), ts, 0) == 0);
}

config::Config load(const std::string& root) {
  std::string text =
      "[rotator]\nroot = " + root +
      "\ntimezone = UTC\n"
      "[clone]\ntype = clone\nrun_on = daily\nsource = me@laptop:/home/me/\npath = clone\n"
      "[backup]\ntype = backup\nrun_on = weekly\nfrom = clone\npath = backup\nholding = holding\n"
      "[snaps]\ntype = snapshot\nfrom = clone\npath = snaps\nnaming = rotate\nkeep = daily:3 "
      "weekly:2\n"
      "[dated]\ntype = snapshot\nfrom = clone\npath = dated\nnaming = dated\nkeep = "
      "daily:9\nrun_on = daily\n";
  auto cfg = config::parse_config("rotator.conf", text);
  REQUIRE(cfg);
  return *cfg;
}

struct Fixture {
  test::TestContext ctx;
  std::string root = ctx.dir();
  config::Config cfg = load(root);
  fs::PosixFs fs;

  Fixture() {
    for (const char* d :
         {"clone/docs", "backup/docs", "holding/2026-11-08/docs", "holding/2026-11-15",
          "holding/.rotator-deleting.2026-10-01", "holding/not-a-date", "snaps/daily.0",
          "snaps/daily.1", "snaps/weekly.0", "snaps/.rotator-staging", "snaps/.trash",
          "snaps/monthly.0", "dated/2026-11-20_020000", "dated/2026-11-20_020000.1",
          "dated/2026-11-21_020000", "dated/garbage", "dated/.rotator-staging"}) {
      test::make_dir(root + "/" + d);
    }
    test::write_file(root + "/clone/docs/a.txt", "a");
    test::make_symlink("2026-11-21_020000", root + "/dated/latest");
    set_mtime(root + "/snaps/daily.0", at("2026-11-21T03:00"));
    set_mtime(root + "/snaps/daily.1", at("2026-11-20T03:00"));
    set_mtime(root + "/snaps/weekly.0", at("2026-11-16T03:00"));
    state::JobState st;
    st.last_success = at("2026-11-15T04:00");
    REQUIRE(state::save(fs, cfg.state_dir, "backup", st));
    st.last_success = at("2026-11-21T02:00");
    REQUIRE(state::save(fs, cfg.state_dir, "clone", st));
  }
};

std::vector<std::string> names(const history::Catalogue& c) {
  std::vector<std::string> out;
  for (const auto& p : c.places()) {
    out.push_back(p.job->name + ":" + p.name);
  }
  return out;
}

}  // namespace

TEST_CASE("a generation name that is not a real directory is refused by name, for both namings") {
  // (a) daily.2 a symlink to a directory, (b) weekly.1 a regular file, (c) a
  // dated name a symlink: list_generations and Catalogue::load refuse with a
  // message naming the entry and the directory; (d) a non-generation
  // non-directory (`latest`, a foreign name, an unknown level) is fine.
  struct Variant {
    const char* job;
    const char* name;
    const char* what;
  };
  for (const Variant& v :
       {Variant{"snaps", "daily.2", "symlink"}, Variant{"snaps", "weekly.1", "file"},
        Variant{"dated", "2026-11-19_020000", "symlink"}}) {
    CAPTURE(v.name);
    Fixture f;
    test::write_file(f.root + "/snaps/yearly.0", "unknown level: not a generation");
    test::write_file(f.root + "/dated/notes.txt", "foreign");
    const config::Job* job = f.cfg.find_job(v.job);
    REQUIRE(job);
    REQUIRE(history::list_generations(f.fs, *job, Zone::utc()));
    std::string path = f.root + "/" + v.job + "/" + v.name;
    if (std::string(v.what) == "symlink") {
      test::make_symlink(f.root + "/clone", path);
    } else {
      test::write_file(path, "x");
    }
    std::string expected = std::string("snapshot '") + v.name + "' is a " + v.what +
                           ", not a directory: move it out of '" + f.root + "/" + v.job +
                           "' and rerun";
    auto listed = history::list_generations(f.fs, *job, Zone::utc());
    REQUIRE_FALSE(listed);
    CHECK(listed.error().message() == expected);
    auto cat = history::Catalogue::load(f.fs, f.cfg, Zone::utc(), at("2026-11-22T00:00"));
    REQUIRE_FALSE(cat);
    CHECK(cat.error().message() == expected);
  }
}

TEST_CASE("Catalogue::load lists every place oldest first, with its time") {
  Fixture f;
  auto cat = history::Catalogue::load(f.fs, f.cfg, Zone::utc(), at("2026-11-22T12:00"));
  REQUIRE(cat);
  CHECK(names(*cat) ==
        std::vector<std::string>{"backup:holding/2026-11-08", "backup:holding/2026-11-15",
                                 "backup:backup", "snaps:weekly.0", "dated:2026-11-20_020000",
                                 "dated:2026-11-20_020000.1", "snaps:daily.1",
                                 "dated:2026-11-21_020000", "snaps:daily.0", "clone:clone"});
  const auto& p = cat->places();
  CHECK(p[0].time == at("2026-11-08T00:00"));
  CHECK(p[2].time == at("2026-11-15T04:00"));  // the backup: its last success
  CHECK(p[3].time == at("2026-11-16T03:00"));  // rotate: the generation's mtime
  CHECK(p[5].time == at("2026-11-20T02:00"));  // dated: its name
  CHECK(p.back().current);
  CHECK(p.back().time == at("2026-11-21T02:00"));  // the clone: last success
  for (const auto& place : p) {
    CHECK(place.lineage == "clone");
  }
}

TEST_CASE("list_generations: both namings, foreign and protocol names left out") {
  Fixture f;
  auto rot = history::list_generations(f.fs, *f.cfg.find_job("snaps"), Zone::utc());
  REQUIRE(rot);
  REQUIRE(rot->generations.size() == 3);  // monthly.0 is no level of keep
  CHECK(rot->generations[0].name == "weekly.0");
  CHECK(rot->generations[2].name == "daily.0");
  CHECK(std::find(rot->names.begin(), rot->names.end(), ".rotator-staging") != rot->names.end());
  auto dated = history::list_generations(f.fs, *f.cfg.find_job("dated"), Zone::utc());
  REQUIRE(dated);
  REQUIRE(dated->generations.size() == 3);
  CHECK(dated->generations[1].name == "2026-11-20_020000.1");
  auto missing = f.cfg.find_job("dated");
  config::Job copy = *missing;
  copy.path = f.root + "/nowhere";
  auto none = history::list_generations(f.fs, copy, Zone::utc());
  REQUIRE(none);
  CHECK(none->generations.empty());
}

TEST_CASE("Catalogue::find names places; @WHEN is the place current then") {
  Fixture f;
  auto cat = history::Catalogue::load(f.fs, f.cfg, Zone::utc(), at("2026-11-22T12:00"));
  REQUIRE(cat);
  auto z = Zone::utc();
  auto now = at("2026-11-22T12:00");
  CHECK(cat->find("daily.1", z, now).value()->name == "daily.1");
  CHECK(cat->find("clone", z, now).value()->kind == history::PlaceKind::clone);
  CHECK(cat->find("backup", z, now).value()->kind == history::PlaceKind::backup);
  CHECK(cat->find("holding/2026-11-08", z, now).value()->entry == "2026-11-08");
  CHECK(cat->find("dated:2026-11-21_020000", z, now).value()->job->name == "dated");
  CHECK(cat->find("@2026-11-20T02:30", z, now).value()->name == "2026-11-20_020000.1");
  CHECK(cat->find("@2026-11-20", z, now).value()->name == "daily.1");  // end of that day
  CHECK(cat->find("@2026-11-22T00:00", z, now).value()->name == "clone");
  auto unknown = cat->find("daily.9", z, now);
  REQUIRE(!unknown);
  CHECK(unknown.error().message().rfind("unknown place 'daily.9'", 0) == 0);
  auto early = cat->find("@2020-01-01", z, now);
  REQUIRE(!early);
  CHECK(early.error().message().find("the history starts later") != std::string::npos);
  CHECK(!cat->find("nojob:daily.0", z, now));
}

TEST_CASE("Catalogue::resolve: relative, inside a place, latest, the clone's source") {
  Fixture f;
  auto cat = history::Catalogue::load(f.fs, f.cfg, Zone::utc(), at("2026-11-22T12:00"));
  REQUIRE(cat);
  CHECK(cat->resolve("docs/a.txt")->rel == "docs/a.txt");
  CHECK(cat->resolve("./docs//a.txt/")->rel == "docs/a.txt");
  CHECK(cat->resolve(f.root + "/snaps/daily.1/docs/a.txt")->rel == "docs/a.txt");
  CHECK(cat->resolve(f.root + "/holding/2026-11-08/docs")->rel == "docs");
  CHECK(cat->resolve(f.root + "/dated/latest/docs/a.txt")->rel == "docs/a.txt");
  CHECK(cat->resolve("/home/me/docs/a.txt")->rel == "docs/a.txt");
  CHECK(cat->resolve(f.root + "/clone")->rel == "");
  auto outside = cat->resolve("/etc/passwd");
  REQUIRE(!outside);
  CHECK(outside.error().message().find("outside every place") != std::string::npos);
  CHECK(!cat->resolve("../x"));
  CHECK(!cat->resolve("a/../../x"));
}

TEST_CASE("parse_when: date = end of day, date-time, age") {
  auto z = Zone::utc();
  auto now = at("2026-11-22T12:00");
  CHECK(history::parse_when("2026-11-20", z, now).value() == at("2026-11-20T23:59:59"));
  CHECK(history::parse_when("2026-11-20T14:00", z, now).value() == at("2026-11-20T14:00"));
  CHECK(history::parse_when("2026-11-20 14:00:30", z, now).value() == at("2026-11-20T14:00:30"));
  CHECK(history::parse_when("10d", z, now).value() == at("2026-11-12T12:00"));
  CHECK(history::parse_when("3w", z, now).value() == at("2026-11-01T12:00"));
  auto bad = history::parse_when("last tuesday", z, now);
  REQUIRE(!bad);
  CHECK(bad.error().message().rfind("bad time 'last tuesday'", 0) == 0);
}

TEST_CASE("place_list compresses runs of one level and of dated generations") {
  Fixture f;
  auto cat = history::Catalogue::load(f.fs, f.cfg, Zone::utc(), at("2026-11-22T12:00"));
  REQUIRE(cat);
  std::vector<const history::Place*> all;
  for (const auto& p : cat->places()) {
    all.push_back(&p);
  }
  CHECK(history::place_list(all) ==
        "clone, holding/2026-11-08, holding/2026-11-15, backup, weekly.0, daily.0..1, "
        "2026-11-20_020000..2026-11-21_020000 (3)");
}

TEST_SUITE_END();

TEST_SUITE_BEGIN("history::catalogue");

TEST_CASE("du, find and versions DIR: a failing list_dir is an error naming its directory") {
  // (a) the catalogue is loaded (holding folders, backup, generations of
  // both namings, the clone); (b) du, find and versions of a directory run
  // with their k-th list_dir failing with EIO, for every k; (c) each fails
  // with a message that names the directory listed, by its real path (a
  // place's own root too, not 'PLACE/.' or '.'), never '' or a placeholder.
  Fixture f;
  test::make_dir(f.root + "/snaps/daily.0/docs/sub");
  test::make_dir(f.root + "/backup/docs/sub");
  auto cat = history::Catalogue::load(f.fs, f.cfg, Zone::utc(), at("2026-11-22T12:00"));
  REQUIRE(cat);
  auto docs = cat->resolve("docs");
  REQUIRE(docs);
  auto ignore = [](const std::string&, const history::PathHistory&) {};
  for (const char* command : {"du", "find", "versions"}) {
    std::string cmd = command;
    CAPTURE(cmd);
    auto got = test::for_each_failing_call(
        test::DirCall::list_dir,
        [&](fs::Fs& names) {
          Status done;
          if (cmd == "du") {
            auto r = history::disk_usage(names, *cat, "");
            done = r ? ok() : Status(r.error());
          } else if (cmd == "find") {
            auto r = history::find_paths(names, *cat, "*.txt", {}, ignore);
            done = r ? ok() : Status(r.error());
          } else {
            auto r = history::tree_versions(names, *cat, *docs, ignore);
            done = r ? ok() : Status(r.error());
          }
          if (done) {
            return test::FailingCallRun{true, "", f.root};
          }
          std::string msg = done.error().message();
          CAPTURE(msg);
          CHECK(done.error().sys_errno == EIO);
          CHECK(msg.find("/.'") == std::string::npos);
          return test::FailingCallRun{false, msg, f.root};
        },
        test::Unreported::refused);
    // Not vacuous: du and find reached every place's walk (du the root's
    // too); versions every docs and docs/sub of the four places with one.
    CHECK(got.runs >= (cmd == "versions" ? 6L : static_cast<long>(cat->places().size())));
  }
}

TEST_CASE("diff and restore: a failing list_dir is an error naming its directory") {
  // (a) backup and daily.0 both hold docs/sub, only backup holds gone/deep;
  // (b) diff of the two, restore -n (survey) and restore of daily.0's docs
  // run with their k-th list_dir failing with EIO, for every k; (c) each
  // fails naming the directory listed by its real path: which of the two
  // trees for diff (not 'docs' or '.' for both), the source's for restore.
  Fixture f;
  test::make_dir(f.root + "/snaps/daily.0/docs/sub");
  test::make_dir(f.root + "/backup/docs/sub");
  test::make_dir(f.root + "/backup/gone/deep");
  test::TestContext out;
  std::string source = f.root + "/snaps/daily.0/docs";
  auto emit = [](char, const std::string&, bool) {};
  for (const char* command : {"diff", "survey", "restore"}) {
    std::string cmd = command;
    CAPTURE(cmd);
    auto got = test::for_each_failing_call(
        test::DirCall::list_dir,
        [&](fs::Fs& names) {
          Status done;
          if (cmd == "diff") {
            auto r =
                history::diff_trees(names, f.root + "/backup", f.root + "/snaps/daily.0", "", emit);
            done = r ? ok() : Status(r.error());
          } else if (cmd == "survey") {
            auto r = history::survey_restore(names, source);
            done = r ? ok() : Status(r.error());
          } else {
            auto r = history::execute_restore(names, source, out.path("docs"), f.root,
                                              history::Force::no);
            done = r ? ok() : Status(r.error());
          }
          if (done) {
            return test::FailingCallRun{true, "", "/nowhere"};
          }
          std::string msg = done.error().message();
          CAPTURE(msg);
          CHECK(msg.find(std::strerror(EIO)) != std::string::npos);
          CHECK(msg.find("'.'") == std::string::npos);
          return test::FailingCallRun{false, msg, "/nowhere"};  // absolute paths
        },
        test::Unreported::refused);
    // Not vacuous: diff listed both roots, both docs, both docs/sub, gone
    // and gone/deep; the restores docs and docs/sub.
    CHECK(got.runs >= (cmd == "diff" ? 8 : 2));
  }
  CHECK(test::exists(out.path("docs/sub")));  // the last restore, without a fault, is whole
}

TEST_SUITE_END();
