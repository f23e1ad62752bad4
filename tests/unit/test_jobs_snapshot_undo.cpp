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
// Returns the build folder (".trash/build-..."). `link_limit` > 0: both
// runs on a filesystem whose hard-link limit is that (FaultFs).
std::string interrupted_build(
    SnapFixture& fx, const std::function<std::unique_ptr<SnapFixture>()>& make_twin = make_history,
    long link_limit = 0) {
  long commit = 0;
  {
    auto probe = make_twin();
    fs::FaultFs recording(probe->posix());
    recording.set_link_limit(link_limit);
    recording.record();
    // (At a link limit, the copies it makes are a warning.)
    REQUIRE(probe->run(recording, "daily", k_run_time).outcome ==
            (link_limit > 0 ? Outcome::warning : Outcome::ok));
    commit = index_of(recording.journal(), "rename " + probe->snap(".rotator-staging") + " -> " +
                                               probe->snap(".rotator-committed"));
    REQUIRE(commit > 1);
  }
  fs::FaultFs crashing(fx.posix());
  crashing.set_link_limit(link_limit);
  crashing.crash_after(commit - 1);
  REQUIRE(fx.run(crashing, "daily", k_run_time).outcome == Outcome::error);
  REQUIRE(exists(fx.snap(".rotator-staging")));
  std::string from = read_file(fx.snap(".rotator-staging.from"));
  std::string build = from.substr(from.find('\n') + 1);
  build.pop_back();
  REQUIRE(build.rfind(".trash/build-", 0) == 0);
  return build;
}

// The records of `list`: sequence number -> (REL, kind): 'l' for an
// "N-ESC" hard link (REL unescaped from the name), 's' for a symlink "N",
// 'f' for a file "N" holding REL.
std::map<long, std::pair<std::string, char>> records_of(const std::string& list) {
  std::map<long, std::pair<std::string, char>> out;
  for (const auto& e : std::filesystem::directory_iterator(list)) {
    std::string name = e.path().filename().string();
    size_t dash = name.find('-');
    long seq = std::stol(name.substr(0, dash));
    if (dash != std::string::npos) {
      std::string rel = name.substr(dash + 1);
      for (size_t at; (at = rel.find("%2F")) != std::string::npos;) {
        rel.replace(at, 3, "/");
      }
      for (size_t at; (at = rel.find("%25")) != std::string::npos;) {
        rel.replace(at, 3, "%");
      }
      out[seq] = {rel, 'l'};
    } else if (e.is_symlink()) {
      out[seq] = {std::filesystem::read_symlink(e.path()).string(), 's'};
    } else {
      out[seq] = {read_file(e.path().string()), 'f'};
    }
  }
  return out;
}

