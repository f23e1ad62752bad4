#include <doctest/doctest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <filesystem>
#include <map>

#include "engine/mirror.hpp"
#include "engine/sink.hpp"
#include "fs/fault_fs.hpp"
#include "fs/posix_fs.hpp"
#include "test_engine_helpers.hpp"
#include "testutil.hpp"

using namespace rotator;
using namespace rotator::test;
using engine::MirrorOptions;
using rotator::PruneEmpty;

namespace {

struct stat stat_of(const std::string& path) {
  struct stat st {};
  ::lstat(path.c_str(), &st);
  return st;
}

bool journal_mentions(const fs::FaultFs& fs, const std::string& needle) {
  for (const std::string& line : fs.journal()) {
    if (line.find(needle) != std::string::npos) {
      return true;
    }
  }
  return false;
}

long journal_count(const fs::FaultFs& fs, const std::string& prefix) {
  return std::count_if(fs.journal().begin(), fs.journal().end(),
                       [&](const std::string& l) { return l.rfind(prefix, 0) == 0; });
}

// Counts lstat calls of named entries (not of a directory's own
// descriptor), in all and by name.
class EntryStatCountingFs final : public fs::FsWrapper {
 public:
  using FsWrapper::FsWrapper;
  Result<fs::Stat> lstat(int d, const std::string& n) override {
    if (!n.empty()) {
      ++entry_stats;
      ++by_name[n];
    }
    return FsWrapper::lstat(d, n);
  }
  long entry_stats = 0;
  std::map<std::string, long> by_name;
};

long plan_count(const std::vector<std::string>& plan, const std::string& action) {
  return std::count_if(plan.begin(), plan.end(),
                       [&](const std::string& l) { return l.rfind(action + " ", 0) == 0; });
}

}  // namespace

TEST_SUITE_BEGIN("engine::mirror");

TEST_CASE("first build into an empty target hard-links every entry and copies directory metadata") {
  TestContext ctx;
  Paths p(ctx);
  make_dir(p.backup);
  make_dir(p.holding);
  write_file(p.clone + "/a.txt", "a");
  write_file(p.clone + "/d/b.txt", "b");
  write_file(p.clone + "/d/e/c.txt", "c");
  make_symlink("../a.txt", p.clone + "/d/link");
  make_symlink("/nonexistent/target", p.clone + "/dangling");
  REQUIRE(::mkfifo((p.clone + "/fifo").c_str(), 0640) == 0);
  make_dir(p.clone + "/emptydir");
  REQUIRE(::chmod((p.clone + "/d").c_str(), 0750) == 0);
  REQUIRE(::chmod((p.clone + "/d/e").c_str(), 0711) == 0);
  set_tree_mtimes(p.clone, 1234567890);
  set_mtime(p.clone, 1111111111);

  fs::PosixFs real;
  fs::FaultFs fs(real);
  auto run = run_mirror(fs, p, display_options());
  REQUIRE(run.result);
  CHECK(run.result->linked == 6);
  CHECK(run.result->dirs_created == 3);
  CHECK(run.result->archived == 0);
  CHECK(run.result->copied_emlink == 0);
  // Same names, types, modes, times; every non-directory is S's inode.
  CHECK(list_tree(p.backup, WithInodes::no) == list_tree(p.clone, WithInodes::no));
  CHECK(not_linked_to_source(p.clone, p.backup).empty());
  CHECK(inodes_under(p.backup).size() == 6);
  CHECK(inode_of(p.backup + "/fifo") == inode_of(p.clone + "/fifo"));
  CHECK(inode_of(p.backup + "/d/link") == inode_of(p.clone + "/d/link"));
  CHECK(S_ISLNK(stat_of(p.backup + "/dangling").st_mode));
  CHECK((stat_of(p.backup + "/d").st_mode & 07777) == 0750);
  CHECK(stat_of(p.backup + "/d/e").st_mtim.tv_sec == 1234567890);
  CHECK(stat_of(p.backup).st_mtim.tv_sec == 1111111111);
  // Nothing displaced: no sink folder, and no stat-and-copy anywhere.
  CHECK(dir_names(p.holding).empty());
  CHECK(journal_count(fs, "copy_data") == 0);
  CHECK(journal_count(fs, "link") == 6);
}

TEST_CASE("second run archives changed, deleted and type-changed entries and links the new ones") {
  TestContext ctx;
  Paths p(ctx);
  make_dir(p.backup);
  make_dir(p.holding);
  write_file(p.clone + "/same.txt", "same");
  write_file(p.clone + "/changed.txt", "v1");
  write_file(p.clone + "/deleted.txt", "del");
  write_file(p.clone + "/dir/inner.txt", "inner");
  write_file(p.clone + "/olddir/o1.txt", "o1");
  write_file(p.clone + "/olddir/sub/o2.txt", "o2");
  write_file(p.clone + "/f2d", "file becoming dir");
  write_file(p.clone + "/d2f/x.txt", "dir becoming file");
  fs::PosixFs real;
  REQUIRE(run_mirror(real, p, display_options()).result);
  auto old_t = all_inodes(p.backup);

  rewrite_file(p.clone + "/changed.txt", "v2");
  std::filesystem::remove(p.clone + "/deleted.txt");
  std::filesystem::remove_all(p.clone + "/olddir");
  std::filesystem::remove(p.clone + "/f2d");
  write_file(p.clone + "/f2d/now.txt", "now a dir");
  std::filesystem::remove_all(p.clone + "/d2f");
  write_file(p.clone + "/d2f", "now a file");
  write_file(p.clone + "/added.txt", "added");
  ino_t same_ino = inode_of(p.backup + "/same.txt");

  fs::FaultFs fs(real);
  auto run = run_mirror(fs, p, display_options());
  REQUIRE(run.result);
  CHECK(run.folders == std::vector<std::string>{"D"});
  // T mirrors S again.
  CHECK(list_tree(p.backup, WithInodes::no) == list_tree(p.clone, WithInodes::no));
  CHECK(not_linked_to_source(p.clone, p.backup).empty());
  CHECK(inode_of(p.backup + "/same.txt") == same_ino);
  // The displaced entries are in the sink, same inodes, same relative paths.
  CHECK(inode_of(p.sink() + "/changed.txt") == old_t["changed.txt"]);
  CHECK(read_file(p.sink() + "/changed.txt") == "v1");
  CHECK(inode_of(p.sink() + "/deleted.txt") == old_t["deleted.txt"]);
  CHECK(inode_of(p.sink() + "/olddir") == old_t["olddir"]);
  CHECK(inode_of(p.sink() + "/olddir/sub/o2.txt") == old_t["olddir/sub/o2.txt"]);
  CHECK(inode_of(p.sink() + "/f2d") == old_t["f2d"]);
  CHECK(inode_of(p.sink() + "/d2f") == old_t["d2f"]);
  CHECK(inode_of(p.sink() + "/d2f/x.txt") == old_t["d2f/x.txt"]);
  CHECK(run.result->archived == 5);
  // A deleted directory moves with one rename; nothing below it is touched.
  long olddir_calls =
      std::count_if(fs.journal().begin(), fs.journal().end(),
                    [](const std::string& l) { return l.find("olddir") != std::string::npos; });
  CHECK(olddir_calls == 1);
  CHECK(journal_mentions(fs, "rename olddir -> olddir"));
  CHECK_FALSE(journal_mentions(fs, "o1.txt"));
  CHECK_FALSE(journal_mentions(fs, "o2.txt"));
  // Archive before create: the old f2d leaves before the new f2d is made.
  auto pos = [&](const std::string& needle) {
    auto it = std::find_if(fs.journal().begin(), fs.journal().end(), [&](const std::string& l) {
      return l.find(needle) != std::string::npos;
    });
    return it - fs.journal().begin();
  };
  CHECK(pos("rename f2d -> f2d") < pos("mkdir f2d"));
  CHECK(pos("rename d2f -> d2f") < pos("link d2f -> d2f"));
  CHECK(pos("rename changed.txt") < pos("link changed.txt"));
}

