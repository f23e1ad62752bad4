// Crash enumeration for snapshot runs (style.md practice 11).
//
// For every k: build a fixture (several generations made by uninterrupted
// runs, then a changed clone), run one level with FaultFs::crash_after(k)
// (calls 1..k reach the disk, every later call is refused: the process
// "died" between two system calls), then with a fresh PosixFs run recovery
// and the same level again. Stop at the first k the run completes within.
//
// Fixtures are rebuilt for every k, so inode numbers differ between them:
// states are compared through labels. Every inode of the fixture just before
// the interrupted run is labelled by where it was then ("daily.1:dir/b.txt",
// "clone:a.txt"; the first such place in name order); inodes made later
// (new directories) are labelled "new". Two fixtures built the same way give
// the same labels, so "the final state equals an uninterrupted run's" is a
// comparison of labelled states.
//
// Asserted for every k:
//   (1) after recovery alone, the generations are either exactly those before
//       the run (rolled back: same names, same inodes, also for a recycled
//       generation) or those of a committed run (each one complete: its
//       labelled tree equals the one it had before, or the clone's for the
//       new one); nothing lost that the uninterrupted run keeps; no staging,
//       committed, intent or marker entry is left;
//   (2) after rerunning the level, the state equals an uninterrupted run's:
//       one run if the interrupted run had rolled back, two if it had
//       committed; the trash is empty;
//   (3) a run that still reported success (k was its last call) left exactly
//       the uninterrupted run's state.
// Each scenario runs twice: with crash_after(k) and with power_cut_after(k)
// (fault_fs.hpp: everything fsync_dir / sync_fs had not made durable is
// undone), which proves the sync calls at the commit points are enough.
#include <doctest/doctest.h>

#include <algorithm>
#include <functional>
#include <set>
#include <string>

#include "fs/fault_fs.hpp"
#include "snapshot_fixture.hpp"

using namespace rotator;
using namespace rotator::test;
using config::Naming;
using state::Outcome;

TEST_SUITE_BEGIN("jobs::snapshot crash");

