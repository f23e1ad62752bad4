#include <doctest/doctest.h>

#include <sys/xattr.h>

#include <cerrno>
#include <cstring>

#include "fs/fault_fs.hpp"
#include "fs/posix_fs.hpp"
#include "testutil.hpp"

using namespace rotator;
using namespace rotator::fs;

TEST_SUITE_BEGIN("fs::posix");

TEST_CASE("list_dir returns names, inodes and types without . and ..") {
  test::TestContext ctx;
  test::write_file(ctx.path("d/a"), "x");
  test::make_dir(ctx.path("d/sub"));
  test::make_symlink("a", ctx.path("d/l"));
  PosixFs fs;
  auto dir = open_dir(fs, k_cwd, ctx.path("d"));
  REQUIRE(dir);
  auto list = fs.list_dir(dir->fd());
  REQUIRE(list);
  std::map<std::string, DirEntry> by_name;
  for (auto& e : *list) {
    by_name[e.name] = e;
  }
  CHECK(by_name.size() == 3);
  CHECK(by_name["a"].type == FileType::regular);
  CHECK(by_name["a"].ino == test::inode_of(ctx.path("d/a")));
  CHECK(by_name["sub"].type == FileType::directory);
  CHECK(by_name["l"].type == FileType::symlink);
}

TEST_CASE("list_dir reads a descriptor once, without a rewind; FaultFs refuses a second listing") {
  test::TestContext ctx;
  test::write_file(ctx.path("d/a"), "x");
  PosixFs fs;
  auto dir = open_dir(fs, k_cwd, ctx.path("d"));
  REQUIRE(dir);
  REQUIRE(fs.list_dir(dir->fd())->size() == 1);
  // No lseek(0): the descriptor is at its end (fs.hpp: open it again).
  CHECK(fs.list_dir(dir->fd())->empty());
  auto again = open_dir(fs, k_cwd, ctx.path("d"));
  REQUIRE(again);
  CHECK(fs.list_dir(again->fd())->size() == 1);

  FaultFs faulty(fs);
  auto held = open_dir(faulty, k_cwd, ctx.path("d"));
  REQUIRE(held);
  CHECK(faulty.list_dir(held->fd())->size() == 1);
  auto twice = faulty.list_dir(held->fd());
  REQUIRE_FALSE(twice);
  CHECK(twice.error().sys_errno == EINVAL);
  int number = held->fd();
  held->reset();
  // A closed and reused descriptor number is a new descriptor.
  auto reopened = open_dir(faulty, k_cwd, ctx.path("d"));
  REQUIRE(reopened);
  CHECK(reopened->fd() == number);
  CHECK(faulty.list_dir(reopened->fd())->size() == 1);
}

TEST_CASE("get_xattrs with an empty name reads the descriptor's own xattrs") {
  test::TestContext ctx;
  test::make_dir(ctx.path("d"));
  if (::lsetxattr(ctx.path("d").c_str(), "user.rotator.t", "v", 1, 0) != 0) {
    MESSAGE("skipped: no user xattrs on this filesystem (" << std::strerror(errno) << ")");
    return;
  }
  PosixFs fs;
  auto dir = open_dir(fs, k_cwd, ctx.path("d"));
  REQUIRE(dir);
  auto got = fs.get_xattrs(dir->fd(), "");
  REQUIRE(got);
  CHECK(*got == std::vector<std::pair<std::string, std::string>>{{"user.rotator.t", "v"}});
  auto by_name = fs.get_xattrs(k_cwd, ctx.path("d"));
  REQUIRE(by_name);
  CHECK(*by_name == *got);
}

TEST_CASE("rename no_replace refuses to overwrite") {
  test::TestContext ctx;
  test::write_file(ctx.path("a"), "1");
  test::write_file(ctx.path("b"), "2");
  PosixFs fs;
  auto st = fs.rename(k_cwd, ctx.path("a"), k_cwd, ctx.path("b"), RenameMode::no_replace);
  REQUIRE_FALSE(st);
  CHECK(st.error().sys_errno == EEXIST);
  CHECK(test::read_file(ctx.path("b")) == "2");
  CHECK(fs.rename(k_cwd, ctx.path("a"), k_cwd, ctx.path("c"), RenameMode::no_replace));
  CHECK(test::read_file(ctx.path("c")) == "1");
}

TEST_CASE("open_dir does not follow a symlink") {
  test::TestContext ctx;
  test::make_dir(ctx.path("real"));
  test::make_symlink("real", ctx.path("l"));
  PosixFs fs;
  auto r = fs.open_dir(k_cwd, ctx.path("l"));
  REQUIRE_FALSE(r);
  CHECK(r.error().sys_errno == ENOTDIR);
}

