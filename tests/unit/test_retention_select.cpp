#include <doctest/doctest.h>

#include <map>
#include <random>
#include <string>
#include <vector>

#include "retention/select.hpp"
#include "rotation/name.hpp"
#include "testutil.hpp"

using namespace rotator;
using namespace rotator::retention;
using namespace std::chrono;

namespace {

using test::utc_at;
using test::zone;

DatedPolicy policy(const char* text) {
  auto p = parse_dated_policy(text);
  REQUIRE_MESSAGE(p, text);
  return *p;
}

// A generation from a dated name in the default format, read in `z`.
Generation gen(const std::string& name, const Zone& z) {
  auto parsed = rotation::parse_dated_name(name, rotation::k_default_name_format, z);
  REQUIRE_MESSAGE(parsed, name);
  return Generation{name, parsed->time, parsed->suffix};
}

// A generation named after its instant with the UTC offset (distinct names in
// the repeated DST hour).
Generation gen_at(Instant t, const Zone& z) {
  return Generation{z.format("%Y-%m-%dT%H%M%z", t), t, 0};
}

// "NAME REASON" of every kept generation, newest first.
std::vector<std::string> kept(const std::vector<Decision>& decisions) {
  std::vector<std::string> out;
  for (const auto& d : decisions) {
    if (d.keep) {
      out.push_back(d.name + " " + d.reason);
    }
  }
  return out;
}

std::vector<std::string> expired(const std::vector<Decision>& decisions) {
  std::vector<std::string> out;
  for (const auto& d : decisions) {
    if (!d.keep) {
      CHECK(d.reason == "expired");
      out.push_back(d.name);
    }
  }
  return out;
}

// The generations a prune following `decisions` leaves behind.
std::vector<Generation> survivors(const std::vector<Generation>& gens,
                                  const std::vector<Decision>& decisions) {
  std::map<std::string, bool> keep;
  for (const auto& d : decisions) {
    keep[d.name] = d.keep;
  }
  std::vector<Generation> out;
  for (const auto& g : gens) {
    if (keep.at(g.name)) {
      out.push_back(g);
    }
  }
  return out;
}

// Names "YYYY-MM-DD_020000" for every day in [first, last].
std::vector<std::string> daily_names(date::year_month_day first, date::year_month_day last) {
  std::vector<std::string> names;
  for (date::sys_days d = first; d <= date::sys_days{last}; d += date::days{1}) {
    names.push_back(date::format("%Y-%m-%d", d) + "_020000");
  }
  return names;
}

std::vector<Generation> gens_of(const std::vector<std::string>& names, const Zone& z) {
  std::vector<Generation> gens;
  for (const auto& n : names) {
    gens.push_back(gen(n, z));
  }
  return gens;
}

// The long synthetic history (Europe/Paris, daily at 02:00):
//   2026-08-20 ... 2026-10-10, Sep 15 missed;
//   outage 2026-10-11 ... 2026-11-09 (nothing);
//   2026-11-10 ... 2026-11-20, Nov 12 missed; Nov 18 has three more
//   generations: 11:00, 11:00 again (".1", identical timestamp) and 19:30.
std::vector<Generation> long_history(const Zone& z) {
  using namespace date::literals;
  std::vector<std::string> names;
  for (auto& n : daily_names(2026_y / 8 / 20, 2026_y / 10 / 10)) {
    if (n != "2026-09-15_020000") {
      names.push_back(n);
    }
  }
  for (auto& n : daily_names(2026_y / 11 / 10, 2026_y / 11 / 20)) {
    if (n != "2026-11-12_020000") {
      names.push_back(n);
    }
  }
  names.push_back("2026-11-18_110000");
  names.push_back("2026-11-18_110000.1");
  names.push_back("2026-11-18_193000");
  return gens_of(names, z);
}

}  // namespace

TEST_SUITE_BEGIN("retention::select");

