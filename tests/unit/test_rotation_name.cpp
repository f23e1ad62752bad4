#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "rotation/name.hpp"
#include "testutil.hpp"

using namespace rotator;
using namespace rotator::rotation;
using namespace std::chrono;

namespace {

using test::dur;
using test::utc_at;
using test::zone;

}  // namespace

TEST_SUITE_BEGIN("rotation::name");

TEST_CASE("rsnapshot names LEVEL.N") {
  CHECK(parse_level_name("daily.0") == LevelName{"daily", 0});
  CHECK(parse_level_name("weekly.13") == LevelName{"weekly", 13});
  CHECK(parse_level_name("Level_2.7") == LevelName{"Level_2", 7});
  CHECK(parse_level_name("daily.999999") == LevelName{"daily", 999999});
  for (const char* foreign :
       {"daily", "daily.", ".3", "daily.x", "daily.03", "daily.-1", "daily.+1", "a.b.1", "da-ily.1",
        "daily.1000000", "daily.99999999999999999999", "2026-11-22_020000", "_delete.123x"}) {
    CHECK_MESSAGE(!parse_level_name(foreign), foreign);
  }
  CHECK(format_level_name("daily", 0) == "daily.0");
  CHECK(format_level_name("weekly", 12) == "weekly.12");
  CHECK(is_valid_level("hourly_2"));
  CHECK_FALSE(is_valid_level(""));
  CHECK_FALSE(is_valid_level("dai ly"));
  CHECK_FALSE(is_valid_level("daily.0"));
}

TEST_CASE("dated names: format and parse back in the zone") {
  Zone paris = zone("Europe/Paris");
  Instant t = utc_at(2026, 11, 22, 1, 0, 0);  // 02:00 CET
  CHECK(format_dated_name(t, k_default_name_format, paris) == "2026-11-22_020000");

  auto n = parse_dated_name("2026-11-22_020000", k_default_name_format, paris);
  REQUIRE(n);
  CHECK(n->time == t);
  CHECK(n->suffix == 0);
  CHECK(n->base == "2026-11-22_020000");

  SUBCASE("a second generation with the same name carries .K") {
    auto one = parse_dated_name("2026-11-22_020000.1", k_default_name_format, paris);
    REQUIRE(one);
    CHECK(*one == DatedName{t, 1, "2026-11-22_020000"});
    auto twelve = parse_dated_name("2026-11-22_020000.12", k_default_name_format, paris);
    REQUIRE(twelve);
    CHECK(twelve->suffix == 12);
  }
  SUBCASE("foreign names") {
    for (const char* foreign :
         {"2026-11-22_020000.0", "2026-11-22_020000.01", "2026-11-22_020000.x",
          "2026-11-22_020000.1.1", "2026-11-22_020000.", "2026-1-22_020000", "2026-11-22_20000",
          "2026-11-22", "2026-11-22_020000x", "2026-02-30_020000", "daily.0", "lost+found", "",
          ".tmp-2026-11-22_020000", "2026-11-22_250000"}) {
      CHECK_MESSAGE(!parse_dated_name(foreign, k_default_name_format, paris), foreign);
    }
  }
  SUBCASE("the zone decides the instant") {
    auto utc = parse_dated_name("2026-11-22_020000", k_default_name_format, Zone::utc());
    REQUIRE(utc);
    CHECK(utc->time == utc_at(2026, 11, 22, 2, 0));
  }
  SUBCASE("a format with an offset is exact whatever the zone") {
    const std::string fmt = "%Y-%m-%dT%H%M%S%z";
    Instant fall_back_first = utc_at(2026, 10, 25, 0, 30);   // 02:30 CEST
    Instant fall_back_second = utc_at(2026, 10, 25, 1, 30);  // 02:30 CET
    CHECK(format_dated_name(fall_back_first, fmt, paris) == "2026-10-25T023000+0200");
    CHECK(format_dated_name(fall_back_second, fmt, paris) == "2026-10-25T023000+0100");
    auto a = parse_dated_name("2026-10-25T023000+0200", fmt, paris);
    auto b = parse_dated_name("2026-10-25T023000+0100", fmt, paris);
    REQUIRE(a);
    REQUIRE(b);
    CHECK(a->time == fall_back_first);
    CHECK(b->time == fall_back_second);
    auto other = parse_dated_name("2026-10-25T023000-0500", fmt, paris);
    REQUIRE(other);
    CHECK(other->time == utc_at(2026, 10, 25, 7, 30));
  }
  SUBCASE("without an offset the repeated hour reads as the earlier instant") {
    auto r = parse_dated_name("2026-10-25_023000.1", k_default_name_format, paris);
    REQUIRE(r);
    CHECK(r->time == utc_at(2026, 10, 25, 0, 30));
  }
  SUBCASE("a wall-clock time in a DST gap is recognised and moved forward") {
    auto r = parse_dated_name("2026-03-29_023000", k_default_name_format, paris);
    REQUIRE(r);
    CHECK(r->time == utc_at(2026, 3, 29, 1, 30));
  }
  SUBCASE("a format containing dots") {
    auto r = parse_dated_name("2026.11.22.3", "%Y.%m.%d", Zone::utc());
    REQUIRE(r);
    CHECK(*r == DatedName{utc_at(2026, 11, 22, 0, 0), 3, "2026.11.22"});
    CHECK_FALSE(parse_dated_name("2026.11", "%Y.%m.%d", Zone::utc()));
  }
}