// The names in `list`, sorted.
std::set<std::string> names_in(const std::string& list) {
  std::set<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(list)) {
    out.insert(e.path().filename().string());
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
  long symlinks = 0;
  for (const auto& call : recording.journal()) {
    CHECK_MESSAGE(call.find("/added/") == std::string::npos, call);  // the earlier format
    CHECK_MESSAGE(call.find("/displaced/") == std::string::npos, call);
    if (call.rfind("mkdir ", 0) == 0 && call.find("/.trash/build-") != std::string::npos) {
      trash_mkdirs.push_back(call.substr(call.rfind('/') + 1));
    }
    // A record is made relative to the open list directory: "symlink N",
    // or "link NAME -> N-ESC".
    if (call.rfind("symlink ", 0) == 0 &&
        call.find_first_not_of("0123456789", 8) == std::string::npos) {
      ++records;
      ++symlinks;
    }
    size_t arrow = call.find(" -> ");
    if (call.rfind("link ", 0) == 0 && arrow != std::string::npos &&
        call.find('/', arrow) == std::string::npos &&
        call.find_first_not_of("0123456789", arrow + 4) == call.find('-', arrow + 4)) {
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
  CHECK(symlinks == 1);  // dir/deep: a directory; the three files are hard links
}

TEST_CASE("the records name each addition once, in the order of the build") {
  auto fx = make_history();
  std::string build = interrupted_build(*fx);
  auto recs = records_of(fx->snap(build + "/added-list"));
  std::string rels;
  std::string kinds;
  for (const auto& [seq, rec] : recs) {
    rels += rec.first + " ";
    kinds += rec.second;
  }
  CHECK(recs.begin()->first == 0);
  CHECK(recs.rbegin()->first == static_cast<long>(recs.size()) - 1);
  CHECK(rels == "dir/b2.txt dir/deep new2.txt new3.txt ");  // walk order
  // Files: hard links "N-ESC" to the added inode; the directory: a symlink.
  CHECK(kinds == "lsll");
  CHECK(names_in(fx->snap(build + "/added-list")) ==
        std::set<std::string>{"0-dir%2Fb2.txt", "1", "2-new2.txt", "3-new3.txt"});
  CHECK(std::filesystem::read_symlink(fx->snap(build + "/added-list/1")).string() == "dir/deep");
  for (const auto& [name, rel] :
       {std::pair<std::string, std::string>{"0-dir%2Fb2.txt", "dir/b2.txt"},
        {"2-new2.txt", "new2.txt"},
        {"3-new3.txt", "new3.txt"}}) {
    CAPTURE(name);
    CHECK(inode_of(fx->snap(build + "/added-list/" + name)) ==
          inode_of(fx->snap(".rotator-staging/" + rel)));
    CHECK(inode_of(fx->snap(build + "/added-list/" + name)) == inode_of(fx->clone(rel)));
  }
  CHECK_FALSE(exists(fx->snap(build + "/added")));
}

TEST_CASE("AddRecorder writes a file record for a path longer than a symlink target may be") {
  // (a) the limit lowered to 8 bytes: "new3.txt" (8) is a symlink,
  // "dir/b2.txt" (10) a regular file holding the path (no S inode given, as
  // for a `.rotator-partial.*` temporary); (b) a directory is recorded,
  // then nothing below it; (c) a replacing entry is not recorded.
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
  using engine::AddInfo;
  using engine::AddKind;
  using fs::FileType;
  CHECK(rec.record(AddInfo{"new3.txt", FileType::regular, AddKind::fresh}));
  CHECK(rec.record(AddInfo{"dir/b2.txt", FileType::regular, AddKind::fresh}));
  CHECK(rec.record(AddInfo{"dir/new", FileType::directory, AddKind::fresh}));
  CHECK(rec.record(AddInfo{"dir/new/below", FileType::regular, AddKind::fresh}));
  CHECK(rec.record(AddInfo{"a.txt", FileType::regular, AddKind::replaces_displaced}));
  CHECK(rec.recorded() == 3);
  CHECK(rec.linked() == 0);
  auto recs = records_of(job.path + "/.trash/build-1/added-list");
  REQUIRE(recs.size() == 3);
  CHECK(recs[0] == std::pair<std::string, char>{"new3.txt", 's'});
  CHECK(recs[1] == std::pair<std::string, char>{"dir/b2.txt", 'f'});
  CHECK(recs[2] == std::pair<std::string, char>{"dir/new", 's'});
}

TEST_CASE("AddRecorder links the S inode as N-ESC, and falls back to a symlink when it cannot") {
  // (a) a file of S given by descriptor and name: "N-ESC", a hard link to
  // it ('%' and '/' escaped); (b) "N-ESC" longer than 255 bytes: symlink
  // "N"; (c) the inode at the link limit (EMLINK) or the link refused with
  // EPERM: symlink "N"; (d) any other error of the link (ENOSPC) aborts:
  // no record, the sequence number not used.
  TestContext ctx;
  config::Config cfg;
  cfg.root = ctx.dir();
  config::Job job;
  job.path = ctx.path("snaps");
  make_dir(job.path + "/.trash/build-1");
  write_file(ctx.path("s/f.txt"), "f");
  std::string long_name(250, 'n');
  write_file(ctx.path("s/" + long_name), "long");
  fs::PosixFs posix;
  fs::FaultFs faults(posix);
  log::Logger log;
  jobs::RunContext rc{faults, cfg, Zone::utc(), at(2026, 1, 1), DryRun::no, log, {}, "daily"};
  jobs::SnapDir dir(rc, job);
  auto s = fs::open_dir(posix, fs::k_cwd, ctx.path("s"));
  REQUIRE(s);
  jobs::AddRecorder rec(dir, ".trash/build-1");
  using engine::AddInfo;
  using engine::AddKind;
  using fs::FileType;
  std::string list = job.path + "/.trash/build-1/added-list";
  const std::string rel1 = "d/50%/f.txt";
  CHECK(rec.record(AddInfo{rel1, FileType::regular, AddKind::fresh, s->fd(), "f.txt"}));
  CHECK(inode_of(list + "/0-d%2F50%25%2Ff.txt") == inode_of(ctx.path("s/f.txt")));
  const std::string rel2 = "d/" + long_name;  // "1-d%2F" + 250 bytes: 256
  CHECK(rec.record(AddInfo{rel2, FileType::regular, AddKind::fresh, s->fd(), long_name}));
  CHECK(std::filesystem::read_symlink(list + "/1").string() == rel2);
  CHECK(rec.linked() == 1);

  faults.set_link_limit(2);  // f.txt has 2 links now: EMLINK
  const std::string rel3 = "e/f.txt";
  CHECK(rec.record(AddInfo{rel3, FileType::regular, AddKind::fresh, s->fd(), "f.txt"}));
  CHECK(std::filesystem::read_symlink(list + "/2").string() == rel3);
  faults.set_link_limit(0);

  SUBCASE("EPERM: a symlink") {
    faults.fail_next(EPERM, "link");
    const std::string rel4 = "g.txt";
    CHECK(rec.record(AddInfo{rel4, FileType::regular, AddKind::fresh, s->fd(), "f.txt"}));
    CHECK(faults.triggered());
    CHECK(std::filesystem::read_symlink(list + "/3").string() == rel4);
    CHECK(names_in(list) == std::set<std::string>{"0-d%2F50%25%2Ff.txt", "1", "2", "3"});
  }
  SUBCASE("ENOSPC: an error, nothing recorded") {
    faults.fail_next(ENOSPC, "link");
    const std::string rel4 = "g.txt";
    auto r = rec.record(AddInfo{rel4, FileType::regular, AddKind::fresh, s->fd(), "f.txt"});
    REQUIRE_FALSE(r);
    CHECK(r.error().sys_errno == ENOSPC);
    CHECK(r.error().message().find("create undo record") != std::string::npos);
    CHECK(rec.recorded() == 3);
    CHECK(names_in(list) == std::set<std::string>{"0-d%2F50%25%2Ff.txt", "1", "2"});
  }
  CHECK(std::filesystem::hard_link_count(ctx.path("s/f.txt")) == 2);  // only record 0
}

TEST_CASE("rollback refuses a record that is not rotator's, changing nothing") {
  auto fx = make_history();
  std::string build = interrupted_build(*fx);
  std::string list = fx->snap(build + "/added-list");
  SUBCASE("a name that is not a number") { make_symlink("new3.txt", list + "/x"); }
  SUBCASE("an N-ESC name that leaves the generation") {
    make_link(fx->snap(".rotator-staging/new3.txt"), list + "/7-..%2Fdaily.0%2Fa.txt");
  }
  SUBCASE("an N-ESC name escape_rel cannot make") {
    make_link(fx->snap(".rotator-staging/new3.txt"), list + "/7-new%3.txt");
  }
  SUBCASE("an N-ESC name on a directory") { make_dir(list + "/7-new3.txt"); }
  SUBCASE("a number followed by something else") {
    make_link(fx->snap(".rotator-staging/new3.txt"), list + "/7.new3.txt");
  }
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

// Rewrites the record of sequence number N in `list` as `kinds[N]`: 'l' a
// hard link "N-ESC" to the staged entry, 's' a symlink "N", 'f' a regular
// file "N" holding REL (what AddRecorder writes, or falls back to).
void rewrite_records(SnapFixture& fx, const std::string& list, const std::string& kinds) {
  auto recs = records_of(list);
  REQUIRE(recs.size() == kinds.size());
  for (const auto& entry : std::filesystem::directory_iterator(list)) {
    std::filesystem::remove(entry.path());
  }
  for (const auto& [seq, rec] : recs) {
    std::string n = list + "/" + std::to_string(seq);
    char kind = kinds[static_cast<size_t>(seq)];
    if (kind == 's') {
      make_symlink(rec.first, n);
    } else if (kind == 'f') {
      write_file(n, rec.first);
    } else {
      std::string esc;
      for (char c : rec.first) {
        esc += c == '/' ? std::string("%2F") : c == '%' ? std::string("%25") : std::string(1, c);
      }
      make_link(fx.snap(".rotator-staging/" + rec.first), n + "-" + esc);
    }
  }
}

}  // namespace

TEST_CASE("rollback restores the generation from hard-link, symlink and file records and markers") {
  // (a) a recycled build interrupted before its commit, its records as the
  // build wrote them (hard links "N-ESC" for the three files, a symlink for
  // dir/deep), all as symlinks (the fallback), all as the regular files the
  // fallback writes for a path beyond a symlink target's limit, a mix of
  // the three, or converted to the earlier nested markers; (b) recovery
  // rolls it back; (c) the generation is exactly as before.
  auto fx = make_history();
  SnapState before = fx->state();
  std::string build = interrupted_build(*fx);
  std::string list = fx->snap(build + "/added-list");
  bool earlier = false;
  SUBCASE("as written: hard links and a symlink") {
    std::string kinds;
    for (const auto& [seq, rec] : records_of(list)) {
      kinds += rec.second;
    }
    REQUIRE(kinds == "lsll");
  }
  SUBCASE("symlink records") { rewrite_records(*fx, list, "ssss"); }
  SUBCASE("file records") { rewrite_records(*fx, list, "ffff"); }
  SUBCASE("a mix of the three") { rewrite_records(*fx, list, "lfsl"); }
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

TEST_CASE("a record that takes an inode's last free link: the entry is copied, and rolled back") {
  // (a) a recycled build on a filesystem whose link limit is 2, interrupted
  // before its commit: new3.txt (one link, in the clone) gets its record
  // "N-new3.txt", the second link, so the entry's own link fails with
  // EMLINK and the engine copies it through a `.rotator-partial.*`
  // temporary (recorded as a symlink "N": no S inode); (b) recovery rolls
  // the build back, moving the copy at new3.txt; (c) the generation is
  // exactly as before and the clone's new3.txt is untouched.
  auto fx = make_history();
  SnapState before = fx->state();
  ino_t clone_ino = inode_of(fx->clone("new3.txt"));
  std::string content = read_file(fx->clone("new3.txt"));
  REQUIRE(std::filesystem::hard_link_count(fx->clone("new3.txt")) == 1);
  std::string build = interrupted_build(*fx, make_history, 2);
  std::string list = fx->snap(build + "/added-list");
  std::string staged = fx->snap(".rotator-staging/new3.txt");
  REQUIRE(exists(staged));
  CHECK(inode_of(staged) != clone_ino);  // a copy
  CHECK(read_file(staged) == content);
  int linked = 0;
  int partial = 0;
  for (const auto& [seq, rec] : records_of(list)) {
    if (rec == std::pair<std::string, char>{"new3.txt", 'l'}) {
      ++linked;
      CHECK(inode_of(list + "/" + std::to_string(seq) + "-new3.txt") == clone_ino);
    }
    if (rec.second == 's' && rec.first == ".rotator-partial." + std::to_string(clone_ino)) {
      ++partial;
    }
  }
  CHECK(linked == 1);
  CHECK(partial == 1);
  fs::PosixFs fresh;
  auto rec = fx->recover(fresh);
  REQUIRE_MESSAGE(rec.has_value(), (rec ? std::string() : rec.error().message()));
  CHECK(fx->state() == before);
  CHECK(inode_of(fx->clone("new3.txt")) == clone_ino);
  CHECK(read_file(fx->clone("new3.txt")) == content);
}

TEST_CASE("crash at every k of a recovery that rolls back a build of either format") {
  // (a) a recycled build interrupted just before its commit, its record in
  // the flat format, converted to the earlier nested one, or made on a
  // filesystem whose link limit is 2 (records that take an inode's last
  // link, entries copied); (b) its recovery is interrupted after every
  // mutating call j; (c) a recovery with a fresh Fs restores the original
  // generation exactly.
  for (int variant : {0, 1, 2}) {
    bool earlier = variant == 1;
    long j = 1;
    for (;; ++j) {
      CAPTURE(variant);
      CAPTURE(j);
      auto fx = make_history();
      SnapState before = fx->state();
      std::string build = interrupted_build(*fx, make_history, variant == 2 ? 2 : 0);
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
