#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "engine/mirror.hpp"
#include "fs/posix_fs.hpp"
#include "log/progress.hpp"
#include "testutil.hpp"

using namespace rotator;
using namespace std::chrono_literals;

namespace {

struct FakeTerminal {
  std::vector<std::string> writes;
  std::chrono::steady_clock::time_point now{};
  log::Progress progress{[this](std::string_view t) { writes.emplace_back(t); },
                         [this] { return now; }};
};

}  // namespace

TEST_SUITE_BEGIN("log::progress");

TEST_CASE("format_progress: counts, percentage, rate and ETA") {
  log::ProgressCounts c{1250, 3, 3250000};
  CHECK(log::format_progress("[home] backup", &c, 5000, 2500ms) ==
        "[home] backup: 1250/5000 entries (25%), 3.1 MiB linked, 3 archived, 500/s, ETA 0:08");
  // No previous run: no total, no ETA.
  CHECK(log::format_progress("[home] backup", &c, -1, 2500ms) ==
        "[home] backup: 1250 entries, 3.1 MiB linked, 3 archived, 500/s");
  // Under a second: no rate yet.
  CHECK(log::format_progress("[s] snapshot", &c, 5000, 900ms) ==
        "[s] snapshot: 1250/5000 entries (25%), 3.1 MiB linked, 3 archived");
  // More than expected: capped at 100%, ETA 0:00.
  log::ProgressCounts more{6000, 0};
  CHECK(log::format_progress("p", &more, 5000, 3000ms) ==
        "p: 6000/5000 entries (100%), 0 B linked, 0 archived, 2000/s, ETA 0:00");
  // Long ETA in hours.
  log::ProgressCounts slow{10, 0};
  CHECK(log::format_progress("p", &slow, 100000, 10000ms) ==
        "p: 10/100000 entries (0%), 0 B linked, 0 archived, 1/s, ETA 27:46:30");
  // Uncounted phase (rsync): elapsed only.
  CHECK(log::format_progress("[laptop] clone", nullptr, -1, 62000ms) ==
        "[laptop] clone: rsync running, 1:02 elapsed");
}

TEST_CASE("Progress draws at most once per 100 ms of the injected clock") {
  FakeTerminal term;
  auto& p = term.progress;
  CHECK_FALSE(p.tick());  // no phase: nothing
  p.begin("[b] backup", log::Progress::Counted::yes, 100);
  CHECK_FALSE(p.tick());  // the first interval has not passed
  for (int i = 0; i < 1000; ++i) {
    p.count_done();
  }
  p.count_linked_bytes(1536);
  term.now += 99ms;
  CHECK_FALSE(p.tick());
  CHECK(term.writes.empty());
  term.now += 1ms;
  CHECK(p.tick());
  REQUIRE(term.writes.size() == 1);
  CHECK(term.writes[0] ==
        "\r[b] backup: 1000/100 entries (100%), 1.5 KiB linked, 0 archived\033[K");
  // However many entries and ticks, one draw per interval.
  int draws = 0;
  for (int ms = 0; ms < 1000; ++ms) {
    p.count_done();
    term.now += 1ms;
    draws += p.tick() ? 1 : 0;
    draws += p.tick() ? 1 : 0;
  }
  CHECK(draws == 10);
  CHECK(p.counts().done == 2000);
  // A new phase starts from zero.
  p.begin("[b] again", log::Progress::Counted::yes, 100);
  CHECK(p.counts().done == 0);
  CHECK(p.counts().linked_bytes == 0);
}

TEST_CASE("Progress clears its line before a log line and at the end") {
  FakeTerminal term;
  auto& p = term.progress;
  p.write_above([&] { term.writes.emplace_back("line\n"); });
  CHECK(term.writes == std::vector<std::string>{"line\n"});  // nothing to clear
  term.writes.clear();
  p.begin("[c] clone", log::Progress::Counted::no, -1);
  term.now += 150ms;
  REQUIRE(p.tick());
  p.write_above([&] { term.writes.emplace_back("warning\n"); });
  term.now += 100ms;
  REQUIRE(p.tick());
  p.end();
  CHECK_FALSE(p.tick());
  term.now += 1s;
  CHECK_FALSE(p.tick());  // ended: no more drawing
  CHECK(term.writes == std::vector<std::string>{"\r[c] clone: rsync running, 0:00 elapsed\033[K",
                                                "\r\033[K", "warning\n",
                                                "\r[c] clone: rsync running, 0:00 elapsed\033[K",
                                                "\r\033[K"});
}

TEST_CASE("the engine counts walked and archived entries into the Progress") {
  test::TestContext ctx;
  for (int i = 0; i < 6; ++i) {
    for (int j = 0; j < 4; ++j) {
      test::write_file(ctx.path("src/d" + std::to_string(i) + "/f" + std::to_string(j)), "x");
    }
  }
  test::write_file(ctx.path("src/top"), "t");
  test::make_dir(ctx.path("fresh"));
  test::make_dir(ctx.path("seq"));
  fs::PosixFs fs;
  FakeTerminal term;
  engine::MirrorOptions opt;
  opt.progress = &term.progress;
  opt.count_bytes = engine::CountBytes::yes;
  auto fresh = engine::mirror_fresh(fs, ctx.path("src"), ctx.path("fresh"), opt);
  REQUIRE(fresh);
  CHECK(term.progress.counts().done == 25);
  // Every file is 1 byte: the workers' and the final pass's links.
  CHECK(term.progress.counts().linked_bytes == 25);
  CHECK(fresh->linked_bytes == 25);
  CHECK(term.progress.counts().done == fresh->linked + fresh->unchanged + fresh->copied_emlink);
  // A rerun finds everything unchanged: counted once each.
  term.progress.begin("again", log::Progress::Counted::yes, 25);
  auto again = engine::mirror(fs, ctx.path("src"), ctx.path("fresh"), opt);
  REQUIRE(again);
  CHECK(again->unchanged == 25);
  CHECK(term.progress.counts().done == 25);
  CHECK(term.progress.counts().linked_bytes == 0);  // nothing linked
  CHECK(term.writes.empty());                       // counting never draws
}

TEST_SUITE_END();
