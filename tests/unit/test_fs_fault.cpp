// FaultFs's power-cut model (fault_fs.hpp), case by case on real temp trees:
// what survives a cut is exactly what fsync_dir / sync_fs made durable. And
// fail mode aimed at one operation.
#include <doctest/doctest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "fs/fault_fs.hpp"
#include "fs/posix_fs.hpp"
#include "testutil.hpp"

using namespace rotator;

namespace {

fs::DirHandle open(fs::Fs& fs, const std::string& path) {
  auto d = fs::open_dir(fs, fs::k_cwd, path);
  REQUIRE(d);
  return std::move(*d);
}

// Cuts the power right after the next counted call of `faulty` (a no-op
// call: fsync_dir of the root's parent is outside the root).
void cut_now(fs::FaultFs& faulty, const test::TestContext& ctx) {
  auto d = open(faulty, ctx.dir() + "/..");
  REQUIRE(faulty.fsync_dir(d.fd()));
  REQUIRE(faulty.triggered());
  CHECK(faulty.cut_errors().empty());
}

}  // namespace

TEST_SUITE_BEGIN("fs::fault power cut");

TEST_CASE("power cut: names not synced are lost, synced ones survive, file data is durable") {
  test::TestContext ctx;
  test::make_dir(ctx.path("a"));
  test::make_dir(ctx.path("b"));
  fs::PosixFs real;
  fs::FaultFs faulty(real);
  faulty.power_cut_after(4, ctx.dir());
  auto a = open(real, ctx.path("a"));
  REQUIRE(faulty.write_file(a.fd(), "kept", "k"));                 // 1
  REQUIRE(faulty.fsync_dir(a.fd()));                               // 2
  REQUIRE(faulty.write_file(fs::k_cwd, ctx.path("b/lost"), "l"));  // 3
  cut_now(faulty, ctx);                                            // 4
  CHECK(test::read_file(ctx.path("a/kept")) == "k");
  CHECK_FALSE(test::exists(ctx.path("b/lost")));
  CHECK(faulty.undone() == 1);
  // Every later call is refused.
  CHECK(faulty.mkdir(fs::k_cwd, ctx.path("c"), 0755).error().sys_errno == EIO);
  CHECK_FALSE(test::exists(ctx.path("c")));
}

TEST_CASE("power cut: a rename is durable only when both parents were synced after it") {
  for (int synced : {0, 1, 2, 3}) {  // bit 0: a synced, bit 1: b synced
    CAPTURE(synced);
    test::TestContext ctx;
    test::write_file(ctx.path("a/x"), "x");
    test::make_dir(ctx.path("b"));
    ino_t ino = test::inode_of(ctx.path("a/x"));
    fs::PosixFs real;
    fs::FaultFs faulty(real);
    faulty.power_cut_after(2 + (synced & 1) + (synced >> 1), ctx.dir());
    auto a = open(real, ctx.path("a"));
    auto b = open(real, ctx.path("b"));
    REQUIRE(faulty.rename(a.fd(), "x", b.fd(), "y", fs::RenameMode::no_replace));
    if (synced & 1) REQUIRE(faulty.fsync_dir(a.fd()));
    if (synced & 2) REQUIRE(faulty.fsync_dir(b.fd()));
    cut_now(faulty, ctx);
    if (synced == 3) {
      CHECK(test::inode_of(ctx.path("b/y")) == ino);
      CHECK_FALSE(test::exists(ctx.path("a/x")));
    } else {
      CHECK(test::inode_of(ctx.path("a/x")) == ino);  // moved back, same inode
      CHECK_FALSE(test::exists(ctx.path("b/y")));
    }
  }
}

