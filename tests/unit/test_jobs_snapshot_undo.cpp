// The undo record of a recycled build (jobs/snapshot_undo.hpp): the flat
// `.trash/ID/added-list/`, its file fallback for long paths, and the reader
// of the earlier nested format (`.trash/ID/added/REL` markers) that a build
// left by an older rotator still needs.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "fs/fault_fs.hpp"
#include "jobs/snap_dir.hpp"
#include "jobs/snapshot_undo.hpp"
#include "snapshot_fixture.hpp"

using namespace rotator;
using namespace rotator::test;
using config::Naming;
using state::Outcome;

TEST_SUITE_BEGIN("jobs::snapshot undo");

namespace {

const Instant k_run_time = at(2026, 11, 20);

// daily.0 and daily.1 (keep = daily:2), then a clone change that makes the
// recycled build add entries where daily.1 has nothing, at several depths:
// new2.txt, new3.txt (top), dir/b2.txt (in an existing directory),
// dir/deep/x/y.txt (a new directory: recorded once, nothing below it); the
// new a.txt and dir/sub replace displaced entries (4 records, 6 entries
// moved out by a rollback, 2 put back).
std::unique_ptr<SnapFixture> make_history() {
  auto fx = std::make_unique<SnapFixture>(Naming::rotate, "daily:2");
  for (int d = 1; d <= 2; ++d) {
    fx->change_clone(d);
    REQUIRE(fx->run("daily", at(2026, 11, static_cast<unsigned>(d))).outcome == Outcome::ok);
  }
  fx->change_clone(3);
  write_file(fx->clone("dir/b2.txt"), "b2");
  write_file(fx->clone("dir/deep/x/y.txt"), "y");
  return fx;
}

// The 1-based index of the journal entry `call`, 0 when absent.
long index_of(const std::vector<std::string>& journal, const std::string& call) {
  auto it = std::find(journal.begin(), journal.end(), call);
  return it == journal.end() ? 0 : static_cast<long>(it - journal.begin()) + 1;
}

// A recycled build interrupted just before its commit rename (the point is
// read from the journal of an uninterrupted run on a twin `make_twin()`
// makes, identical to `fx`): .rotator-staging holds the whole build.
// Returns the build folder (".trash/build-...").
std::string interrupted_build(
    SnapFixture& fx,
    const std::function<std::unique_ptr<SnapFixture>()>& make_twin = make_history) {
  long commit = 0;
  {
    auto probe = make_twin();
    fs::FaultFs recording(probe->posix());
    recording.record();
    REQUIRE(probe->run(recording, "daily", k_run_time).outcome == Outcome::ok);
    commit = index_of(recording.journal(), "rename " + probe->snap(".rotator-staging") + " -> " +
                                               probe->snap(".rotator-committed"));
    REQUIRE(commit > 1);
  }
  fs::FaultFs crashing(fx.posix());
  crashing.crash_after(commit - 1);
  REQUIRE(fx.run(crashing, "daily", k_run_time).outcome == Outcome::error);
  REQUIRE(exists(fx.snap(".rotator-staging")));
  std::string from = read_file(fx.snap(".rotator-staging.from"));
  std::string build = from.substr(from.find('\n') + 1);
  build.pop_back();
  REQUIRE(build.rfind(".trash/build-", 0) == 0);
  return build;
}

// The records of `list`: sequence number -> (REL, is a symlink).
std::map<long, std::pair<std::string, bool>> records_of(const std::string& list) {
  std::map<long, std::pair<std::string, bool>> out;
  for (const auto& e : std::filesystem::directory_iterator(list)) {
    long seq = std::stol(e.path().filename().string());
    if (e.is_symlink()) {
      out[seq] = {std::filesystem::read_symlink(e.path()).string(), true};
    } else {
      out[seq] = {read_file(e.path().string()), false};
    }
  }
  return out;
}

}  // namespace

TEST_CASE("a recycled build's undo data is flat: four mkdirs, none per directory") {
  auto fx = make_history();
  fs::FaultFs recording(fx->posix());
  recording.record();
  REQUIRE(fx->run(recording, "daily", k_run_time).outcome == Outcome::ok);
  std::vector<std::string> trash_mkdirs;
  long records = 0;
  for (const auto& call : recording.journal()) {
    CHECK_MESSAGE(call.find("/added/") == std::string::npos, call);  // the earlier format
    CHECK_MESSAGE(call.find("/displaced/") == std::string::npos, call);
    if (call.rfind("mkdir ", 0) == 0 && call.find("/.trash/build-") != std::string::npos) {
      trash_mkdirs.push_back(call.substr(call.rfind('/') + 1));
    }
    // A record is made relative to the open list directory: "symlink N".
    if (call.rfind("symlink ", 0) == 0 &&
        call.find_first_not_of("0123456789", 8) == std::string::npos) {
      ++records;
    }
  }
  // The build folder, its undo folder and the two lists; the displaced
  // entries (a.txt, dir/sub) went into the list without their parents.
  REQUIRE(trash_mkdirs.size() == 4);
  CHECK(trash_mkdirs[1] == "undo");
  CHECK(trash_mkdirs[2] == "displaced-list");  // a.txt is displaced first
  CHECK(trash_mkdirs[3] == "added-list");
  // dir/b2.txt, dir/deep (nothing below it), new2.txt, new3.txt; a.txt and
  // dir/sub replace displaced entries, so nothing is recorded for them.
  CHECK(records == 4);
}

