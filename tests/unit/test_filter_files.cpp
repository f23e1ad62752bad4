// Rules and merge files that are not small regular files (issue 7 item 5):
// a fifo must not block, /dev/zero must not spin, a directory must not be
// an empty rule set (the backup would select everything), NUL bytes must
// not cut a rule short.
#include <doctest/doctest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

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
  CHECK(load_error(ctx) == main +
                               ":1: failed to open merge file '/dev/zero': not a regular "
                               "file: a character device");
}

namespace {

// Refuses read_file of names equal to `name` with EACCES (a file the user
// cannot read; tests run as root, which chmod cannot stop).
class NoReadFs final : public fs::FsWrapper {
 public:
  NoReadFs(fs::Fs& target, std::string name) : FsWrapper(target), m_name(std::move(name)) {}
  Result<std::string> read_file(int d, const std::string& n) override {
    if (n == m_name) {
      return sys_error(EACCES, "open", n);
    }
    return FsWrapper::read_file(d, n);
  }

 private:
  std::string m_name;
};

// Walks the source root and its subdirectory "docs" as the engine would.
Status walk_docs(fs::Fs& fs, RuleFilter& f, const std::string& src) {
  auto root = fs::open_dir(fs, fs::k_cwd, src);
  REQUIRE(root);
  TRY(f.enter_dir(fs, root->fd(), ""));
  auto docs = fs::open_dir(fs, root->fd(), "docs");
  REQUIRE(docs);
  Status st = f.enter_dir(fs, docs->fd(), "docs");
  if (st) {
    f.leave_dir();
  }
  f.leave_dir();
  return st;
}

}  // namespace

TEST_CASE("a per-directory rule file that exists but cannot be read stops the walk, naming it") {
  // (a) missing: ignored (as rsync); (b) a fifo, a directory: refused with
  // the path and why, without blocking; (c) EACCES: refused; (d) with the
  // read cache on (the backup job's validation walk) the same message.
  test::TestContext ctx;
  std::string src = ctx.path("src");
  test::write_file(src + "/docs/a.txt", "a");
  test::write_file(ctx.path("main.rules"), "dir-merge .rsync-filter\n");
  fs::PosixFs real;
  {
    auto f = RuleFilter::load(real, ctx.path("main.rules"), src);
    REQUIRE(f);
    CHECK(walk_docs(real, **f, src));
  }
  std::string path = src + "/docs/.rsync-filter";
  REQUIRE(::mkfifo(path.c_str(), 0600) == 0);
  for (bool cache : {false, true}) {
    CAPTURE(cache);
    auto f = RuleFilter::load(real, ctx.path("main.rules"), src);
    REQUIRE(f);
    if (cache) {
      (*f)->enable_read_cache();
    }
    Status st = walk_docs(real, **f, src);
    REQUIRE_FALSE(st);
    CHECK(st.error().message() ==
          "cannot read per-directory rule file '" + path + "': not a regular file: a fifo");
  }
  REQUIRE(::unlink(path.c_str()) == 0);
  test::make_dir(path);
  {
    auto f = RuleFilter::load(real, ctx.path("main.rules"), src);
    REQUIRE(f);
    Status st = walk_docs(real, **f, src);
    REQUIRE_FALSE(st);
    CHECK(st.error().message() ==
          "cannot read per-directory rule file '" + path + "': not a regular file: a directory");
  }
  REQUIRE(::rmdir(path.c_str()) == 0);
  test::write_file(src + "/.rsync-filter", "- *.tmp\n");
  {
    NoReadFs noread(real, ".rsync-filter");
    auto f = RuleFilter::load(noread, ctx.path("main.rules"), src);
    REQUIRE(f);
    Status st = walk_docs(noread, **f, src);
    REQUIRE_FALSE(st);
    CHECK(st.error().message() ==
          "cannot read per-directory rule file '" + src + "/.rsync-filter': Permission denied");
  }
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
  CHECK(load_error(ctx) == ctx.path("main.rules") +
                               ":1: failed to open merge file 'big.rules': "
                               "larger than 1 MiB");
  test::write_file(ctx.path("main.rules"), big);
  CHECK(load_error(ctx) ==
        "failed to read rules file '" + ctx.path("main.rules") + "': larger than 1 MiB");
}

TEST_CASE("a NUL byte in a rule is an error, not a silent cut") {
  test::TestContext ctx;
  test::make_dir(ctx.path("src"));
  test::write_file(ctx.path("main.rules"), std::string("+ /keep\n- *.t\0mp\n", 17));
  CHECK(load_error(ctx) == ctx.path("main.rules") + ":2: NUL byte in rule");
}

TEST_SUITE_END();
