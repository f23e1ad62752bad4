#include <doctest/doctest.h>

#include <cerrno>

#include "fs/fault_fs.hpp"
#include "fs/posix_fs.hpp"
#include "fs/tree.hpp"
#include "testutil.hpp"

using namespace rotator;

namespace {

// A tree wide enough for the parallel path: 30 top dirs x 5 subdirs x 4 files,
// plus files at every level and a symlink to a directory outside the tree.
void build(const test::TestContext& ctx) {
  for (int i = 0; i < 30; ++i) {
    std::string top = ctx.path("victim/d" + std::to_string(i));
    test::write_file(top + "/top.txt", "t");
    for (int j = 0; j < 5; ++j) {
      for (int k = 0; k < 4; ++k) {
        test::write_file(top + "/e" + std::to_string(j) + "/f" + std::to_string(k), "x");
      }
    }
  }
  test::write_file(ctx.path("victim/root.txt"), "r");
  test::write_file(ctx.path("outside/keep.txt"), "keep");
  test::make_symlink(ctx.path("outside"), ctx.path("victim/d3/link-out"));
}

}  // namespace

TEST_SUITE_BEGIN("fs::tree");

TEST_CASE("remove_tree removes everything, in parallel with PosixFs, never following symlinks") {
  test::TestContext ctx;
  build(ctx);
  fs::PosixFs fs;
  REQUIRE(fs.concurrent_safe());
  fs::RemoveStats stats;
  CHECK(fs::remove_tree(fs, fs::k_cwd, ctx.path("victim"), "victim", &stats));
  CHECK_FALSE(test::exists(ctx.path("victim")));
  CHECK(test::read_file(ctx.path("outside/keep.txt")) == "keep");
  CHECK(stats.files == 30 * (1 + 5 * 4) + 1 + 1);
  CHECK(stats.dirs == 1 + 30 + 30 * 5);
  // A missing tree is success: an interrupted removal resumes.
  CHECK(fs::remove_tree(fs, fs::k_cwd, ctx.path("victim"), "victim"));
}

TEST_CASE("remove_tree is sequential under FaultFs and stops at the first error") {
  test::TestContext ctx;
  build(ctx);
  fs::PosixFs real;
  fs::FaultFs faulty(real);
  CHECK_FALSE(faulty.concurrent_safe());
  faulty.fail_at(50, EIO);
  auto st = fs::remove_tree(faulty, fs::k_cwd, ctx.path("victim"), "victim");
  REQUIRE_FALSE(st);
  CHECK(st.error().sys_errno == EIO);
  CHECK(st.error().message().rfind("failed to remove", 0) == 0);
  CHECK(faulty.calls() == 50);  // nothing after the failure
  CHECK(test::exists(ctx.path("victim")));
  CHECK(fs::remove_tree(real, fs::k_cwd, ctx.path("victim"), "victim"));  // resumes
  CHECK_FALSE(test::exists(ctx.path("victim")));
  CHECK(test::exists(ctx.path("outside/keep.txt")));
}

// Stateless, so safe from several threads: fails every unlink of one name.
class FailOneName final : public fs::FsWrapper {
 public:
  FailOneName(fs::Fs& t, std::string name) : FsWrapper(t), m_name(std::move(name)) {}
  Status unlink(int d, const std::string& n) override {
    if (n == m_name) {
      return sys_error(EIO, "remove", n);
    }
    return FsWrapper::unlink(d, n);
  }
  bool concurrent_safe() const override { return true; }

 private:
  std::string m_name;
};

TEST_CASE("an error in one parallel worker fails the removal, naming the path") {
  test::TestContext ctx;
  build(ctx);
  test::write_file(ctx.path("victim/d12/e3/poison"), "p");
  fs::PosixFs real;
  FailOneName fs(real, "poison");
  auto st = fs::remove_tree(fs, fs::k_cwd, ctx.path("victim"), "victim");
  REQUIRE_FALSE(st);
  CHECK(st.error().message() == "failed to remove 'victim/d12/e3/poison': Input/output error");
  CHECK(test::exists(ctx.path("victim/d12/e3/poison")));
  CHECK(fs::remove_tree(real, fs::k_cwd, ctx.path("victim"), "victim"));  // resumes
  CHECK_FALSE(test::exists(ctx.path("victim")));
}

TEST_SUITE_END();
