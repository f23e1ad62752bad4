// Crash enumeration for the link-mirror engine (house style practice 11).
//
// For every k = 1, 2, ...: a fresh fixture, mirror() through a FaultFs that
// lets mutating calls 1..k through and refuses everything after ("the
// process died after call k"), then a rerun with a fresh PosixFs and the same
// sink folder. The enumeration stops at the first k for which the faulty run
// completes with fewer than k counted calls.
//
// Asserted after every rerun:
//   (a) every inode of the old T (files, symlinks and directories) is in the
//       final T or in the sink;
//   (b) the final T's listing (names, types, modes, mtimes, sizes) equals the
//       one of an uninterrupted run, and every non-directory is S's inode;
//   (c) the sink holds exactly the displaced set (same relative paths, same
//       inodes) in the one folder holding/D: a crash never makes a rerun
//       collide with what the first run moved, because a moved entry is no
//       longer in T and its replacement is created only after the move.
// The power-cut variant cuts after call k instead (FaultFs::power_cut_after:
// every change not made durable is undone) and asserts the same.
#include <doctest/doctest.h>

#include <cerrno>
#include <filesystem>

#include "engine/mirror.hpp"
#include "fs/fault_fs.hpp"
#include "fs/posix_fs.hpp"
#include "test_engine_helpers.hpp"
#include "testutil.hpp"

using namespace rotator;
using namespace rotator::test;
using engine::MirrorOptions;
using rotator::PruneEmpty;

namespace {

constexpr long k_max_calls = 2000;  // a guard: the scenarios need far fewer

enum class Fault { crash, eio, power_cut };

// Enumerates k over the change scenario; returns how many k were run.
long enumerate_scenario(Fault fault, PruneEmpty prune) {
  std::vector<std::string> reference;
  {
    TestContext ctx;
    Paths p(ctx);
    build_scenario(p);
    auto sel = scenario_selector();
    MirrorOptions opt = display_options();
    opt.selector = &sel;
    opt.prune_empty = prune;
    fs::PosixFs real;
    auto run = run_mirror(real, p, opt);
    REQUIRE(run.result);
    reference = list_tree(p.backup, WithInodes::no);
    // The uninterrupted run itself satisfies (b) and (c).
    CHECK(names_and_types(p.sink()) == scenario_displaced(prune));
  }
  long k = 1;
  for (; k < k_max_calls; ++k) {
    TestContext ctx;
    Paths p(ctx);
    build_scenario(p);
    auto old_t = all_inodes(p.backup);
    auto sel = scenario_selector();
    MirrorOptions opt = display_options();
    opt.selector = &sel;
    opt.prune_empty = prune;
    fs::PosixFs real;
    fs::FaultFs faulty(real);
    if (fault == Fault::crash) {
      faulty.crash_after(k);
    } else if (fault == Fault::power_cut) {
      faulty.power_cut_after(k, ctx.dir());
    } else {
      faulty.fail_at(k, EIO);
    }
    auto first = run_mirror(faulty, p, opt);
    bool finished =
        first.result && (fault == Fault::crash ? faulty.calls() < k : !faulty.triggered());
    CHECK(faulty.cut_errors().empty());
    CAPTURE(k);
    if (!first.result) {
      CHECK(first.result.error().sys_errno == EIO);
    }
    CHECK(inventory_problems(p, old_t) == "");
    SetSelector sel2 = scenario_selector();
    opt.selector = &sel2;
    auto rerun = run_mirror(real, p, opt);
    REQUIRE(rerun.result);
    CHECK(scenario_problems(p, old_t, reference, prune) == "");
    if (finished) {
      break;
    }
  }
  return k;
}

// A source tree for fresh builds: nested directories, files, symlinks, an
// empty directory, non-default modes, fixed mtimes.
void build_source(const Paths& p) {
  make_dir(p.backup);
  make_dir(p.holding);
  write_file(p.clone + "/a.txt", "a");
  write_file(p.clone + "/b.txt", "bb");
  make_symlink("a.txt", p.clone + "/lnk");
  write_file(p.clone + "/d/one.txt", "1");
  write_file(p.clone + "/d/two.txt", "22");
  write_file(p.clone + "/d/e/three.txt", "333");
  make_symlink("../../a.txt", p.clone + "/d/e/up");
  make_dir(p.clone + "/d/empty");
  write_file(p.clone + "/z/last.txt", "z");
  ::chmod((p.clone + "/d").c_str(), 0751);
  ::chmod((p.clone + "/d/e").c_str(), 0700);
  set_tree_mtimes(p.clone, 1300000000);
  set_mtime(p.clone, 1300000001);
}

}  // namespace

