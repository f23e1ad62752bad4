// protect_metadata (jobs/clone_protect): the itemize parser, the re-inode
// step on real trees, and its crash / power-cut enumeration.
//
// Fixture: clone/ holds files hard-linked from snap/ (history), a file only
// the clone holds, two names of one inode, a symlink, a user's file named
// like a temporary. The "rsync" that follows the step is simulated by
// changing the clone's metadata in place (what rsync does for `.f...p`).
#include <doctest/doctest.h>

#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

#include "fs/fault_fs.hpp"
#include "fs/posix_fs.hpp"
#include "jobs/clone_protect.hpp"
#include "state/state.hpp"
#include "test_engine_helpers.hpp"
#include "testutil.hpp"

using namespace rotator;
using namespace rotator::test;
using jobs::Itemized;

namespace {

Itemized item(const std::string& line) {
  auto it = jobs::parse_itemized(line);
  REQUIRE_MESSAGE(it, line);
  return *it;
}

struct Fixture {
  explicit Fixture(const TestContext& ctx)
      : clone(ctx.path("clone")), snap(ctx.path("snap")), state(ctx.path("state")) {
    make_dir(snap);
    make_dir(state);
    write_file(clone + "/a.txt", "alpha");
    write_file(clone + "/d/b.txt", "bravo bravo");
    write_file(clone + "/d/e/c.txt", "charlie");
    write_file(clone + "/only.txt", "only the clone");
    write_file(clone + "/h1", "hard");
    make_link(clone + "/h1", clone + "/d/h2");
    make_symlink("a.txt", clone + "/lnk");
    ::chmod((clone + "/a.txt").c_str(), 0640);
    ::chmod((clone + "/d/b.txt").c_str(), 0604);
    REQUIRE(::lsetxattr((clone + "/d/b.txt").c_str(), "user.rotator.t", "x1", 2, 0) == 0);
    set_tree_mtimes(clone, 1300000000);
    for (const char* f : {"a.txt", "d/b.txt", "d/e/c.txt", "h1", "lnk"}) {
      make_link(clone + "/" + f, snap + "/" + std::filesystem::path(f).filename().string());
    }
    // A user's file with the name the step would pick for a.txt.
    user_tmp = clone + "/.rotator-partial." + std::to_string(inode_of(clone + "/a.txt"));
    write_file(user_tmp, "mine");
    snap_before = list_tree(snap, WithInodes::no);
    snap_inodes = inodes_under(snap);
    clone_before = clone_listing();
  }
  std::vector<Itemized> items() const {
    return {item(".f...p..... a.txt"),     item(".f..t.o...x d/b.txt"),
            item(".f...p..... d/e/c.txt"), item(".f...p..... d/h2"),
            item(".f...p..... h1"),        item(".L..t...... lnk"),
            item(".f...p..... only.txt"),  item(".f...p..... gone.txt")};
  }
  jobs::RecordTemps recorder(fs::Fs& fs) {
    return [&fs, this](const std::vector<std::string>& temps) -> Status {
      state::JobState st;
      if (!temps.empty()) {
        st.resume[jobs::k_protect_resume_key] = jobs::encode_temps(temps);
      }
      ++records;
      return state::save(fs, state, "clone", st);
    };
  }
  std::vector<std::string> recorded() const {
    fs::PosixFs real;
    auto st = state::load(real, state, "clone");
    REQUIRE(st);
    auto it = st->resume.find(jobs::k_protect_resume_key);
    return it == st->resume.end() ? std::vector<std::string>{} : jobs::decode_temps(it->second);
  }
  // The clone's non-directories without the step's temporaries (directory
  // mtimes change when entries are added), inodes left out.
  std::vector<std::string> clone_listing() const {
    std::vector<std::string> out;
    std::string user_rel = user_tmp.empty() ? "" : user_tmp.substr(clone.size() + 1);
    for (const auto& l : list_tree(clone, WithInodes::no)) {
      std::string rel = l.substr(0, l.find(' '));
      std::string base = std::filesystem::path(rel).filename().string();
      if (l.find(" dir ") != std::string::npos ||
          (base.rfind(".rotator-partial.", 0) == 0 && rel != user_rel)) {
        continue;
      }
      out.push_back(l);
    }
    return out;
  }
  // Problems with the invariants that hold after any prefix of the step:
  // history untouched, the clone's names the old inode or a complete copy,
  // the user's file kept.
  std::string problems() const {
    std::string out;
    if (list_tree(snap, WithInodes::no) != snap_before || inodes_under(snap) != snap_inodes) {
      out += "history changed; ";
    }
    if (clone_listing() != clone_before) {
      out += "clone listing differs; ";
    }
    for (auto [f, content] :
         std::vector<std::pair<std::string, std::string>>{{"a.txt", "alpha"},
                                                          {"d/b.txt", "bravo bravo"},
                                                          {"d/e/c.txt", "charlie"},
                                                          {"h1", "hard"},
                                                          {"d/h2", "hard"},
                                                          {"only.txt", "only the clone"}}) {
      if (read_file(clone + "/" + f) != content) {
        out += f + " content; ";
      }
    }
    char buf[16] = {};
    if (::lgetxattr((clone + "/d/b.txt").c_str(), "user.rotator.t", buf, sizeof buf) != 2 ||
        std::string(buf, 2) != "x1") {
      out += "xattr lost; ";
    }
    if (!exists(user_tmp) || read_file(user_tmp) != "mine") {
      out += "user's file touched; ";
    }
    return out;
  }
  // No temporary of the step is left in the clone.
  std::string leftovers() const {
    std::string out;
    for (const auto& e : std::filesystem::recursive_directory_iterator(clone)) {
      std::string name = e.path().filename().string();
      if (name.rfind(".rotator-partial.", 0) == 0 && e.path().string() != user_tmp) {
        out += e.path().string() + " ";
      }
    }
    return out;
  }

