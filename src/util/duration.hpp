// Durations in rotator's config (`keep` of holding folders, --older-than):
// a positive count and a unit.
//
//   h  hours          exact: 3600 s each
//   d  days           calendar days in the zone (same wall-clock time)
//   w  weeks          7 calendar days
//   m  months         calendar months in the zone (day clamped to month end)
//   y  years          calendar years in the zone (Feb 29 clamped to Feb 28)
//
// Calendar units are DST-safe: `subtract(2026-03-30 12:00 Paris, 1d)` is
// 2026-03-29 12:00 Paris, 23 real hours earlier.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "util/result.hpp"
#include "util/zone.hpp"

namespace rotator {

struct Duration {
  long count = 0;   // >= 1 when produced by parse_duration
  char unit = 'd';  // one of h d w m y

  bool operator==(const Duration&) const = default;
};

// Parses "36h", "90d", "6w", "18m", "6y": decimal digits (no sign, no spaces)
// followed by exactly one unit letter. Returns the Duration, or an Error whose
// message() is
//   "bad duration 'x' (expected a number followed by h, d, w, m or y)"  shape
//   "bad duration '0d' (must be at least 1)"                             zero
//   "bad duration '99999y' (too large, at most 1000 years)"              overflow
Result<Duration> parse_duration(std::string_view text);

// "36h", "90d": the canonical text parse_duration reads back.
std::string to_string(const Duration& d);

// The instant `d` before `t`. Hours are exact seconds; days and weeks move the
// local date in `zone` keeping the wall-clock time; months and years move the
// local year/month, clamping the day to the target month's last day
// (2026-03-31 - 1m = 2026-02-28, 2028-02-29 - 1y = 2027-02-28). A wall-clock
// time that does not exist on the target date (DST gap) moves forward, an
// ambiguous one resolves to the earlier instant (see Zone::to_instant).
Instant subtract(Instant t, const Duration& d, const Zone& zone);

// A length for sorting and messages: h = 3600 s, d = 86400 s, w = 7 d,
// m = 2629746 s (1/12 of a mean Gregorian year), y = 31556952 s.
std::chrono::seconds approx_seconds(const Duration& d);

// An age for humans, two units at most, truncated (never rounded up):
//   >= 1 day   "3d 4h" ("3d" when the hours are 0)
//   >= 1 hour  "5h 12m" ("5h")
//   >= 1 min   "52m"  (minutes here; seconds dropped)
//   otherwise  "12s", "0s"
// A negative age (a snapshot in the future) gets a leading '-': "-2h 5m".
std::string format_age(std::chrono::seconds age);

}  // namespace rotator