TEST_CASE("the records name each addition once, in the order of the build") {
  auto fx = make_history();
  std::string build = interrupted_build(*fx);
  auto recs = records_of(fx->snap(build + "/added-list"));
  std::string rels;
  for (const auto& [seq, rec] : recs) {
    CHECK(rec.second);  // short paths: symlinks
    rels += rec.first + " ";
  }
  CHECK(recs.begin()->first == 0);
  CHECK(recs.rbegin()->first == static_cast<long>(recs.size()) - 1);
  CHECK(rels == "dir/b2.txt dir/deep new2.txt new3.txt ");  // walk order
  CHECK_FALSE(exists(fx->snap(build + "/added")));
}

TEST_CASE("AddRecorder writes a file record for a path longer than a symlink target may be") {
  // (a) the limit lowered to 8 bytes: "new3.txt" (8) is a symlink,
  // "dir/b2.txt" (10) a regular file holding the path; (b) a directory is
  // recorded, then nothing below it; (c) a replacing entry is not recorded.
  TestContext ctx;
  config::Config cfg;
  cfg.root = ctx.dir();
  config::Job job;
  job.path = ctx.path("snaps");
  make_dir(job.path + "/.trash/build-1");
  fs::PosixFs posix;
  log::Logger log;
  jobs::RunContext rc{posix, cfg, Zone::utc(), at(2026, 1, 1), DryRun::no, log, {}, "daily"};
  jobs::SnapDir dir(rc, job);
  jobs::AddRecorder rec(dir, ".trash/build-1", 8);
  CHECK(rec.record("new3.txt", fs::FileType::regular, engine::AddKind::fresh));
  CHECK(rec.record("dir/b2.txt", fs::FileType::regular, engine::AddKind::fresh));
  CHECK(rec.record("dir/new", fs::FileType::directory, engine::AddKind::fresh));
  CHECK(rec.record("dir/new/below", fs::FileType::regular, engine::AddKind::fresh));
  CHECK(rec.record("a.txt", fs::FileType::regular, engine::AddKind::replaces_displaced));
  CHECK(rec.recorded() == 3);
  auto recs = records_of(job.path + "/.trash/build-1/added-list");
  REQUIRE(recs.size() == 3);
  CHECK(recs[0] == std::pair<std::string, bool>{"new3.txt", true});
  CHECK(recs[1] == std::pair<std::string, bool>{"dir/b2.txt", false});
  CHECK(recs[2] == std::pair<std::string, bool>{"dir/new", true});
}

TEST_CASE("rollback refuses a record that is not rotator's, changing nothing") {
  auto fx = make_history();
  std::string build = interrupted_build(*fx);
  std::string list = fx->snap(build + "/added-list");
  SUBCASE("a name that is not a number") { make_symlink("new3.txt", list + "/x"); }
  SUBCASE("a path that leaves the generation") { make_symlink("../daily.0/a.txt", list + "/7"); }
  SUBCASE("an absolute path") { make_symlink("/etc/passwd", list + "/7"); }
  fs::PosixFs fresh;
  auto rec = fx->recover(fresh);
  REQUIRE_FALSE(rec.has_value());
  CHECK(rec.error().message().find("is not a rotator undo record") != std::string::npos);
  CHECK(exists(fx->snap(".rotator-staging/new3.txt")));  // nothing was moved
  CHECK(exists(fx->snap("daily.0/a.txt")));
}

TEST_CASE("displaced entries keep their path in their name, or in a record when too long") {
  // (a) a file named with '%' and one whose path is longer than a file name
  // may be are both replaced (new inodes) in a recycled build; (b) the first
  // is listed as "N-dir%2F50%25.txt", the second as "N" with its path in
  // the symlink "N.path"; (c) the rollback puts both back exactly.
  std::string deep =
      std::string(100, 'p') + "/" + std::string(100, 'q') + "/" + std::string(100, 'r');
  auto make = [&] {
    auto made = std::make_unique<SnapFixture>(Naming::rotate, "daily:2");
    write_file(made->clone("dir/50%.txt"), "v1");
    write_file(made->clone(deep), "v1");
    for (int d = 1; d <= 2; ++d) {
      REQUIRE(made->run("daily", at(2026, 11, static_cast<unsigned>(d))).outcome == Outcome::ok);
    }
    for (const std::string& rel : {std::string("dir/50%.txt"), deep}) {
      std::filesystem::remove(made->clone(rel));
      write_file(made->clone(rel), "v2");
    }
    return made;
  };
  auto fx = make();
  SnapState before = fx->state();
  std::string build = interrupted_build(*fx, make);
  std::set<std::string> listed;
  for (const auto& e : std::filesystem::directory_iterator(fx->snap(build + "/displaced-list"))) {
    listed.insert(e.path().filename().string());
  }
  CHECK(listed.count("0-dir%2F50%25.txt") + listed.count("1-dir%2F50%25.txt") == 1);
  std::string long_seq = listed.count("0-dir%2F50%25.txt") ? "1" : "0";
  CHECK(listed.count(long_seq));
  REQUIRE(listed.count(long_seq + ".path"));
  CHECK(std::filesystem::read_symlink(fx->snap(build + "/displaced-list/" + long_seq + ".path"))
            .string() == deep);
  fs::PosixFs fresh;
  auto rec = fx->recover(fresh);
  REQUIRE_MESSAGE(rec.has_value(), (rec ? std::string() : rec.error().message()));
  CHECK(fx->state() == before);
}