TEST_CASE("unchanged entries are not touched: no call names them, inode and ctime stay") {
  TestContext ctx;
  Paths p(ctx);
  make_dir(p.backup);
  make_dir(p.holding);
  write_file(p.clone + "/dir/untouched.txt", "u");
  write_file(p.clone + "/dir/other.txt", "o");
  make_symlink("untouched.txt", p.clone + "/dir/untouched-link");
  fs::PosixFs real;
  REQUIRE(run_mirror(real, p, display_options()).result);
  struct stat before = stat_of(p.backup + "/dir/untouched.txt");
  struct stat link_before = stat_of(p.backup + "/dir/untouched-link");
  ::usleep(20000);
  rewrite_file(p.clone + "/dir/other.txt", "o2");

  fs::FaultFs fs(real);
  auto run = run_mirror(fs, p, display_options());
  REQUIRE(run.result);
  CHECK(run.result->unchanged == 2);
  CHECK(run.result->linked == 1);
  CHECK_FALSE(fs.journal().empty());
  CHECK_FALSE(journal_mentions(fs, "untouched"));
  struct stat after = stat_of(p.backup + "/dir/untouched.txt");
  struct stat link_after = stat_of(p.backup + "/dir/untouched-link");
  CHECK(after.st_ino == before.st_ino);
  CHECK(after.st_ctim.tv_sec == before.st_ctim.tv_sec);
  CHECK(after.st_ctim.tv_nsec == before.st_ctim.tv_nsec);
  CHECK(link_after.st_ctim.tv_nsec == link_before.st_ctim.tv_nsec);
}

TEST_CASE("a rerun without changes stats directories only, never an unchanged entry") {
  // Counts lstat calls by kind: "" (a directory's own descriptor) or a name.
  class CountingFs final : public fs::FsWrapper {
   public:
    using FsWrapper::FsWrapper;
    Result<fs::Stat> lstat(int d, const std::string& n) override {
      ++(n.empty() ? dir_stats : entry_stats);
      return FsWrapper::lstat(d, n);
    }
    long dir_stats = 0;
    long entry_stats = 0;
  };
  TestContext ctx;
  Paths p(ctx);
  make_dir(p.backup);
  make_dir(p.holding);
  for (int i = 0; i < 20; ++i) {
    write_file(p.clone + "/d" + std::to_string(i % 4) + "/f" + std::to_string(i), "x");
  }
  make_symlink("d0", p.clone + "/lnk");
  fs::PosixFs real;
  REQUIRE(run_mirror(real, p, display_options()).result);
  auto listed = real.list_dir(fs::open_dir(real, fs::k_cwd, p.clone)->fd());
  REQUIRE(listed);
  if (std::any_of(listed->begin(), listed->end(),
                  [](const fs::DirEntry& e) { return e.type == fs::FileType::unknown; })) {
    MESSAGE("skipped: this filesystem gives no d_type, so entries must be stat'ed");
    return;
  }
  CountingFs counting(real);
  auto run = run_mirror(counting, p, display_options());
  REQUIRE(run.result);
  CHECK(run.result->unchanged == 21);
  CHECK(counting.entry_stats == 0);
  CHECK(counting.dir_stats == 2 * 5);  // S and T, root and d0..d3
}

TEST_CASE("CountBytes::yes sums the sizes of what is linked, one lstat per linked entry") {
  using CountingFs = EntryStatCountingFs;
  TestContext ctx;
  Paths p(ctx);
  make_dir(p.backup);
  make_dir(p.holding);
  write_file(p.clone + "/a", std::string(100, 'a'));
  write_file(p.clone + "/d/b", std::string(2000, 'b'));
  write_file(p.clone + "/d/empty", "");
  make_symlink("d/b", p.clone + "/lnk");  // a symlink's size: its target's length, 3
  ::mkfifo((p.clone + "/d/fifo").c_str(), 0600);
  for (int i = 0; i < 10; ++i) {
    write_file(p.clone + "/e/f" + std::to_string(i), std::string(7, 'x'));
  }
  fs::PosixFs real;
  MirrorOptions opt = display_options();
  opt.count_bytes = engine::CountBytes::yes;
  auto first = run_mirror(real, p, opt, "first");
  REQUIRE(first.result);
  CHECK(first.result->linked == 15);
  CHECK(first.result->linked_bytes == 100 + 2000 + 0 + 3 + 10 * 7);
  // One file replaced by a new inode of 3000 bytes, one added: only those
  // two are stat'ed, and only their bytes count.
  rewrite_file(p.clone + "/d/b", std::string(3000, 'B'));
  write_file(p.clone + "/e/new", std::string(50, 'n'));
  log::Progress progress([](std::string_view) {});
  progress.begin("t", log::Progress::Counted::yes, -1);
  opt.progress = &progress;
  CountingFs counting(real);
  auto second = run_mirror(counting, p, opt, "second");
  REQUIRE(second.result);
  CHECK(second.result->linked == 2);
  CHECK(second.result->unchanged == 14);
  CHECK(second.result->linked_bytes == 3050);
  CHECK(progress.counts().linked_bytes == 3050);
  auto listed = real.list_dir(fs::open_dir(real, fs::k_cwd, p.clone)->fd());
  REQUIRE(listed);
  // Without d_type every entry is stat'ed while listing: no count to prove.
  bool d_type = std::none_of(listed->begin(), listed->end(),
                             [](const fs::DirEntry& e) { return e.type == fs::FileType::unknown; });
  // One stat per linked file: d/b replaces a T file of another inode, so
  // the walk asks whether T's is an EMLINK copy of S's (mirror.hpp), and
  // that same stat gives its bytes (a second lstat of S/d/b would make 3);
  // the added e/new has no T file and is stat'ed for its bytes only.
  if (d_type) {
    CHECK(counting.entry_stats == 2);
    CHECK(counting.by_name["b"] == 1);
    CHECK(counting.by_name["new"] == 1);
  }
  // Off (the default): nothing counted, no stat for bytes.
  rewrite_file(p.clone + "/a", std::string(10, 'A'));
  opt.count_bytes = engine::CountBytes::no;
  opt.progress = nullptr;
  CountingFs quiet(real);
  auto third = run_mirror(quiet, p, opt, "third");
  REQUIRE(third.result);
  CHECK(third.result->linked == 1);
  CHECK(third.result->linked_bytes == 0);
  // Only the EMLINK-copy question for the replaced `a`: nothing for bytes.
  if (d_type) {
    CHECK(quiet.entry_stats == 1);
    CHECK(quiet.by_name["a"] == 1);
  }
  // A fresh build counts every file, in the workers and in the final pass.
  make_dir(ctx.path("fresh"));
  MirrorOptions fresh_opt;
  fresh_opt.count_bytes = engine::CountBytes::yes;
  auto fresh = engine::mirror_fresh(real, p.clone, ctx.path("fresh"), fresh_opt);
  REQUIRE(fresh);
  CHECK(fresh->linked == 16);
  CHECK(fresh->linked_bytes == 10 + 3000 + 0 + 3 + 10 * 7 + 50);
}

