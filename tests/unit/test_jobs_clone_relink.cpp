// relink (jobs/clone_relink): new inodes equal to an older one become hard
// links to it; anything unequal (content, mode, owner, mtime, xattrs) is
// never linked; crash / power-cut enumeration of the step.
//
// Fixture: snap/ is the previous generation; clone/ holds new inodes (link
// count 1) as rsync leaves them after a rename on the source, plus near
// misses that must stay as they are.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <sys/resource.h>
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
// `chunk` new files at a time, `deleted` the names rsync deleted.
bool relink_attempt(const TestContext& ctx, fs::FaultFs& faulty, size_t chunk,
                    const std::vector<std::string>& deleted) {
  Fixture fx(ctx);
  fs::PosixFs real;
  auto first = jobs::relink_files(faulty, fx.clone, fx.new_files(), {fx.snap}, fx.recorder(faulty),
                                  {}, deleted, chunk);
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

long enumerate(FaultKind fault, size_t chunk = jobs::k_relink_chunk,
               const std::vector<std::string>& deleted = {}) {
  return for_each_fault_point(fault, [&](const TestContext& ctx, fs::FaultFs& faulty) {
    return relink_attempt(ctx, faulty, chunk, deleted);
  });
}

// The fixture's renamed files as rsync reports them deleted, plus names
// that are no file of history (a directory, a vanished one).
const std::vector<std::string> k_deleted = {"old/a.bin", "old/b.bin", "old/", "never-was.bin"};

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

TEST_CASE("crash at every point of a chunked relink with deleted paths: nothing lost") {
  // 8 new inodes in chunks of 2: four chunks, candidates at deleted paths
  // and from the walk (copy-of-a.bin), a batch per chunk.
  long k = enumerate(FaultKind::crash, 2, k_deleted);
  MESSAGE("crash points: ", k);
  CHECK(k > 8);
}

TEST_CASE("power cut at every point of a chunked relink with deleted paths: nothing lost") {
  long k = enumerate(FaultKind::power_cut, 2, k_deleted);
  MESSAGE("power-cut points: ", k);
  CHECK(k > 8);
}

namespace {

// 24 renamed files old/fI -> new/gI in the snapshot and clone, all with one
// mtime and sizes in four classes (so a new file's (size, mtime) has
// several candidates, mostly of other chunks); new/g(I) holds old/f(23-I)'s
// bytes, so the candidate of an early file is at a late name. Plus
// new/solo (no candidate) and new/cp (a copy of old/f3, which stays).
struct RenameTree {
  static constexpr int n = 24;
  explicit RenameTree(const TestContext& ctx) : clone(ctx.path("clone")), snap(ctx.path("snap")) {
    for (int i = 0; i < n; ++i) {
      std::string body = big(static_cast<char>('A' + i), 1000 + 100 * (i % 4));
      write_file(snap + "/old/f" + std::to_string(i), body);
      write_file(clone + "/new/g" + std::to_string(n - 1 - i), body);
    }
    write_file(clone + "/new/solo", big('z', 1000));
    write_file(clone + "/old/f3", "");  // replaced below by a link to history's f3
    std::filesystem::remove(clone + "/old/f3");
    make_link(snap + "/old/f3", clone + "/old/f3");
    write_file(clone + "/new/cp", read_file(snap + "/old/f3"));
    set_tree_mtimes(clone, 1300000000);
    set_tree_mtimes(snap, 1300000000);
  }
  std::vector<std::string> written() const {
    std::vector<std::string> out;
    for (int i = 0; i < n; ++i) {
      out.push_back("new/g" + std::to_string(i));
    }
    out.push_back("new/solo");
    out.push_back("new/cp");
    return out;
  }
  std::vector<std::string> deleted() const {
    std::vector<std::string> out;
    for (int i = 0; i < n; ++i) {
      if (i != 3) {
        out.push_back("old/f" + std::to_string(i));
      }
    }
    out.push_back("old/");
    return out;
  }
  // clone name -> the history name it is a link to (only the linked ones).
  std::map<std::string, std::string> links() const {
    std::map<ino_t, std::string> by_ino;
    for (const auto& [rel, ino] : inodes_under(snap)) {
      by_ino[ino] = rel;
    }
    std::map<std::string, std::string> out;
    for (const auto& [rel, ino] : inodes_under(clone)) {
      if (auto it = by_ino.find(ino); it != by_ino.end() && rel.rfind("new/", 0) == 0) {
        out[rel] = it->second;
      }
    }
    return out;
  }
  std::string clone, snap;
};

jobs::RecordTemps no_record() {
  return [](const std::vector<std::string>&) { return ok(); };
}

}  // namespace

TEST_CASE("several chunks link exactly what one chunk links") {
  std::map<std::string, std::string> one;
  {
    TestContext ctx;
    RenameTree t(ctx);
    fs::PosixFs real;
    auto r = jobs::relink_files(real, t.clone, t.written(), {t.snap}, no_record(), {});
    REQUIRE(r);
    CHECK(r->linked == RenameTree::n + 1);
    one = t.links();
  }
  REQUIRE(one.size() == RenameTree::n + 1);
  CHECK(one.at("new/g0") == "old/f23");
  CHECK(one.at("new/cp") == "old/f3");
  CHECK(one.count("new/solo") == 0);
  for (size_t chunk : {size_t{1}, size_t{4}, size_t{7}}) {
    for (bool with_deleted : {false, true}) {
      CAPTURE(chunk);
      CAPTURE(with_deleted);
      TestContext ctx;
      RenameTree t(ctx);
      fs::PosixFs real;
      long flushes = 0;
      auto counting = [&](const std::vector<std::string>& temps) -> Status {
        flushes += temps.empty() ? 0 : 1;
        return ok();
      };
      auto r = jobs::relink_files(real, t.clone, t.written(), {t.snap}, counting, {},
                                  with_deleted ? t.deleted() : std::vector<std::string>{}, chunk);
      REQUIRE(r);
      CHECK(r->examined == RenameTree::n + 2);
      CHECK(r->linked == RenameTree::n + 1);
      CHECK(t.links() == one);
      CHECK(flushes > 1);  // a batch per chunk: several chunks ran
    }
  }
}

TEST_CASE("a pure rename is relinked from the deleted paths without listing history") {
  for (size_t chunk : {size_t{0}, size_t{4}, jobs::k_relink_chunk}) {
    CAPTURE(chunk);
    TestContext ctx;
    RenameTree t(ctx);
    std::filesystem::remove(t.clone + "/new/cp");  // no copy, no file without a candidate
    std::filesystem::remove(t.clone + "/new/solo");
    std::vector<std::string> written = t.written();
    written.resize(RenameTree::n);
    std::vector<std::string> deleted = t.deleted();
    deleted.push_back("old/f3");  // here f3 was renamed too
    fs::PosixFs real;
    fs::FaultFs faulty(real);
    faulty.fail_at(1, EIO, "list_dir");  // any listing fails the run
    if (chunk == 0) {
      // The probe can fail: without the deleted names, history is walked.
      auto walked = jobs::relink_files(faulty, t.clone, written, {t.snap}, no_record(), {}, {}, 4);
      REQUIRE_FALSE(walked);
      CHECK(walked.error().sys_errno == EIO);
      continue;
    }
    auto r =
        jobs::relink_files(faulty, t.clone, written, {t.snap}, no_record(), {}, deleted, chunk);
    REQUIRE(r);
    CHECK_FALSE(faulty.triggered());
    CHECK(r->linked == RenameTree::n);
    CHECK(t.links().size() == RenameTree::n);
    CHECK(t.links().at("new/g5") == "old/f18");
  }
}

TEST_CASE("a copy (the original still in place) is relinked through the walk") {
  TestContext ctx;
  RenameTree t(ctx);
  fs::PosixFs real;
  fs::FaultFs counting(real);
  counting.fail_at(1000000, EIO, "list_dir");  // never reached: counts the listings
  auto r = jobs::relink_files(counting, t.clone, {"new/cp", "new/solo"}, {t.snap}, no_record(), {},
                              t.deleted(), 1);
  REQUIRE(r);
  CHECK(r->linked == 1);
  CHECK(t.links() == std::map<std::string, std::string>{{"new/cp", "old/f3"}});
  // Both chunks (one file each) are unmatched after the deleted paths, so
  // each walks history once: the cost the header states.
  CHECK(counting.calls() == 4);  // snap and snap/old, twice
}

TEST_CASE("the scratch spool gives back what was added, again after rewind") {
  PathSpool spool;
  CHECK(spool.size() == 0);
  REQUIRE(spool.rewind());
  std::string name;
  auto none = spool.next(name);
  REQUIRE(none);
  CHECK_FALSE(*none);
  std::vector<std::string> in = {"a", "dir/b c", "", std::string(5000, 'x'), "\\#012"};
  for (const auto& n : in) {
    REQUIRE(spool.add(n));
  }
  CHECK(spool.size() == 5);
  for (int pass = 0; pass < 2; ++pass) {
    REQUIRE(spool.rewind());
    std::vector<std::string> out;
    for (;;) {
      auto more = spool.next(name);
      REQUIRE(more);
      if (!*more) {
        break;
      }
      out.push_back(name);
    }
    CHECK(out == in);
  }
}

TEST_SUITE_END();

TEST_CASE("DirCache opens only the components below the prefix it holds") {
  // (a) a path of three directories costs three opens, a sibling of the
  // last one, one, the same directory none, the root none; (b) each fd is
  // the directory named (a file only it holds is found); (c) a missing
  // component is ENOENT and leaves the cache usable; (d) a directory deeper
  // than k_max_depth is reached and kept for the next get of the same path;
  // (e) max_depth 0 and 2: only that many levels kept, the directories
  // still right.
  TestContext ctx;
  std::string root = ctx.path("root");
  write_file(root + "/a/b/c/in-c", "c");
  write_file(root + "/a/b/d/in-d", "d");
  write_file(root + "/x/in-x", "x");
  std::string deep;
  for (size_t i = 0; i < jobs::DirCache::k_max_depth + 8; ++i) {
    deep += (deep.empty() ? "" : "/") + std::string("n") + std::to_string(i);
  }
  write_file(root + "/" + deep + "/in-deep", "deep");
  fs::PosixFs real;
  fs::FaultFs counting(real);
  counting.fail_at(1000000, EIO, "open_dir");  // never reached: counts the opens
  auto r = fs::open_dir(real, fs::k_cwd, root);
  REQUIRE(r);
  // The opens cache.get(rel) costs; its fd must be the directory holding `file`.
  auto opens_of = [&](jobs::DirCache& cache, const std::string& rel, const std::string& file) {
    long before = counting.calls();
    auto fd = cache.get(rel);
    REQUIRE_MESSAGE(fd, rel);
    std::string what = rel + " holds " + file;
    CHECK_MESSAGE(real.lstat(*fd, file).has_value(), what);
    return counting.calls() - before;
  };
  jobs::DirCache dirs(counting, r->fd());
  auto opens = [&](const std::string& rel, const std::string& file) {
    return opens_of(dirs, rel, file);
  };
  CHECK(opens("a/b/c", "in-c") == 3);
  CHECK(opens("a/b/d", "in-d") == 1);
  CHECK(opens("a/b/d", "in-d") == 0);
  CHECK(opens("a//b/c/", "in-c") == 1);  // empty components skipped, as open_rel_dir does
  CHECK(opens("", "x") == 0);            // the root itself
  CHECK(opens("x", "in-x") == 1);
  CHECK(opens("a/b", "c") == 2);
  auto gone = dirs.get("a/missing/c");
  REQUIRE_FALSE(gone);
  CHECK(gone.error().sys_errno == ENOENT);
  CHECK(opens("a/b/c", "in-c") == 2);  // "a" still held
  CHECK(opens(deep, "in-deep") == static_cast<long>(jobs::DirCache::k_max_depth + 8));
  CHECK(opens(deep, "in-deep") == 0);
  CHECK(opens("a/b/c", "in-c") == 3);

  jobs::DirCache flat(counting, r->fd(), 0);
  CHECK(opens_of(flat, "a/b/c", "in-c") == 3);
  CHECK(opens_of(flat, "a/b/c", "in-c") == 0);  // the directory itself is kept
  CHECK(opens_of(flat, "a/b/d", "in-d") == 3);  // no prefix kept
  jobs::DirCache two(counting, r->fd(), 2);
  CHECK(opens_of(two, "a/b/c", "in-c") == 3);
  CHECK(opens_of(two, "a/b/d", "in-d") == 1);  // "a/b" kept
  CHECK(opens_of(two, "a/b", "c") == 0);
}

TEST_CASE("relink over many previous roots keeps its descriptors bounded") {
  // 40 previous roots, each holding the deleted file 20 directories deep
  // (a rename to the top), under a limit of 256 open files: 40 caches of 32
  // levels would need ~1300; the shared budget keeps the step below the
  // limit, and the file is relinked.
  TestContext ctx;
  std::string clone = ctx.path("clone");
  std::string rel;
  for (int i = 0; i < 20; ++i) {
    rel += "d" + std::to_string(i) + "/";
  }
  rel += "f.bin";
  const std::string body = big('r', 4000);
  std::vector<std::string> previous;
  for (int r = 0; r < 40; ++r) {
    previous.push_back(ctx.path("snap" + std::to_string(r)));
    write_file(previous.back() + "/" + rel, body);
    set_tree_mtimes(previous.back(), 1300000000);
  }
  write_file(clone + "/f.bin", body);
  set_tree_mtimes(clone, 1300000000);
  struct rlimit old_limit {};
  REQUIRE(::getrlimit(RLIMIT_NOFILE, &old_limit) == 0);
  struct rlimit low = old_limit;
  low.rlim_cur = std::min<rlim_t>(old_limit.rlim_cur, 256);
  REQUIRE(::setrlimit(RLIMIT_NOFILE, &low) == 0);
  fs::PosixFs real;
  auto r = jobs::relink_files(real, clone, {"f.bin"}, previous, no_record(), {}, {rel});
  REQUIRE(::setrlimit(RLIMIT_NOFILE, &old_limit) == 0);
  REQUIRE_MESSAGE(r, (r ? std::string() : r.error().message()));
  CHECK(r->linked == 1);
  CHECK(inode_of(clone + "/f.bin") == inode_of(previous[0] + "/" + rel));
}

TEST_CASE("one history file equal to more new files than a batch holds: all are linked") {
  // A batch flush in the middle of one candidate's matches (the flush uses
  // the root's DirCache too; relink_spooled then opens and checks the
  // candidate again, a reset that is defensive: the flush's last link is
  // this candidate's, so the cache is at its directory anyway): every copy
  // ends as a link to it.
  TestContext ctx;
  std::string clone = ctx.path("clone"), snap = ctx.path("snap");
  const std::string body = big('q', 3000);
  write_file(snap + "/orig/q.bin", body);
  write_file(snap + "/other/z.bin", "elsewhere");
  std::vector<std::string> written;
  const size_t n = jobs::k_protect_batch + 5;
  for (size_t i = 0; i < n; ++i) {
    written.push_back("copies/q" + std::to_string(i));
    write_file(clone + "/" + written.back(), body);
  }
  set_tree_mtimes(clone, 1300000000);
  set_tree_mtimes(snap, 1300000000);
  fs::PosixFs real;
  long flushes = 0;
  auto counting = [&](const std::vector<std::string>& temps) -> Status {
    flushes += temps.empty() ? 0 : 1;
    return ok();
  };
  auto r = jobs::relink_files(real, clone, written, {snap}, counting, {}, {});
  REQUIRE(r);
  CHECK(r->linked == static_cast<long>(n));
  CHECK(flushes == 2);
  ino_t orig = inode_of(snap + "/orig/q.bin");
  for (const auto& rel : written) {
    CHECK_MESSAGE(inode_of(clone + "/" + rel) == orig, rel);
  }
  CHECK(read_file(snap + "/orig/q.bin") == body);
}