TEST_CASE("select_dated: the worked calendar (man page)") {
  // Daily snapshots at 02:00 for 90 days, 2026-08-25 ... 2026-11-22 (a Sunday),
  // keep = daily:7 weekly:4 monthly:3. The man page shows this result:
  //
  //   daily:7    11-22 (newest) 11-21 11-20 11-19 11-18 11-17 11-16
  //   weekly:4   W47 consumed (its last snapshot, 11-22, is already kept)
  //              11-15 (W46) 11-08 (W45) 11-01 (W44) 10-25 (W43)
  //   monthly:3  November consumed (11-22)
  //              10-31 (2026-10) 09-30 (2026-09) 08-31 (2026-08)
  //   14 kept, 76 expired.
  using namespace date::literals;
  Zone paris = zone("Europe/Paris");
  auto gens = gens_of(daily_names(2026_y / 8 / 25, 2026_y / 11 / 22), paris);
  REQUIRE(gens.size() == 90);
  auto decisions = select_dated(gens, policy("daily:7 weekly:4 monthly:3"), paris);
  REQUIRE(decisions.size() == 90);
  CHECK(kept(decisions) == std::vector<std::string>{
                               "2026-11-22_020000 newest",
                               "2026-11-21_020000 daily 2026-11-21",
                               "2026-11-20_020000 daily 2026-11-20",
                               "2026-11-19_020000 daily 2026-11-19",
                               "2026-11-18_020000 daily 2026-11-18",
                               "2026-11-17_020000 daily 2026-11-17",
                               "2026-11-16_020000 daily 2026-11-16",
                               "2026-11-15_020000 weekly 2026-W46",
                               "2026-11-08_020000 weekly 2026-W45",
                               "2026-11-01_020000 weekly 2026-W44",
                               "2026-10-31_020000 monthly 2026-10",
                               "2026-10-25_020000 weekly 2026-W43",
                               "2026-09-30_020000 monthly 2026-09",
                               "2026-08-31_020000 monthly 2026-08",
                           });
  CHECK(expired(decisions).size() == 76);
  CHECK(decisions.front().name == "2026-11-22_020000");
  CHECK(decisions.back().name == "2026-08-25_020000");
}

TEST_CASE("select_dated: long history with an outage, missed days, several per day") {
  Zone paris = zone("Europe/Paris");
  auto gens = long_history(paris);
  REQUIRE(gens.size() == 51 + 10 + 3);
  // Text order does not matter: evaluated last, daily, weekly, monthly.
  auto decisions = select_dated(gens, policy("monthly:2 last:3 weekly:3 daily:9"), paris);
  CHECK(kept(decisions) == std::vector<std::string>{
                               "2026-11-20_020000 newest",
                               "2026-11-19_020000 last #2",
                               "2026-11-18_193000 last #3",
                               // Nov 18, 19, 20 are consumed by `last`, not counted;
                               // Nov 12 had no generation and does not count.
                               "2026-11-17_020000 daily 2026-11-17",
                               "2026-11-16_020000 daily 2026-11-16",
                               "2026-11-15_020000 daily 2026-11-15",
                               "2026-11-14_020000 daily 2026-11-14",
                               "2026-11-13_020000 daily 2026-11-13",
                               "2026-11-11_020000 daily 2026-11-11",
                               "2026-11-10_020000 daily 2026-11-10",
                               // daily reaches back over the outage.
                               "2026-10-10_020000 daily 2026-10-10",
                               "2026-10-09_020000 daily 2026-10-09",
                               // W47, W46 and W41 are consumed (their newest is kept).
                               "2026-10-04_020000 weekly 2026-W40",
                               "2026-09-30_020000 monthly 2026-09",
                               "2026-09-27_020000 weekly 2026-W39",
                               "2026-09-20_020000 weekly 2026-W38",
                               // November and October consumed.
                               "2026-08-31_020000 monthly 2026-08",
                           });
  auto gone = expired(decisions);
  CHECK(gone.size() == 64 - 17);
  CHECK(std::find(gone.begin(), gone.end(), "2026-11-18_110000.1") != gone.end());
  CHECK(std::find(gone.begin(), gone.end(), "2026-11-18_110000") != gone.end());
  CHECK(std::find(gone.begin(), gone.end(), "2026-11-18_020000") != gone.end());
  CHECK(std::find(gone.begin(), gone.end(), "2026-08-20_020000") != gone.end());
}

