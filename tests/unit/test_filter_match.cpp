// The worked examples of reference/rsync-filter-rules.md §17 on a real
// scratch tree: f1-f4, the one-rule examples, the per-directory examples,
// and protection (receiver side). Expected sets are written out literally.
#include <doctest/doctest.h>

#include <set>
#include <string>
#include <vector>

#include "filter/filter.hpp"
#include "filter/walk.hpp"
#include "fs/posix_fs.hpp"
#include "testutil.hpp"

using namespace rotator;
using namespace rotator::filter;

namespace {

using Set = std::set<std::string>;

const Set k_all = {
    ".git/",
    ".git/objects/",
    ".git/objects/obj",
    "a/",
    "a/[br].txt",
    "a/b/",
    "a/b/c/",
    "a/b/c/three.o",
    "a/b/c/three.txt",
    "a/b/two.c",
    "a/one.txt",
    "bar/",
    "bar/foo/",
    "bar/foo.txt",
    "bar/foo/f3",
    "docs/",
    "docs/deep/",
    "docs/deep/er/",
    "docs/deep/er/note.md",
    "docs/readme.md",
    "empty/",
    "foo/",
    "foo.bak",
    "foo/f1",
    "foo/sub/",
    "foo/sub/f2",
    "keep.d/",
    "keep.d/x/",
    "keep.d/x/y.txt",
    "link",
    "sp ace.txt",
    "top.o",
    "top.txt",
};

// Builds the §17 tree under ctx/src.
void make_tree(test::TestContext& ctx) {
  for (const auto& p : k_all) {
    if (p == "link") {
      test::make_symlink("top.txt", ctx.path("src/link"));
    } else if (p.back() == '/') {
      test::make_dir(ctx.path("src/" + p));
    } else {
      test::write_file(ctx.path("src/" + p), "x");
    }
  }
}

struct Selected {
  bool ok = false;
  std::string error;
  Set paths;
};

Selected select(test::TestContext& ctx, const std::string& rules,
                PruneEmpty prune = PruneEmpty::no) {
  test::write_file(ctx.path("main.rules"), rules);
  fs::PosixFs fs;
  Selected s;
  auto filter = RuleFilter::load(fs, ctx.path("main.rules"), ctx.path("src"));
  if (!filter) {
    s.error = filter.error().message();
    return s;
  }
  auto paths = select_paths(fs, ctx.path("src"), **filter, prune);
  if (!paths) {
    s.error = paths.error().message();
    return s;
  }
  s.ok = true;
  s.paths.insert(paths->begin(), paths->end());
  return s;
}

Set excluded(test::TestContext& ctx, const std::string& rules) {
  Selected s = select(ctx, rules);
  REQUIRE_MESSAGE(s.ok, s.error);
  Set out;
  for (const auto& p : k_all) {
    if (s.paths.count(p) == 0) {
      out.insert(p);
    }
  }
  return out;
}

}  // namespace

TEST_SUITE_BEGIN("filter::match");

TEST_CASE("f1: include directories and *.txt, exclude the rest; with and without -m") {
  test::TestContext ctx;
  make_tree(ctx);
  const std::string f1 = "# comment\n+ */\n+ *.txt\n- *\n";
  CHECK(select(ctx, f1).paths ==
        Set{".git/",           ".git/objects/",  "a/",         "a/[br].txt",  "a/b/",     "a/b/c/",
            "a/b/c/three.txt", "a/one.txt",      "bar/",       "bar/foo.txt", "bar/foo/", "docs/",
            "docs/deep/",      "docs/deep/er/",  "empty/",     "foo/",        "foo/sub/", "keep.d/",
            "keep.d/x/",       "keep.d/x/y.txt", "sp ace.txt", "top.txt"});
  CHECK(select(ctx, f1, PruneEmpty::yes).paths ==
        Set{"a/", "a/[br].txt", "a/b/", "a/b/c/", "a/b/c/three.txt", "a/one.txt", "bar/",
            "bar/foo.txt", "keep.d/", "keep.d/x/", "keep.d/x/y.txt", "sp ace.txt", "top.txt"});
}