TEST_CASE("errors keep errno, operation and path") {
  PosixFs fs;
  test::TestContext ctx;
  auto st = fs.unlink(k_cwd, ctx.path("missing"));
  REQUIRE_FALSE(st);
  CHECK(st.error().sys_errno == ENOENT);
  CHECK(st.error().message() ==
        "failed to remove '" + ctx.path("missing") + "': No such file or directory");
}

TEST_CASE("fsync_dir and sync_fs sync an open directory; a bad descriptor is an error") {
  test::TestContext ctx;
  test::write_file(ctx.path("d/a"), "x");
  PosixFs fs;
  auto dir = open_dir(fs, k_cwd, ctx.path("d"));
  REQUIRE(dir);
  CHECK(fs.fsync_dir(dir->fd()));
  CHECK(fs.sync_fs(dir->fd()));
  auto bad = fs.sync_fs(-1);
  REQUIRE_FALSE(bad);
  CHECK(bad.error().sys_errno == EBADF);
  CHECK(fs.fsync_dir(-1).error().sys_errno == EBADF);
}

TEST_CASE("FaultFs fails exactly the k-th mutating call") {
  test::TestContext ctx;
  PosixFs real;
  FaultFs fs(real);
  fs.fail_at(2, ENOSPC);
  CHECK(fs.mkdir(k_cwd, ctx.path("a"), 0755));
  auto st = fs.mkdir(k_cwd, ctx.path("b"), 0755);
  REQUIRE_FALSE(st);
  CHECK(st.error().sys_errno == ENOSPC);
  CHECK_FALSE(test::exists(ctx.path("b")));
  CHECK(fs.mkdir(k_cwd, ctx.path("c"), 0755));
  CHECK(fs.journal().size() == 3);
}

TEST_CASE("FaultFs crash refuses every call after the k-th") {
  test::TestContext ctx;
  PosixFs real;
  FaultFs fs(real);
  fs.crash_after(1);
  CHECK(fs.mkdir(k_cwd, ctx.path("a"), 0755));
  CHECK(test::exists(ctx.path("a")));
  CHECK_FALSE(fs.mkdir(k_cwd, ctx.path("b"), 0755));
  CHECK_FALSE(fs.lstat(k_cwd, ctx.path("a")));
  CHECK_FALSE(test::exists(ctx.path("b")));
  CHECK(fs.triggered());
}

TEST_CASE("readlink returns a symlink's target up to 4095 bytes, through PosixFs and FaultFs") {
  // The undo record of a recycled build (jobs/snapshot_undo.hpp) keeps a
  // path in a symlink target: (a) targets up to k_max_link_target bytes
  // round-trip byte for byte, through PosixFs and through FaultFs (which
  // counts readlink as a read: refused after a crash); (b) a longer target
  // is refused by the kernel, which is why the record falls back to a file.
  test::TestContext ctx;
  PosixFs real;
  std::string longest(4095, 'x');
  for (size_t i = 0; i < longest.size(); i += 7) {
    longest[i] = '/';
  }
  REQUIRE(real.symlink(longest, k_cwd, ctx.path("long")));
  REQUIRE(real.symlink("a b\n\x01", k_cwd, ctx.path("odd")));
  auto got = real.readlink(k_cwd, ctx.path("long"));
  REQUIRE(got);
  CHECK(*got == longest);
  auto odd = real.readlink(k_cwd, ctx.path("odd"));
  REQUIRE(odd);
  CHECK(*odd == "a b\n\x01");
  auto too_long = real.symlink(longest + "y", k_cwd, ctx.path("longer"));
  REQUIRE_FALSE(too_long);
  CHECK(too_long.error().sys_errno == ENAMETOOLONG);
  auto not_link = real.readlink(k_cwd, ctx.path(""));
  REQUIRE_FALSE(not_link);
  CHECK(not_link.error().sys_errno == EINVAL);

  FaultFs fault(real);
  fault.set_count(FaultFs::Count::all);
  fault.crash_after(1);
  auto via = fault.readlink(k_cwd, ctx.path("long"));
  REQUIRE(via);
  CHECK(*via == longest);
  auto refused = fault.readlink(k_cwd, ctx.path("odd"));
  REQUIRE_FALSE(refused);
  CHECK(refused.error().sys_errno == EIO);
  CHECK(fault.triggered());
}

TEST_SUITE_END();
