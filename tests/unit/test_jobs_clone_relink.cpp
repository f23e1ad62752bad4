// relink (jobs/clone_relink): new inodes equal to an older one become hard
// links to it; anything unequal (content, mode, owner, mtime, xattrs) is
// never linked; crash / power-cut enumeration of the step.
//
// Fixture: snap/ is the previous generation; clone/ holds new inodes (link
// count 1) as rsync leaves them after a rename on the source, plus near
// misses that must stay as they are.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

#include "fs/fault_fs.hpp"
#include "fs/posix_fs.hpp"
#include "jobs/clone_relink.hpp"
#include "state/state.hpp"
#include "test_engine_helpers.hpp"
#include "testutil.hpp"

using namespace rotator;
using namespace rotator::test;

namespace {

std::string big(char c, size_t n) {
  std::string s;
  s.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    s.push_back(static_cast<char>(c + static_cast<char>(i % 7)));
  }
  return s;
}

void set_mtime(const std::string& path, time_t t) {
  timespec ts[2] = {{t, 0}, {t, 0}};
  REQUIRE(::utimensat(AT_FDCWD, path.c_str(), ts, AT_SYMLINK_NOFOLLOW) == 0);
}

struct Fixture {
  explicit Fixture(const TestContext& ctx)
      : clone(ctx.path("clone")), snap(ctx.path("snap")), state(ctx.path("state")) {
    make_dir(state);
    const std::string a = big('a', 200000), b = big('b', 70000), d = big('d', 5000);
    // History: the files before the rename.
    write_file(snap + "/old/a.bin", a);
    write_file(snap + "/old/b.bin", b);
    write_file(snap + "/d.bin", d);
    write_file(snap + "/m.bin", "same bytes, other mode");
    write_file(snap + "/t.bin", "same bytes, other mtime");
    write_file(snap + "/x.bin", "same bytes, other xattrs");
    write_file(snap + "/u.bin", "same bytes, other owner");
    write_file(clone + "/keep.txt", "shared");
    make_link(clone + "/keep.txt", snap + "/keep.txt");
    // The clone after the rename: new inodes.
    write_file(clone + "/new/a.bin", a);
    write_file(clone + "/new/b.bin", b);
    write_file(clone + "/copy-of-a.bin", a);
    std::string d2 = d;
    d2[4000] = 'Z';  // same size and mtime, different content
    write_file(clone + "/d.bin", d2);
    write_file(clone + "/m.bin", "same bytes, other mode");
    ::chmod((clone + "/m.bin").c_str(), 0600);
    write_file(clone + "/t.bin", "same bytes, other mtime");
    write_file(clone + "/x.bin", "same bytes, other xattrs");
    REQUIRE(::lsetxattr((clone + "/x.bin").c_str(), "user.rotator.t", "v", 1, 0) == 0);
    write_file(clone + "/u.bin", "same bytes, other owner");
    if (::geteuid() == 0) {
      REQUIRE(::lchown((clone + "/u.bin").c_str(), 4321, 4321) == 0);
    }
    set_tree_mtimes(clone, 1300000000);
    set_tree_mtimes(snap, 1300000000);
    set_mtime(clone + "/t.bin", 1300000001);
    snap_before = list_tree(snap, WithInodes::no);
    snap_inodes = inodes_under(snap);
    contents = contents_now();
  }
  std::vector<std::string> new_files() const {
    return {"new/a.bin", "new/b.bin", "copy-of-a.bin", "d.bin",    "m.bin",
            "t.bin",     "x.bin",     "u.bin",         "keep.txt", "gone.bin"};
  }
  std::map<std::string, std::string> contents_now() const {
    std::map<std::string, std::string> out;
    for (const auto& e : std::filesystem::recursive_directory_iterator(clone)) {
      std::string name = e.path().filename().string();
      if (e.is_regular_file() && name.rfind(".rotator-partial.", 0) != 0) {
        out[e.path().string().substr(clone.size() + 1)] = read_file(e.path().string());
      }
    }
    return out;
  }
  jobs::RecordTemps recorder(fs::Fs& fs) {
    return [&fs, this](const std::vector<std::string>& temps) -> Status {
      state::JobState st;
      if (!temps.empty()) {
        st.resume[jobs::k_relink_resume_key] = jobs::encode_temps(temps);
      }
      return state::save(fs, state, "clone", st);
    };
  }
  std::vector<std::string> recorded() const {
    fs::PosixFs real;
    auto st = state::load(real, state, "clone");
    REQUIRE(st);
    auto it = st->resume.find(jobs::k_relink_resume_key);
    return it == st->resume.end() ? std::vector<std::string>{} : jobs::decode_temps(it->second);
  }
  std::string problems() const {
    std::string out;
    if (list_tree(snap, WithInodes::no) != snap_before || inodes_under(snap) != snap_inodes) {
      out += "history changed; ";
    }
    if (contents_now() != contents) {
      out += "clone content differs; ";
    }
    return out;
  }
  std::string leftovers() const {
    std::string out;
    for (const auto& e : std::filesystem::recursive_directory_iterator(clone)) {
      if (e.path().filename().string().rfind(".rotator-partial.", 0) == 0) {
        out += e.path().string() + " ";
      }
    }
    return out;
  }
  bool linked(const std::string& rel, const std::string& snap_rel) const {
    return inode_of(clone + "/" + rel) == inode_of(snap + "/" + snap_rel);
  }
  // Exactly the equal files are links to history; the near misses are not.
  std::string check_result() const {
    std::string out;
    for (auto [c, s] :
         std::vector<std::pair<std::string, std::string>>{{"new/a.bin", "old/a.bin"},
                                                          {"new/b.bin", "old/b.bin"},
                                                          {"copy-of-a.bin", "old/a.bin"}}) {
      if (!linked(c, s)) {
        out += c + " not linked; ";
      }
    }
    for (const char* f : {"d.bin", "m.bin", "t.bin", "x.bin"}) {
      if (linked(f, f)) {
        out += std::string(f) + " linked; ";
      }
    }
    if (::geteuid() == 0 && linked("u.bin", "u.bin")) {
      out += "u.bin linked; ";
    }
    return out;
  }