  std::string clone, snap, state, user_tmp;
  std::vector<std::string> snap_before, clone_before;
  std::map<std::string, ino_t> snap_inodes;
  long records = 0;
};

}  // namespace

TEST_SUITE_BEGIN("jobs::clone_protect");

TEST_CASE("itemized lines as rsync prints them") {
  auto f = item(".f...p..... d/a");
  CHECK(f.update == '.');
  CHECK(f.type == 'f');
  CHECK(f.attrs == "...p.....");
  CHECK(f.path == "d/a");
  CHECK(item(">f+++++++++ src/we\\ird\\#012name").path == "src/we\\ird\nname");
  CHECK(item(">f+++++++++ lit\\#134#123x").path == "lit\\#123x");
  CHECK(item("cd+++++++++ src/").path == "src/");
  CHECK(item(">f..t.o.... with  two spaces").path == "with  two spaces");
  CHECK_FALSE(jobs::parse_itemized("*deleting   old.txt"));
  CHECK_FALSE(jobs::parse_itemized("Number of files: 8 (reg: 5, dir: 2, link: 1)"));
  CHECK_FALSE(jobs::parse_itemized("created directory dst"));
  CHECK_FALSE(jobs::parse_itemized(".f...p....."));
  CHECK(jobs::unescape_rsync_name("a\\#") == "a\\#");
  CHECK(jobs::unescape_rsync_name("\\#377\\#001") == "\xff\x01");
}

TEST_CASE("metadata_only: files and symlinks rsync will not transfer but changes in place") {
  for (const char* line :
       {".f...p..... x", ".f....o.... x", ".f.....g... x", ".f..t...... x", ".f..T...... x",
        ".f.......a. x", ".f........x x", ".L..t...... x", ".L....og... x"}) {
    CAPTURE(line);
    CHECK(jobs::metadata_only(item(line)));
  }
  // Transferred (a new inode anyway), created, directories, devices, atime only.
  for (const char* line :
       {">f..t...... x", ">f.st...... x", ">f+++++++++ x", ".d..t...... x/", "cL.c....... x",
        "hf......... x", ".D...p..... x", ".f......u.. x", ".f......... x"}) {
    CAPTURE(line);
    CHECK_FALSE(jobs::metadata_only(item(line)));
  }
}

TEST_CASE("the temporaries' record survives names with newlines and the state file") {
  std::vector<std::string> temps = {"a/.rotator-partial.1", "b\nc/.rotator-partial.2.1", "x"};
  CHECK(jobs::decode_temps(jobs::encode_temps(temps)) == temps);
  CHECK(jobs::decode_temps("").empty());
}

