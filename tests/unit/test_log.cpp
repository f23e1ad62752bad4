#include <doctest/doctest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include <fmt/format.h>

#include "log/log.hpp"
#include "testutil.hpp"

using namespace rotator;

namespace {

// Runs `body` with fd 2 redirected to `path`; returns what was written.
template <typename F>
std::string capture_stderr(const std::string& path, F body) {
  std::fflush(stderr);
  int saved = ::dup(2);
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  REQUIRE(fd >= 0);
  ::dup2(fd, 2);
  body(fd);
  std::fflush(stderr);
  ::dup2(saved, 2);
  ::close(saved);
  ::close(fd);
  return test::read_file(path);
}

}  // namespace

TEST_SUITE_BEGIN("log");

TEST_CASE("stream_is_journal: JOURNAL_STREAM must name the descriptor's device and inode") {
  test::TestContext ctx;
  test::write_file(ctx.path("f"), "");
  int fd = ::open(ctx.path("f").c_str(), O_RDONLY | O_CLOEXEC);
  REQUIRE(fd >= 0);
  struct stat st {};
  REQUIRE(::fstat(fd, &st) == 0);
  std::string good = fmt::format("{}:{}", st.st_dev, st.st_ino);
  CHECK(log::stream_is_journal(good.c_str(), fd));
  CHECK_FALSE(log::stream_is_journal(fmt::format("{}:{}", st.st_dev, st.st_ino + 1).c_str(), fd));
  CHECK_FALSE(log::stream_is_journal((good + "x").c_str(), fd));
  CHECK_FALSE(log::stream_is_journal("", fd));
  CHECK_FALSE(log::stream_is_journal(nullptr, fd));
  ::close(fd);
}

TEST_CASE("journal mode: <N> priority prefixes, info included, no time stamp or program name") {
  test::TestContext ctx;
  std::string out = capture_stderr(ctx.path("err"), [](int) {
    log::Logger logger;
    logger.set_journal(true);
    logger.error("e {}", 1);
    logger.warning("w");
    logger.info("i\rwith a carriage return");
    logger.debug("d");  // not without -v -v
  });
  CHECK(out == "<3>error: e 1\n<4>warning: w\n<6>i\\rwith a carriage return\n");
}

TEST_CASE("syslog unreachable: reported once as a warning, then logging goes on") {
  test::TestContext ctx;
  log::Logger logger;
  std::string out = capture_stderr(ctx.path("err"), [&](int) {
    logger.enable_syslog(ctx.path("no-such-socket"));
    for (int i = 0; i < 5; ++i) {
      logger.warning("after {}", i);
    }
  });
  CHECK(logger.warnings() == 6);
  size_t first = out.find("syslog = yes, but syslog cannot be reached at '" +
                          ctx.path("no-such-socket") + "': No such file or directory");
  CHECK(first != std::string::npos);
  CHECK(out.find("syslog = yes, but", first + 1) == std::string::npos);
  CHECK(out.find("rotator: warning: after 4") != std::string::npos);
}

TEST_SUITE_END();
