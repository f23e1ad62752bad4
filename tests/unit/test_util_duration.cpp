#include <doctest/doctest.h>

#include <string>

#include "testutil.hpp"
#include "util/duration.hpp"

using namespace rotator;
using namespace std::chrono;

namespace {

using test::dur;
using test::utc_at;
using test::zone;

}  // namespace

TEST_SUITE_BEGIN("util::duration");

TEST_CASE("parse_duration: every unit") {
  CHECK(dur("36h") == Duration{36, 'h'});
  CHECK(dur("90d") == Duration{90, 'd'});
  CHECK(dur("2w") == Duration{2, 'w'});
  CHECK(dur("18m") == Duration{18, 'm'});
  CHECK(dur("6y") == Duration{6, 'y'});
  CHECK(to_string(dur("90d")) == "90d");
  CHECK(to_string(dur("007d")) == "7d");
}

TEST_CASE("parse_duration: errors") {
  for (const char* text :
       {"", "d", "12", "12s", "-3d", "+3d", "3 d", " 3d", "3d ", "3dd", "1.5d", "3D", "d3", "x"}) {
    auto r = parse_duration(text);
    REQUIRE_FALSE_MESSAGE(r, text);
    CHECK(r.error().message() == std::string("bad duration '") + text +
                                     "' (expected a number followed by h, d, w, m or y)");
  }
  auto zero = parse_duration("0d");
  REQUIRE_FALSE(zero);
  CHECK(zero.error().message() == "bad duration '0d' (must be at least 1)");
  for (const char* text : {"1001y", "12001m", "99999999999999999999999d", "9000000h"}) {
    auto r = parse_duration(text);
    REQUIRE_FALSE_MESSAGE(r, text);
    CHECK(r.error().message() ==
          std::string("bad duration '") + text + "' (too large, at most 1000 years)");
  }
  CHECK(parse_duration("1000y"));
}

TEST_CASE("subtract: hours are exact, days keep the wall-clock time across DST") {
  Zone paris = zone("Europe/Paris");
  // 2026-03-30 12:00 CEST = 10:00 UTC. One day earlier is 2026-03-29 12:00, already
  // CEST (the switch is at 02:00), so 10:00 UTC; two days earlier is 12:00 CET = 11:00
  // UTC, only 47 real hours before.
  Instant t = utc_at(2026, 3, 30, 10, 0);
  CHECK(subtract(t, dur("1d"), paris) == utc_at(2026, 3, 29, 10, 0));
  CHECK(subtract(t, dur("2d"), paris) == utc_at(2026, 3, 28, 11, 0));  // 12:00 CET
  CHECK(subtract(t, dur("48h"), paris) == utc_at(2026, 3, 28, 10, 0));
  CHECK(subtract(t, dur("1w"), paris) == utc_at(2026, 3, 23, 11, 0));
  SUBCASE("UTC has no DST: days are 24 hours") {
    CHECK(subtract(t, dur("2d"), Zone::utc()) == utc_at(2026, 3, 28, 10, 0));
  }
  SUBCASE("the target time falls into the spring-forward gap: moved forward") {
    // 2026-03-30 02:30 CEST - 1d = 2026-03-29 02:30, which does not exist -> 03:30 CEST.
    CHECK(subtract(utc_at(2026, 3, 30, 0, 30), dur("1d"), paris) == utc_at(2026, 3, 29, 1, 30));
  }
  SUBCASE("the target time is ambiguous: the earlier instant") {
    // 2026-10-26 02:30 CET - 1d = 2026-10-25 02:30, first occurrence 00:30 UTC.
    CHECK(subtract(utc_at(2026, 10, 26, 1, 30), dur("1d"), paris) == utc_at(2026, 10, 25, 0, 30));
  }
}

TEST_CASE("subtract: months and years are calendar units clamped to the month end") {
  Zone ny = zone("America/New_York");
  Zone utc = Zone::utc();
  CHECK(subtract(utc_at(2026, 3, 31, 12, 0), dur("1m"), utc) == utc_at(2026, 2, 28, 12, 0));
  CHECK(subtract(utc_at(2028, 3, 31, 12, 0), dur("1m"), utc) == utc_at(2028, 2, 29, 12, 0));
  CHECK(subtract(utc_at(2026, 5, 31, 0, 0), dur("1m"), utc) == utc_at(2026, 4, 30, 0, 0));
  CHECK(subtract(utc_at(2026, 1, 15, 0, 0), dur("1m"), utc) == utc_at(2025, 12, 15, 0, 0));
  CHECK(subtract(utc_at(2026, 1, 15, 0, 0), dur("25m"), utc) == utc_at(2023, 12, 15, 0, 0));
  CHECK(subtract(utc_at(2029, 2, 28, 6, 0), dur("1y"), utc) == utc_at(2028, 2, 28, 6, 0));
  CHECK(subtract(utc_at(2028, 2, 29, 6, 0), dur("1y"), utc) == utc_at(2027, 2, 28, 6, 0));
  CHECK(subtract(utc_at(2028, 2, 29, 6, 0), dur("4y"), utc) == utc_at(2024, 2, 29, 6, 0));
  // New York: 2026-07-31 09:00 EDT (13:00 UTC) - 6m = 2026-01-31 09:00 EST (14:00 UTC).
  CHECK(subtract(utc_at(2026, 7, 31, 13, 0), dur("6m"), ny) == utc_at(2026, 1, 31, 14, 0));
  // Local midnight on the 1st stays on the 1st, not the last day of the month before.
  CHECK(subtract(utc_at(2026, 7, 1, 4, 0), dur("1m"), ny) == utc_at(2026, 6, 1, 4, 0));
}

TEST_CASE("approx_seconds") {
  CHECK(approx_seconds(dur("36h")) == seconds{36 * 3600});
  CHECK(approx_seconds(dur("2d")) == seconds{2 * 86400});
  CHECK(approx_seconds(dur("1w")) == seconds{7 * 86400});
  CHECK(approx_seconds(dur("1m")) == seconds{2629746});
  CHECK(approx_seconds(dur("12m")) == approx_seconds(dur("1y")));
  CHECK(approx_seconds(dur("1y")) == seconds{31556952});
}

TEST_CASE("format_age") {
  CHECK(format_age(seconds{0}) == "0s");
  CHECK(format_age(seconds{12}) == "12s");
  CHECK(format_age(seconds{59}) == "59s");
  CHECK(format_age(seconds{60}) == "1m");
  CHECK(format_age(minutes{52} + seconds{59}) == "52m");
  CHECK(format_age(hours{1}) == "1h");
  CHECK(format_age(hours{5} + minutes{12} + seconds{3}) == "5h 12m");
  CHECK(format_age(hours{24}) == "1d");
  CHECK(format_age(date::days{3} + hours{4} + minutes{59}) == "3d 4h");
  CHECK(format_age(date::days{400}) == "400d");
  CHECK(format_age(-(hours{2} + minutes{5})) == "-2h 5m");
}

TEST_SUITE_END();