TEST_CASE("check_name_format") {
  CHECK(check_name_format(k_default_name_format));
  CHECK(check_name_format(k_default_holding_format));
  CHECK(check_name_format("snap-%Y%m%dT%H%M%S%z"));
  auto slash = check_name_format("%Y/%m");
  REQUIRE_FALSE(slash);
  CHECK(slash.error().message() == "bad name format '%Y/%m' (must not contain '/')");
  auto empty = check_name_format("");
  REQUIRE_FALSE(empty);
  CHECK(empty.error().message() == "bad name format '' (empty)");
  auto digits = check_name_format("%Y%m%d%H");  // no separators: fixed widths still parse
  CHECK(digits);
  auto trailing = check_name_format("%Y-%m-%d_%Q");
  REQUIRE_FALSE(trailing);
  CHECK(trailing.error().message() ==
        "bad name format '%Y-%m-%d_%Q' (names it makes do not parse back)");
}

TEST_CASE("dated_generations: foreign names are left out") {
  Zone utc = Zone::utc();
  auto gens = dated_generations(
      {"2026-11-22_020000.1", "daily.0", "2026-11-21_020000", "tmp", "2026-11-22_020000"},
      k_default_name_format, utc);
  CHECK(gens ==
        std::vector<retention::Generation>{{"2026-11-22_020000.1", utc_at(2026, 11, 22, 2, 0), 1},
                                           {"2026-11-21_020000", utc_at(2026, 11, 21, 2, 0), 0},
                                           {"2026-11-22_020000", utc_at(2026, 11, 22, 2, 0), 0}});
}

TEST_CASE("next_free_name") {
  const std::string base = "2026-11-22_020000";
  CHECK(next_free_name(base, {}) == base);
  CHECK(next_free_name(base, {"2026-11-21_020000", "daily.0"}) == base);
  CHECK(next_free_name(base, {base}) == base + ".1");
  CHECK(next_free_name(base, {base, base + ".1"}) == base + ".2");
  SUBCASE("one past the highest suffix, so suffix order stays creation order") {
    CHECK(next_free_name(base, {base, base + ".2"}) == base + ".3");
    CHECK(next_free_name(base, {base + ".4"}) == base + ".5");
  }
  SUBCASE("tails that are not suffixes do not count") {
    CHECK(next_free_name(base, {base, base + ".07", base + ".x", base + "0.9"}) == base + ".1");
  }
  SUBCASE("holding folders") {
    CHECK(next_free_name("2026-11-22", {"2026-11-22"}) == "2026-11-22.1");
  }
}

TEST_CASE("select_expired_holding: time < now - keep, foreign names never selected") {
  Zone paris = zone("Europe/Paris");
  const std::vector<std::string> names = {"2026-11-22", "2026-11-16", "2026-11-15.1", "2026-11-15",
                                          "2026-11-08", "2026-10-31", "notes",        "2026-11-1",
                                          "2026-13-01", "daily.0",    ".2026-11-01"};
  // now = 2026-11-22 03:00 Paris (02:00 UTC); keep 7d -> cutoff 2026-11-15 03:00 Paris.
  Instant now = utc_at(2026, 11, 22, 2, 0);
  CHECK(select_expired_holding(names, k_default_holding_format, dur("7d"), now, paris) ==
        std::vector<std::string>{"2026-10-31", "2026-11-08", "2026-11-15", "2026-11-15.1"});

  SUBCASE("no keep: nothing expires") {
    CHECK(
        select_expired_holding(names, k_default_holding_format, std::nullopt, now, paris).empty());
  }
  SUBCASE("a folder exactly at the cutoff is kept, one second later it expires") {
    Instant at_midnight = utc_at(2026, 11, 21, 23, 0);  // 2026-11-22 00:00 Paris
    auto at_cutoff = select_expired_holding({"2026-11-15"}, k_default_holding_format, dur("7d"),
                                            at_midnight, paris);
    CHECK(at_cutoff.empty());
    auto after = select_expired_holding({"2026-11-15"}, k_default_holding_format, dur("7d"),
                                        at_midnight + seconds{1}, paris);
    CHECK(after == std::vector<std::string>{"2026-11-15"});
  }
  SUBCASE("months are calendar months in the zone") {
    // now 2026-03-31 12:00 Paris; keep 1m -> cutoff 2026-02-28 12:00.
    Instant end_of_march = utc_at(2026, 3, 31, 10, 0);
    auto r = select_expired_holding({"2026-02-27", "2026-02-28", "2026-03-01"},
                                    k_default_holding_format, dur("1m"), end_of_march, paris);
    CHECK(r == std::vector<std::string>{"2026-02-27", "2026-02-28"});
  }
  SUBCASE("hours across the spring-forward night") {
    // now 2026-03-29 04:00 CEST (02:00 UTC); keep 3h -> cutoff 23:00 UTC = 00:00 CET.
    Instant now2 = utc_at(2026, 3, 29, 2, 0);
    CHECK(select_expired_holding({"2026-03-29"}, k_default_holding_format, dur("3h"), now2, paris)
              .empty());
    CHECK(select_expired_holding({"2026-03-29"}, k_default_holding_format, dur("2h"), now2,
                                 paris) == std::vector<std::string>{"2026-03-29"});
  }
}

// Regression (config fuzz target, undefined behaviour in date::parse): a
// field width is read into an int without a bound, so "%44444444444Y"
// overflowed it. Widths are refused before date::parse ever sees them.
TEST_CASE("check_name_format refuses field widths before date::parse reads them") {
  auto huge = check_name_format("%Y-%44444444444444]44%d");
  REQUIRE_FALSE(huge);
  CHECK(huge.error().message() ==
        "bad name format '%Y-%44444444444444]44%d' (field widths such "
        "as '%4Y' are not supported)");
  CHECK_FALSE(check_name_format("%4Y-%m-%d"));
  CHECK(check_name_format("100%%-%Y-%m-%d"));  // "%%" then a digit is a literal
  CHECK(check_name_format("%Y-%m-%d_2"));
}

TEST_SUITE_END();
