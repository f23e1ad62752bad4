// Rules and merge files that are not small regular files (issue 7 item 5):
// a fifo must not block, /dev/zero must not spin, a directory must not be
// an empty rule set (the backup would select everything), NUL bytes must
// not cut a rule short.
#include <doctest/doctest.h>

#include <sys/stat.h>

#include <string>

#include "filter/filter.hpp"
#include "fs/posix_fs.hpp"
#include "testutil.hpp"

using namespace rotator;
using namespace rotator::filter;

TEST_SUITE_BEGIN("filter files");

namespace {

std::string load_error(const test::TestContext& ctx) {
  fs::PosixFs fs;
  auto f = RuleFilter::load(fs, ctx.path("main.rules"), ctx.path("src"));
  REQUIRE_FALSE(f);
  return f.error().message();
}

}  // namespace

TEST_CASE("a merge of a directory, fifo or device is refused at the line that names it") {
  test::TestContext ctx;
  test::make_dir(ctx.path("src"));
  test::make_dir(ctx.path("adir"));
  REQUIRE(::mkfifo(ctx.path("fifo").c_str(), 0600) == 0);
  std::string main = ctx.path("main.rules");
  test::write_file(main, "- *.tmp\nmerge " + ctx.path("adir") + "\n");
  CHECK(load_error(ctx) == main + ":2: failed to open merge file '" + ctx.path("adir") +
                               "': not a regular file: a directory");
  test::write_file(main, "# fifo\n\n. " + ctx.path("fifo") + "\n");
  CHECK(load_error(ctx) == main + ":3: failed to open merge file '" + ctx.path("fifo") +
                               "': not a regular file: a fifo");
  test::write_file(main, "merge /dev/zero\n");
  CHECK(load_error(ctx) == main + ":1: failed to open merge file '/dev/zero': not a regular "
                               "file: a character device");
}

TEST_CASE("a rules or merge file over 1 MiB is refused") {
  test::TestContext ctx;
  test::make_dir(ctx.path("src"));
  std::string big;
  while (big.size() <= (1u << 20)) {
    big += "- /some/long/pattern/that/fills/the/file/quickly/*.bak\n";
  }
  test::write_file(ctx.path("big.rules"), big);
  test::write_file(ctx.path("main.rules"), "merge big.rules\n");
  CHECK(load_error(ctx) == ctx.path("main.rules") + ":1: failed to open merge file 'big.rules': "
                                                    "larger than 1 MiB");
  test::write_file(ctx.path("main.rules"), big);
  CHECK(load_error(ctx) == "failed to read rules file '" + ctx.path("main.rules") +
                               "': larger than 1 MiB");
}

TEST_CASE("a NUL byte in a rule is an error, not a silent cut") {
  test::TestContext ctx;
  test::make_dir(ctx.path("src"));
  test::write_file(ctx.path("main.rules"), std::string("+ /keep\n- *.t\0mp\n", 17));
  CHECK(load_error(ctx) == ctx.path("main.rules") + ":2: NUL byte in rule");
}

TEST_SUITE_END();