namespace {

using Labelled = std::map<std::string, std::map<std::string, std::string>>;
using Labels = std::map<ino_t, std::string>;

Labels labels_of(const SnapFixture& fx) {
  Labels out;
  for (const auto& [name, files] : fx.state()) {
    for (const auto& [rel, ino] : files) {
      out.emplace(ino, name + ":" + rel);  // emplace keeps the first
    }
  }
  for (const auto& [rel, ino] : fx.clone_files()) {
    out.emplace(ino, "clone:" + rel);
  }
  return out;
}

Labelled labelled(const SnapState& st, const Labels& labels) {
  Labelled out;
  for (const auto& [name, files] : st) {
    for (const auto& [rel, ino] : files) {
      auto it = labels.find(ino);
      out[name][rel] = it == labels.end() ? "new" : it->second;
    }
  }
  return out;
}

struct Scenario {
  const char* title;
  Naming naming;
  const char* keep_history;  // keep while the history is built
  const char* keep_run;      // keep for the interrupted run
  std::vector<std::string> run_on;
  // Builds the history with uninterrupted runs.
  std::function<void(SnapFixture&)> history;
  std::string level;  // the level interrupted
};

void daily(SnapFixture& fx, int day) {
  fx.change_clone(day);
  auto r = fx.run("daily", at(2026, 11, static_cast<unsigned>(day)));
  REQUIRE_MESSAGE(r.outcome == Outcome::ok, r.error);
}

void weekly(SnapFixture& fx, int day) {
  auto r = fx.run("weekly", at(2026, 11, static_cast<unsigned>(day), 1));
  REQUIRE_MESSAGE(r.outcome == Outcome::ok, r.error);
}

const Instant k_run_time = at(2026, 11, 20);

std::unique_ptr<SnapFixture> make_fixture(const Scenario& sc) {
  auto fx = std::make_unique<SnapFixture>(sc.naming, sc.keep_history, sc.run_on);
  sc.history(*fx);
  fx->job().keep = sc.keep_run;
  fx->change_clone(99);
  return fx;
}

// The labelled state after `runs` uninterrupted runs of the level.
Labelled uninterrupted(const Scenario& sc, int runs) {
  auto fx = make_fixture(sc);
  Labels labels = labels_of(*fx);
  for (int i = 0; i < runs; ++i) {
    auto r = fx->run(sc.level, k_run_time);
    REQUIRE_MESSAGE(r.outcome == Outcome::ok, r.error);
  }
  return labelled(fx->state(), labels);
}

bool no_protocol_leftovers(const SnapFixture& fx) {
  for (const char* n :
       {".rotator-staging", ".rotator-staging.from", ".rotator-committed", ".rotator-intent",
        ".rotator-pending", ".rotator-latest.tmp", ".rotator-staging.from.tmp",
        ".rotator-intent.tmp", ".rotator-pending.tmp"}) {
    if (exists(fx.snap(n))) {
      return false;
    }
  }
  return true;
}

// How the run is interrupted after its k-th mutating call.
enum class Interrupt {
  crash,      // FaultFs::crash_after: every change made so far stays
  power_cut,  // FaultFs::power_cut_after: what was not made durable is undone
};

// Runs the enumeration; returns the number of k values covered.
long enumerate(const Scenario& sc, Interrupt how = Interrupt::crash) {
  const Labelled once = uninterrupted(sc, 1);
  // For a higher level a second promotion may have nothing to promote: then
  // "two runs" is one run plus a refused one.
  Labelled twice;
  {
    auto fx = make_fixture(sc);
    Labels labels = labels_of(*fx);
    REQUIRE(fx->run(sc.level, k_run_time).outcome == Outcome::ok);
    (void)fx->run(sc.level, k_run_time);
    twice = labelled(fx->state(), labels);
  }
  long k = 1;
  long n_rolled_back = 0;
  long n_committed = 0;
  long n_reported_ok = 0;
  for (;; ++k) {
    CAPTURE(sc.title);
    CAPTURE(k);
    auto fx = make_fixture(sc);
    Labels labels = labels_of(*fx);
    const Labelled before = labelled(fx->state(), labels);
    bool triggered = false;
    bool reported_ok = false;
    {
      fs::FaultFs crashing(fx->posix());
      if (how == Interrupt::crash) {
        crashing.crash_after(k);
      } else {
        crashing.power_cut_after(k, fx->root());
      }
      auto r = fx->run(crashing, sc.level, k_run_time);
      triggered = crashing.triggered();
      reported_ok = r.outcome == Outcome::ok;
      CHECK(crashing.cut_errors().empty());
      if (!triggered) {
        REQUIRE_MESSAGE(r.outcome == Outcome::ok, r.error);
      }
    }
    // A run that reported success (its last call was the k-th) keeps what it
    // reported, power cut or not.
    if (triggered && reported_ok) {
      ++n_reported_ok;
      CHECK(labelled(fx->state(), labels) == once);
    }
    if (!triggered) {
      CHECK(labelled(fx->state(), labels) == once);
      break;
    }
    // (1) Recovery with a fresh Fs.
    fs::PosixFs fresh;
    auto rec = fx->recover(fresh);
    REQUIRE_MESSAGE(rec.has_value(), (rec ? std::string() : rec.error().message()));
    CHECK(no_protocol_leftovers(*fx));
    // Leftover trash is kept by recovery (deleting it must not delay the
    // next backup); the run below deletes it after its commit.
    if (sc.naming == Naming::dated) {
      CHECK(exists(fx->snap(fx->latest_target())));
    }
    Labelled now = labelled(fx->state(), labels);
    bool rolled_back = now == before;
    ++(rolled_back ? n_rolled_back : n_committed);
    if (!rolled_back) {
      // Committed: every generation is complete, as it was before or as in
      // the uninterrupted run; nothing the uninterrupted run keeps is lost.
      for (const auto& [name, tree] : now) {
        bool as_before = false;  // complete, as some generation was (maybe shifted)
        for (const auto& [n2, t2] : before) {
          as_before = as_before || t2 == tree;
        }
        bool as_once = once.count(name) && once.at(name) == tree;
        CHECK_MESSAGE((as_before || as_once), name);
      }
      for (const auto& [name, tree] : once) {
        bool found = false;
        for (const auto& [n2, t2] : now) {
          found = found || t2 == tree;
        }
        CHECK_MESSAGE(found, "lost " << name);
      }
    }
    // (2) The same level again.
    auto again = fx->run(fresh, sc.level, k_run_time);
    if (rolled_back) {
      CHECK_MESSAGE(again.outcome == Outcome::ok, again.error);
      CHECK(labelled(fx->state(), labels) == once);
    } else {
      CHECK(labelled(fx->state(), labels) == twice);
    }
    CHECK(no_protocol_leftovers(*fx));
    if (again.outcome == Outcome::ok) {
      CHECK(fx->trash_entries() == 0);  // a refused promotion changes nothing, trash included
    }
  }
  // Both sides of the commit point were interrupted.
  CHECK(n_rolled_back > 0);
  CHECK(n_committed > 0);
  MESSAGE(std::string(sc.title) << ": " << n_rolled_back << " rolled back, " << n_committed
                                << " committed, " << n_reported_ok
                                << " cut after the last call of a successful run");
  return k;
}

}  // namespace