TEST_CASE("power cut: a synced directory's content is lost with its unsynced mkdir") {
  // (a) mkdir d in the root, not synced; (b) a file is moved into d and both
  // d and the file's old parent are synced; (c) the cut loses d, and the file
  // with it: this is what a commit point must prevent.
  test::TestContext ctx;
  test::write_file(ctx.path("src/f"), "f");
  fs::PosixFs real;
  fs::FaultFs faulty(real);
  faulty.power_cut_after(5, ctx.dir());
  REQUIRE(faulty.mkdir(fs::k_cwd, ctx.path("d"), 0755));  // 1
  auto src = open(real, ctx.path("src"));
  auto d = open(real, ctx.path("d"));
  REQUIRE(faulty.rename(src.fd(), "f", d.fd(), "f", fs::RenameMode::no_replace));  // 2
  REQUIRE(faulty.fsync_dir(src.fd()));                                             // 3
  REQUIRE(faulty.fsync_dir(d.fd()));                                               // 4
  cut_now(faulty, ctx);                                                            // 5
  CHECK_FALSE(test::exists(ctx.path("d")));
  CHECK_FALSE(test::exists(ctx.path("src/f")));
}

TEST_CASE(
    "power cut: syncing the parent after mkdir keeps the directory and what was synced in it") {
  test::TestContext ctx;
  test::write_file(ctx.path("src/f"), "f");
  fs::PosixFs real;
  fs::FaultFs faulty(real);
  faulty.power_cut_after(6, ctx.dir());
  REQUIRE(faulty.mkdir(fs::k_cwd, ctx.path("d"), 0755));  // 1
  auto root = open(real, ctx.dir());
  REQUIRE(faulty.fsync_dir(root.fd()));  // 2
  auto src = open(real, ctx.path("src"));
  auto d = open(real, ctx.path("d"));
  REQUIRE(faulty.rename(src.fd(), "f", d.fd(), "f", fs::RenameMode::no_replace));  // 3
  REQUIRE(faulty.fsync_dir(src.fd()));                                             // 4
  REQUIRE(faulty.fsync_dir(d.fd()));                                               // 5
  cut_now(faulty, ctx);                                                            // 6
  CHECK(test::read_file(ctx.path("d/f")) == "f");
  CHECK_FALSE(test::exists(ctx.path("src/f")));
}

TEST_CASE(
    "power cut: a durable rename of the parent keeps it; entries made in it before are undone "
    "there") {
  // The staging -> generation commit: links made in .rotator-staging, then
  // the rename synced in the parent; the links themselves were never synced.
  test::TestContext ctx;
  test::write_file(ctx.path("clone/f"), "f");
  test::make_dir(ctx.path("snaps"));
  fs::PosixFs real;
  fs::FaultFs faulty(real);
  faulty.power_cut_after(5, ctx.dir());
  REQUIRE(faulty.mkdir(fs::k_cwd, ctx.path("snaps/staging"), 0755));  // 1
  REQUIRE(
      faulty.link(fs::k_cwd, ctx.path("clone/f"), fs::k_cwd, ctx.path("snaps/staging/f")));  // 2
  REQUIRE(faulty.rename(fs::k_cwd, ctx.path("snaps/staging"), fs::k_cwd, ctx.path("snaps/daily.0"),
                        fs::RenameMode::no_replace));  // 3
  auto snaps = open(real, ctx.path("snaps"));
  REQUIRE(faulty.fsync_dir(snaps.fd()));  // 4
  cut_now(faulty, ctx);                   // 5
  CHECK(test::exists(ctx.path("snaps/daily.0")));
  CHECK_FALSE(test::exists(ctx.path("snaps/daily.0/f")));  // an empty "generation"
  CHECK_FALSE(test::exists(ctx.path("snaps/staging")));
}

TEST_CASE("power cut: sync_fs makes every earlier change durable") {
  test::TestContext ctx;
  test::write_file(ctx.path("clone/f"), "f");
  test::make_dir(ctx.path("snaps"));
  fs::PosixFs real;
  fs::FaultFs faulty(real);
  faulty.power_cut_after(6, ctx.dir());
  REQUIRE(faulty.mkdir(fs::k_cwd, ctx.path("snaps/staging"), 0755));  // 1
  REQUIRE(
      faulty.link(fs::k_cwd, ctx.path("clone/f"), fs::k_cwd, ctx.path("snaps/staging/f")));  // 2
  auto snaps = open(real, ctx.path("snaps"));
  REQUIRE(faulty.sync_fs(snaps.fd()));  // 3
  REQUIRE(faulty.rename(fs::k_cwd, ctx.path("snaps/staging"), fs::k_cwd, ctx.path("snaps/daily.0"),
                        fs::RenameMode::no_replace));      // 4
  REQUIRE(faulty.unlink(fs::k_cwd, ctx.path("clone/f")));  // 5, not synced
  cut_now(faulty, ctx);                                    // 6
  CHECK(test::inode_of(ctx.path("snaps/staging/f")) == test::inode_of(ctx.path("clone/f")));
  CHECK_FALSE(test::exists(ctx.path("snaps/daily.0")));
}

