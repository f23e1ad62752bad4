// Snapshot and holding-folder names: formatting, parsing and picking a free
// name. Pure: no filesystem access; the caller lists the directory.
//
// Three kinds of names live in a snapshot directory:
//
//   rsnapshot names  LEVEL.N       "daily.0", "weekly.3"    (naming = rotate)
//   dated names      <name_format>[.K]  "2026-11-22_020000", "2026-11-22_020000.1"
//                                                            (naming = dated)
//   holding folders  <holding_format>[.K]  "2026-11-22", "2026-11-22.1"
//
// The ".K" suffix (K = 1, 2, ...) marks a further generation that formatted to
// an already existing name (two runs in the same second, or in the repeated
// hour of a DST fall-back). Suffix order is creation order: next_free_name
// always picks one past the highest suffix present.
//
// A name that does not parse under the configured format is *foreign*: the
// retention and holding logic never select it, so it is never touched.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "retention/select.hpp"
#include "util/duration.hpp"
#include "util/result.hpp"
#include "util/zone.hpp"

namespace rotator::rotation {

inline constexpr const char* k_default_name_format = "%Y-%m-%d_%H%M%S";
inline constexpr const char* k_default_holding_format = "%Y-%m-%d";

// ---- rsnapshot names ------------------------------------------------------

struct LevelName {
  std::string level;  // [A-Za-z0-9_]+
  int index = 0;      // 0 ... k_max_level_index

  bool operator==(const LevelName&) const = default;
};

inline constexpr int k_max_level_index = 999999;

// True when `level` matches [A-Za-z0-9_]+.
bool is_valid_level(std::string_view level);

// "daily.3" -> {"daily", 3}. The index is decimal without leading zeros
// ("daily.03" is foreign) and at most k_max_level_index. Returns nullopt for
// anything else ("daily", "daily.", ".3", "daily.x", "a.b.1", "daily.-1").
std::optional<LevelName> parse_level_name(std::string_view name);

// {"daily", 3} -> "daily.3". REQUIRES: is_valid_level(level), 0 <= index.
std::string format_level_name(const std::string& level, int index);

// ---- dated names and holding folders ---------------------------------------

struct DatedName {
  Instant time;      // what the base name denotes, read in the zone
  int suffix = 0;    // 0 = no suffix, else the K of ".K"
  std::string base;  // the name without the suffix

  bool operator==(const DatedName&) const = default;
};

// Checks a name/holding format: not empty, no '/', and sample instants
// format to names that pass check_dated_folder_name and parse back (so
// every name we create is a folder of its own, and recognised).
// Error text: "bad name format '%Y/%m' (must not contain '/')",
// "bad name format '' (empty)", "bad name format 'x%' (names it makes do not parse back)",
// "bad name format '..' (it makes the name '..', which is not a folder name)",
// "bad name format '%4Y' (field widths such as '%4Y' are not supported)".
Status check_name_format(const std::string& format);

// An expanded name is a folder rotator may create: not empty, not "." or
// "..", no '/', not starting with '.' (those are rotator's own: a
// ".rotator-deleting.*" holding folder would be deleted by the run that
// filled it). Error: the reason, e.g. "it makes the name '..', which is not
// a folder name".
Status check_dated_folder_name(const std::string& name);

// `t` formatted with `format` (date::format syntax) in `zone`.
std::string format_dated_name(Instant t, const std::string& format, const Zone& zone);

// Parses `name` = BASE or BASE.K (K >= 1, no leading zeros). BASE must be the
// canonical text of `format`: it parses with `format` and formatting the
// parsed fields again gives BASE back (so "2026-1-2_20000" is foreign). The
// time is local in `zone` (a DST gap time moves forward, an ambiguous one is
// the earlier instant) unless `format` carries an offset (%z), which then
// wins. Fields the format lacks are zero ("%Y-%m-%d" -> local midnight).
// Returns nullopt for foreign names.
std::optional<DatedName> parse_dated_name(std::string_view name, const std::string& format,
                                          const Zone& zone);

// The dated generations among `names` (parse_dated_name with `format` in
// `zone`), in the order of `names`, ready for retention::select_dated. Foreign
// names are left out: they never get a decision, so they are never touched.
std::vector<retention::Generation> dated_generations(const std::vector<std::string>& names,
                                                     const std::string& format, const Zone& zone);

// The name for a new generation whose formatted name is `base`: `base` when
// no entry of `existing` is `base`, else "base.K" with K one more than the
// highest suffix among existing "base.*" names (and at least 1). Never returns
// a name in `existing`.
std::string next_free_name(const std::string& base, const std::vector<std::string>& existing);

// Holding folders past their keep. The cutoff is subtract(now, *keep, zone);
// a folder expires when its parsed time (parse_dated_name with `format`) is
// strictly earlier than the cutoff: time < cutoff. A folder exactly at the
// cutoff is kept. With the default "%Y-%m-%d" a folder's time is local
// midnight of its date, so with keep = 7d at 2026-11-22 03:00, "2026-11-15"
// (00:00 < 03:00) expires and "2026-11-16" stays. All ".K" folders of one
// date share its time. Names that do not parse are never selected; with no
// `keep` nothing expires. Returns the expired names oldest first (by time,
// then suffix).
std::vector<std::string> select_expired_holding(const std::vector<std::string>& names,
                                                const std::string& format,
                                                std::optional<Duration> keep, Instant now,
                                                const Zone& zone);

}  // namespace rotator::rotation
