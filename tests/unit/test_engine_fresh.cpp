#include <doctest/doctest.h>

#include <sys/stat.h>

#include <atomic>

#include "engine/mirror.hpp"
#include "fs/fault_fs.hpp"
#include "fs/posix_fs.hpp"
#include "testutil.hpp"

using namespace rotator;

namespace {

void build_source(const test::TestContext& ctx) {
  for (int i = 0; i < 12; ++i) {
    std::string d = ctx.path("src/d" + std::to_string(i));
    for (int j = 0; j < 3; ++j) {
      test::write_file(d + "/sub" + std::to_string(j) + "/f", "x" + std::to_string(i));
    }
    test::write_file(d + "/top", "t");
    ::chmod(d.c_str(), 0750);
  }
  test::write_file(ctx.path("src/root-file"), "r");
  test::make_symlink("root-file", ctx.path("src/link"));
  test::make_dir(ctx.path("src/empty"));
}

// Counts list_dir calls; as concurrent-safe as the PosixFs below it.
class CountingFs : public fs::FsWrapper {
 public:
  using fs::FsWrapper::FsWrapper;
  Result<std::vector<fs::DirEntry>> list_dir(int d) override {
    ++listings;
    return fs::FsWrapper::list_dir(d);
  }
  bool concurrent_safe() const override { return true; }
  std::atomic<long> listings{0};
};

}  // namespace

TEST_SUITE_BEGIN("engine::mirror");

TEST_CASE("mirror_fresh (parallel) builds exactly what mirror builds") {
  test::TestContext ctx;
  build_source(ctx);
  test::make_dir(ctx.path("seq"));
  test::make_dir(ctx.path("par"));
  fs::PosixFs fs;
  REQUIRE(fs.concurrent_safe());
  auto seq = engine::mirror(fs, ctx.path("src"), ctx.path("seq"), {});
  REQUIRE(seq);
  std::vector<std::string> plan;
  engine::MirrorOptions opt;
  opt.plan = [&](std::string_view l) { plan.emplace_back(l); };
  auto par = engine::mirror_fresh(fs, ctx.path("src"), ctx.path("par"), opt);
  REQUIRE(par);
  // Same names, types, modes and mtimes; every file the source's inode.
  CHECK(test::list_tree(ctx.path("par"), test::WithInodes::no) ==
        test::list_tree(ctx.path("seq"), test::WithInodes::no));
  for (auto& [rel, ino] : test::inodes_under(ctx.path("par"))) {
    CAPTURE(rel);
    CHECK(ino == test::inode_of(ctx.path("src/" + rel)));
  }
  CHECK(par->linked == seq->linked);
  CHECK(par->unchanged == 0);
  CHECK(par->dirs_created == seq->dirs_created);
  CHECK(par->dirs_meta_set == seq->dirs_meta_set);
  CHECK(par->copied_emlink == seq->copied_emlink);
  CHECK(par->archived == 0);
  // The top level in walk order; the subtrees report nothing (parallel).
  CHECK(plan == std::vector<std::string>{
                    "mkdir d0",   "meta d0",   "mkdir d1",       "meta d1",  "mkdir d10",
                    "meta d10",   "mkdir d11", "meta d11",       "mkdir d2", "meta d2",
                    "mkdir d3",   "meta d3",   "mkdir d4",       "meta d4",  "mkdir d5",
                    "meta d5",    "mkdir d6",  "meta d6",        "mkdir d7", "meta d7",
                    "mkdir d8",   "meta d8",   "mkdir d9",       "meta d9",  "mkdir empty",
                    "meta empty", "link link", "link root-file", "meta ."});
}

TEST_CASE("mirror_fresh lists every source directory once and no target directory") {
  test::TestContext ctx;
  build_source(ctx);
  test::make_dir(ctx.path("t"));
  fs::PosixFs real;
  CountingFs counting(real);
  auto r = engine::mirror_fresh(counting, ctx.path("src"), ctx.path("t"), {});
  REQUIRE(r);
  // 12 top directories with 3 subdirectories each, "empty" and the root:
  // 50 source directories, the root listed once more to find the subtrees.
  // (A second mirror() pass over both trees listed 50 + 50 more.)
  CHECK(counting.listings.load() == 51);
  CHECK(test::list_tree(ctx.path("t"), test::WithInodes::no) ==
        test::list_tree(ctx.path("src"), test::WithInodes::no));
}

TEST_CASE("mirror_fresh stays sequential under FaultFs") {
  test::TestContext ctx;
  build_source(ctx);
  test::make_dir(ctx.path("t"));
  fs::PosixFs real;
  fs::FaultFs faulty(real);
  REQUIRE_FALSE(faulty.concurrent_safe());
  auto r = engine::mirror_fresh(faulty, ctx.path("src"), ctx.path("t"), {});
  REQUIRE(r);
  // The journal is exactly the single ordered walk of mirror() (names are
  // relative to directory descriptors, so the two targets journal alike),
  // not a batch of top-level mkdirs followed by threads.
  REQUIRE_FALSE(faulty.journal().empty());
  fs::FaultFs again(real);
  test::make_dir(ctx.path("t2"));
  auto r2 = engine::mirror(again, ctx.path("src"), ctx.path("t2"), {});
  REQUIRE(r2);
  auto strip = [&](std::vector<std::string> j, const std::string& root) {
    for (auto& line : j) {
      for (size_t at; (at = line.find(root)) != std::string::npos;) {
        line.replace(at, root.size(), "T");
      }
    }
    return j;
  };
  CHECK(strip(faulty.journal(), ctx.path("t")) == strip(again.journal(), ctx.path("t2")));
}

TEST_SUITE_END();