TEST_CASE("a rerun without changes makes no mutating call and creates no sink folder") {
  TestContext ctx;
  Paths p(ctx);
  build_scenario(p);
  auto sel = scenario_selector();
  MirrorOptions opt = display_options();
  opt.selector = &sel;
  fs::PosixFs real;
  REQUIRE(run_mirror(real, p, opt, "first").result);
  auto tree = list_tree(p.backup);
  fs::FaultFs fs(real);
  auto run = run_mirror(fs, p, opt, "second");
  REQUIRE(run.result);
  CHECK(fs.journal().empty());
  CHECK(run.plan.empty());
  CHECK(run.folders.empty());
  CHECK(dir_names(p.holding) == std::vector<std::string>{"first"});
  CHECK(list_tree(p.backup) == tree);
  CHECK(run.result->archived == 0);
  CHECK(run.result->linked == 0);
}

TEST_CASE("newly excluded entries go to the sink and protected entries stay") {
  TestContext ctx;
  Paths p(ctx);
  make_dir(p.backup);
  make_dir(p.holding);
  write_file(p.clone + "/keep.txt", "k");
  write_file(p.clone + "/cache/c1", "c1");
  write_file(p.clone + "/notes.o", "obj");
  fs::PosixFs real;
  REQUIRE(run_mirror(real, p, display_options()).result);
  auto old_t = all_inodes(p.backup);
  // Only in T: a protected file and a protected directory.
  write_file(p.backup + "/local.conf", "mine");
  write_file(p.backup + "/localdir/x", "mine too");

  SetSelector sel({"cache", "notes.o"}, {"local.conf", "localdir"});
  MirrorOptions opt = display_options();
  opt.selector = &sel;
  auto run = run_mirror(real, p, opt);
  REQUIRE(run.result);
  CHECK(inode_of(p.sink() + "/cache") == old_t["cache"]);
  CHECK(inode_of(p.sink() + "/notes.o") == old_t["notes.o"]);
  CHECK_FALSE(exists(p.backup + "/cache"));
  CHECK_FALSE(exists(p.backup + "/notes.o"));
  CHECK(read_file(p.backup + "/local.conf") == "mine");
  CHECK(read_file(p.backup + "/localdir/x") == "mine too");
  CHECK(inode_of(p.backup + "/keep.txt") == inode_of(p.clone + "/keep.txt"));
  CHECK(run.result->protected_kept == 2);
  CHECK(sel.depth() == 0);  // every enter_dir had its leave_dir
}

TEST_CASE("a directory whose T entries change gets the source mtime back after its contents") {
  // S's directory does not change at all; only the selection does, so only
  // T's directory is modified (an entry leaves it) and must be reset.
  TestContext ctx;
  Paths p(ctx);
  make_dir(p.backup);
  make_dir(p.holding);
  write_file(p.clone + "/d/keep.txt", "k");
  write_file(p.clone + "/d/drop.o", "o");
  set_tree_mtimes(p.clone, 1400000000);
  fs::PosixFs real;
  REQUIRE(run_mirror(real, p, display_options()).result);
  REQUIRE(stat_of(p.backup + "/d").st_mtim.tv_sec == 1400000000);
  SetSelector sel({"d/drop.o"}, {});
  MirrorOptions opt = display_options();
  opt.selector = &sel;
  fs::FaultFs fs(real);
  auto run = run_mirror(fs, p, opt);
  REQUIRE(run.result);
  CHECK_FALSE(exists(p.backup + "/d/drop.o"));
  CHECK(stat_of(p.backup + "/d").st_mtim.tv_sec == 1400000000);
  CHECK(stat_of(p.backup + "/d").st_mtim.tv_nsec == 0);
  // The metadata write comes after the entry left.
  CHECK(fs.journal() == std::vector<std::string>{"mkdir D", "set_metadata D", "mkdir d",
                                                 "set_metadata d", "rename drop.o -> drop.o",
                                                 "set_metadata d"});
}

TEST_CASE("a deleted directory holding a protected entry stays with only that entry") {
  TestContext ctx;
  Paths p(ctx);
  make_dir(p.backup);
  make_dir(p.holding);
  write_file(p.clone + "/proj/main.c", "c");
  write_file(p.clone + "/proj/.git/HEAD", "ref");
  write_file(p.clone + "/other/o.txt", "o");
  fs::PosixFs real;
  REQUIRE(run_mirror(real, p, display_options()).result);
  std::filesystem::remove_all(p.clone + "/proj");
  std::filesystem::remove_all(p.clone + "/other");

  SetSelector sel({}, {"proj/.git"});
  MirrorOptions opt = display_options();
  opt.selector = &sel;
  fs::FaultFs fs(real);
  auto run = run_mirror(fs, p, opt);
  REQUIRE(run.result);
  CHECK(read_file(p.backup + "/proj/.git/HEAD") == "ref");
  CHECK_FALSE(exists(p.backup + "/proj/main.c"));
  CHECK(read_file(p.sink() + "/proj/main.c") == "c");
  CHECK_FALSE(exists(p.sink() + "/proj/.git"));
  CHECK_FALSE(exists(p.backup + "/other"));
  CHECK(read_file(p.sink() + "/other/o.txt") == "o");
  CHECK(journal_count(fs, "rename") == 2);
}