TEST_CASE("f2: first match wins, anchoring, ** and ***") {
  test::TestContext ctx;
  make_tree(ctx);
  CHECK(
      select(ctx,
             "; semicolon comment\n- /top.o\n- *.o\n- foo/\n- /docs/**/*.md\n"
             "+ /a/b/c/***\n- /a/b/**\n- .git/\n")
          .paths ==
      Set{"a/",         "a/[br].txt",  "a/b/",    "a/b/c/",     "a/b/c/three.txt", "a/one.txt",
          "bar/",       "bar/foo.txt", "docs/",   "docs/deep/", "docs/deep/er/",   "docs/readme.md",
          "empty/",     "foo.bak",     "keep.d/", "keep.d/x/",  "keep.d/x/y.txt",  "link",
          "sp ace.txt", "top.txt"});
}

TEST_CASE("f3: every parent must be included for a deep include to work") {
  test::TestContext ctx;
  make_tree(ctx);
  CHECK(select(ctx, "+ /a/\n+ /a/b/\n+ /a/b/c/\n+ /a/b/c/three.txt\n- *\n").paths ==
        Set{"a/", "a/b/", "a/b/c/", "a/b/c/three.txt"});
  CHECK(select(ctx, "+ /a/b/c/three.txt\n- *\n").paths == Set{});
  CHECK(select(ctx, "+ */\n+ /a/b/c/three.txt\n- *\n", PruneEmpty::yes).paths ==
        Set{"a/", "a/b/", "a/b/c/", "a/b/c/three.txt"});
}

TEST_CASE("f4: whole subtrees with *** and **") {
  test::TestContext ctx;
  make_tree(ctx);
  CHECK(select(ctx, "+ /keep.d/***\n+ /docs/\n+ /docs/**/\n+ /docs/**.md\n- *\n").paths ==
        Set{"docs/", "docs/deep/", "docs/deep/er/", "docs/deep/er/note.md", "docs/readme.md",
            "keep.d/", "keep.d/x/", "keep.d/x/y.txt"});
}

TEST_CASE("one-rule examples: excluded sets") {
  test::TestContext ctx;
  make_tree(ctx);
  const Set foo_any = {"bar/foo/", "bar/foo/f3", "foo/", "foo/f1", "foo/sub/", "foo/sub/f2"};
  const Set foo_top = {"foo/", "foo/f1", "foo/sub/", "foo/sub/f2"};
  CHECK(excluded(ctx, "- foo\n") == foo_any);
  CHECK(excluded(ctx, "- /foo\n") == foo_top);
  CHECK(excluded(ctx, "- foo/*\n") == Set{"bar/foo/f3", "foo/f1", "foo/sub/", "foo/sub/f2"});
  CHECK(excluded(ctx, "- foo/***\n") == foo_any);
  CHECK(excluded(ctx, "- **/foo\n") == foo_any);
  CHECK(excluded(ctx, "- */foo\n") == Set{"bar/foo/", "bar/foo/f3"});
  CHECK(excluded(ctx, "- b/c\n") == Set{"a/b/c/", "a/b/c/three.o", "a/b/c/three.txt"});
  CHECK(excluded(ctx, "- /*.o\n") == Set{"top.o"});
  CHECK(excluded(ctx, "- *.o\n") == Set{"a/b/c/three.o", "top.o"});
  CHECK(excluded(ctx, "- **.o\n") == Set{"a/b/c/three.o", "top.o"});
  CHECK(excluded(ctx, "- [br].txt\n") == Set{});
  CHECK(excluded(ctx, "- \\[br].txt\n") == Set{"a/[br].txt"});
  CHECK(excluded(ctx, "- sp\\ ace.txt\n") == Set{});
  CHECK(excluded(ctx, "- sp\\ ace*\n") == Set{"sp ace.txt"});
  CHECK(excluded(ctx, "- link/\n") == Set{});
  CHECK(excluded(ctx, "-! */\n") == Set{".git/objects/obj", "a/[br].txt", "a/b/c/three.o",
                                        "a/b/c/three.txt", "a/b/two.c", "a/one.txt", "bar/foo.txt",
                                        "bar/foo/f3", "docs/deep/er/note.md", "docs/readme.md",
                                        "foo.bak", "foo/f1", "foo/sub/f2", "keep.d/x/y.txt", "link",
                                        "sp ace.txt", "top.o", "top.txt"});
  CHECK(excluded(ctx, "- ?\n") == Set{"a/", "a/[br].txt", "a/b/", "a/b/c/", "a/b/c/three.o",
                                      "a/b/c/three.txt", "a/b/two.c", "a/one.txt", "keep.d/x/",
                                      "keep.d/x/y.txt"});
  CHECK(select(ctx, "- *[!t]\n").paths == Set{".git/", "sp ace.txt", "top.txt"});
  CHECK(excluded(ctx, "- foo \n") == Set{});
  CHECK(excluded(ctx, "-  foo\n") == Set{});
  for (const char* same : {"-_foo\n", "exclude foo\n", "exclude,/ foo\n", "-,s foo\n", "H foo\n"}) {
    CAPTURE(same);
    CHECK(excluded(ctx, same) == foo_any);
  }
  for (const char* none : {"P foo\n", "protect foo\n", "risk foo\n", "-r foo\n"}) {
    CAPTURE(none);
    CHECK(excluded(ctx, none) == Set{});
  }
  CHECK(excluded(ctx, "-/ " + ctx.path("src/foo") + "\n") == foo_top);
  CHECK(excluded(ctx, "-/ src/foo\n") == foo_top);
  CHECK(select(ctx, "+ foo\n- *\n").paths == Set{"foo/"});
  CHECK(excluded(ctx, "- foo\n!\n- top.txt\n") == Set{"top.txt"});
}

