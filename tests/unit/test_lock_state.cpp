#include <doctest/doctest.h>

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
  auto first = lock::LockFile::acquire(fs, path, 0, "command=rotator weekly\nstarted=2026-11-22T02:00:00+0000\n");
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
  state::JobState back = state::parse(state::serialize(st));
  CHECK(back.last_start == st.last_start);
  CHECK(back.last_end == st.last_end);
  CHECK(back.last_result == state::Outcome::partial);
  CHECK(back.last_summary == st.last_summary);
  CHECK_FALSE(back.last_success);
  CHECK(back.last_failure == st.last_failure);
  CHECK(back.last_failure_message == "boom");
  CHECK(back.resume.at("holding") == "2026-11-22");
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

TEST_SUITE_END();