TEST_CASE("a sink path that already exists switches the rest of the run to the next folder") {
  TestContext ctx;
  Paths p(ctx);
  make_dir(p.backup);
  make_dir(p.holding);
  write_file(p.clone + "/a.txt", "v1");
  write_file(p.clone + "/b.txt", "b1");
  write_file(p.clone + "/c.txt", "c1");
  fs::PosixFs real;
  REQUIRE(run_mirror(real, p, display_options()).result);
  ino_t a1 = inode_of(p.backup + "/a.txt");
  rewrite_file(p.clone + "/a.txt", "v2");
  auto first = run_mirror(real, p, display_options());
  REQUIRE(first.result);
  CHECK(first.folders == std::vector<std::string>{"D"});
  ino_t a2 = inode_of(p.backup + "/a.txt");
  ino_t b1 = inode_of(p.backup + "/b.txt");
  ino_t c1 = inode_of(p.backup + "/c.txt");
  // Same day, the source changed again: a.txt collides in D.
  rewrite_file(p.clone + "/a.txt", "v3");
  rewrite_file(p.clone + "/b.txt", "b2");
  rewrite_file(p.clone + "/c.txt", "c2");
  auto second = run_mirror(real, p, display_options());
  REQUIRE(second.result);
  CHECK(second.folders == std::vector<std::string>{"D.1"});
  CHECK(inode_of(p.sink("D") + "/a.txt") == a1);
  CHECK(inode_of(p.sink("D.1") + "/a.txt") == a2);
  // The rest of the run stays in D.1.
  CHECK(inode_of(p.sink("D.1") + "/b.txt") == b1);
  CHECK(inode_of(p.sink("D.1") + "/c.txt") == c1);
  CHECK_FALSE(exists(p.sink("D") + "/b.txt"));
  CHECK(std::find(second.plan.begin(), second.plan.end(), "archive b.txt -> holding/D.1/b.txt") !=
        second.plan.end());
  CHECK(dir_names(p.holding) == std::vector<std::string>{"D", "D.1"});
}

TEST_CASE("a parent that exists as a file in the sink also switches to the next folder") {
  TestContext ctx;
  Paths p(ctx);
  make_dir(p.backup);
  make_dir(p.holding);
  write_file(p.clone + "/x/f.txt", "f1");
  fs::PosixFs real;
  REQUIRE(run_mirror(real, p, display_options()).result);
  write_file(p.sink() + "/x", "a file where the sink needs a directory");
  rewrite_file(p.clone + "/x/f.txt", "f2");
  auto run = run_mirror(real, p, display_options());
  REQUIRE(run.result);
  CHECK(run.folders == std::vector<std::string>{"D.1"});
  CHECK(read_file(p.sink("D.1") + "/x/f.txt") == "f1");
}

TEST_CASE(
    "PruneEmpty: directories without selected files are not created, and emptied ones leave T") {
  TestContext ctx;
  Paths p(ctx);
  make_dir(p.backup);
  make_dir(p.holding);
  write_file(p.clone + "/full/f.txt", "f");
  make_dir(p.clone + "/empty/deeper/deepest");
  write_file(p.clone + "/onlyexcluded/skip.o", "o");
  make_symlink("x", p.clone + "/withlink/l");
  write_file(p.clone + "/willempty/w.txt", "w");
  write_file(p.clone + "/willempty/sub/s.txt", "s");
  make_dir(p.clone + "/willempty/emptysub");
  SetSelector sel({"onlyexcluded/skip.o"}, {});
  MirrorOptions opt = display_options();
  opt.selector = &sel;

  SUBCASE("without PruneEmpty every selected directory exists") {
    fs::PosixFs real;
    REQUIRE(run_mirror(real, p, opt).result);
    CHECK(exists(p.backup + "/empty/deeper/deepest"));
    CHECK(exists(p.backup + "/onlyexcluded"));
    CHECK_FALSE(exists(p.backup + "/onlyexcluded/skip.o"));
  }
  SUBCASE("with PruneEmpty") {
    opt.prune_empty = PruneEmpty::yes;
    fs::PosixFs real;
    REQUIRE(run_mirror(real, p, opt).result);
    CHECK(exists(p.backup + "/full/f.txt"));
    CHECK(exists(p.backup + "/withlink/l"));  // a symlink counts as content
    CHECK_FALSE(exists(p.backup + "/empty"));
    CHECK_FALSE(exists(p.backup + "/onlyexcluded"));
    CHECK_FALSE(exists(p.backup + "/willempty/emptysub"));
    ino_t willempty = inode_of(p.backup + "/willempty");
    ino_t sub = inode_of(p.backup + "/willempty/sub");
    REQUIRE(willempty != 0);

    // (a) every file below willempty is deleted in S: s.txt and w.txt go
    // to the sink first, which creates holding/D/willempty/sub there;
    // (b) then willempty/sub and willempty are empty-by-pruning and their
    // sink paths exist, so they are removed with rmdir (no data in them).
    std::filesystem::remove(p.clone + "/willempty/sub/s.txt");
    std::filesystem::remove(p.clone + "/willempty/w.txt");
    fs::FaultFs fs(real);
    auto run = run_mirror(fs, p, opt);
    REQUIRE(run.result);
    CHECK_FALSE(exists(p.backup + "/willempty"));
    CHECK(read_file(p.sink() + "/willempty/w.txt") == "w");
    CHECK(read_file(p.sink() + "/willempty/sub/s.txt") == "s");
    CHECK(inode_of(p.sink() + "/willempty/sub") != sub);
    CHECK(inode_of(p.sink() + "/willempty") != willempty);
    CHECK(run.result->pruned_removed == 2);
    CHECK(journal_count(fs, "rmdir") == 2);
  }
  SUBCASE("with PruneEmpty an emptied directory with nothing archived below moves whole") {
    opt.prune_empty = PruneEmpty::yes;
    fs::PosixFs real;
    REQUIRE(run_mirror(real, p, opt).result);
    ino_t full = inode_of(p.backup + "/full");
    REQUIRE(full != 0);
    std::filesystem::remove(p.clone + "/full/f.txt");
    SetSelector sel2({"onlyexcluded/skip.o"}, {"full/f.txt"});
    opt.selector = &sel2;
    // f.txt protected: full stays.
    REQUIRE(run_mirror(real, p, opt).result);
    CHECK(inode_of(p.backup + "/full") == full);
    CHECK(exists(p.backup + "/full/f.txt"));
    // Now unprotected and removed by hand from T: full is empty in T.
    std::filesystem::remove(p.backup + "/full/f.txt");
    opt.selector = &sel;
    auto run = run_mirror(real, p, opt);
    REQUIRE(run.result);
    CHECK_FALSE(exists(p.backup + "/full"));
    CHECK(inode_of(p.sink() + "/full") == full);
  }
}