TEST_CASE(
    "shared files get a new inode with their data, metadata and xattrs; history keeps the old") {
  TestContext ctx;
  Fixture fx(ctx);
  auto old_a = inode_of(fx.clone + "/a.txt");
  auto old_only = inode_of(fx.clone + "/only.txt");
  fs::PosixFs real;
  std::vector<std::string> plan;
  auto r = jobs::protect_files(real, fx.clone, fx.items(), DryRun::no, fx.recorder(real),
                               [&](std::string_view l) { plan.emplace_back(l); });
  REQUIRE(r);
  CHECK(r->files == 4);  // a.txt d/b.txt d/e/c.txt and one of h1/h2
  CHECK(r->hard_links == 1);
  CHECK(r->symlinks == 1);
  CHECK(r->unshared == 1);  // only.txt
  CHECK(r->gone == 1);
  CHECK(r->bytes == 5 + 11 + 7 + 4);
  CHECK(plan.size() == 6);
  CHECK(fx.problems() == "");
  CHECK(fx.leftovers() == "");
  CHECK(fx.recorded().empty());
  CHECK(fx.records == 2);
  CHECK(inode_of(fx.clone + "/a.txt") != old_a);
  CHECK(inode_of(fx.clone + "/only.txt") == old_only);
  CHECK(inode_of(fx.clone + "/h1") == inode_of(fx.clone + "/d/h2"));
  CHECK(inode_of(fx.clone + "/h1") != inode_of(fx.snap + "/h1"));
  for (const char* f : {"a.txt", "d/b.txt", "d/e/c.txt", "lnk"}) {
    CAPTURE(f);
    struct stat st {};
    REQUIRE(::lstat((fx.clone + "/" + f).c_str(), &st) == 0);
    CHECK(st.st_nlink == 1);
  }
  // What rsync then does in place reaches the clone only.
  ::chmod((fx.clone + "/a.txt").c_str(), 0600);
  set_mtime(fx.clone + "/lnk", 1400000000);
  CHECK(list_tree(fx.snap, WithInodes::no) == fx.snap_before);
  CHECK(inodes_under(fx.snap) == fx.snap_inodes);
}

TEST_CASE("two names of one clone-only inode stay one inode when they fall in different batches") {
  TestContext ctx;
  std::string clone = ctx.path("clone"), snap = ctx.path("snap");
  make_dir(snap);
  // p1 and p2: one inode, nothing in history holds it (link count 2). Between
  // them, a full batch of files shared with history, so p2 is in batch 2
  // and meets the old inode with link count 1 after p1 was re-inoded.
  write_file(clone + "/p1", "pair");
  make_link(clone + "/p1", clone + "/p2");
  std::vector<Itemized> items{item(".f...p..... p1")};
  for (size_t n = 0; n < jobs::k_protect_batch; ++n) {
    std::string f = "s/f" + std::to_string(n);
    write_file(clone + "/" + f, "x");
    make_link(clone + "/" + f, snap + "/f" + std::to_string(n));
    items.push_back(item(".f...p..... " + f));
  }
  items.push_back(item(".f...p..... p2"));
  auto old = inode_of(clone + "/p1");
  fs::PosixFs real;
  size_t records = 0;
  auto r = jobs::protect_files(
      real, clone, items, DryRun::no,
      [&](const std::vector<std::string>&) -> Status {
        ++records;
        return {};
      },
      nullptr);
  REQUIRE(r);
  CHECK(records == 4);  // two batches, each recorded and cleared
  CHECK(r->files == jobs::k_protect_batch + 1);
  CHECK(r->hard_links == 1);
  CHECK(r->unshared == 0);
  CHECK(inode_of(clone + "/p1") == inode_of(clone + "/p2"));
  CHECK(inode_of(clone + "/p1") != old);
  CHECK(read_file(clone + "/p2") == "pair");
}

namespace {

// A clone of `others` files shared with history (snap/), plus a hard-link
// group of three names only the clone holds, named first, in the middle and
// last of the items, so that they are far apart in the spool.
struct PartsFixture {
  PartsFixture(const TestContext& ctx, size_t others)
      : clone(ctx.path("clone")), snap(ctx.path("snap")) {
    make_dir(snap);
    write_file(clone + "/g/first", "group");
    make_link(clone + "/g/first", clone + "/m/middle");
    make_link(clone + "/g/first", clone + "/z/last");
    items.push_back(item(".f...p..... g/first"));
    for (size_t n = 0; n < others; ++n) {
      std::string f = "s/f" + std::to_string(n);
      write_file(clone + "/" + f, "x" + std::to_string(n));
      make_link(clone + "/" + f, snap + "/f" + std::to_string(n));
      items.push_back(item(".f...p..... " + f));
      if (n == others / 2) {
        items.push_back(item(".f...p..... m/middle"));
      }
    }
    items.push_back(item(".f...p..... z/last"));
    group_ino = inode_of(clone + "/g/first");
    snap_before = list_tree(snap, WithInodes::no);
    snap_inodes = inodes_under(snap);
  }
  // History untouched, every name's content kept.
  std::string problems(size_t others) const {
    std::string out;
    if (list_tree(snap, WithInodes::no) != snap_before || inodes_under(snap) != snap_inodes) {
      out += "history changed; ";
    }
    for (const char* g : {"g/first", "m/middle", "z/last"}) {
      if (read_file(clone + "/" + g) != "group") {
        out += std::string(g) + " content; ";
      }
    }
    for (size_t n = 0; n < others; ++n) {
      if (read_file(clone + "/s/f" + std::to_string(n)) != "x" + std::to_string(n)) {
        out += "s/f" + std::to_string(n) + " content; ";
      }
    }
    return out;
  }
  std::string clone, snap;
  std::vector<Itemized> items;
  ino_t group_ino = 0;
  std::vector<std::string> snap_before;
  std::map<std::string, ino_t> snap_inodes;
};

}  // namespace