TEST_CASE("one-rule examples: fatal rules and missing merge files") {
  test::TestContext ctx;
  make_tree(ctx);
  for (const char* bad :
       {" - foo\n", "foo\n", "+\n", "- \n", "clear x\n", "-q foo\n", "-e foo\n", "-n foo\n",
        "-w foo\n", "merge\n", "dir-merge\n", "\t- foo\n", "-C\n", "-x foo\n"}) {
    CAPTURE(bad);
    CHECK_FALSE(select(ctx, bad).ok);
  }
  Selected s = select(ctx, "merge /nonexistent\n");
  CHECK_FALSE(s.ok);
  CHECK(s.error == ctx.path("main.rules") +
                       ":1: failed to open merge file '/nonexistent': No such file or directory");
}

TEST_CASE("per-directory rules: newest first, clear, n, e and inherited anchors") {
  test::TestContext ctx;
  make_tree(ctx);
  test::write_file(ctx.path("src/a/.rules"), "- *.txt\n");
  test::write_file(ctx.path("src/a/b/.rules"), "- two.c\n- /c/three.o\n");
  test::write_file(ctx.path("src/a/b/c/.rules"), "!\n- one.txt\n");
  const Set rules_files = {"a/.rules", "a/b/.rules", "a/b/c/.rules"};
  auto excl = [&](const std::string& rules) {
    Selected s = select(ctx, rules);
    REQUIRE_MESSAGE(s.ok, s.error);
    Set out;
    for (const auto& p : k_all) {
      if (s.paths.count(p) == 0) {
        out.insert(p);
      }
    }
    for (const auto& p : rules_files) {
      if (test::exists(ctx.path("src/" + p)) && s.paths.count(p) == 0) {
        out.insert(p);
      }
    }
    return out;
  };
  CHECK(excl(": .rules\n") == Set{"a/[br].txt", "a/b/two.c", "a/one.txt"});
  CHECK(excl(":e .rules\n") ==
        Set{"a/.rules", "a/[br].txt", "a/b/.rules", "a/b/c/.rules", "a/b/two.c", "a/one.txt"});
  CHECK(excl("+ *.txt\n: .rules\n") == Set{"a/b/two.c"});
  test::remove_tree(ctx.path("src/a/b/c/.rules"));
  CHECK(excl(": .rules\n") ==
        Set{"a/[br].txt", "a/b/c/three.o", "a/b/c/three.txt", "a/b/two.c", "a/one.txt"});
  CHECK(excl(":n .rules\n") == Set{"a/[br].txt", "a/b/two.c", "a/one.txt"});
}

