#include <doctest/doctest.h>

#include <cstdlib>
#include <optional>
#include <string>

#include "testutil.hpp"
#include "util/zone.hpp"

using namespace rotator;
using namespace std::chrono;

namespace {

using test::utc_at;
using test::zone;

date::local_seconds local_at(int y, unsigned mo, unsigned d, int h, int mi, int s = 0) {
  return date::local_days{date::year{y} / mo / d} + hours{h} + minutes{mi} + seconds{s};
}

// Sets $TZ for one scope and restores the previous value.
class ScopedTz {
 public:
  explicit ScopedTz(const char* value) {
    if (const char* old = std::getenv("TZ")) {
      m_old = old;
    }
    if (value == nullptr) {
      unsetenv("TZ");
    } else {
      setenv("TZ", value, 1);
    }
  }
  ~ScopedTz() {
    if (m_old) {
      setenv("TZ", m_old->c_str(), 1);
    } else {
      unsetenv("TZ");
    }
  }

 private:
  std::optional<std::string> m_old;
};

}  // namespace

TEST_SUITE_BEGIN("util::zone");

TEST_CASE("from_name: UTC, IANA names and unknown names") {
  CHECK(zone("UTC").name() == "UTC");
  CHECK(Zone::utc().to_local(utc_at(2026, 7, 1, 12, 0)) == local_at(2026, 7, 1, 12, 0));
  CHECK(zone("Europe/Paris").name() == "Europe/Paris");

  auto bad = Zone::from_name("Mars/Base");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message() == "unknown time zone 'Mars/Base'");
  auto empty = Zone::from_name("");
  REQUIRE_FALSE(empty);
  CHECK(empty.error().message() == "unknown time zone ''");
}

TEST_CASE("from_name(\"local\") honours $TZ") {
  SUBCASE("an IANA name") {
    ScopedTz tz("America/New_York");
    Zone z = zone("local");
    CHECK(z.name() == "local");
    CHECK(z.to_local(utc_at(2026, 7, 1, 12, 0)) == local_at(2026, 7, 1, 8, 0));
  }
  SUBCASE("a leading colon and a zoneinfo path") {
    ScopedTz tz(":/usr/share/zoneinfo/Asia/Tokyo");
    CHECK(zone("local").to_local(utc_at(2026, 7, 1, 12, 0)) == local_at(2026, 7, 1, 21, 0));
  }
  SUBCASE("empty TZ means UTC") {
    ScopedTz tz("");
    CHECK(zone("local").to_local(utc_at(2026, 7, 1, 12, 0)) == local_at(2026, 7, 1, 12, 0));
  }
  SUBCASE("an unknown name") {
    ScopedTz tz("Mars/Base");
    auto z = Zone::from_name("local");
    REQUIRE_FALSE(z);
    CHECK(z.error().message() == "unknown time zone 'Mars/Base' (from $TZ)");
  }
}

TEST_CASE("to_local and to_instant in Europe/Paris, winter and summer") {
  Zone paris = zone("Europe/Paris");
  CHECK(paris.to_local(utc_at(2026, 1, 15, 12, 0)) == local_at(2026, 1, 15, 13, 0));
  CHECK(paris.to_local(utc_at(2026, 7, 15, 12, 0)) == local_at(2026, 7, 15, 14, 0));
  CHECK(paris.to_instant(local_at(2026, 1, 15, 13, 0)) == utc_at(2026, 1, 15, 12, 0));
  CHECK(paris.to_instant(local_at(2026, 7, 15, 14, 0)) == utc_at(2026, 7, 15, 12, 0));
}

TEST_CASE("to_instant: a DST gap moves forward, an ambiguous time takes the earlier instant") {
  SUBCASE("Europe/Paris spring forward 2026-03-29 02:00 -> 03:00") {
    Zone paris = zone("Europe/Paris");
    // 02:30 does not exist; 03:30 CEST = 01:30 UTC.
    CHECK(paris.to_instant(local_at(2026, 3, 29, 2, 30)) == utc_at(2026, 3, 29, 1, 30));
    CHECK(paris.to_instant(local_at(2026, 3, 29, 2, 0)) == utc_at(2026, 3, 29, 1, 0));
    CHECK(paris.to_local(utc_at(2026, 3, 29, 1, 30)) == local_at(2026, 3, 29, 3, 30));
  }
  SUBCASE("Europe/Paris fall back 2026-10-25 03:00 -> 02:00") {
    Zone paris = zone("Europe/Paris");
    // 02:30 happens at 00:30 UTC (CEST) and 01:30 UTC (CET): the earlier wins.
    CHECK(paris.to_instant(local_at(2026, 10, 25, 2, 30)) == utc_at(2026, 10, 25, 0, 30));
    CHECK(paris.to_local(utc_at(2026, 10, 25, 1, 30)) == local_at(2026, 10, 25, 2, 30));
  }
  SUBCASE("America/New_York fall back 2026-11-01 02:00 -> 01:00") {
    Zone ny = zone("America/New_York");
    CHECK(ny.to_instant(local_at(2026, 11, 1, 1, 30)) == utc_at(2026, 11, 1, 5, 30));
    CHECK(ny.to_instant(local_at(2026, 11, 1, 2, 0)) == utc_at(2026, 11, 1, 7, 0));
  }
  SUBCASE("America/New_York spring forward 2026-03-08 02:00 -> 03:00") {
    Zone ny = zone("America/New_York");
    CHECK(ny.to_instant(local_at(2026, 3, 8, 2, 15)) == utc_at(2026, 3, 8, 7, 15));
    CHECK(ny.to_local(utc_at(2026, 3, 8, 7, 15)) == local_at(2026, 3, 8, 3, 15));
  }
}

