// The trash deleted after the unlock (snapshot_job.hpp, step 6): the queue
// .trash/.rotator-deleting and its deleters, which take turns on a flock.
#include <doctest/doctest.h>

#include <atomic>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "fs/posix_fs.hpp"
#include "jobs/snap_dir.hpp"
#include "snapshot_fixture.hpp"

using namespace rotator;
using namespace rotator::test;
using config::Naming;
using state::Outcome;

TEST_SUITE_BEGIN("jobs::snapshot trash");

namespace {

const Instant k_run_time = at(2026, 11, 20);

// A trash entry `name` of `files` files in `dirs` directories (in a .trash
// that rotator owns: it holds the marker).
void make_trash_tree(SnapFixture& fx, const std::string& name, int dirs, int files) {
  if (!exists(fx.snap(".trash/.rotator-trash"))) {
    write_file(fx.snap(".trash/.rotator-trash"), "rotator's trash\n");
  }
  for (int d = 0; d < dirs; ++d) {
    for (int f = 0; f < files; ++f) {
      write_file(fx.snap(".trash/" + name + "/d" + std::to_string(d) + "/f" + std::to_string(f)),
                 "x");
    }
  }
}

size_t queued(SnapFixture& fx) {
  size_t n = 0;
  for ([[maybe_unused]] const auto& e :
       std::filesystem::directory_iterator(fx.snap(".trash/.rotator-deleting"))) {
    ++n;
  }
  return n;
}

}  // namespace

TEST_CASE("a run of the command line queues its trash; it is deleted after the unlock") {
  // (a) a recycled run with trash_deletion = after_unlock: the summary says
  // the trash is queued and deleted after the unlock, the expired
  // generation and the build folder are in .trash/.rotator-deleting, the
  // generations are committed; (b) delete_queued_trash deletes them.
  SnapFixture fx(Naming::rotate, "daily:2");
  for (int d = 1; d <= 2; ++d) {
    fx.change_clone(d);
    REQUIRE(fx.run("daily", at(2026, 11, static_cast<unsigned>(d))).outcome == Outcome::ok);
  }
  fx.change_clone(3);
  auto ctx = fx.context(fx.posix(), "daily", k_run_time);
  ctx.trash_deletion = jobs::RunContext::TrashDeletion::after_unlock;
  auto r = jobs::run_snapshot(ctx, fx.job());
  REQUIRE_MESSAGE(r.outcome == Outcome::ok, r.error);
  CHECK(r.summary.find(", trash queued (1 entry, deleted after the unlock)") != std::string::npos);
  CHECK(queued(fx) == 1);  // the build folder (what daily.1 displaced, its undo record)
  CHECK(fx.trash_entries() == 1);
  CHECK(fx.names() == std::vector<std::string>{"daily.0", "daily.1"});
  std::string done;
  REQUIRE(jobs::delete_queued_trash(ctx, fx.job(), done));
  CHECK(done.rfind("trash deleted after the unlock (", 0) == 0);
  CHECK(fx.trash_entries() == 0);
  // Nothing queued: nothing to say.
  done.clear();
  REQUIRE(jobs::delete_queued_trash(ctx, fx.job(), done));
  CHECK(done.empty());
}

TEST_CASE("a killed deletion is resumed: the next run deletes what was queued") {
  SnapFixture fx(Naming::rotate, "daily:2");
  REQUIRE(fx.run("daily", at(2026, 11, 1)).outcome == Outcome::ok);
  // As a killed deleter leaves it: a queued tree, half deleted, and an
  // entry expired by an older rotator directly in .trash.
  make_trash_tree(fx, ".rotator-deleting/daily.7", 3, 4);
  std::filesystem::remove_all(fx.snap(".trash/.rotator-deleting/daily.7/d1"));
  make_trash_tree(fx, "daily.8", 2, 2);
  REQUIRE(fx.trash_entries() == 2);
  fx.change_clone(2);
  auto r = fx.run("daily", at(2026, 11, 2));
  REQUIRE_MESSAGE(r.outcome == Outcome::ok, r.error);
  CAPTURE(r.summary);
  CHECK(r.summary.find(", trash deleted (12 files, 6 dirs)") != std::string::npos);
  CHECK(fx.trash_entries() == 0);
}

TEST_CASE("concurrent deleters take turns: each entry is deleted once, nothing is left") {
  // (a) a queuer (as runs do under their lock, one after the other) moves
  // new trash into the queue and then deletes like a run after its unlock;
  // (b) two more threads delete the queue at the same time, as runs that
  // are still deleting after their unlock; (c) every call succeeds, the
  // entries removed add up to the entries queued (two deleters removing the
  // same tree would both count it: remove_tree of a missing name succeeds),
  // and the queue is empty at the end without a final extra call: a deleter
  // that waited for the lock found the queue its predecessor left.
  SnapFixture fx(Naming::rotate, "daily:2");
  REQUIRE(fx.run("daily", at(2026, 11, 1)).outcome == Outcome::ok);
  constexpr int k_rounds = 12;
  std::atomic<long> removed{0};
  std::atomic<int> failures{0};
  std::atomic<bool> queuing{true};
  auto deleter = [&](bool once) {
    fs::PosixFs posix;
    auto ctx = fx.context(posix, "daily", k_run_time);
    jobs::SnapDir dir(ctx, fx.job());
    do {
      fs::RemoveStats rs;
      auto n = dir.delete_queued(&rs);
      if (!n) {
        ++failures;
        MESSAGE(n.error().message());
        return;
      }
      removed += *n;
    } while (!once && queuing);
  };
  std::thread a(deleter, false);
  std::thread b(deleter, false);
  {
    fs::PosixFs posix;
    auto ctx = fx.context(posix, "daily", k_run_time);
    jobs::SnapDir dir(ctx, fx.job());
    for (int i = 0; i < k_rounds; ++i) {
      make_trash_tree(fx, "gen" + std::to_string(i), 4, 25);
      auto q = dir.queue_trash();
      REQUIRE(q);
      CHECK(*q == 1);
      deleter(true);
    }
  }
  queuing = false;
  a.join();
  b.join();
  CHECK(failures == 0);
  CHECK(removed == k_rounds);
  CHECK(fx.trash_entries() == 0);
}

TEST_SUITE_END();