TEST_CASE("crash at every k: (a) a fresh build and the shift") {
  Scenario sc{"fresh+shift",
              Naming::rotate,
              "daily:5",
              "daily:5",
              {},
              [](SnapFixture& fx) {
                for (int d = 1; d <= 3; ++d) {
                  daily(fx, d);
                }
              },
              "daily"};
  long k = enumerate(sc);
  CHECK(k > 20);
}

TEST_CASE("crash at every k: (b) a recycled build, the shift and an expiry") {
  // Three generations, keep shrunk to 2: daily.1 is recycled, daily.2
  // expires, daily.0 shifts.
  Scenario sc{"recycle+shift+expire",
              Naming::rotate,
              "daily:3",
              "daily:2",
              {},
              [](SnapFixture& fx) {
                for (int d = 1; d <= 3; ++d) {
                  daily(fx, d);
                }
              },
              "daily"};
  long k = enumerate(sc);
  CHECK(k > 20);
}

TEST_CASE("crash at every k: (c) a higher-level promotion with an expiry") {
  Scenario sc{"promotion",
              Naming::rotate,
              "daily:3 weekly:2",
              "daily:3 weekly:2",
              {},
              [](SnapFixture& fx) {
                int d = 1;
                for (int week = 0; week < 2; ++week) {
                  while (!exists(fx.snap("daily.2"))) {
                    daily(fx, d++);
                  }
                  weekly(fx, d);
                }
                while (!exists(fx.snap("daily.2"))) {
                  daily(fx, d++);
                }
              },
              "weekly"};
  long k = enumerate(sc);
  CHECK(k > 3);
}

TEST_CASE("crash at every k: (d) a dated run with recycling and expiry") {
  Scenario sc{"dated",
              Naming::dated,
              "last:5",
              "last:3",
              {"daily"},
              [](SnapFixture& fx) {
                make_dir(fx.snap("foreign"));
                for (int d = 1; d <= 4; ++d) {
                  daily(fx, d);
                }
              },
              "daily"};
  long k = enumerate(sc);
  CHECK(k > 20);
}

// Power cuts (FaultFs::power_cut_after): the same scenarios and assertions,
// but at every k whatever fsync_dir / sync_fs had not made durable is lost:
// a committed generation must be complete, a rolled-back one exact.
TEST_CASE("power cut at every k: (a) a fresh build and the shift") {
  Scenario sc{"fresh+shift",
              Naming::rotate,
              "daily:5",
              "daily:5",
              {},
              [](SnapFixture& fx) {
                for (int d = 1; d <= 3; ++d) {
                  daily(fx, d);
                }
              },
              "daily"};
  long k = enumerate(sc, Interrupt::power_cut);
  MESSAGE("power cuts covered: " << k);
  CHECK(k > 20);
}

TEST_CASE("power cut at every k: (b) a recycled build, the shift and an expiry") {
  Scenario sc{"recycle+shift+expire",
              Naming::rotate,
              "daily:3",
              "daily:2",
              {},
              [](SnapFixture& fx) {
                for (int d = 1; d <= 3; ++d) {
                  daily(fx, d);
                }
              },
              "daily"};
  long k = enumerate(sc, Interrupt::power_cut);
  MESSAGE("power cuts covered: " << k);
  CHECK(k > 20);
}