TEST_CASE("select_dated: outage property, windows anchored at the newest generation") {
  Zone paris = zone("Europe/Paris");
  // The history as it stood when the outage began (newest 2026-10-10).
  std::vector<Generation> before;
  for (const auto& g : long_history(paris)) {
    if (g.time < utc_at(2026, 10, 11, 0, 0)) {
      before.push_back(g);
    }
  }
  auto p = policy("daily:7 weekly:2 monthly:1");
  auto first = select_dated(before, p, paris);
  // Counted from the newest generation, however long ago that was: there is no `now`.
  CHECK(kept(first) == std::vector<std::string>{
                           "2026-10-10_020000 newest",
                           "2026-10-09_020000 daily 2026-10-09",
                           "2026-10-08_020000 daily 2026-10-08",
                           "2026-10-07_020000 daily 2026-10-07",
                           "2026-10-06_020000 daily 2026-10-06",
                           "2026-10-05_020000 daily 2026-10-05",
                           "2026-10-04_020000 daily 2026-10-04",
                           // W41 and W40 consumed by daily, October by daily.
                           "2026-09-30_020000 monthly 2026-09",
                           "2026-09-27_020000 weekly 2026-W39",
                           "2026-09-20_020000 weekly 2026-W38",
                       });
  // Every day of the outage prunes again over what is left: nothing more expires
  // and every reason stays the same.
  auto remaining = survivors(before, first);
  for (int day = 0; day < 30; ++day) {
    auto again = select_dated(remaining, p, paris);
    CHECK(expired(again).empty());
    CHECK(kept(again) == kept(first));
    remaining = survivors(remaining, again);
  }
  CHECK(remaining.size() == 10);
}

TEST_CASE("select_dated: idempotence, selecting over the kept set keeps all of it") {
  Zone paris = zone("Europe/Paris");
  auto gens = long_history(paris);
  for (const char* text : {"last:3 daily:9 weekly:3 monthly:2", "daily:7 weekly:4 monthly:3",
                           "last:1", "hourly:5 daily:2", "weekly:* yearly:1", "monthly:*",
                           "last:10 yearly:*", "hourly:24 daily:7 weekly:4 monthly:12 yearly:*"}) {
    CAPTURE(text);
    auto p = policy(text);
    auto once = select_dated(gens, p, paris);
    auto left = survivors(gens, once);
    auto twice = select_dated(left, p, paris);
    CHECK(expired(twice).empty());
    CHECK(kept(twice) == kept(once));
  }
}

