// The two MirrorOptions the snapshot job needs: before_add and
// TargetRoot::absent.
#include <doctest/doctest.h>

#include <cerrno>
#include <string>
#include <vector>

#include "engine/mirror.hpp"
#include "fs/fault_fs.hpp"
#include "fs/posix_fs.hpp"
#include "testutil.hpp"

using namespace rotator;
using namespace rotator::test;

TEST_SUITE_BEGIN("engine::mirror hooks");

TEST_CASE("before_add is called before every entry the engine creates, and can stop it") {
  TestContext t;
  write_file(t.path("s/same.txt"), "same");
  write_file(t.path("s/new.txt"), "new");
  write_file(t.path("s/d/e/f.txt"), "f");
  write_file(t.path("s/changed.txt"), "v2");
  make_dir(t.path("t"));
  make_link(t.path("s/same.txt"), t.path("t/same.txt"));
  write_file(t.path("t/changed.txt"), "v1");
  make_dir(t.path("sink"));
  fs::PosixFs posix;
  auto sink_dir = fs::open_dir(posix, fs::k_cwd, t.path("sink"));
  REQUIRE(sink_dir);

  SUBCASE("called once per created entry, with T's view of the path") {
    engine::TreeSink sink(sink_dir->fd(), "x", "sink");
    std::vector<std::string> added;
    engine::MirrorOptions opt;
    opt.sink = &sink;
    opt.before_add = [&](const engine::AddInfo& add) -> Status {
      // Not created yet when the hook runs.
      CHECK_FALSE(exists(t.path("t/" + add.rel)));
      added.push_back(add.rel + (add.type == fs::FileType::directory ? "/" : ""));
      // Only the changed file takes the place of a displaced entry.
      CHECK((add.kind == engine::AddKind::replaces_displaced) == (add.rel == "changed.txt"));
      // A non-directory comes with S's directory and name: the inode the
      // link will give T (fstatat of that pair is S's entry itself).
      if (add.type == fs::FileType::directory) {
        CHECK(add.s_dir == -1);
        CHECK(add.s_name.empty());
      } else {
        REQUIRE(add.s_dir >= 0);
        size_t slash = add.rel.rfind('/');
        CHECK(add.s_name == add.rel.substr(slash == std::string::npos ? 0 : slash + 1));
        auto st = posix.lstat(add.s_dir, std::string(add.s_name));
        REQUIRE(st);
        CHECK(st->ino == inode_of(t.path("s/" + add.rel)));
      }
      return ok();
    };
    auto r = engine::mirror(posix, t.path("s"), t.path("t"), opt);
    REQUIRE(r);
    CHECK(added == std::vector<std::string>{"changed.txt", "d/", "d/e/", "d/e/f.txt", "new.txt"});
    CHECK(inode_of(t.path("t/d/e/f.txt")) == inode_of(t.path("s/d/e/f.txt")));
  }
  SUBCASE("an error from the hook aborts before the entry exists") {
    engine::TreeSink sink(sink_dir->fd(), "x", "sink");
    engine::MirrorOptions opt;
    opt.sink = &sink;
    opt.before_add = [&](const engine::AddInfo& add) -> Status {
      if (add.rel == "d/e/f.txt") {
        return sys_error(ENOSPC, "record", add.rel);
      }
      return ok();
    };
    auto r = engine::mirror(posix, t.path("s"), t.path("t"), opt);
    REQUIRE_FALSE(r);
    CHECK(r.error().message() == "failed to record 'd/e/f.txt': No space left on device");
    CHECK(exists(t.path("t/d/e")));
    CHECK_FALSE(exists(t.path("t/d/e/f.txt")));
  }
}

TEST_CASE("before_add says which additions replace a displaced entry (type changes too)") {
  // (a) T's file `x` becomes a directory in S: the directory replaces it,
  //     what goes inside is fresh; (b) T's directory `z` becomes a file: the
  //     file replaces it; (c) `n` is new: fresh; (d) EMLINK temporaries are
  //     always fresh (not reached here: no link limit).
  TestContext t;
  write_file(t.path("s/x/y.txt"), "y");
  write_file(t.path("s/z"), "z");
  write_file(t.path("s/n"), "n");
  write_file(t.path("t/x"), "old x");
  write_file(t.path("t/z/inner"), "old z");
  make_dir(t.path("sink"));
  fs::PosixFs posix;
  auto sink_dir = fs::open_dir(posix, fs::k_cwd, t.path("sink"));
  REQUIRE(sink_dir);
  engine::TreeSink sink(sink_dir->fd(), "x", "sink");
  std::vector<std::string> added;
  engine::MirrorOptions opt;
  opt.sink = &sink;
  opt.before_add = [&](const engine::AddInfo& add) -> Status {
    added.push_back(add.rel + (add.type == fs::FileType::directory ? "/ " : " ") +
                    (add.kind == engine::AddKind::fresh ? "fresh" : "replaces"));
    return ok();
  };
  auto r = engine::mirror(posix, t.path("s"), t.path("t"), opt);
  REQUIRE(r);
  CHECK(added == std::vector<std::string>{"n fresh", "x/ replaces", "x/y.txt fresh", "z replaces"});
  CHECK(read_file(t.path("sink/x/x")) == "old x");
  CHECK(read_file(t.path("sink/x/z/inner")) == "old z");
}

TEST_CASE("TargetRoot::absent plans into a missing target in a dry run only") {
  TestContext t;
  write_file(t.path("s/a.txt"), "a");
  write_file(t.path("s/d/b.txt"), "b");
  fs::PosixFs posix;
  fs::FaultFs rec(posix);
  rec.record();
  std::vector<std::string> plan;
  engine::MirrorOptions opt;
  opt.target_root = engine::MirrorOptions::TargetRoot::absent;
  opt.dry_run = rotator::DryRun::yes;
  opt.plan = [&](std::string_view l) { plan.emplace_back(l); };
  auto r = engine::mirror(rec, t.path("s"), t.path("missing"), opt);
  REQUIRE(r);
  CHECK(plan ==
        std::vector<std::string>{"link a.txt", "mkdir d", "link d/b.txt", "meta d", "meta ."});
  CHECK(r->linked == 2);
  CHECK(rec.journal().empty());
  CHECK_FALSE(exists(t.path("missing")));

  opt.dry_run = rotator::DryRun::no;
  auto refused = engine::mirror(posix, t.path("s"), t.path("missing"), opt);
  REQUIRE_FALSE(refused);
  CHECK_FALSE(exists(t.path("missing")));
}

TEST_SUITE_END();