TEST_CASE("per-directory rules: an earlier dir-merge beats a later one") {
  test::TestContext ctx;
  make_tree(ctx);
  test::write_file(ctx.path("src/a/.rules"), "- *.txt\n");
  test::write_file(ctx.path("src/a/.rules2"), "+ one.txt\n");
  Selected s = select(ctx, ": .rules2\n: .rules\n");
  REQUIRE(s.ok);
  CHECK(s.paths.count("a/one.txt") == 1);
  CHECK(s.paths.count("a/[br].txt") == 0);
  s = select(ctx, ": .rules\n: .rules2\n");
  REQUIRE(s.ok);
  CHECK(s.paths.count("a/one.txt") == 0);
}

TEST_CASE("protects: receiver-side rules only, perishable ones not inside deleted dirs") {
  test::TestContext ctx;
  make_tree(ctx);
  test::write_file(ctx.path("main.rules"), "- *.o\nP /.git/\n-rp *.bak\nR keep*\nP *\n");
  fs::PosixFs fs;
  auto loaded = RuleFilter::load(fs, ctx.path("main.rules"), ctx.path("src"));
  REQUIRE(loaded);
  RuleFilter& f = **loaded;
  auto root = fs::open_dir(fs, fs::k_cwd, ctx.path("src"));
  REQUIRE(root);
  REQUIRE(f.enter_dir(fs, root->fd(), ""));
  // "- *.o" has no side: with --delete-excluded it only hides on the sender.
  CHECK_FALSE(f.included("top.o", false));
  CHECK(f.protects("top.o", false));  // ... and "P *" protects it
  CHECK(f.protects(".git", true));
  CHECK(f.included(".git", true));  // P does not hide
  CHECK(f.protects("foo.bak", false));
  CHECK(f.protects("x/foo.bak", false, InsideDeletedDir::yes));  // "P *" again
  CHECK_FALSE(f.protects("keep.d", true));                       // R: risk wins before "P *"
  f.leave_dir();

  test::write_file(ctx.path("p.rules"), "-rp *.bak\nP /.git/\n");
  auto perish = RuleFilter::load(fs, ctx.path("p.rules"), ctx.path("src"));
  REQUIRE(perish);
  CHECK((*perish)->protects("d/foo.bak", false));
  CHECK_FALSE((*perish)->protects("d/foo.bak", false, InsideDeletedDir::yes));
  CHECK((*perish)->protects(".git", true, InsideDeletedDir::yes));
  CHECK_FALSE((*perish)->protects("top.o", false));
}

TEST_CASE("-m keeps an empty directory that a receiver-side rule protects") {
  test::TestContext ctx;
  make_tree(ctx);
  CHECK(select(ctx, "P empty/\n- *.o\n", PruneEmpty::yes).paths.count("empty/") == 1);
  CHECK(select(ctx, "- *.o\n", PruneEmpty::yes).paths.count("empty/") == 0);
  CHECK(select(ctx, "P deep/\n+ */\n- *\n", PruneEmpty::yes).paths == Set{"docs/", "docs/deep/"});
}