TEST_CASE("select_dated: properties over random histories") {
  // (a) the newest is kept, (b) no rule counts more than its N, (c) selecting
  // again over the kept set keeps all of it with the same reasons, (d) the input
  // order does not matter.
  Zone ny = zone("America/New_York");
  std::mt19937 rng(20261122);
  const char* policies[] = {"last:2 hourly:3 daily:4 weekly:2 monthly:2 yearly:1",
                            "daily:3 monthly:*", "hourly:6", "weekly:5 yearly:2"};
  for (int round = 0; round < 200; ++round) {
    std::vector<Generation> gens;
    Instant t = utc_at(2026, 1, 1, 0, 0) + seconds{rng() % (86400 * 365)};
    int n = 1 + static_cast<int>(rng() % 60);
    for (int i = 0; i < n; ++i) {
      // Gaps from 0 s (identical timestamps) to ~40 days.
      static const int gaps[] = {0, 60, 1800, 3600, 7200, 86400, 3 * 86400, 40 * 86400};
      t += seconds{gaps[rng() % 8]};
      gens.push_back(Generation{"g" + std::to_string(i), t, i});
    }
    auto p = policy(policies[round % 4]);
    auto decisions = select_dated(gens, p, ny);
    REQUIRE(decisions.size() == gens.size());
    CHECK(decisions.front().keep);
    CHECK(decisions.front().reason == "newest");
    CHECK(decisions.front().name == "g" + std::to_string(n - 1));
    for (const auto& rule : p.rules) {
      int counted = 0;
      std::string prefix = std::string(period_name(rule.period)) + " ";
      for (const auto& d : decisions) {
        counted += d.reason.rfind(prefix, 0) == 0 ||
                   (rule.period == Period::last && d.reason.rfind("last #", 0) == 0);
      }
      if (rule.count != k_unlimited) {
        CHECK(counted <= rule.count);
      }
    }
    auto again = select_dated(survivors(gens, decisions), p, ny);
    CHECK(expired(again).empty());
    CHECK(kept(again) == kept(decisions));
    std::vector<Generation> shuffled = gens;
    std::shuffle(shuffled.begin(), shuffled.end(), rng);
    CHECK(select_dated(shuffled, p, ny) == decisions);
  }
}

TEST_CASE("select_dated: days are local calendar days across the spring-forward change") {
  // Europe/Paris, 2026-03-29 has 23 hours. Snapshots at 00:30 and 23:30 local;
  // the last of each day is the 23:30 one. (In UTC, 2026-03-30 00:30 CEST is
  // still 2026-03-29 and would wrongly win that day.)
  Zone paris = zone("Europe/Paris");
  std::vector<Generation> gens;
  for (const char* day : {"2026-03-27", "2026-03-28", "2026-03-29", "2026-03-30", "2026-03-31"}) {
    gens.push_back(gen(std::string(day) + "_003000", paris));
    gens.push_back(gen(std::string(day) + "_233000", paris));
  }
  auto decisions = select_dated(gens, policy("daily:*"), paris);
  CHECK(kept(decisions) == std::vector<std::string>{
                               "2026-03-31_233000 newest",
                               "2026-03-30_233000 daily 2026-03-30",
                               "2026-03-29_233000 daily 2026-03-29",
                               "2026-03-28_233000 daily 2026-03-28",
                               "2026-03-27_233000 daily 2026-03-27",
                           });
  CHECK(expired(decisions).size() == 5);

  SUBCASE("the skipped hour 02h simply has no period") {
    std::vector<Generation> night = {gen_at(utc_at(2026, 3, 29, 0, 30), paris),   // 01:30 CET
                                     gen_at(utc_at(2026, 3, 29, 1, 0), paris),    // 03:00 CEST
                                     gen_at(utc_at(2026, 3, 29, 1, 30), paris)};  // 03:30 CEST
    CHECK(kept(select_dated(night, policy("hourly:*"), paris)) ==
          std::vector<std::string>{"2026-03-29T0330+0200 newest",
                                   "2026-03-29T0130+0100 hourly 2026-03-29 01h"});
  }
}

TEST_CASE("select_dated: the repeated hour of the fall-back change is one hourly period") {
  // Europe/Paris, 2026-10-25 03:00 CEST -> 02:00 CET. Every 30 minutes from
  // 23:00 UTC (01:00 CEST) to 02:30 UTC (03:30 CET).
  Zone paris = zone("Europe/Paris");
  std::vector<Generation> gens;
  for (Instant t = utc_at(2026, 10, 24, 23, 0); t <= utc_at(2026, 10, 25, 2, 30);
       t += minutes{30}) {
    gens.push_back(gen_at(t, paris));
  }
  REQUIRE(gens.size() == 8);
  auto decisions = select_dated(gens, policy("hourly:*"), paris);
  CHECK(kept(decisions) == std::vector<std::string>{
                               "2026-10-25T0330+0100 newest",
                               "2026-10-25T0230+0100 hourly 2026-10-25 02h",
                               "2026-10-25T0130+0200 hourly 2026-10-25 01h",
                           });
  CHECK(expired(decisions) ==
        std::vector<std::string>{"2026-10-25T0300+0100", "2026-10-25T0200+0100",
                                 "2026-10-25T0230+0200", "2026-10-25T0200+0200",
                                 "2026-10-25T0100+0200"});
  CHECK(kept(select_dated(gens, policy("hourly:2"), paris)) ==
        std::vector<std::string>{"2026-10-25T0330+0100 newest",
                                 "2026-10-25T0230+0100 hourly 2026-10-25 02h"});
}