TEST_CASE("power cut: unsynced removals come back with the same inodes, replaced files too") {
  test::TestContext ctx;
  test::write_file(ctx.path("t/sub/f"), "f");
  test::write_file(ctx.path("state/job.state"), "old");
  ino_t f_ino = test::inode_of(ctx.path("t/sub/f"));
  ino_t sub_ino = test::inode_of(ctx.path("t/sub"));
  ino_t state_ino = test::inode_of(ctx.path("state/job.state"));
  ::chmod(ctx.path("t/sub").c_str(), 0750);
  fs::PosixFs real;
  fs::FaultFs faulty(real);
  faulty.power_cut_after(6, ctx.dir());
  REQUIRE(faulty.unlink(fs::k_cwd, ctx.path("t/sub/f")));  // 1
  REQUIRE(faulty.rmdir(fs::k_cwd, ctx.path("t/sub")));     // 2
  auto state = open(real, ctx.path("state"));
  REQUIRE(faulty.write_file(state.fd(), "job.state.tmp", "new"));  // 3
  REQUIRE(faulty.rename(state.fd(), "job.state.tmp", state.fd(), "job.state",
                        fs::RenameMode::replace));  // 4
  fs::Metadata meta;
  meta.mode = 0700;
  meta.uid = ::getuid();
  meta.gid = ::getgid();
  REQUIRE(faulty.set_metadata(fs::k_cwd, ctx.path("t"), meta));  // 5
  cut_now(faulty, ctx);                                          // 6
  CHECK(test::inode_of(ctx.path("t/sub/f")) == f_ino);
  CHECK(test::read_file(ctx.path("t/sub/f")) == "f");
  struct stat st;
  REQUIRE(::lstat(ctx.path("t/sub").c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0750);
  CHECK(st.st_ino == sub_ino);  // the same directory, not a new one
  REQUIRE(::lstat(ctx.path("t").c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) != 0700);  // attributes never synced: reverted
  CHECK(test::inode_of(ctx.path("state/job.state")) == state_ino);
  CHECK(test::read_file(ctx.path("state/job.state")) == "old");
  CHECK_FALSE(test::exists(ctx.path("state/job.state.tmp")));
  CHECK(faulty.undone() == 5);
  CHECK_FALSE(test::exists(ctx.dir() + ".faultfs-saved"));  // the save area is gone
}

TEST_CASE("power cut: a generation moved to trash and deleted there comes back whole") {
  // (a) snaps/gen -> snaps/.trash/gen, snaps synced but not .trash; (b) its
  // removal (unlink, rmdir); (c) the cut re-creates gen/sub (a new inode),
  // and moving gen back must still recognise it as the directory renamed.
  test::TestContext ctx;
  test::write_file(ctx.path("snaps/gen/sub/f"), "f");
  test::make_dir(ctx.path("snaps/.trash"));
  ino_t f_ino = test::inode_of(ctx.path("snaps/gen/sub/f"));
  fs::PosixFs real;
  fs::FaultFs faulty(real);
  faulty.power_cut_after(6, ctx.dir());
  REQUIRE(faulty.rename(fs::k_cwd, ctx.path("snaps/gen"), fs::k_cwd, ctx.path("snaps/.trash/gen"),
                        fs::RenameMode::no_replace));  // 1
  auto snaps = open(real, ctx.path("snaps"));
  REQUIRE(faulty.fsync_dir(snaps.fd()));                                  // 2
  REQUIRE(faulty.unlink(fs::k_cwd, ctx.path("snaps/.trash/gen/sub/f")));  // 3
  REQUIRE(faulty.rmdir(fs::k_cwd, ctx.path("snaps/.trash/gen/sub")));     // 4
  REQUIRE(faulty.rmdir(fs::k_cwd, ctx.path("snaps/.trash/gen")));         // 5
  cut_now(faulty, ctx);                                                   // 6
  CHECK(test::inode_of(ctx.path("snaps/gen/sub/f")) == f_ino);
  CHECK_FALSE(test::exists(ctx.path("snaps/.trash/gen")));
  CHECK(faulty.kept() == 0);
}

TEST_CASE("power cut: the lock file's unsynced holder text reverts; a new lock file goes") {
  test::TestContext ctx;
  test::write_file(ctx.path("old.lock"), "pid 1\n");
  fs::PosixFs real;
  fs::FaultFs faulty(real);
  faulty.power_cut_after(1, ctx.dir());
  auto held = faulty.lock_file(ctx.path("old.lock"), fs::LockMode::no_wait);
  REQUIRE(held);
  REQUIRE(faulty.write_fd(*held, "pid 2\n"));
  auto fresh = faulty.lock_file(ctx.path("new.lock"), fs::LockMode::no_wait);
  REQUIRE(fresh);
  REQUIRE(test::exists(ctx.path("new.lock")));
  cut_now(faulty, ctx);
  CHECK(test::read_file(ctx.path("old.lock")) == "pid 1\n");
  CHECK_FALSE(test::exists(ctx.path("new.lock")));
  faulty.close(*held);
  faulty.close(*fresh);
}

TEST_CASE("power cut: a synced state-file replacement survives") {
  test::TestContext ctx;
  test::write_file(ctx.path("state/job.state"), "old");
  fs::PosixFs real;
  fs::FaultFs faulty(real);
  faulty.power_cut_after(4, ctx.dir());
  auto state = open(real, ctx.path("state"));
  REQUIRE(faulty.write_file(state.fd(), "job.state.tmp", "new"));  // 1
  REQUIRE(faulty.rename(state.fd(), "job.state.tmp", state.fd(), "job.state",
                        fs::RenameMode::replace));  // 2
  REQUIRE(faulty.fsync_dir(state.fd()));            // 3
  cut_now(faulty, ctx);                             // 4
  CHECK(test::read_file(ctx.path("state/job.state")) == "new");
  CHECK_FALSE(test::exists(ctx.path("state/job.state.tmp")));
  CHECK(faulty.undone() == 0);
}

TEST_SUITE_END();

TEST_SUITE_BEGIN("fs::fault fail");

TEST_CASE("fail_at with a read operation fails exactly its k-th call, without Count::all") {
  // (a) three directories; (b) fail_at(2, EIO, "list_dir") with the default
  // count (mutating calls); (c) the first and third listings succeed, the
  // second fails with EIO and an empty path (a descriptor-only call), and
  // only list_dir calls are counted (lstat and open_dir are not).
  test::TestContext ctx;
  for (const char* d : {"a", "b", "c"}) {
    test::make_dir(ctx.path(d) + "/x");
  }
  fs::PosixFs real;
  fs::FaultFs faulty(real);
  faulty.fail_at(2, EIO, "list_dir");
  std::vector<Status> listed;
  for (const char* d : {"a", "b", "c"}) {
    REQUIRE(faulty.lstat(fs::k_cwd, ctx.path(d)));
    auto h = open(faulty, ctx.path(d));
    auto l = faulty.list_dir(h.fd());
    listed.push_back(l ? ok() : Status(l.error()));
    if (l) {
      CHECK(l->size() == 1);
    }
  }
  CHECK(listed[0]);
  REQUIRE_FALSE(listed[1]);
  CHECK(listed[1].error().sys_errno == EIO);
  CHECK(listed[1].error().op == "list_dir");
  CHECK(listed[1].error().path.empty());
  CHECK(listed[2]);
  CHECK(faulty.triggered());
  CHECK(faulty.calls() == 3);
}

TEST_SUITE_END();