// Regression (oracle seed 190): rsync's receiver reads the per-directory
// files of a destination directory it is emptying, so a receiver-side
// per-dir rule there protects entries (and keeps the directory).
TEST_CASE("regression: receiver-side per-dir rules apply inside a deleted directory") {
  test::TestContext ctx;
  test::write_file(ctx.path("dst/c/.rules"), "- *c\n- [a-c]/\\*/c\n+ b/***\n");
  test::write_file(ctx.path("dst/c/?/.rules"), "+ [!x]\n");
  test::write_file(ctx.path("dst/c/?/x-]c"), "y");
  test::write_file(ctx.path("dst/c/?/xaaa"), "y");
  test::write_file(ctx.path("main.rules"), ":r .rules\n+r ?\n-p /?/\n");
  test::make_dir(ctx.path("src"));
  fs::PosixFs fs;
  auto loaded = RuleFilter::load(fs, ctx.path("main.rules"), ctx.path("src"));
  REQUIRE(loaded);
  RuleFilter& f = **loaded;
  auto root = fs::open_dir(fs, fs::k_cwd, ctx.path("dst"));
  REQUIRE(root);
  REQUIRE(f.enter_dir(fs, root->fd(), ""));
  CHECK_FALSE(f.included("c", true));  // "-p /?/" hides it on the sender
  CHECK_FALSE(f.protects("c", true));  // "+r ?" risks it: c/ is to be deleted
  auto c = fs::open_dir(fs, root->fd(), "c");
  REQUIRE(c);
  REQUIRE(f.enter_dir(fs, c->fd(), "c"));
  CHECK_FALSE(f.protects("c/?", true, InsideDeletedDir::yes));
  auto q = fs::open_dir(fs, c->fd(), "?");
  REQUIRE(q);
  REQUIRE(f.enter_dir(fs, q->fd(), "c/?"));
  CHECK(f.protects("c/?/x-]c", false, InsideDeletedDir::yes));  // c/.rules "- *c", inherited
  CHECK_FALSE(f.protects("c/?/xaaa", false, InsideDeletedDir::yes));
  CHECK_FALSE(f.protects("c/?/b", false, InsideDeletedDir::yes));  // "+ [!x]" risks it
  f.leave_dir();
  f.leave_dir();
  f.leave_dir();
}

TEST_CASE("anchored per-dir rules are anchored at the file's directory and inherited") {
  test::TestContext ctx;
  test::write_file(ctx.path("src/a/b/.rules"), "- /c/three.o\n- /x*\n");
  test::write_file(ctx.path("src/a/b/c/three.o"), "x");
  test::write_file(ctx.path("src/a/b/xy"), "x");
  test::write_file(ctx.path("src/c/three.o"), "x");
  test::write_file(ctx.path("src/xy"), "x");
  test::write_file(ctx.path("main.rules"), ": .rules\n");
  fs::PosixFs fs;
  auto f = RuleFilter::load(fs, ctx.path("main.rules"), ctx.path("src"));
  REQUIRE(f);
  auto paths = select_paths(fs, ctx.path("src"), **f, PruneEmpty::no);
  REQUIRE(paths);
  CHECK(Set(paths->begin(), paths->end()) ==
        Set{"a/", "a/b/", "a/b/.rules", "a/b/c/", "c/", "c/three.o", "xy"});
}

// Regression (oracle seeds 860, 1043): a leading-'/' rule with the '/'
// modifier in a per-dir file is an absolute path from the filesystem root; the
// file's directory is not prepended, so "-/ /?" excludes nothing here.
TEST_CASE("regression: '/'-modifier rules in per-dir files are not re-anchored") {
  test::TestContext ctx;
  test::write_file(ctx.path("src/.rules"), "-/ /?\n-,/ /[!x]/\n");
  test::write_file(ctx.path("src/a/b"), "x");
  test::write_file(ctx.path("src/c"), "x");
  test::write_file(ctx.path("main.rules"), ":n .rules\n");
  fs::PosixFs fs;
  auto f = RuleFilter::load(fs, ctx.path("main.rules"), ctx.path("src"));
  REQUIRE(f);
  auto paths = select_paths(fs, ctx.path("src"), **f, PruneEmpty::no);
  REQUIRE(paths);
  CHECK(Set(paths->begin(), paths->end()) == Set{".rules", "a/", "a/b", "c"});
}

