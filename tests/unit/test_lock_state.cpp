#include <doctest/doctest.h>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include <fmt/format.h>

#include "fs/fault_fs.hpp"
#include "fs/posix_fs.hpp"
#include "lock/lock_file.hpp"
#include "state/state.hpp"
#include "testutil.hpp"

using namespace rotator;

TEST_SUITE_BEGIN("lock");

TEST_CASE("a second lock on the same file is refused and names the holder") {
  test::TestContext ctx;
  fs::PosixFs fs;
  std::string path = ctx.path("lock");
  auto first = lock::LockFile::acquire(
      fs, path, 0, "command=rotator weekly\nstarted=2026-11-22T02:00:00+0000\n");
  REQUIRE(first);
  CHECK(test::read_file(path).find("command=rotator weekly") != std::string::npos);
  // flock locks belong to the open file description: a second open in the
  // same process conflicts just as another process would.
  auto second = lock::LockFile::acquire(fs, path, 0, "command=rotator daily\n");
  REQUIRE_FALSE(second);
  CHECK(second.error().message() ==
        fmt::format("another rotator run holds the lock '{}': pid {} (rotator weekly) since "
                    "2026-11-22T02:00:00+0000 (use --wait to wait for it)",
                    path, getpid()));
}

TEST_CASE("a lock file that is a symlink is never followed, default or configured") {
  // (a) root/.rotator/lock -> a file outside root: every run (even -n) used
  // to overwrite it with the holder text; (b) a configured lockfile that is
  // a symlink at its last component.
  test::TestContext ctx;
  fs::PosixFs fs;
  test::write_file(ctx.path("outside"), "precious\n");
  test::make_dir(ctx.path("root/.rotator"));
  test::make_symlink(ctx.path("outside"), ctx.path("root/.rotator/lock"));
  auto dir = state::open_state_dir(fs, ctx.path("root/.rotator"), state::Create::no);
  REQUIRE(dir);
  auto lock = lock::LockFile::acquire_at(fs, dir->fd(), "lock", ctx.path("root/.rotator/lock"), 0,
                                         "command=rotator -n daily\n");
  REQUIRE_FALSE(lock);
  CHECK(lock.error().message() ==
        "lock file '" + ctx.path("root/.rotator/lock") +
            "' is a symlink; rotator never follows one there (move it away)");
  test::make_symlink(ctx.path("outside"), ctx.path("my.lock"));
  auto configured = lock::LockFile::acquire(fs, ctx.path("my.lock"), 0, "command=rotator daily\n");
  REQUIRE_FALSE(configured);
  CHECK(configured.error().message() ==
        "lock file '" + ctx.path("my.lock") +
            "' is a symlink; rotator never follows one there (move it away)");
  CHECK(test::read_file(ctx.path("outside")) == "precious\n");
  // A configured lockfile may live under a symlinked directory of the
  // user's choosing: only the last component is never followed.
  test::make_dir(ctx.path("locks"));
  test::make_symlink(ctx.path("locks"), ctx.path("locklink"));
  auto via_dir = lock::LockFile::acquire(fs, ctx.path("locklink/rotator.lock"), 0, "command=x\n");
  REQUIRE(via_dir);
  CHECK(test::exists(ctx.path("locks/rotator.lock")));
}

TEST_CASE("a lock file that is not a regular file is refused") {
  test::TestContext ctx;
  fs::PosixFs fs;
  REQUIRE(::mkfifo(ctx.path("fifo").c_str(), 0600) == 0);
  auto lock = lock::LockFile::acquire(fs, ctx.path("fifo"), 0, "command=x\n");
  REQUIRE_FALSE(lock);
  CHECK(lock.error().message() == "failed to open lock file '" + ctx.path("fifo") +
                                      "' (not a regular file): Invalid argument");
}

TEST_CASE("the lock is released when its holder goes away, even by a crash") {
  test::TestContext ctx;
  fs::PosixFs fs;
  std::string path = ctx.path("lock");
  pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    auto held = lock::LockFile::acquire(fs, path, 0, "command=child\n");
    _exit(held ? 9 : 1);  // dies holding the lock, without any cleanup
  }
  int status = 0;
  waitpid(child, &status, 0);
  REQUIRE(WEXITSTATUS(status) == 9);
  auto after = lock::LockFile::acquire(fs, path, 0, "command=parent\n");
  CHECK(after);
}