  std::string clone, snap, state;
  std::vector<std::string> snap_before;
  std::map<std::string, ino_t> snap_inodes;
  std::map<std::string, std::string> contents;
};

}  // namespace

TEST_SUITE_BEGIN("jobs::clone_relink");

TEST_CASE("hash_file and same_content read through the seam") {
  TestContext ctx;
  write_file(ctx.path("a"), big('a', 100000));
  write_file(ctx.path("b"), big('a', 100000));
  std::string c = big('a', 100000);
  c[99999] = '!';
  write_file(ctx.path("c"), c);
  fs::PosixFs real;
  auto ha = jobs::hash_file(real, fs::k_cwd, ctx.path("a"));
  auto hb = jobs::hash_file(real, fs::k_cwd, ctx.path("b"));
  auto hc = jobs::hash_file(real, fs::k_cwd, ctx.path("c"));
  REQUIRE(ha);
  REQUIRE(hb);
  REQUIRE(hc);
  CHECK(*ha == *hb);
  CHECK(*ha != *hc);
  auto ab = jobs::same_content(real, fs::k_cwd, ctx.path("a"), fs::k_cwd, ctx.path("b"));
  auto ac = jobs::same_content(real, fs::k_cwd, ctx.path("a"), fs::k_cwd, ctx.path("c"));
  REQUIRE(ab);
  REQUIRE(ac);
  CHECK(*ab);
  CHECK_FALSE(*ac);
  make_symlink("a", ctx.path("l"));
  auto refused = jobs::hash_file(real, fs::k_cwd, ctx.path("l"));
  REQUIRE_FALSE(refused);
  CHECK(refused.error().sys_errno == ELOOP);
}