TEST_CASE("select_dated: month ends are local") {
  // 2026-10-31 22:00 and 23:30 in New York are already November in UTC.
  std::vector<Generation> gens = {{"a", utc_at(2026, 11, 1, 2, 0), 0},    // 2026-10-31 22:00 EDT
                                  {"b", utc_at(2026, 11, 1, 3, 30), 0},   // 2026-10-31 23:30 EDT
                                  {"c", utc_at(2026, 11, 1, 12, 0), 0}};  // 2026-11-01 07:00 EST
  Zone ny = zone("America/New_York");
  CHECK(kept(select_dated(gens, policy("monthly:*"), ny)) ==
        std::vector<std::string>{"c newest", "b monthly 2026-10"});
  CHECK(kept(select_dated(gens, policy("monthly:*"), Zone::utc())) ==
        std::vector<std::string>{"c newest"});
}

TEST_CASE("select_dated: leap day 2028-02-29") {
  Zone utc = Zone::utc();
  std::vector<Generation> gens =
      gens_of({"2028-02-28_120000", "2028-02-29_120000", "2028-03-01_120000", "2029-02-28_120000",
               "2029-03-01_120000"},
              utc);
  CHECK(kept(select_dated(gens, policy("monthly:*"), utc)) ==
        std::vector<std::string>{"2029-03-01_120000 newest", "2029-02-28_120000 monthly 2029-02",
                                 "2028-03-01_120000 monthly 2028-03",
                                 "2028-02-29_120000 monthly 2028-02"});
  CHECK(kept(select_dated(gens, policy("daily:4"), utc)) ==
        std::vector<std::string>{"2029-03-01_120000 newest", "2029-02-28_120000 daily 2029-02-28",
                                 "2028-03-01_120000 daily 2028-03-01",
                                 "2028-02-29_120000 daily 2028-02-29"});
  CHECK(kept(select_dated(gens, policy("yearly:*"), utc)) ==
        std::vector<std::string>{"2029-03-01_120000 newest", "2028-03-01_120000 yearly 2028"});
}

TEST_CASE("select_dated: ISO week 53 of 2026 runs into January 2027") {
  Zone paris = zone("Europe/Paris");
  auto gens = gens_of({"2026-12-27_020000",   // Sunday of W52
                       "2026-12-28_020000",   // Monday of W53
                       "2026-12-31_020000",   // Thursday of W53
                       "2027-01-03_020000",   // Sunday of 2026-W53
                       "2027-01-04_020000"},  // Monday of 2027-W01
                      paris);
  CHECK(kept(select_dated(gens, policy("weekly:*"), paris)) ==
        std::vector<std::string>{"2027-01-04_020000 newest", "2027-01-03_020000 weekly 2026-W53",
                                 "2026-12-27_020000 weekly 2026-W52"});
  CHECK(kept(select_dated(gens, policy("yearly:* weekly:*"), paris)) ==
        std::vector<std::string>{"2027-01-04_020000 newest", "2027-01-03_020000 weekly 2026-W53",
                                 "2026-12-31_020000 yearly 2026",
                                 "2026-12-27_020000 weekly 2026-W52"});
  CHECK(period_key(Period::weekly, gens[3].time, paris) == "2026-W53");
  CHECK(period_key(Period::yearly, gens[3].time, paris) == "2027");
}