TEST_CASE("power cut at every k: (c) a higher-level promotion with an expiry") {
  Scenario sc{"promotion",
              Naming::rotate,
              "daily:3 weekly:2",
              "daily:3 weekly:2",
              {},
              [](SnapFixture& fx) {
                int d = 1;
                for (int week = 0; week < 2; ++week) {
                  while (!exists(fx.snap("daily.2"))) {
                    daily(fx, d++);
                  }
                  weekly(fx, d);
                }
                while (!exists(fx.snap("daily.2"))) {
                  daily(fx, d++);
                }
              },
              "weekly"};
  long k = enumerate(sc, Interrupt::power_cut);
  MESSAGE("power cuts covered: " << k);
  CHECK(k > 3);
}

TEST_CASE("power cut at every k: (d) a dated run with recycling and expiry") {
  Scenario sc{"dated",
              Naming::dated,
              "last:5",
              "last:3",
              {"daily"},
              [](SnapFixture& fx) {
                make_dir(fx.snap("foreign"));
                for (int d = 1; d <= 4; ++d) {
                  daily(fx, d);
                }
              },
              "daily"};
  long k = enumerate(sc, Interrupt::power_cut);
  MESSAGE("power cuts covered: " << k);
  CHECK(k > 20);
}

TEST_CASE("power cut at every k: (e) a prune that expires generations") {
  // (a) five dated generations, keep shrunk to 2; (b) `rotator prune` is cut
  // at every k; (c) after the cut no generation is lost that the
  // uninterrupted prune keeps, every one present is complete, and a second
  // prune leaves exactly what the uninterrupted prune leaves, trash empty.
  auto make = [] {
    auto fx =
        std::make_unique<SnapFixture>(Naming::dated, "last:5", std::vector<std::string>{"daily"});
    for (int d = 1; d <= 5; ++d) {
      daily(*fx, d);
    }
    fx->job().keep = "last:2";
    return fx;
  };
  Labelled once;
  {
    auto fx = make();
    Labels labels = labels_of(*fx);
    auto r = fx->prune(k_run_time, jobs::Explain::no);
    REQUIRE_MESSAGE(r.outcome == Outcome::ok, r.error);
    once = labelled(fx->state(), labels);
    REQUIRE(once.size() == 2);
  }
  long k = 1;
  long n_kept_all = 0;
  for (;; ++k) {
    CAPTURE(k);
    auto fx = make();
    Labels labels = labels_of(*fx);
    const Labelled before = labelled(fx->state(), labels);
    bool triggered = false;
    {
      fs::FaultFs cutting(fx->posix());
      cutting.power_cut_after(k, fx->root());
      auto r = fx->prune(cutting, k_run_time, jobs::Explain::no);
      triggered = cutting.triggered();
      CHECK(cutting.cut_errors().empty());
      if (!triggered) {
        REQUIRE_MESSAGE(r.outcome == Outcome::ok, r.error);
      }
    }
    Labelled now = labelled(fx->state(), labels);
    n_kept_all += now == before ? 1 : 0;
    for (const auto& [name, tree] : now) {
      CHECK_MESSAGE((before.count(name) && before.at(name) == tree), name);  // complete
    }
    for (const auto& [name, tree] : once) {
      CHECK_MESSAGE(now.count(name), "lost " << name);
    }
    auto again = fx->prune(k_run_time, jobs::Explain::no);
    CHECK_MESSAGE(again.outcome == Outcome::ok, again.error);
    CHECK(labelled(fx->state(), labels) == once);
    CHECK(no_protocol_leftovers(*fx));
    CHECK(fx->trash_entries() == 0);
    if (!triggered) {
      break;
    }
  }
  MESSAGE("power cuts covered: " << k);
  CHECK(k > 10);
  CHECK(n_kept_all > 0);
}