TEST_CASE("equal new files become links to history; near misses never do") {
  TestContext ctx;
  Fixture fx(ctx);
  fs::PosixFs real;
  std::vector<std::string> plan;
  auto r = jobs::relink_files(real, fx.clone, fx.new_files(), {fx.snap, ctx.path("missing")},
                              fx.recorder(real), [&](std::string_view l) { plan.emplace_back(l); });
  REQUIRE(r);
  CHECK(fx.check_result() == "");
  CHECK(fx.problems() == "");
  CHECK(fx.leftovers() == "");
  CHECK(fx.recorded().empty());
  CHECK(r->linked == 3);
  CHECK(r->bytes == 200000 + 70000 + 200000);
  CHECK(r->examined == 8);  // keep.txt is shared already, gone.bin missing
  CHECK(r->differ >= 4);
  CHECK(plan.size() == 3);
  CHECK(std::find(plan.begin(), plan.end(), "relink new/b.bin to " + fx.snap + "/old/b.bin") !=
        plan.end());
  // A second pass finds nothing new: the linked files have link count 2.
  auto again = jobs::relink_files(real, fx.clone, fx.new_files(), {fx.snap}, fx.recorder(real), {});
  REQUIRE(again);
  CHECK(again->linked == 0);
}

TEST_CASE("a hard-linked group in the clone is left alone") {
  TestContext ctx;
  write_file(ctx.path("snap/f"), "group");
  write_file(ctx.path("clone/f1"), "group");
  make_link(ctx.path("clone/f1"), ctx.path("clone/f2"));
  set_tree_mtimes(ctx.path("snap"), 1300000000);
  set_tree_mtimes(ctx.path("clone"), 1300000000);
  fs::PosixFs real;
  auto r = jobs::relink_files(real, ctx.path("clone"), {"f1", "f2"}, {ctx.path("snap")},
                              [](const std::vector<std::string>&) { return ok(); }, {});
  REQUIRE(r);
  CHECK(r->linked == 0);
  CHECK(inode_of(ctx.path("clone/f1")) == inode_of(ctx.path("clone/f2")));
}

namespace {

// One fault point (testutil's for_each_fault_point): the step through the
// FaultFs, the invariants on what is left, recovery, the rerun.
bool relink_attempt(const TestContext& ctx, fs::FaultFs& faulty) {
  Fixture fx(ctx);
  fs::PosixFs real;
  auto first =
      jobs::relink_files(faulty, fx.clone, fx.new_files(), {fx.snap}, fx.recorder(faulty), {});
  if (!first) {
    CHECK(first.error().sys_errno == EIO);
  }
  CHECK(faulty.cut_errors().empty());
  CHECK(fx.problems() == "");
  auto removed = jobs::remove_protect_temps(real, fx.clone, fx.recorded(), "relink");
  REQUIRE(removed);
  CHECK(fx.leftovers() == "");
  REQUIRE(fx.recorder(real)({}));  // run_clone clears the record after the removal
  auto again = jobs::relink_files(real, fx.clone, fx.new_files(), {fx.snap}, fx.recorder(real), {});
  REQUIRE(again);
  CHECK(fx.problems() == "");
  CHECK(fx.leftovers() == "");
  CHECK(fx.recorded().empty());
  CHECK(fx.check_result() == "");
  return static_cast<bool>(first);
}

long enumerate(FaultKind fault) { return for_each_fault_point(fault, relink_attempt); }

}  // namespace

TEST_CASE("crash after every mutating call of relink: nothing lost, the rerun converges") {
  long k = enumerate(FaultKind::crash);
  MESSAGE("crash points: ", k);
  CHECK(k > 8);
}

TEST_CASE("power cut after every mutating call of relink: nothing lost, the rerun converges") {
  long k = enumerate(FaultKind::power_cut);
  MESSAGE("power-cut points: ", k);
  CHECK(k > 8);
}

TEST_SUITE_END();