TEST_CASE("select_dated: identical timestamps are ordered by suffix") {
  Zone utc = Zone::utc();
  auto gens = gens_of({"2026-11-22_020000.1", "2026-11-22_020000", "2026-11-22_020000.2"}, utc);
  CHECK(kept(select_dated(gens, policy("daily:5"), utc)) ==
        std::vector<std::string>{"2026-11-22_020000.2 newest"});
  auto last2 = select_dated(gens, policy("last:2"), utc);
  CHECK(kept(last2) ==
        std::vector<std::string>{"2026-11-22_020000.2 newest", "2026-11-22_020000.1 last #2"});
  CHECK(expired(last2) == std::vector<std::string>{"2026-11-22_020000"});
}

TEST_CASE("select_dated: periods without generations do not count") {
  Zone utc = Zone::utc();
  auto gens = gens_of(
      {"2026-11-16_020000", "2026-11-17_020000", "2026-11-19_020000", "2026-11-20_020000"}, utc);
  CHECK(kept(select_dated(gens, policy("daily:3"), utc)) ==
        std::vector<std::string>{"2026-11-20_020000 newest", "2026-11-19_020000 daily 2026-11-19",
                                 "2026-11-17_020000 daily 2026-11-17"});
}

TEST_CASE("select_dated: cascade, a period kept by a finer rule is consumed, not counted") {
  // Two weeks of dailies; daily:3 weekly:2. The newest week's Sunday is kept
  // by daily, so weekly counts the two weeks before it.
  Zone utc = Zone::utc();
  using namespace date::literals;
  auto gens = gens_of(daily_names(2026_y / 11 / 2, 2026_y / 11 / 22), utc);
  CHECK(kept(select_dated(gens, policy("daily:3 weekly:2"), utc)) ==
        std::vector<std::string>{"2026-11-22_020000 newest", "2026-11-21_020000 daily 2026-11-21",
                                 "2026-11-20_020000 daily 2026-11-20",
                                 "2026-11-15_020000 weekly 2026-W46",
                                 "2026-11-08_020000 weekly 2026-W45"});
}

TEST_CASE("select_dated: edge cases") {
  Zone utc = Zone::utc();
  CHECK(select_dated({}, policy("daily:7"), utc).empty());
  auto one = select_dated(gens_of({"2026-11-22_020000"}, utc), policy("monthly:1"), utc);
  REQUIRE(one.size() == 1);
  CHECK(one[0] == Decision{"2026-11-22_020000", utc_at(2026, 11, 22, 2, 0), true, "newest"});
  auto gens = gens_of({"2026-11-21_020000", "2026-11-22_020000"}, utc);
  CHECK(kept(select_dated(gens, DatedPolicy{}, utc)) ==
        std::vector<std::string>{"2026-11-22_020000 newest"});
  CHECK(kept(select_dated(gens, policy("last:*"), utc)) ==
        std::vector<std::string>{"2026-11-22_020000 newest", "2026-11-21_020000 last #2"});
}

TEST_SUITE_END();

TEST_SUITE_BEGIN("retention::select");

TEST_CASE("select_rotate: by rank, holes do not count, duplicates ignored") {
  using retention::RotateDecision;
  using retention::select_rotate;
  CHECK(select_rotate({}, 3).empty());
  CHECK(select_rotate({5, 0, 4}, 3) ==
        std::vector<RotateDecision>{{0, 1, true}, {4, 2, true}, {5, 3, true}});
  CHECK(select_rotate({0, 1, 2, 3}, 2) ==
        std::vector<RotateDecision>{{0, 1, true}, {1, 2, true}, {2, 3, false}, {3, 4, false}});
  CHECK(select_rotate({2, 2, 7}, 1) == std::vector<RotateDecision>{{2, 1, true}, {7, 2, false}});
  // keep 0: what a commit with count 1 asks (the new .0 is the only one)
  CHECK(select_rotate({0, 1}, 0) == std::vector<RotateDecision>{{0, 1, false}, {1, 2, false}});
}

TEST_SUITE_END();