TEST_SUITE_BEGIN("engine::mirror");

TEST_CASE("crash after every mutating call of a run with changes: the rerun converges") {
  long k = enumerate_scenario(Fault::crash, PruneEmpty::no);
  MESSAGE("crash enumeration (changes) covered k = 1.." << k);
  CHECK(k > 25);
}

TEST_CASE("crash after every mutating call of a run with changes and PruneEmpty") {
  long k = enumerate_scenario(Fault::crash, PruneEmpty::yes);
  MESSAGE("crash enumeration (changes, PruneEmpty) covered k = 1.." << k);
  CHECK(k > 25);
}

TEST_CASE("power cut after every mutating call of a run with changes: the rerun converges") {
  // Nothing in the walk is synced (its caller commits: backup_job syncs the
  // filesystem once): a cut undoes every link, rename, mkdir and attribute
  // change of the run, and must still leave every old inode in T or the sink.
  long k = enumerate_scenario(Fault::power_cut, PruneEmpty::yes);
  MESSAGE("power-cut enumeration (changes, PruneEmpty) covered k = 1.." << k);
  CHECK(k > 25);
}

TEST_CASE("EIO at every mutating call of a run with changes: the rerun converges") {
  long k = enumerate_scenario(Fault::eio, PruneEmpty::no);
  MESSAGE("EIO enumeration (changes) covered k = 1.." << k);
  CHECK(k > 25);
}

TEST_CASE("crash after every mutating call of a fresh build into an empty target") {
  std::vector<std::string> source_listing;
  long k = 1;
  for (; k < k_max_calls; ++k) {
    TestContext ctx;
    Paths p(ctx);
    build_source(p);
    source_listing = list_tree(p.clone, WithInodes::no);
    fs::PosixFs real;
    fs::FaultFs faulty(real);
    faulty.crash_after(k);
    auto first = run_mirror(faulty, p, display_options());
    bool finished = first.result && faulty.calls() < k;
    CAPTURE(k);
    auto rerun = run_mirror(real, p, display_options());
    REQUIRE(rerun.result);
    CHECK(list_tree(p.backup, WithInodes::no) == source_listing);
    CHECK(test::list_tree(p.clone, WithInodes::no) == source_listing);
    CHECK(not_linked_to_source(p.clone, p.backup).empty());
    CHECK(inodes_under(p.backup).size() == inodes_under(p.clone).size());
    // Nothing of a half-built T is ever displaced: a rerun only adds.
    CHECK(dir_names(p.holding).empty());
    CHECK(rerun.result->archived == 0);
    if (finished) {
      break;
    }
  }
  MESSAGE("crash enumeration (fresh build) covered k = 1.." << k);
  CHECK(k > 15);
}

TEST_CASE("EIO at every mutating call of a fresh build into an empty target") {
  long k = 1;
  for (; k < k_max_calls; ++k) {
    TestContext ctx;
    Paths p(ctx);
    build_source(p);
    fs::PosixFs real;
    fs::FaultFs faulty(real);
    faulty.fail_at(k, EIO);
    auto first = run_mirror(faulty, p, display_options());
    CAPTURE(k);
    if (!faulty.triggered()) {
      CHECK(first.result);
      break;
    }
    CHECK_FALSE(first.result);
    auto rerun = run_mirror(real, p, display_options());
    REQUIRE(rerun.result);
    CHECK(list_tree(p.backup, WithInodes::no) == list_tree(p.clone, WithInodes::no));
    CHECK(not_linked_to_source(p.clone, p.backup).empty());
    CHECK(dir_names(p.holding).empty());
  }
  MESSAGE("EIO enumeration (fresh build) covered k = 1.." << k);
  CHECK(k > 15);
}

