// Retention selection: which generations a DatedPolicy keeps, and why
// (select_dated), and which generations of one rotate level stay
// (select_rotate). Pure: no clock, no filesystem.
//
// Semantics (borg-style cascade, "last of period"):
//
//   * Generations are ordered newest first by (time, suffix): a higher ".K"
//     suffix is newer among equal times.
//   * Each generation's periods are calendar keys of its *local* time in
//     `zone` (never seconds arithmetic, so DST days of 23 or 25 hours are
//     single days):
//        hourly   local date and hour       "2026-11-22 14h"
//        daily    local date                "2026-11-22"
//        weekly   ISO 8601 week (Mon-Sun)   "2026-W47"  (%G-W%V; 2026 has a W53)
//        monthly  local year and month      "2026-10"
//        yearly   local year                "2025"
//        last     every generation is its own period
//     In a DST fall-back the repeated local hour is one hourly period.
//   * Rules run fine -> coarse (last, hourly, daily, weekly, monthly, yearly).
//     For each rule, walk the generations newest -> oldest; the first
//     generation seen in a period not seen before by this rule (= the newest
//     of that period) represents it:
//       - not yet kept: it is kept and counted for this rule;
//       - already kept by a finer rule: the period is consumed, not counted.
//     The rule stops once it has counted N (never for '*'). Periods without
//     generations do not exist, so they never count. So "daily:7 weekly:4"
//     keeps 7 days plus 4 *further* weeks.
//   * No `now`: every window is anchored at the newest generation. While no
//     new generation arrives the decisions do not change, and selecting again
//     over the kept set keeps all of it (idempotence).
//   * The newest generation is always kept (it is the first period of every
//     rule and every rule has N >= 1).
//   * There is no fill clause: an unfilled rule keeps nothing extra.
//
// Reason strings (one scheme):
//   "newest"               the newest generation (whichever rule also counted it)
//   "last #K"              K-th generation counted by `last` (K >= 2; #1 is "newest")
//   "hourly 2026-11-22 14h", "daily 2026-11-22", "weekly 2026-W47",
//   "monthly 2026-10", "yearly 2025"
//                          counted by that rule for that period (the key above)
//   "expired"              not kept
#pragma once

#include <string>
#include <vector>

#include "retention/policy.hpp"
#include "util/zone.hpp"

namespace rotator::retention {

struct Generation {
  std::string name;  // directory name, e.g. "2026-11-22_020000.1"
  Instant time;      // what the name denotes (rotation::parse_dated_name)
  int suffix = 0;    // the ".K" of the name, 0 when none: orders equal times

  bool operator==(const Generation&) const = default;
};

struct Decision {
  std::string name;
  Instant time;
  bool keep = false;
  std::string reason;  // see the scheme above

  bool operator==(const Decision&) const = default;
};

// One Decision per generation of `gens`, newest first (by time, then suffix,
// then name). `policy.rules` may be in any order (they are evaluated fine ->
// coarse); a policy without rules keeps only the newest generation. Returns an
// empty vector for no generations.
std::vector<Decision> select_dated(std::vector<Generation> gens, const DatedPolicy& policy,
                                   const Zone& zone);

// Rotate naming, one level: the existing generations' indices (any order,
// duplicates ignored) and how many of them stay, `keep` >= 0. Ranked by
// index, lowest (newest) first: the k-th (1-based) existing generation is
// kept when k <= `keep`, whatever holes the indices have ("daily.0 daily.4
// daily.5" with keep 3 keeps all three). One entry per distinct index,
// sorted by index. The one definition of "which rotate generation expires":
// rotation::plan_lowest_commit / plan_higher pass count - 1 (a new .0 is
// coming), `rotator prune` passes count.
struct RotateDecision {
  int index = 0;
  int rank = 0;  // 1-based position by index
  bool keep = false;

  bool operator==(const RotateDecision&) const = default;
};
std::vector<RotateDecision> select_rotate(std::vector<int> indices, int keep);

// The calendar key of `t` for `period` in `zone`, as used in reasons
// ("2026-11-22 14h", "2026-W47", ...). "" for Period::last.
std::string period_key(Period period, Instant t, const Zone& zone);

}  // namespace rotator::retention