TEST_CASE("paths longer than PATH_MAX are mirrored through descriptors") {
  TestContext ctx;
  Paths p(ctx);
  make_dir(p.backup);
  make_dir(p.holding);
  make_dir(p.clone);
  // 50 levels of 100-byte names: more than 5000 bytes of path.
  const std::string name(100, 'n');
  const int levels = 50;
  int fd = ::open(p.clone.c_str(), O_RDONLY | O_DIRECTORY);
  REQUIRE(fd >= 0);
  for (int i = 0; i < levels; ++i) {
    REQUIRE(::mkdirat(fd, name.c_str(), 0755) == 0);
    int next = ::openat(fd, name.c_str(), O_RDONLY | O_DIRECTORY);
    ::close(fd);
    REQUIRE(next >= 0);
    fd = next;
  }
  int file = ::openat(fd, "leaf.txt", O_WRONLY | O_CREAT | O_EXCL, 0644);
  REQUIRE(file >= 0);
  REQUIRE(::write(file, "deep", 4) == 4);
  ::close(file);
  struct stat src_leaf {};
  REQUIRE(::fstatat(fd, "leaf.txt", &src_leaf, 0) == 0);
  ::close(fd);
  REQUIRE((name.size() + 1) * levels > PATH_MAX);

  fs::PosixFs real;
  auto run = run_mirror(real, p, display_options());
  REQUIRE(run.result);
  CHECK(run.result->linked == 1);
  CHECK(run.result->dirs_created == levels);
  fd = ::open(p.backup.c_str(), O_RDONLY | O_DIRECTORY);
  REQUIRE(fd >= 0);
  int depth = 0;
  for (; depth < levels; ++depth) {
    int next = ::openat(fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    ::close(fd);
    if (next < 0) {
      break;
    }
    fd = next;
  }
  CHECK(depth == levels);
  struct stat dst_leaf {};
  CHECK(::fstatat(fd, "leaf.txt", &dst_leaf, AT_SYMLINK_NOFOLLOW) == 0);
  CHECK(dst_leaf.st_ino == src_leaf.st_ino);
  ::close(fd);

  // Second run: the deep leaf was replaced; the old one goes to the sink at
  // the same (longer than PATH_MAX) relative path.
  auto open_chain = [&](const std::string& root) {
    int dfd = ::open(root.c_str(), O_RDONLY | O_DIRECTORY);
    for (int i = 0; dfd >= 0 && i < levels; ++i) {
      int next = ::openat(dfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
      ::close(dfd);
      dfd = next;
    }
    return dfd;
  };
  fd = open_chain(p.clone);
  REQUIRE(fd >= 0);
  REQUIRE(::unlinkat(fd, "leaf.txt", 0) == 0);
  file = ::openat(fd, "leaf.txt", O_WRONLY | O_CREAT | O_EXCL, 0644);
  REQUIRE(file >= 0);
  ::close(file);
  ::close(fd);
  auto second = run_mirror(real, p, display_options());
  REQUIRE(second.result);
  CHECK(second.result->archived == 1);
  fd = open_chain(p.sink());
  REQUIRE(fd >= 0);
  struct stat held {};
  CHECK(::fstatat(fd, "leaf.txt", &held, AT_SYMLINK_NOFOLLOW) == 0);
  CHECK(held.st_ino == src_leaf.st_ino);
  ::close(fd);
}

TEST_CASE("directory xattrs are copied when the filesystem supports user xattrs") {
  TestContext ctx;
  Paths p(ctx);
  make_dir(p.backup);
  make_dir(p.holding);
  write_file(p.clone + "/tagged/f.txt", "f");
  std::string dir = p.clone + "/tagged";
  if (::lsetxattr(dir.c_str(), "user.rotator.test", "v1", 2, 0) != 0) {
    MESSAGE("skipped: no user xattrs on this filesystem (" << std::strerror(errno) << ")");
    return;
  }
  fs::PosixFs real;
  REQUIRE(run_mirror(real, p, display_options()).result);
  char buf[16] = {};
  ssize_t n = ::lgetxattr((p.backup + "/tagged").c_str(), "user.rotator.test", buf, sizeof buf);
  CHECK(n == 2);
  CHECK(std::string(buf, n > 0 ? static_cast<size_t>(n) : 0) == "v1");
  // Changed on S: updated on T; the rerun after that writes nothing.
  REQUIRE(::lsetxattr(dir.c_str(), "user.rotator.test", "v22", 3, 0) == 0);
  fs::FaultFs fs(real);
  auto run = run_mirror(fs, p, display_options());
  REQUIRE(run.result);
  CHECK(journal_count(fs, "set_xattr") == 1);
  n = ::lgetxattr((p.backup + "/tagged").c_str(), "user.rotator.test", buf, sizeof buf);
  CHECK(std::string(buf, n > 0 ? static_cast<size_t>(n) : 0) == "v22");
  fs::FaultFs again(real);
  REQUIRE(run_mirror(again, p, display_options()).result);
  CHECK(again.journal().empty());
}

namespace {
// Records the names get_xattrs is asked for.
class XattrNamesFs : public fs::FsWrapper {
 public:
  using fs::FsWrapper::FsWrapper;
  Result<std::vector<std::pair<std::string, std::string>>> get_xattrs(
      int d, const std::string& n) override {
    names.push_back(n);
    return fs::FsWrapper::get_xattrs(d, n);
  }
  std::vector<std::string> names;
};
}  // namespace

TEST_CASE("directory xattrs are read through the held descriptors, once per directory") {
  TestContext ctx;
  Paths p(ctx);
  make_dir(p.backup);
  make_dir(p.holding);
  write_file(p.clone + "/a/b/f.txt", "f");
  write_file(p.backup + "/a/old.txt", "o");
  fs::PosixFs real;
  XattrNamesFs fs(real);
  REQUIRE(run_mirror(fs, p, display_options()).result);
  // T's root (its default ACL, once), the sink's parent (its default ACL,
  // once, when the sink first creates a directory: a/old.txt is displaced),
  // then S's a/b, a and root (T's only when S has some): no path is walked.
  CHECK(fs.names == std::vector<std::string>{"", "", "", "", ""});
}

namespace {
// Records what set_metadata is asked to write, by name.
class MetaPartsFs : public fs::FsWrapper {
 public:
  using fs::FsWrapper::FsWrapper;
  Status set_metadata(int d, const std::string& n, const fs::Metadata& m) override {
    parts[n] = m.parts;
    return fs::FsWrapper::set_metadata(d, n, m);
  }
  std::map<std::string, fs::MetaParts> parts;
};

// Sets the process umask for a scope.
class ScopedUmask {
 public:
  explicit ScopedUmask(mode_t m) : m_old(::umask(m)) {}
  ~ScopedUmask() { ::umask(m_old); }
  ScopedUmask(const ScopedUmask&) = delete;
  ScopedUmask& operator=(const ScopedUmask&) = delete;

 private:
  mode_t m_old;
};
}  // namespace

TEST_CASE("a created directory gets only the metadata writes mkdir did not already do") {
  ScopedUmask mask(022);
  TestContext ctx;
  Paths p(ctx);
  make_dir(p.backup);
  make_dir(p.holding);
  write_file(p.clone + "/plain/f.txt", "f");     // 0755 after umask: times only
  write_file(p.clone + "/group/f.txt", "f");     // 0750: times only
  write_file(p.clone + "/readonly/f.txt", "f");  // 0555: mode and times
  ::chmod((p.clone + "/plain").c_str(), 0755);
  ::chmod((p.clone + "/group").c_str(), 0750);
  ::chmod((p.clone + "/readonly").c_str(), 0555);
  fs::PosixFs real;
  REQUIRE(real.creation().known);
  MetaPartsFs fs(real);
  REQUIRE(run_mirror(fs, p, display_options()).result);
  CHECK(fs.parts["plain"] == fs::MetaParts::times);
  CHECK(fs.parts["group"] == fs::MetaParts::times);
  CHECK(fs.parts["readonly"] == (fs::MetaParts::mode | fs::MetaParts::times));
  // The result is what every write gives.
  CHECK(list_tree(p.backup, WithInodes::no) == list_tree(p.clone, WithInodes::no));
  ::chmod((p.clone + "/readonly").c_str(), 0755);
  ::chmod((p.backup + "/readonly").c_str(), 0755);
}

TEST_CASE("under a setgid target root every metadata write is made") {
  ScopedUmask mask(022);
  TestContext ctx;
  Paths p(ctx);
  make_dir(p.backup);
  make_dir(p.holding);
  REQUIRE(::chmod(p.backup.c_str(), 02755) == 0);
  write_file(p.clone + "/d/f.txt", "f");
  ::chmod((p.clone + "/d").c_str(), 0755);
  fs::PosixFs real;
  MetaPartsFs fs(real);
  REQUIRE(run_mirror(fs, p, display_options()).result);
  CHECK(fs.parts["d"] == fs::MetaParts::all);
  struct stat st {};
  REQUIRE(::lstat((p.backup + "/d").c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0755);
}

namespace {
// Records every set_metadata, in order: (name, parts).
class MetaSequenceFs : public fs::FsWrapper {
 public:
  using fs::FsWrapper::FsWrapper;
  Status set_metadata(int d, const std::string& n, const fs::Metadata& m) override {
    writes.emplace_back(n, m.parts);
    return fs::FsWrapper::set_metadata(d, n, m);
  }
  // The parts of the first write to `name` (the sink's: it creates its copy
  // of a directory before the engine finishes T's).
  fs::MetaParts first(const std::string& name) const {
    for (const auto& [n, parts] : writes) {
      if (n == name) {
        return parts;
      }
    }
    return fs::MetaParts::none;
  }
  std::vector<std::pair<std::string, fs::MetaParts>> writes;
};
}  // namespace

TEST_CASE("sink directories get only the metadata writes their mkdir did not already do") {
  // (a) under umask 022, the sink's copies of T directories with mode 0755
  // and 0750 (and of T's root, for the folder) are written times only;
  // (b) one of mode 0775 gets mode and times (the umask took g+w away);
  // (c) under a setgid holding directory every write is made;
  // (d) either way the sink directories have T's mode and owner.
  ScopedUmask mask(022);
  for (bool setgid : {false, true}) {
    CAPTURE(setgid);
    TestContext ctx;
    Paths p(ctx);
    make_dir(p.backup);
    make_dir(p.holding);
    ::chmod(p.backup.c_str(), 0755);
    if (setgid) {
      REQUIRE(::chmod(p.holding.c_str(), 02755) == 0);
    }
    const std::vector<std::pair<std::string, mode_t>> dirs = {
        {"plain", 0755}, {"group", 0750}, {"wide", 0775}};
    for (const auto& [d, mode] : dirs) {
      write_file(p.clone + "/" + d + "/f.txt", "f");
      ::chmod((p.clone + "/" + d).c_str(), mode);
    }
    set_tree_mtimes(p.clone, 1500000000);
    fs::PosixFs real;
    REQUIRE(real.creation().known);
    REQUIRE(run_mirror(real, p, display_options(), "A").result);
    for (const auto& [d, mode] : dirs) {
      rewrite_file(p.clone + "/" + d + "/f.txt", "g");
    }
    MetaSequenceFs fs(real);
    auto run = run_mirror(fs, p, display_options());
    REQUIRE(run.result);
    REQUIRE(run.result->archived == 3);
    if (setgid) {
      CHECK(fs.first("D") == fs::MetaParts::all);
      CHECK(fs.first("plain") == fs::MetaParts::all);
      CHECK(fs.first("wide") == fs::MetaParts::all);
    } else {
      CHECK(fs.first("D") == fs::MetaParts::times);
      CHECK(fs.first("plain") == fs::MetaParts::times);
      CHECK(fs.first("group") == fs::MetaParts::times);
      CHECK(fs.first("wide") == (fs::MetaParts::mode | fs::MetaParts::times));
    }
    for (const auto& [d, mode] : dirs) {
      CAPTURE(d);
      struct stat st = stat_of(p.sink() + "/" + d);
      CHECK((st.st_mode & 07777) == mode);
      CHECK(st.st_uid == ::geteuid());
      CHECK(read_file(p.sink() + "/" + d + "/f.txt") == "f");
    }
    CHECK((stat_of(p.sink()).st_mode & 07777) == 0755);
  }
}

TEST_CASE("EMLINK on link copies that one file through a temporary name") {
  // (a) link() of the 2nd file fails with EMLINK (inode at its link limit);
  // (b) that file becomes a copy with the same content, mode and mtime;
  // (c) everything else is linked and the copy is counted.
  TestContext ctx;
  Paths p(ctx);
  make_dir(p.backup);
  make_dir(p.holding);
  write_file(p.clone + "/a.txt", "aaa");
  write_file(p.clone + "/b.txt", "bbbb");
  write_file(p.clone + "/c.txt", "cc");
  REQUIRE(::chmod((p.clone + "/b.txt").c_str(), 0640) == 0);
  set_tree_mtimes(p.clone, 1500000000);
  fs::PosixFs real;
  fs::FaultFs fs(real);
  fs.fail_at(2, EMLINK, "link");
  auto run = run_mirror(fs, p, display_options());
  REQUIRE(run.result);
  CHECK(run.result->copied_emlink == 1);
  CHECK(run.result->linked == 2);
  CHECK(inode_of(p.backup + "/a.txt") == inode_of(p.clone + "/a.txt"));
  CHECK(inode_of(p.backup + "/c.txt") == inode_of(p.clone + "/c.txt"));
  CHECK(inode_of(p.backup + "/b.txt") != inode_of(p.clone + "/b.txt"));
  CHECK(read_file(p.backup + "/b.txt") == "bbbb");
  struct stat st = stat_of(p.backup + "/b.txt");
  CHECK((st.st_mode & 07777) == 0640);
  CHECK(st.st_mtim.tv_sec == 1500000000);
  CHECK(dir_names(p.backup) == std::vector<std::string>{"a.txt", "b.txt", "c.txt"});
  CHECK(std::find(run.plan.begin(), run.plan.end(), "copy b.txt") != run.plan.end());
}

TEST_CASE("an EMLINK copy is kept unchanged by the next runs while S stays at the link limit") {
  // (a) the filesystem's link limit is 2 and clone/b.txt has 2 links (one
  // outside the clone): the first run copies it;
  // (b) the second run finds the copy (another inode, same size, mtime,
  // mode, owner): nothing archived, nothing copied, no mutating call;
  // (c) S's mtime changes: the copy is archived and a new copy made;
  // (d) without the limit the old copy is archived and the link made.
  TestContext ctx;
  Paths p(ctx);
  make_dir(p.backup);
  make_dir(p.holding);
  write_file(p.clone + "/a.txt", "aaa");
  write_file(p.clone + "/b.txt", "bbbb");
  REQUIRE(::link((p.clone + "/b.txt").c_str(), ctx.path("b.extra").c_str()) == 0);
  set_tree_mtimes(p.clone, 1500000000);
  fs::PosixFs real;
  {
    fs::FaultFs fs(real);
    fs.set_link_limit(2);
    auto run = run_mirror(fs, p, display_options());
    REQUIRE(run.result);
    CHECK(run.result->copied_emlink == 1);
    CHECK(run.result->emlink_copies_kept == 0);
  }
  ino_t copy = inode_of(p.backup + "/b.txt");
  REQUIRE(copy != inode_of(p.clone + "/b.txt"));
  {
    fs::FaultFs fs(real);
    fs.set_link_limit(2);
    auto run = run_mirror(fs, p, display_options());
    REQUIRE(run.result);
    CHECK(run.result->emlink_copies_kept == 1);
    CHECK(run.result->copied_emlink == 0);
    CHECK(run.result->archived == 0);
    CHECK(run.result->unchanged == 1);
    CHECK(fs.journal().empty());
    CHECK(inode_of(p.backup + "/b.txt") == copy);
    CHECK(dir_names(p.holding).empty());
  }
  set_mtime(p.clone + "/b.txt", 1600000000);
  {
    fs::FaultFs fs(real);
    fs.set_link_limit(2);
    EntryStatCountingFs counting(fs);  // above FaultFs: its EMLINK emulation's lstat is not ours
    MirrorOptions opt = display_options();
    opt.count_bytes = engine::CountBytes::yes;
    auto run = run_mirror(counting, p, opt, "E");
    REQUIRE(run.result);
    // b.txt: one lstat of S's (the EMLINK-copy question, then the copy's
    // metadata and its bytes) and one of T's (S is at the limit); a second
    // lstat of S's would make 3.
    CHECK(counting.by_name["b.txt"] == 2);
    CHECK(run.result->linked_bytes == 4);
    CHECK(run.result->emlink_copies_kept == 0);
    CHECK(run.result->archived == 1);
    CHECK(run.result->copied_emlink == 1);
    CHECK(inode_of(p.sink("E") + "/b.txt") == copy);
    CHECK(stat_of(p.backup + "/b.txt").st_mtim.tv_sec == 1600000000);
  }
  copy = inode_of(p.backup + "/b.txt");
  auto run = run_mirror(real, p, display_options(), "F");
  REQUIRE(run.result);
  CHECK(run.result->emlink_copies_kept == 0);
  CHECK(run.result->archived == 1);
  CHECK(run.result->linked == 1);
  CHECK(inode_of(p.sink("F") + "/b.txt") == copy);
  CHECK(inode_of(p.backup + "/b.txt") == inode_of(p.clone + "/b.txt"));
}

TEST_CASE(
    "a rewritten file with the same size and mtime is archived when S is below the link limit") {
  // Different inodes, same size/mtime/mode/owner, S not at the limit: that is
  // a change (rsync rewrote it), never mistaken for an EMLINK copy.
  TestContext ctx;
  Paths p(ctx);
  make_dir(p.holding);
  write_file(p.clone + "/b.txt", "same");
  write_file(p.backup + "/b.txt", "SAME");
  set_tree_mtimes(p.clone, 1500000000);
  set_tree_mtimes(p.backup, 1500000000);
  fs::PosixFs real;
  fs::FaultFs fs(real);
  fs.set_link_limit(3);
  auto run = run_mirror(fs, p, display_options());
  REQUIRE(run.result);
  CHECK(run.result->emlink_copies_kept == 0);
  CHECK(run.result->archived == 1);
  CHECK(run.result->linked == 1);
  CHECK(read_file(p.sink() + "/b.txt") == "SAME");
}

TEST_CASE("a leftover partial copy in T is archived like any entry, never deleted") {
  TestContext ctx;
  Paths p(ctx);
  make_dir(p.holding);
  write_file(p.clone + "/a.txt", "a");
  write_file(p.backup + "/.rotator-partial.12345", "half a copy");
  fs::PosixFs real;
  auto run = run_mirror(real, p, display_options());
  REQUIRE(run.result);
  CHECK(run.result->archived == 1);
  CHECK(dir_names(p.backup) == std::vector<std::string>{"a.txt"});
  CHECK(read_file(p.holding + "/D/.rotator-partial.12345") == "half a copy");
}

TEST_CASE("errors name the path as the user knows it") {
  TestContext ctx;
  Paths p(ctx);
  make_dir(p.backup);
  make_dir(p.holding);
  write_file(p.clone + "/a/b.txt", "b");
  fs::PosixFs real;
  SUBCASE("ENOSPC on link") {
    fs::FaultFs fs(real);
    fs.fail_at(1, ENOSPC, "link");
    auto run = run_mirror(fs, p, display_options());
    REQUIRE_FALSE(run.result);
    CHECK(run.result.error().message() ==
          "failed to link 'clone/a/b.txt' to 'backup/a/b.txt': No space left on device");
  }
  SUBCASE("EXDEV on link is returned as such") {
    fs::FaultFs fs(real);
    fs.fail_at(1, EXDEV, "link");
    auto run = run_mirror(fs, p, display_options());
    REQUIRE_FALSE(run.result);
    CHECK(run.result.error().sys_errno == EXDEV);
    CHECK(run.result.error().message().find("'clone/a/b.txt'") != std::string::npos);
  }
  SUBCASE("roots on different filesystems are refused before anything happens") {
    // An Fs that reports another st_dev for T's root.
    class OtherDevFs final : public fs::FsWrapper {
     public:
      OtherDevFs(fs::Fs& target, std::string t_root)
          : FsWrapper(target), m_t_root(std::move(t_root)) {}
      Result<int> open_dir(int d, const std::string& n) override {
        auto r = FsWrapper::open_dir(d, n);
        if (r && n == m_t_root) {
          m_t_fd = *r;
        }
        return r;
      }
      Result<fs::Stat> lstat(int d, const std::string& n) override {
        auto r = FsWrapper::lstat(d, n);
        if (r && n.empty() && d == m_t_fd) {
          r->dev += 1;
        }
        return r;
      }

     private:
      std::string m_t_root;
      int m_t_fd = -1;
    };
    OtherDevFs other(real, p.backup);
    fs::FaultFs fs(other);
    auto run = run_mirror(fs, p, display_options());
    REQUIRE_FALSE(run.result);
    CHECK(run.result.error().message() ==
          "failed to mirror 'clone' to 'backup': Invalid cross-device link");
    CHECK(fs.journal().empty());
  }
  SUBCASE("a displaced entry without a sink") {
    REQUIRE(run_mirror(real, p, display_options()).result);
    std::filesystem::remove(p.clone + "/a/b.txt");
    MirrorOptions opt = display_options();
    auto r = engine::mirror(real, p.clone, p.backup, opt);
    REQUIRE_FALSE(r);
    CHECK(r.error().message() == "'backup/a/b.txt' would be displaced but no sink is configured");
    CHECK(exists(p.backup + "/a/b.txt"));
  }
}

// EIO at every k is in test_engine_crash.cpp.
TEST_CASE("ENOSPC or EACCES at every mutating call loses nothing and a rerun converges") {
  // For each errno and each k: fresh scenario, the k-th mutating call fails;
  // (a) the Error names a path under clone/, backup/ or holding/ and keeps
  // errno; (b) every inode of old T is in T or the sink and S is untouched;
  // (c) a rerun with PosixFs reaches the uninterrupted result.
  std::vector<std::string> reference;
  {
    TestContext ctx;
    Paths p(ctx);
    build_scenario(p);
    auto sel = scenario_selector();
    MirrorOptions opt = display_options();
    opt.selector = &sel;
    fs::PosixFs real;
    REQUIRE(run_mirror(real, p, opt).result);
    reference = list_tree(p.backup, WithInodes::no);
  }
  for (int err : {ENOSPC, EACCES}) {
    long k = 1;
    for (; k < 1000; ++k) {
      TestContext ctx;
      Paths p(ctx);
      build_scenario(p);
      auto old_t = all_inodes(p.backup);
      auto old_s = list_tree(p.clone, WithInodes::no);
      auto old_s_inodes = all_inodes(p.clone);
      auto sel = scenario_selector();
      MirrorOptions opt = display_options();
      opt.selector = &sel;
      fs::PosixFs real;
      fs::FaultFs fs(real);
      fs.fail_at(k, err);
      auto run = run_mirror(fs, p, opt);
      if (!fs.triggered()) {
        CHECK(run.result);
        break;
      }
      CAPTURE(err);
      CAPTURE(k);
      REQUIRE_FALSE(run.result);
      const Error& e = run.result.error();
      CHECK(e.sys_errno == err);
      std::string msg = e.message();
      CAPTURE(msg);
      CHECK(msg.rfind("failed to ", 0) == 0);
      CHECK((msg.find("'backup") != std::string::npos || msg.find("'clone") != std::string::npos ||
             msg.find("'holding") != std::string::npos));
      CHECK(inventory_problems(p, old_t) == "");
      CHECK(list_tree(p.clone, WithInodes::no) == old_s);
      CHECK(all_inodes(p.clone) == old_s_inodes);
      auto rerun = run_mirror(real, p, opt);
      REQUIRE(rerun.result);
      CHECK(scenario_problems(p, old_t, reference) == "");
    }
    CHECK(k > 20);
  }
}

TEST_CASE("dry run makes no mutating call and plans exactly what the real run does") {
  TestContext ctx;
  Paths p(ctx);
  build_scenario(p);
  auto sel = scenario_selector();
  write_file(p.backup + "/.rotator-partial.99", "leftover");
  MirrorOptions opt = display_options();
  opt.selector = &sel;
  opt.prune_empty = PruneEmpty::yes;
  auto s_before = list_tree(p.clone);
  auto t_before = list_tree(p.backup);
  auto h_before = list_tree(p.holding);

  fs::PosixFs real;
  fs::FaultFs fs(real);
  MirrorOptions dry = opt;
  dry.dry_run = rotator::DryRun::yes;
  auto planned = run_mirror(fs, p, dry);
  REQUIRE(planned.result);
  CHECK(fs.journal().empty());
  CHECK(list_tree(p.clone) == s_before);
  CHECK(list_tree(p.backup) == t_before);
  CHECK(list_tree(p.holding) == h_before);
  CHECK(dir_names(p.holding).empty());
  CHECK(std::find(planned.plan.begin(), planned.plan.end(), "archive gone -> holding/D/gone") !=
        planned.plan.end());
  CHECK(std::find(planned.plan.begin(), planned.plan.end(),
                  "archive .rotator-partial.99 -> holding/D/.rotator-partial.99") !=
        planned.plan.end());

  fs::FaultFs rec(real);
  auto done = run_mirror(rec, p, opt);
  REQUIRE(done.result);
  CHECK(done.plan == planned.plan);
  CHECK(plan_count(done.plan, "link") == journal_count(rec, "link"));
  CHECK(plan_count(done.plan, "mkdir") == done.result->dirs_created);
  CHECK(journal_count(rec, "mkdir") == done.result->dirs_created + done.sink_dirs_created);
  CHECK(journal_count(rec, "rename") == done.result->archived);
  CHECK(plan_count(done.plan, "archive") == done.result->archived);
  CHECK(plan_count(done.plan, "remove") ==
        journal_count(rec, "unlink") + journal_count(rec, "rmdir"));
  CHECK(journal_count(rec, "rmdir") == 1);  // willempty, pruned
  CHECK(done.result->linked == planned.result->linked);
  CHECK(done.result->dirs_meta_set == planned.result->dirs_meta_set);
}

TEST_SUITE_END();
