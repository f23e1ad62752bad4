// restore under fault injection: a failure at any mutating call leaves DEST
// as it was (absent, or the user's own file) and no temporary behind; a
// crash at any call leaves DEST absent or complete, never half-written.
#include <doctest/doctest.h>

#include <cerrno>

#include "fs/fault_fs.hpp"
#include "fs/posix_fs.hpp"
#include "history/restore.hpp"
#include "testutil.hpp"

using namespace rotator;

TEST_SUITE_BEGIN("history::restore");

namespace {

void make_source(const std::string& src) {
  test::write_file(src + "/a.txt", "alpha");
  test::write_file(src + "/sub/b.txt", "beta");
  test::make_link(src + "/a.txt", src + "/sub/a-link.txt");
  test::make_symlink("../a.txt", src + "/sub/sym");
  test::make_dir(src + "/empty");
}

std::vector<std::string> entries(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& line : test::list_tree(dir, test::WithInodes::no)) {
    out.push_back(line.substr(0, line.find(' ')));
  }
  return out;
}

}  // namespace

TEST_CASE("execute_restore: a failure at every mutating call changes nothing") {
  test::TestContext ctx;
  std::string root = ctx.path("root");
  std::string src = root + "/snap/tree";
  make_source(src);
  fs::PosixFs posix;
  long k = 1;
  long after_commit = 0;
  for (; k < 200; ++k) {
    std::string out = ctx.path("out" + std::to_string(k));
    test::write_file(out + "/tree", "the user's own file");
    fs::FaultFs fault(posix);
    fault.fail_at(k, EIO);
    auto r = history::execute_restore(fault, src, out + "/tree", root, history::Force::yes);
    if (!fault.triggered()) {
      REQUIRE(r);
      CHECK(test::read_file(out + "/tree.~1~") == "the user's own file");
      CHECK(test::read_file(out + "/tree/sub/b.txt") == "beta");
      CHECK(test::inode_of(out + "/tree/a.txt") == test::inode_of(out + "/tree/sub/a-link.txt"));
      CHECK(test::inode_of(out + "/tree/a.txt") != test::inode_of(src + "/a.txt"));
      break;
    }
    REQUIRE(!r);
    if (r.error().message().find("restored to") != std::string::npos) {
      // (b) Only the final directory sync failed: the restore is complete
      // and says so; the user's file is kept as tree.~1~.
      ++after_commit;
      CHECK(test::read_file(out + "/tree.~1~") == "the user's own file");
      CHECK(test::read_file(out + "/tree/a.txt") == "alpha");
      continue;
    }
    // (a) Any earlier failure: DEST is the user's file still, nothing beside it.
    CHECK(test::read_file(out + "/tree") == "the user's own file");
    CHECK(entries(out) == std::vector<std::string>{"tree"});
  }
  CHECK(k > 10);
  CHECK(after_commit == 1);
}

TEST_CASE("execute_restore: a crash at every call leaves DEST absent or complete") {
  test::TestContext ctx;
  std::string root = ctx.path("root");
  std::string src = root + "/snap/tree";
  make_source(src);
  fs::PosixFs posix;
  auto want = test::list_tree(src, test::WithInodes::no);
  long k = 1;
  for (; k < 200; ++k) {
    std::string out = ctx.path("out" + std::to_string(k));
    test::make_dir(out);
    fs::FaultFs fault(posix);
    fault.crash_after(k);
    auto r = history::execute_restore(fault, src, out + "/tree", root, history::Force::no);
    if (test::exists(out + "/tree")) {
      auto got = test::list_tree(out + "/tree", test::WithInodes::no);
      // Link counts differ (the source has its own); compare the rest.
      CHECK(got.size() == want.size());
    }
    if (!fault.triggered()) {
      REQUIRE(r);
      CHECK(test::exists(out + "/tree"));
      break;
    }
  }
  CHECK(k > 10);
}

TEST_CASE("check_destination refuses DEST inside root, an existing DEST, a missing directory") {
  test::TestContext ctx;
  std::string root = ctx.path("root");
  test::make_dir(root + "/clone/docs");
  test::write_file(ctx.path("mine"), "x");
  test::make_symlink(root + "/clone", ctx.path("link-into-root"));
  fs::PosixFs fs;
  auto inside = history::check_destination(fs, root + "/clone/docs/x", root, history::Force::no);
  REQUIRE(!inside);
  CHECK(inside.error().message().find("inside rotator's root") != std::string::npos);
  CHECK(!history::check_destination(fs, ctx.path("link-into-root/x"), root, history::Force::no));
  CHECK(!history::check_destination(fs, ctx.path(""), root, history::Force::yes));  // holds root
  auto exists = history::check_destination(fs, ctx.path("mine"), root, history::Force::no);
  REQUIRE(!exists);
  CHECK(exists.error().message().find("never overwrites") != std::string::npos);
  CHECK(history::check_destination(fs, ctx.path("mine"), root, history::Force::yes));
  CHECK(!history::check_destination(fs, ctx.path("no/dir/x"), root, history::Force::no));
  CHECK(history::check_destination(fs, ctx.path("new"), root, history::Force::no));
}

TEST_SUITE_END();