TEST_CASE("a hard-link group far apart in the items stays one inode with parts of two names") {
  TestContext ctx;
  const size_t others = 150;  // 153 shared names: 154 parts, split in three groups of files
  PartsFixture fx(ctx, others);
  fs::PosixFs real;
  size_t records = 0;
  auto r = jobs::protect_files(
      real, fx.clone, fx.items, DryRun::no,
      [&](const std::vector<std::string>&) -> Status {
        ++records;
        return {};
      },
      nullptr, 2);
  REQUIRE(r);
  CHECK(r->files == others + 1);
  CHECK(r->hard_links == 2);
  CHECK(r->unshared == 0);
  CHECK(r->gone == 0);
  CHECK(records > 2 * 10);  // many parts, each its own batches
  CHECK(fx.problems(others) == "");
  auto now = inode_of(fx.clone + "/g/first");
  CHECK(now != fx.group_ino);
  CHECK(inode_of(fx.clone + "/m/middle") == now);
  CHECK(inode_of(fx.clone + "/z/last") == now);
  struct stat st {};
  REQUIRE(::lstat((fx.clone + "/g/first").c_str(), &st) == 0);
  CHECK(st.st_nlink == 3);
  for (size_t n = 0; n < others; n += 37) {
    CAPTURE(n);
    CHECK(inode_of(fx.clone + "/s/f" + std::to_string(n)) !=
          inode_of(fx.snap + "/f" + std::to_string(n)));
  }
}

TEST_CASE("a dry run with parts of two names counts as the real run does") {
  TestContext ctx;
  const size_t others = 40;
  PartsFixture fx(ctx, others);
  fs::PosixFs real;
  fs::FaultFs rec(real);
  rec.record();
  std::vector<std::string> plan;
  auto r = jobs::protect_files(
      rec, fx.clone, fx.items, DryRun::yes,
      [&](const std::vector<std::string>&) -> Status { return {}; },
      [&](std::string_view l) { plan.emplace_back(l); }, 2);
  REQUIRE(r);
  CHECK(r->files == others + 1);
  CHECK(r->hard_links == 2);
  CHECK(plan.size() == others + 3);
  CHECK(rec.journal().empty());
  CHECK(inode_of(fx.clone + "/z/last") == fx.group_ino);
}

TEST_CASE("a dry run changes nothing and plans each file") {
  TestContext ctx;
  Fixture fx(ctx);
  fs::PosixFs real;
  fs::FaultFs rec(real);
  rec.record();
  auto before = list_tree(fx.clone, WithInodes::yes);
  std::vector<std::string> plan;
  auto r = jobs::protect_files(rec, fx.clone, fx.items(), DryRun::yes, fx.recorder(rec),
                               [&](std::string_view l) { plan.emplace_back(l); });
  REQUIRE(r);
  CHECK(r->files == 4);  // counted as the real run counts them
  CHECK(r->hard_links == 1);
  CHECK(r->symlinks == 1);
  CHECK(r->bytes == 5 + 11 + 7 + 4);
  CHECK(rec.journal().empty());
  CHECK(fx.records == 0);
  CHECK(list_tree(fx.clone, WithInodes::yes) == before);
  CHECK(plan == std::vector<std::string>{"protect a.txt", "protect d/b.txt", "protect d/e/c.txt",
                                         "protect d/h2", "protect h1", "protect lnk"});
}