namespace {

// Waits (at most 20 s) until `path` exists: the handshake with a child.
bool wait_for_file(const std::string& path) {
  for (int i = 0; i < 400; ++i) {
    if (test::exists(path)) {
      return true;
    }
    usleep(50 * 1000);
  }
  return false;
}

}  // namespace

TEST_CASE("the holder message names the process really holding the lock") {
  // (a) A killed run leaves its holder text ("pid=OLD command=rotator
  // weekly") in the file; (b) another process, flock(1) here, then holds
  // the lock. The message used to name the dead run; it names flock.
  test::TestContext ctx;
  fs::PosixFs fs;
  std::string path = ctx.path("lock");
  pid_t dead = fork();
  REQUIRE(dead >= 0);
  if (dead == 0) {
    auto held = lock::LockFile::acquire(fs, path, 0, "command=rotator weekly\nstarted=then\n");
    _exit(held ? 9 : 1);  // killed: no destructor runs, the text stays
  }
  int status = 0;
  waitpid(dead, &status, 0);
  REQUIRE(WEXITSTATUS(status) == 9);
  REQUIRE(test::read_file(path).find(fmt::format("pid={}\n", dead)) == 0);
  std::string ready = ctx.path("ready"), release = ctx.path("release");
  pid_t holder = fork();
  REQUIRE(holder >= 0);
  if (holder == 0) {
    std::string script =
        "touch \"$1\"; n=0; while [ ! -e \"$2\" ] && [ $n -lt 400 ]; do sleep "
        "0.05; n=$((n+1)); done";
    execlp("flock", "flock", path.c_str(), "sh", "-c", script.c_str(), "holder", ready.c_str(),
           release.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  bool started = wait_for_file(ready);
  auto second = lock::LockFile::acquire(fs, path, 0, "command=rotator daily\n");
  test::write_file(release, "");
  waitpid(holder, &status, 0);
  if (!started && WEXITSTATUS(status) == 127) {
    MESSAGE("flock(1) is not installed: skipped");
    return;
  }
  REQUIRE(started);
  REQUIRE_FALSE(second);
  std::string msg = second.error().message();
  CHECK(msg.find(fmt::format("another process holds the lock '{}': pid {} (flock {} sh -c ", path,
                             holder, path)) == 0);
  CHECK(msg.find("(use --wait to wait for it)") != std::string::npos);
  CHECK(msg.find(fmt::format("pid {}", dead)) == std::string::npos);
  CHECK(msg.find("rotator weekly") == std::string::npos);
}

TEST_CASE("a rotator holding the lock in another process is named with its command") {
  // A real second process holds the flock and its holder text says it is a
  // dry run: the message names its pid and `rotator -n weekly`.
  test::TestContext ctx;
  fs::PosixFs fs;
  std::string path = ctx.path("lock");
  int to_child[2], to_parent[2];
  REQUIRE(pipe(to_child) == 0);
  REQUIRE(pipe(to_parent) == 0);
  pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    {
      auto held = lock::LockFile::acquire(
          fs, path, 0, "command=rotator -n weekly\nstarted=2026-11-22T02:00:00+0000\n");
      char c = held ? 'y' : 'n';
      (void)!write(to_parent[1], &c, 1);
      (void)!read(to_child[0], &c, 1);  // hold until the parent has looked
    }                                   // released as a run that ends releases it
    _exit(0);
  }
  char c = 0;
  REQUIRE(read(to_parent[0], &c, 1) == 1);
  REQUIRE(c == 'y');
  auto second = lock::LockFile::acquire(fs, path, 0, "command=rotator daily\n");
  (void)!write(to_child[1], "x", 1);
  int status = 0;
  waitpid(child, &status, 0);
  for (int fd : {to_child[0], to_child[1], to_parent[0], to_parent[1]}) {
    ::close(fd);
  }
  REQUIRE_FALSE(second);
  CHECK(second.error().message() ==
        fmt::format("another rotator run holds the lock '{}': pid {} (rotator -n weekly) since "
                    "2026-11-22T02:00:00+0000 (use --wait to wait for it)",
                    path, child));
  // The holder's text went with the lock when it ended normally.
  CHECK(test::read_file(path).empty());
}

TEST_CASE("--wait gives up after the given seconds") {
  test::TestContext ctx;
  fs::PosixFs fs;
  auto first = lock::LockFile::acquire(fs, ctx.path("lock"), 0, "command=a\nstarted=t\n");
  REQUIRE(first);
  auto second = lock::LockFile::acquire(fs, ctx.path("lock"), 1, "command=b\n");
  REQUIRE_FALSE(second);
  CHECK(second.error().message().find("(waited 1s)") != std::string::npos);
}

TEST_SUITE_END();

TEST_SUITE_BEGIN("state");

TEST_CASE("state round-trips through its text form, newlines included") {
  state::JobState st;
  st.last_start = Instant(std::chrono::seconds(1795000000));
  st.last_end = Instant(std::chrono::seconds(1795000060));
  st.last_result = state::Outcome::partial;
  st.last_summary = "two\nlines \\ backslash";
  st.last_failure = st.last_end;
  st.last_failure_message = "boom";
  st.resume["holding"] = "2026-11-22";
  st.last_relinked_files = 4;
  st.last_relinked_bytes = 8388608;
  st.relinked_files_total = 40;
  st.relinked_bytes_total = 83886080;
  st.relinked_since = st.last_start;
  state::JobState back = state::parse(state::serialize(st));
  CHECK(back.last_relinked_files == 4);
  CHECK(back.last_relinked_bytes == 8388608);
  CHECK(back.relinked_files_total == 40);
  CHECK(back.relinked_bytes_total == 83886080);
  CHECK(back.relinked_since == st.last_start);
  CHECK(back.last_start == st.last_start);
  CHECK(back.last_end == st.last_end);
  CHECK(back.last_result == state::Outcome::partial);
  CHECK(back.last_summary == st.last_summary);
  CHECK_FALSE(back.last_success);
  CHECK(back.last_failure == st.last_failure);
  CHECK(back.last_failure_message == "boom");
  CHECK(back.resume.at("holding") == "2026-11-22");
  // Not recorded (relink off): absent from the file, -1 when read back; 0 is a value.
  st.last_relinked_files = -1;
  st.last_relinked_bytes = -1;
  st.relinked_files_total = -1;
  st.relinked_bytes_total = -1;
  st.relinked_since.reset();
  std::string text = state::serialize(st);
  CHECK(text.find("last_relinked") == std::string::npos);
  CHECK(text.find("relinked_") == std::string::npos);
  CHECK(state::parse(text).last_relinked_files == -1);
  CHECK(state::parse(text).last_relinked_bytes == -1);
  st.last_relinked_files = 0;
  st.last_relinked_bytes = 0;
  back = state::parse(state::serialize(st));
  CHECK(back.last_relinked_files == 0);
  CHECK(back.last_relinked_bytes == 0);
}

TEST_CASE("save replaces the state atomically; a crash keeps the old state") {
  test::TestContext ctx;
  fs::PosixFs real;
  state::JobState a;
  a.last_result = state::Outcome::ok;
  a.last_summary = "first";
  REQUIRE(state::save(real, ctx.dir(), "job", a));
  state::JobState b = a;
  b.last_summary = "second";
  // Crash after each mutating call of save: the state read back is always
  // either the old or the new one, never torn or missing.
  for (long k = 1;; ++k) {
    fs::FaultFs faulty(real);
    faulty.crash_after(k);
    auto st = state::save(faulty, ctx.dir(), "job", b);
    auto loaded = state::load(real, ctx.dir(), "job");
    REQUIRE(loaded);
    CHECK((loaded->last_summary == "first" || loaded->last_summary == "second"));
    REQUIRE(state::save(real, ctx.dir(), "job", a));  // reset
    if (st) {
      break;  // completed within k calls: every crash point was covered
    }
  }
  auto missing = state::load(real, ctx.dir(), "other");
  REQUIRE(missing);
  CHECK(missing->last_result == state::Outcome::none);
}

TEST_CASE("a state save that fails for a full disk is recorded, and cleared by the next save") {
  // (a) The last run's state is "running" (saved at its start); (b) its final
  // save fails with ENOSPC on the temporary's write. The next load must say
  // so (it used to read as a run killed while running); (c) the next
  // successful save removes the record.
  test::TestContext ctx;
  fs::PosixFs real;
  state::JobState running;
  running.last_result = state::Outcome::running;
  REQUIRE(state::save(real, ctx.dir(), "job", running));
  state::JobState done = running;
  done.last_result = state::Outcome::ok;
  fs::FaultFs full(real);
  full.fail_at(1, ENOSPC, "write_file");
  auto saved = state::save(full, ctx.dir(), "job", done);
  REQUIRE_FALSE(saved);
  CHECK(saved.error().sys_errno == ENOSPC);
  CHECK_FALSE(test::exists(ctx.path("state/job.state.tmp")));
  auto loaded = state::load(real, ctx.dir(), "job");
  REQUIRE(loaded);
  CHECK(loaded->last_result == state::Outcome::running);
  CHECK(loaded->unsaved == "No space left on device");
  CHECK(loaded->defect.empty());
  REQUIRE(state::save(real, ctx.dir(), "job", done));
  auto after = state::load(real, ctx.dir(), "job");
  REQUIRE(after);
  CHECK(after->last_result == state::Outcome::ok);
  CHECK(after->unsaved.empty());
  CHECK_FALSE(test::exists(ctx.path("state/job.unsaved")));
}

TEST_CASE("an empty or corrupt state file is a defect, never a state that was never run") {
  CHECK(state::parse("").defect == "is empty");
  CHECK(state::parse("\n  \n").defect == "is empty");
  CHECK(state::parse("# rotator job state\nlast_result=ok\nlast_start=12\n").defect.empty());
  CHECK(state::parse("last_result=none\n").defect.empty());
  CHECK(state::parse("last_start=12\n").defect == "is corrupt (no last_result)");
  CHECK(state::parse("last_result=ok\nlast_summ").defect ==
        "is corrupt (line 2: 'last_summ' is not KEY=VALUE)");
  CHECK(state::parse("last_result=bogus\n").defect ==
        "is corrupt (line 1: unknown last_result 'bogus')");
  CHECK(state::parse("last_result=ok\nlast_success=12x\n").defect ==
        "is corrupt (line 2: bad time '12x')");
  // What could be read is kept.
  auto partial = state::parse("last_result=ok\nlast_success=1795000000\n\x01\x02garbage");
  CHECK(partial.last_result == state::Outcome::ok);
  CHECK(partial.last_success == Instant(std::chrono::seconds(1795000000)));
  CHECK(partial.defect == "is corrupt (line 3: '\\x01\\x02garbage' is not KEY=VALUE)");
  test::TestContext ctx;
  fs::PosixFs fs;
  test::write_file(ctx.path("state/job.state"), "");
  auto loaded = state::load(fs, ctx.dir(), "job");
  REQUIRE(loaded);
  CHECK(loaded->defect == "state file '" + ctx.path("state/job.state") + "' is empty");
}

TEST_CASE("a .rotator that is a symlink is never written through") {
  // root/.rotator -> elsewhere: state files used to land in its target.
  test::TestContext ctx;
  fs::PosixFs fs;
  test::make_dir(ctx.path("root"));
  test::make_dir(ctx.path("elsewhere"));
  test::make_symlink(ctx.path("elsewhere"), ctx.path("root/.rotator"));
  state::JobState st;
  st.last_result = state::Outcome::ok;
  auto saved = state::save(fs, ctx.path("root/.rotator"), "job", st);
  REQUIRE_FALSE(saved);
  std::string why = "'" + ctx.path("root/.rotator") +
                    "' is a symlink or not a directory: rotator keeps its state there and never "
                    "follows a symlink; move it away";
  CHECK(saved.error().message() == why);
  auto loaded = state::load(fs, ctx.path("root/.rotator"), "job");
  REQUIRE_FALSE(loaded);
  CHECK(loaded.error().message() == why);
  CHECK(test::list_tree(ctx.path("elsewhere")).empty());
  // A symlinked state file is refused too, its target never read as state.
  test::TestContext ctx2;
  test::make_dir(ctx2.path("root/.rotator/state"));
  test::write_file(ctx2.path("other"), "last_result=ok\n");
  test::make_symlink(ctx2.path("other"), ctx2.path("root/.rotator/state/job.state"));
  auto linked = state::load(fs, ctx2.path("root/.rotator"), "job");
  REQUIRE_FALSE(linked);
  CHECK(linked.error().message() == "state file '" + ctx2.path("root/.rotator/state/job.state") +
                                        "' is not a regular file (a symlink); move it away");
}

TEST_SUITE_END();