// Verified with rsync 3.5.0 (tree pd/src, rules run from pd/r).
TEST_CASE("dir-merge names with '/' are also read in the ancestors of the root") {
  test::TestContext ctx;
  test::write_file(ctx.path(".rules"), "- foo\n- /top\n- /src/baz\n");
  test::write_file(ctx.path("src/.rules"), "+ foo\n- bar\n");
  for (const char* f : {"src/foo", "src/bar", "src/d/foo", "src/d/bar", "src/baz", "src/top"}) {
    test::write_file(ctx.path(f), "x");
  }
  auto run = [&](const std::string& rules) {
    test::write_file(ctx.path("r/main.rules"), rules);
    fs::PosixFs fs;
    auto f = RuleFilter::load(fs, ctx.path("r/main.rules"), ctx.path("src"));
    REQUIRE(f);
    auto paths = select_paths(fs, ctx.path("src"), **f, PruneEmpty::no);
    REQUIRE(paths);
    return Set(paths->begin(), paths->end());
  };
  const Set with_parent = {".rules", "foo", "top", "d/", "d/foo"};
  CHECK(run(": ../.rules\n") == with_parent);
  CHECK(run(": " + ctx.path(".rules") + "\n") == with_parent);
  CHECK(run(": ../../.rules\n") == with_parent);
  CHECK(run(":n ../.rules\n") == Set{".rules", "baz", "foo", "top", "d/", "d/bar", "d/foo"});
  const Set plain = {".rules", "baz", "foo", "top", "d/", "d/foo"};
  CHECK(run(": ../src/.rules\n") == plain);
  CHECK(run(": sub/.rules\n") == plain);
  CHECK(run(": .rules\n") == plain);
}

// Regression (oracle seed 1283): rsync prunes (-m) after the file list is
// built, so a receiver-side rule in a per-directory file does not keep an
// empty directory; a global one does.
TEST_CASE("regression: -m ignores per-dir protect rules, honours global ones") {
  test::TestContext ctx;
  test::write_file(ctx.path("src/d/.rules"), "P e/\n");
  test::make_dir(ctx.path("src/d/e"));
  test::write_file(ctx.path("src/f"), "x");
  test::write_file(ctx.path("main.rules"), ":e .rules\n");
  fs::PosixFs fs;
  auto f = RuleFilter::load(fs, ctx.path("main.rules"), ctx.path("src"));
  REQUIRE(f);
  auto paths = select_paths(fs, ctx.path("src"), **f, PruneEmpty::yes);
  REQUIRE(paths);
  CHECK(Set(paths->begin(), paths->end()) == Set{"f"});
  test::write_file(ctx.path("main.rules"), ":e .rules\nP e/\n");
  f = RuleFilter::load(fs, ctx.path("main.rules"), ctx.path("src"));
  REQUIRE(f);
  paths = select_paths(fs, ctx.path("src"), **f, PruneEmpty::yes);
  REQUIRE(paths);
  CHECK(Set(paths->begin(), paths->end()) == Set{"d/", "d/e/", "f"});
}

// Regression (oracle seed 1125): a dir-merge whose placeholder was cleared is
// no longer read, so a syntax error in its files does not matter.
TEST_CASE("regression: clear deactivates earlier dir-merge rules") {
  test::TestContext ctx;
  test::write_file(ctx.path("src/d/.rules"), "-n foo\n");
  test::write_file(ctx.path("src/d/f"), "x");
  test::write_file(ctx.path("main.rules"), ":e .rules\nclear\n- x\n");
  fs::PosixFs fs;
  auto f = RuleFilter::load(fs, ctx.path("main.rules"), ctx.path("src"));
  REQUIRE(f);
  auto paths = select_paths(fs, ctx.path("src"), **f, PruneEmpty::no);
  REQUIRE(paths);
  CHECK(Set(paths->begin(), paths->end()) == Set{"d/", "d/.rules", "d/f"});
  test::write_file(ctx.path("main.rules"), ":e .rules\n- x\n");
  f = RuleFilter::load(fs, ctx.path("main.rules"), ctx.path("src"));
  REQUIRE(f);
  paths = select_paths(fs, ctx.path("src"), **f, PruneEmpty::no);
  REQUIRE_FALSE(paths);
  CHECK(paths.error().message() == "d/.rules:1: invalid modifier 'n' in filter rule '-n foo'");
}

