// Retention policies: the `keep` value of a snapshot set, parsed.
//
// naming = dated:   keep = last:N hourly:N daily:N weekly:N monthly:N yearly:N
//   Any subset, any order in the text, each period at most once; N is a
//   positive integer (at most k_max_count) or '*' (unlimited). Rules are
//   stored and evaluated fine -> coarse (last, hourly, daily, weekly, monthly,
//   yearly) whatever the text order; see retention/select.hpp.
//
// naming = rotate:  keep = daily:7 weekly:4 monthly:12
//   rsnapshot levels LEVEL:N, lowest (most frequent) level first, in the text's
//   order; LEVEL matches [A-Za-z0-9_]+ and is not a command word; N >= 1.
//
// Error handling: every error message starts with "keep: " and names the
// offending token; the config layer prefixes "FILE:LINE: ".
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "util/result.hpp"

namespace rotator::retention {

// Finest first; the enumerator order is the evaluation order.
enum class Period { last, hourly, daily, weekly, monthly, yearly };

inline constexpr int k_unlimited = -1;  // '*'
inline constexpr int k_max_count = 1000000;

// "last", "hourly", ...
const char* period_name(Period period);

// True when `name` matches [A-Za-z0-9_]+ (a rotate level; also what
// rotation::parse_level_name accepts before the dot).
bool is_valid_level_name(std::string_view name);

struct DatedRule {
  Period period = Period::daily;
  int count = 1;  // 1 ... k_max_count, or k_unlimited

  bool operator==(const DatedRule&) const = default;
};

struct DatedPolicy {
  std::vector<DatedRule> rules;  // sorted by period (fine -> coarse), periods unique, not empty

  bool operator==(const DatedPolicy&) const = default;
};

// Parses a dated `keep` value (tokens separated by spaces or tabs). Returns
// the policy, or an Error whose message() is one of:
//   "keep: keeps nothing"                                      (empty / blank)
//   "keep: bad rule 'daily7' (expected PERIOD:N)"
//   "keep: unknown period 'fortnightly' (expected last, hourly, daily, weekly, monthly or yearly)"
//   "keep: duplicate period 'daily'"
//   "keep: bad count '0' in 'daily:0' (expected a positive integer up to 1000000, or *)"
Result<DatedPolicy> parse_dated_policy(std::string_view text);

// Canonical text, fine -> coarse: "last:3 daily:7 monthly:*". parse_dated_policy
// reads it back to an equal policy.
std::string to_string(const DatedPolicy& policy);

struct Level {
  std::string name;  // [A-Za-z0-9_]+, not a reserved command word
  int count = 1;     // 1 ... k_max_count: the level keeps NAME.0 ... NAME.(count-1)

  bool operator==(const Level&) const = default;
};

struct RotatePolicy {
  std::vector<Level> levels;  // lowest (most frequent) first; names unique; not empty

  bool operator==(const RotatePolicy&) const = default;
  // The level called `name`, or nullptr.
  const Level* find(std::string_view name) const;
};

// Command words a level may not be named after (`rotator LEVEL` runs a level).
inline constexpr const char* k_reserved_level_names[] = {
    "check", "status", "prune", "versions", "restore", "find", "du", "diff", "help", "version"};

// Parses a rotate `keep` value. Returns the policy, or an Error whose
// message() is one of:
//   "keep: keeps nothing"
//   "keep: bad rule 'daily' (expected LEVEL:N)"
//   "keep: bad level name 'da-ily' (expected letters, digits and _)"
//   "keep: level name 'check' is a command word (reserved: check, status, prune,
//    versions, restore, find, du, diff, help, version)"   (one line)
//   "keep: duplicate level 'daily'"
//   "keep: bad count '0' in 'daily:0' (expected a positive integer up to 1000000)"
Result<RotatePolicy> parse_rotate_policy(std::string_view text);

// "daily:7 weekly:4", in level order.
std::string to_string(const RotatePolicy& policy);

}  // namespace rotator::retention