namespace {

// Turns the flat lists of `build` into the earlier on-disk format, as the
// earlier AddRecorder and TreeSink wrote it: for each recorded REL a
// symlink (target "added") at `build/added/REL`, below directories
// mirroring REL's parents, and each displaced entry at `build/displaced/REL`.
void to_earlier_format(SnapFixture& fx, const std::string& build) {
  std::string listed = fx.snap(build + "/displaced-list");
  for (const auto& e : std::filesystem::directory_iterator(listed)) {
    std::string name = e.path().filename().string();
    std::string rel = name.substr(name.find('-') + 1);
    for (size_t at; (at = rel.find("%2F")) != std::string::npos;) {
      rel.replace(at, 3, "/");
    }
    std::filesystem::path to = fx.snap(build + "/displaced/" + rel);
    std::filesystem::create_directories(to.parent_path());
    std::filesystem::rename(e.path(), to);
  }
  std::filesystem::remove(listed);
  std::string list = fx.snap(build + "/added-list");
  std::string added = fx.snap(build + "/added");
  make_dir(added);
  for (const auto& [seq, rec] : records_of(list)) {
    std::filesystem::path marker = added + "/" + rec.first;
    std::filesystem::create_directories(marker.parent_path());
    make_symlink("added", marker.string());
  }
  std::filesystem::remove_all(list);
}

}  // namespace

TEST_CASE("rollback restores the generation from symlink records, file records and markers") {
  // (a) a recycled build interrupted before its commit, its records as
  // symlinks, as the regular files the fallback writes for a path beyond a
  // symlink target's limit, or converted to the earlier nested markers;
  // (b) recovery rolls it back; (c) the generation is exactly as before.
  auto fx = make_history();
  SnapState before = fx->state();
  std::string build = interrupted_build(*fx);
  std::string list = fx->snap(build + "/added-list");
  bool earlier = false;
  SUBCASE("symlink records") {}
  SUBCASE("file records") {
    for (const auto& [seq, rec] : records_of(list)) {
      std::filesystem::remove(list + "/" + std::to_string(seq));
      write_file(list + "/" + std::to_string(seq), rec.first);
    }
  }
  SUBCASE("the earlier format (nested markers)") {
    earlier = true;
    to_earlier_format(*fx, build);
    REQUIRE(exists(fx->snap(build + "/added/dir/b2.txt")));
    REQUIRE(exists(fx->snap(build + "/displaced/dir/sub")));
    REQUIRE(std::filesystem::is_directory(fx->snap(build + "/added/dir")));
  }
  fs::PosixFs fresh;
  auto rec = fx->recover(fresh);
  REQUIRE_MESSAGE(rec.has_value(), (rec ? std::string() : rec.error().message()));
  REQUIRE(!rec->empty());
  CHECK((*rec)[0] ==
        "rolled back an interrupted recycled build: snaps/daily.1 restored (6 added entries "
        "removed, 2 displaced entries put back)");
  CHECK(fx->state() == before);  // same names, same inodes, directories included
  if (earlier) {
    // The next run recycles again, now writing the flat list.
    REQUIRE(fx->run("daily", k_run_time).outcome == Outcome::ok);
    CHECK(fx->trash_entries() == 0);
  }
}

TEST_CASE("crash at every k of a recovery that rolls back a build of either format") {
  // (a) a recycled build interrupted just before its commit, its record in
  // the flat format or converted to the earlier nested one; (b) its
  // recovery is interrupted after every mutating call j; (c) a recovery
  // with a fresh Fs restores the original generation exactly.
  for (bool earlier : {false, true}) {
    long j = 1;
    for (;; ++j) {
      CAPTURE(earlier);
      CAPTURE(j);
      auto fx = make_history();
      SnapState before = fx->state();
      std::string build = interrupted_build(*fx);
      if (earlier) {
        to_earlier_format(*fx, build);
      }
      fs::FaultFs crashing(fx->posix());
      crashing.crash_after(j);
      auto first = fx->recover(crashing);
      fs::PosixFs fresh;
      auto rec = fx->recover(fresh);
      REQUIRE_MESSAGE(rec.has_value(), (rec ? std::string() : rec.error().message()));
      CHECK(fx->state() == before);
      if (!crashing.triggered()) {
        REQUIRE(first.has_value());
        break;
      }
    }
    CHECK(j > 8);  // 6 removals + 2 restorations + the final rename, at least
  }
}

TEST_SUITE_END();