TEST_CASE("crash during an EMLINK copy leaves no partial file in T after the rerun") {
  // (a) the inner FaultFs fails the 2nd link (b.txt) with EMLINK, so the run
  // copies b.txt through .rotator-partial.<ino>;
  // (b) the outer FaultFs crashes after mutating call k, for every k;
  // (c) the rerun (plain PosixFs: no EMLINK) leaves T equal to S with no
  // partial file, every file with S's content, nothing of S changed; a copy
  // that was already renamed into place is a different inode and goes to the
  // sink like any displaced entry.
  long k = 1;
  for (; k < k_max_calls; ++k) {
    TestContext ctx;
    Paths p(ctx);
    build_source(p);
    auto source_listing = list_tree(p.clone, WithInodes::no);
    fs::PosixFs real;
    fs::FaultFs emlink(real);
    emlink.fail_at(2, EMLINK, "link");
    // Cast: FaultFs(emlink) would pick the copy constructor, not the wrapper.
    fs::FaultFs faulty(static_cast<fs::Fs&>(emlink));
    faulty.crash_after(k);
    auto first = run_mirror(faulty, p, display_options());
    bool finished = first.result && faulty.calls() < k;
    CAPTURE(k);
    if (first.result) {
      CHECK(first.result->copied_emlink == 1);
    }
    auto rerun = run_mirror(real, p, display_options());
    REQUIRE(rerun.result);
    CHECK(list_tree(p.backup, WithInodes::no) == source_listing);
    CHECK(list_tree(p.clone, WithInodes::no) == source_listing);
    CHECK(not_linked_to_source(p.clone, p.backup).empty());
    CHECK(read_file(p.backup + "/b.txt") == "bb");
    for (const std::string& name : dir_names(p.backup)) {
      CHECK(name.rfind(".rotator-partial.", 0) == std::string::npos);
    }
    // Only copies can have been displaced: the copy already renamed into
    // place (another inode than S's), or a partial copy the crash left
    // behind (archived, never deleted: a user's file may carry that name).
    auto sink = inodes_under(p.sink());
    CHECK(sink.size() <= 1);
    if (!sink.empty()) {
      const std::string& name = sink.begin()->first;
      CHECK((name == "b.txt" || name.rfind(".rotator-partial.", 0) == 0));
      if (name == "b.txt") {
        CHECK(read_file(p.sink() + "/b.txt") == "bb");
      }
    }
    if (finished) {
      break;
    }
  }
  MESSAGE("crash enumeration (EMLINK copy) covered k = 1.." << k);
  CHECK(k > 15);
}

TEST_CASE(
    "crash during an EMLINK copy at a persistent link limit: the rerun copies once, then keeps "
    "it") {
  // (a) the link limit is 2 and clone/b.txt has 2 links, in the crashed run
  // and in every rerun (the inode stays at the limit);
  // (b) the crashed run stops after mutating call k, for every k;
  // (c) the rerun leaves T equal to S by name and content, b.txt a copy,
  // the sink holding at most a partial copy the crash left (never a
  // complete copy of b.txt: a finished copy is kept, not re-made);
  // (d) a third run makes no mutating call at all.
  long k = 1;
  for (; k < k_max_calls; ++k) {
    TestContext ctx;
    Paths p(ctx);
    build_source(p);
    REQUIRE(::link((p.clone + "/b.txt").c_str(), ctx.path("b.extra").c_str()) == 0);
    auto source_listing = list_tree(p.clone, WithInodes::no);
    fs::PosixFs real;
    fs::FaultFs limit(real);
    limit.set_link_limit(2);
    fs::FaultFs faulty(static_cast<fs::Fs&>(limit));
    faulty.crash_after(k);
    auto first = run_mirror(faulty, p, display_options());
    bool finished = first.result && faulty.calls() < k;
    CAPTURE(k);
    fs::FaultFs again(real);
    again.set_link_limit(2);
    auto rerun = run_mirror(again, p, display_options());
    REQUIRE(rerun.result);
    CHECK(list_tree(p.backup, WithInodes::no) == source_listing);
    CHECK(read_file(p.backup + "/b.txt") == "bb");
    CHECK(inode_of(p.backup + "/b.txt") != inode_of(p.clone + "/b.txt"));
    CHECK(not_linked_to_source(p.clone, p.backup) == std::vector<std::string>{"b.txt"});
    for (const auto& [name, ino] : inodes_under(p.sink())) {
      CHECK(name.rfind(".rotator-partial.", 0) == 0);
    }
    fs::FaultFs third(real);
    third.set_link_limit(2);
    auto last = run_mirror(third, p, display_options());
    REQUIRE(last.result);
    CHECK(last.result->emlink_copies_kept == 1);
    CHECK(third.journal().empty());
    if (finished) {
      break;
    }
  }
  MESSAGE("crash enumeration (EMLINK copy at a persistent limit) covered k = 1.." << k);
  CHECK(k > 15);
}

TEST_SUITE_END();
