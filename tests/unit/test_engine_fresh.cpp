#include <doctest/doctest.h>

#include <sys/stat.h>

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
  CHECK_FALSE(plan.empty());
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