// Regression (oracle seeds 1626, 2244): a nested one-sided dir-merge is
// active on its side only (rsync drops it on the other), so in a directory
// that only the receiver reads (a deleted one) the files of a sender-only
// nested merge are not read: a bad rule there is no error.
TEST_CASE("regression: a deleted directory reads only receiver-side nested merge files") {
  test::TestContext ctx;
  test::write_file(ctx.path("main.rules"), ": .rules\n");
  test::write_file(ctx.path("src/.rules"), ":s .g\n:r .h\n");
  test::write_file(ctx.path("src/gone/.g"), "-r bad\n");  // an error if read (side in a :s file)
  test::write_file(ctx.path("src/gone/.h"), "- kept\n");
  test::write_file(ctx.path("src/gone/kept"), "x");
  fs::PosixFs fs;
  auto loaded = RuleFilter::load(fs, ctx.path("main.rules"), ctx.path("src"));
  REQUIRE(loaded);
  RuleFilter& f = **loaded;
  auto root = fs::open_dir(fs, fs::k_cwd, ctx.path("src"));
  REQUIRE(root);
  REQUIRE(f.enter_dir(fs, root->fd(), ""));
  auto gone = fs::open_dir(fs, root->fd(), "gone");
  REQUIRE(gone);
  REQUIRE(f.enter_deleted_dir(fs, gone->fd(), "gone"));
  CHECK(f.protects("gone/kept", false, InsideDeletedDir::yes));  // .h: receiver side
  f.leave_dir();
  Status st = f.enter_dir(fs, gone->fd(), "gone");  // the sender would read .g
  REQUIRE_FALSE(st);
  CHECK(st.error().message() ==
        "gone/.g:1: specified-side merge file contains specified-side filter '-r bad'");
  f.leave_dir();
}

// Read once: with the cache on, a second walk sees the rule files as the
// first one read them (the backup job's validation pass, then its real walk).
TEST_CASE("with the read cache on, a second walk uses the rules the first one read") {
  test::TestContext ctx;
  test::write_file(ctx.path("main.rules"), ": .rules\n");
  test::write_file(ctx.path("src/a/.rules"), "- x\n. /" + ctx.dir().substr(1) + "/inc\n");
  test::write_file(ctx.path("inc"), "- y\n");
  test::write_file(ctx.path("src/a/x"), "1");
  test::write_file(ctx.path("src/a/y"), "1");
  test::write_file(ctx.path("src/a/z"), "1");
  fs::PosixFs fs;
  auto loaded = RuleFilter::load(fs, ctx.path("main.rules"), ctx.path("src"));
  REQUIRE(loaded);
  (*loaded)->enable_read_cache();
  auto first = select_paths(fs, ctx.path("src"), **loaded, PruneEmpty::no);
  REQUIRE(first);
  CHECK(Set(first->begin(), first->end()) == Set{"a/", "a/.rules", "a/z"});
  CHECK((*loaded)->cached_reads() >= 2);
  test::write_file(ctx.path("src/a/.rules"), "-q broken now\n");
  test::write_file(ctx.path("inc"), "-q broken too\n");
  auto second = select_paths(fs, ctx.path("src"), **loaded, PruneEmpty::no);
  REQUIRE_MESSAGE(second, second.error().message());
  CHECK(*second == *first);
}

// Regression (oracle seed 3829): rsync keeps one list of active dir-merges
// per side, so after `:s .g` a `:r .g` still activates .g on the receiver.
TEST_CASE("regression: a dir-merge name is taken per side") {
  test::TestContext ctx;
  test::write_file(ctx.path("main.rules"), ": .rules\n");
  test::write_file(ctx.path("src/.rules"), ":s .g\n:r .g\n");
  test::write_file(ctx.path("src/.g"), "- a\n");
  fs::PosixFs fs;
  auto loaded = RuleFilter::load(fs, ctx.path("main.rules"), ctx.path("src"));
  REQUIRE(loaded);
  RuleFilter& f = **loaded;
  auto root = fs::open_dir(fs, fs::k_cwd, ctx.path("src"));
  REQUIRE(root);
  REQUIRE(f.enter_dir(fs, root->fd(), ""));
  CHECK_FALSE(f.included("a", false));  // .g on the sender (":s")
  CHECK(f.protects("a", false));        // .g on the receiver (":r", not a duplicate there)
  f.leave_dir();
}