TEST_CASE("remove_protect_temps removes only recorded names of the step's form") {
  TestContext ctx;
  Fixture fx(ctx);
  write_file(fx.clone + "/d/.rotator-partial.77", "leftover");
  make_symlink("x", fx.clone + "/.rotator-partial.78");
  fs::PosixFs real;
  auto r = jobs::remove_protect_temps(
      real, fx.clone,
      {"d/.rotator-partial.77", ".rotator-partial.78", "no/such/.rotator-partial.1"});
  REQUIRE(r);
  CHECK(*r == 2);
  CHECK_FALSE(exists(fx.clone + "/d/.rotator-partial.77"));
  CHECK_FALSE(exists(fx.clone + "/.rotator-partial.78"));
  auto bad = jobs::remove_protect_temps(real, fx.clone, {"a.txt"});
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message() ==
        "refusing to remove '" + fx.clone + "/a.txt': not a temporary of protect_metadata");
  CHECK(exists(fx.clone + "/a.txt"));
}

namespace {

// One fault point (testutil's for_each_fault_point): (a) the step runs
// through a FaultFs that crashes (or cuts the power) after mutating call k;
// (b) the invariants hold on what is left; (c) the rerun (recovery from the
// recorded names, then the step again with the same items, as the next dry
// run lists them) leaves no temporary, the history untouched and every
// shared file re-inoded.
bool protect_attempt(const TestContext& ctx, fs::FaultFs& faulty, size_t part) {
  Fixture fx(ctx);
  fs::PosixFs real;
  auto first =
      jobs::protect_files(faulty, fx.clone, fx.items(), DryRun::no, fx.recorder(faulty), {}, part);
  if (!first) {
    CHECK(first.error().sys_errno == EIO);
  }
  CHECK(faulty.cut_errors().empty());
  CHECK(fx.problems() == "");
  auto removed = jobs::remove_protect_temps(real, fx.clone, fx.recorded());
  REQUIRE(removed);
  CHECK(fx.leftovers() == "");
  // The record cleared, as the job does after the removal (with several
  // parts the rerun may have nothing left to do, so it would not clear it).
  REQUIRE(fx.recorder(real)({}));
  auto again =
      jobs::protect_files(real, fx.clone, fx.items(), DryRun::no, fx.recorder(real), {}, part);
  REQUIRE(again);
  CHECK(fx.problems() == "");
  CHECK(fx.leftovers() == "");
  CHECK(fx.recorded().empty());
  for (const char* f : {"a.txt", "d/b.txt", "d/e/c.txt", "h1", "d/h2", "lnk"}) {
    CAPTURE(f);
    std::string in_snap =
        f == std::string("d/h2") ? "h1" : std::filesystem::path(f).filename().string();
    CHECK(inode_of(fx.clone + "/" + f) != inode_of(fx.snap + "/" + in_snap));
  }
  // What rsync then changes in place leaves history's old metadata.
  for (const char* f : {"a.txt", "d/b.txt", "d/e/c.txt", "h1", "d/h2"}) {
    REQUIRE(::chmod((fx.clone + "/" + f).c_str(), 0600) == 0);
  }
  CHECK(list_tree(fx.snap, WithInodes::no) == fx.snap_before);
  return static_cast<bool>(first);
}

long enumerate(FaultKind fault, size_t part = jobs::k_protect_part) {
  return for_each_fault_point(fault, [part](const TestContext& ctx, fs::FaultFs& faulty) {
    return protect_attempt(ctx, faulty, part);
  });
}

}  // namespace

TEST_CASE("crash after every mutating call of the step: history intact, the rerun converges") {
  long k = enumerate(FaultKind::crash);
  MESSAGE("crash points: ", k);
  CHECK(k > 20);
}

TEST_CASE("power cut after every mutating call of the step: history intact, the rerun converges") {
  long k = enumerate(FaultKind::power_cut);
  MESSAGE("power-cut points: ", k);
  CHECK(k > 20);
}

// Six shared names at two per part: six parts (h1 and d/h2 in one), each
// recorded, re-inoded, synced and cleared on its own.
TEST_CASE("crash after every mutating call with parts of two names: the rerun converges") {
  long k = enumerate(FaultKind::crash, 2);
  MESSAGE("crash points: ", k);
  CHECK(k > 40);
}

TEST_CASE("power cut after every mutating call with parts of two names: the rerun converges") {
  long k = enumerate(FaultKind::power_cut, 2);
  MESSAGE("power-cut points: ", k);
  CHECK(k > 40);
}

TEST_SUITE_END();