TEST_CASE("format: strftime-style in the zone") {
  Zone paris = zone("Europe/Paris");
  Instant t = utc_at(2026, 11, 22, 1, 0, 5);
  CHECK(paris.format("%Y-%m-%d_%H%M%S", t) == "2026-11-22_020005");
  CHECK(paris.format("%Y-%m-%dT%H:%M%z", t) == "2026-11-22T02:00+0100");
  CHECK(paris.format("%G-W%V", utc_at(2027, 1, 1, 12, 0)) == "2026-W53");
  CHECK(Zone::utc().format("%Y-%m-%d %H:%M:%S %Z", t) == "2026-11-22 01:00:05 UTC");
}

TEST_CASE("parse: local time in the zone, whole text consumed") {
  Zone paris = zone("Europe/Paris");
  auto t = paris.parse("%Y-%m-%d_%H%M%S", "2026-11-22_020005");
  REQUIRE(t);
  CHECK(*t == utc_at(2026, 11, 22, 1, 0, 5));

  SUBCASE("an explicit offset wins over the zone") {
    auto u = paris.parse("%Y-%m-%dT%H:%M%z", "2026-11-22T02:00-0500");
    REQUIRE(u);
    CHECK(*u == utc_at(2026, 11, 22, 7, 0));
  }
  SUBCASE("trailing text is an error") {
    auto r = paris.parse("%Y-%m-%d", "2026-11-22.1");
    REQUIRE_FALSE(r);
    CHECK(r.error().message() == "bad time '2026-11-22.1' (expected format '%Y-%m-%d')");
  }
  SUBCASE("an impossible date is an error") {
    CHECK_FALSE(paris.parse("%Y-%m-%d", "2026-02-30"));
    CHECK_FALSE(paris.parse("%Y-%m-%d", "daily.0"));
  }
}

TEST_CASE("parse_iso: --now syntax") {
  Zone ny = zone("America/New_York");
  SUBCASE("minutes, seconds, a space instead of T") {
    auto a = ny.parse_iso("2026-11-01T02:00");
    REQUIRE(a);
    CHECK(*a == utc_at(2026, 11, 1, 7, 0));
    auto b = ny.parse_iso("2026-11-01T02:00:30");
    REQUIRE(b);
    CHECK(*b == utc_at(2026, 11, 1, 7, 0, 30));
    auto c = ny.parse_iso("2026-11-01 02:00:30");
    REQUIRE(c);
    CHECK(*c == *b);
  }
  SUBCASE("the ambiguous hour resolves to the earlier instant") {
    auto a = ny.parse_iso("2026-11-01T01:30");
    REQUIRE(a);
    CHECK(*a == utc_at(2026, 11, 1, 5, 30));
  }
  SUBCASE("errors") {
    for (const char* text : {"2026-11-01", "2026-11-01T2:00", "2026-11-01T02:00Z",
                             "2026-13-01T00:00", "2026-02-29T00:00", "2026-11-01T24:00",
                             "2026-11-01T02:60", "2026-11-01x02:00", "", "yesterday"}) {
      auto r = ny.parse_iso(text);
      REQUIRE_FALSE_MESSAGE(r, text);
      CHECK(r.error().message() ==
            std::string("bad time '") + text + "' (expected YYYY-MM-DDTHH:MM[:SS])");
    }
  }
  SUBCASE("a leap day exists in 2028") {
    auto r = Zone::utc().parse_iso("2028-02-29T12:00");
    REQUIRE(r);
    CHECK(*r == utc_at(2028, 2, 29, 12, 0));
  }
}

TEST_CASE("now_instant is a plausible wall-clock time") {
  CHECK(now_instant() > utc_at(2020, 1, 1, 0, 0));
}

TEST_SUITE_END();