TEST_CASE("rollback of an uncommitted recycled build restores the generation exactly") {
  // Crash in the middle of the mirror into the recycled daily.1: every k
  // whose crash leaves the build staged.
  int staged = 0;
  for (long k = 1; k <= 40; ++k) {
    CAPTURE(k);
    SnapFixture fx(Naming::rotate, "daily:2");
    daily(fx, 1);
    daily(fx, 2);
    fx.change_clone(3);
    SnapState before = fx.state();
    fs::FaultFs crashing(fx.posix());
    crashing.crash_after(k);
    auto r = fx.run(crashing, "daily", k_run_time);
    if (!crashing.triggered()) {
      break;  // the run completed within k calls
    }
    if (!exists(fx.snap(".rotator-staging"))) {
      continue;  // the crash hit before the recycle or after the commit
    }
    CHECK(r.outcome == Outcome::error);
    ++staged;
    CHECK_FALSE(exists(fx.snap("daily.1")));
    fs::PosixFs fresh;
    auto rec = fx.recover(fresh);
    REQUIRE(rec);
    REQUIRE(rec->size() >= 1);
    CHECK((*rec)[0].rfind("rolled back an interrupted recycled build: snaps/daily.1 restored", 0) ==
          0);
    CHECK(fx.state() == before);  // same names, same inodes, directories included
  }
  CHECK(staged > 5);
}

TEST_CASE("crash at every k of a recovery that rolls back a recycled build") {
  // (a) a recycled build (new files, a changed file, a directory replaced by
  // a file) is interrupted in the middle of its mirror; (b) its recovery is
  // interrupted at every j; (c) a recovery with a fresh Fs must still restore
  // the original generation exactly.
  // The build's crash points come from the journal of an uninterrupted run:
  // just after the recycle rename (daily.1 -> .rotator-staging), half way
  // through the mirror, and just before the commit rename.
  std::vector<long> build_points;
  {
    SnapFixture fx(Naming::rotate, "daily:2");
    daily(fx, 1);
    daily(fx, 2);
    fx.change_clone(3);
    fs::FaultFs recording(fx.posix());
    recording.record();
    REQUIRE(fx.run(recording, "daily", k_run_time).outcome == Outcome::ok);
    const auto& journal = recording.journal();
    long recycled = 0;
    long committed = 0;
    for (size_t i = 0; i < journal.size(); ++i) {
      const std::string& call = journal[i];
      if (call == "rename " + fx.snap("daily.1") + " -> " + fx.snap(".rotator-staging")) {
        recycled = static_cast<long>(i) + 1;  // k counts mutating calls from 1
      } else if (call ==
                 "rename " + fx.snap(".rotator-staging") + " -> " + fx.snap(".rotator-committed")) {
        committed = static_cast<long>(i) + 1;
      }
    }
    REQUIRE(recycled > 0);
    REQUIRE(committed > recycled + 4);  // the mirror has steps to interrupt
    build_points = {recycled + 1, (recycled + committed) / 2, committed - 1};
  }
  for (long k : build_points) {
    long j = 1;
    for (;; ++j) {
      CAPTURE(k);
      CAPTURE(j);
      SnapFixture fx(Naming::rotate, "daily:2");
      daily(fx, 1);
      daily(fx, 2);
      fx.change_clone(3);
      SnapState before = fx.state();
      fs::FaultFs crashing(fx.posix());
      crashing.crash_after(k);
      REQUIRE(fx.run(crashing, "daily", k_run_time).outcome == Outcome::error);
      REQUIRE(exists(fx.snap(".rotator-staging")));
      fs::FaultFs crashing_recovery(fx.posix());
      crashing_recovery.crash_after(j);
      auto first = fx.recover(crashing_recovery);
      fs::PosixFs fresh;
      auto rec = fx.recover(fresh);
      REQUIRE_MESSAGE(rec.has_value(), (rec ? std::string() : rec.error().message()));
      CHECK(fx.state() == before);
      CHECK(no_protocol_leftovers(fx));
      CHECK(fx.trash_entries() <= 1);  // only the build's own folder; the next run deletes it
      if (!crashing_recovery.triggered()) {
        REQUIRE(first.has_value());
        break;
      }
    }
    CHECK(j > 5);
  }
}

TEST_SUITE_END();
