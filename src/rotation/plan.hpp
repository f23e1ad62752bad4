// rsnapshot-style rotation plans (naming = rotate). Pure: the caller lists
// the snapshot directory, this computes the renames; rotation/execute applies
// them through Fs.
//
// Calling sequence
//   Lowest level (a backup run): build the new generation at a staging name,
//   then apply plan_lowest_commit(listing, policy) in order, then rename the
//   staging name to LOWEST.0 (the commit point; the caller's op).
//   Higher level (`rotator weekly`): apply plan_higher(listing, policy,
//   "weekly") in order; there is no staging and no backup.
//
// Hole policy (compaction): the existing generations of the rotated level,
// sorted by index, are renumbered 1, 2, ... m (highest index = oldest). So
// holes left by an rsnapshot history ("daily.0 daily.3 daily.4") are closed,
// never shifted along or multiplied ("daily.1 daily.2 daily.3"), and a level
// whose .0 is already free is not shifted at all. Generations that would get a
// number above N-1 are expired (the oldest ones; also after `keep` shrank).
//
// Crash safety: every op is one rename (or one move to trash, for expire) and
// no rename ever targets an existing name. Expires come first, then renames
// downwards (closing holes, lowest target first), then renames upwards
// (highest index first). After any prefix of a plan each generation is under
// exactly one name, and running the planner again on the resulting listing
// (the resume) yields the rest of the work: applying plan after plan reaches
// the same final listing, and planning on that listing gives nothing more to
// do (plan_lowest_commit: an empty plan; plan_higher: "nothing to promote").
//
// Names that are not LEVEL.N of the level concerned (other levels, foreign
// names, "daily.01") are ignored and never appear in a plan.
#pragma once

#include <string>
#include <vector>

#include "retention/policy.hpp"
#include "util/result.hpp"

namespace rotator::rotation {

enum class OpKind { rename, expire };

struct Op {
  OpKind kind = OpKind::rename;
  std::string from;
  std::string to;  // empty for expire (the executor moves `from` to the trash)

  bool operator==(const Op&) const = default;
};

// "rename daily.1 -> daily.2", "expire daily.6" (logs, --dry-run, tests).
std::string to_string(const Op& op);

// Ops that free LOWEST.0 (LOWEST = policy.levels[0], N its count) for a new
// generation: the existing LOWEST.* become LOWEST.1 ... (compaction, see
// above), those beyond LOWEST.(N-1) are expired. With N = 1 every existing
// LOWEST.* is expired. Empty when LOWEST.0 is free and nothing needs
// renumbering. REQUIRES: policy.levels not empty.
std::vector<Op> plan_lowest_commit(const std::vector<std::string>& names,
                                   const retention::RotatePolicy& policy);

// rsnapshot 1.5 promotion of `level` (not the lowest) whose next-lower level
// is LOWER with count NL: when LOWER.(NL-1) exists, the existing `level`.* are
// renumbered 1 ... (compaction), those beyond `level`.(N-1) expired, and the
// last op renames LOWER.(NL-1) -> `level`.0. Errors (nothing is to be changed):
//   "nothing to promote: 'daily.6' not present (yet)"
//   "unknown level 'fortnightly' (levels: daily, weekly, monthly)"
//   "'daily' is the lowest level: it is rotated by a backup run, not promoted"
Result<std::vector<Op>> plan_higher(const std::vector<std::string>& names,
                                    const retention::RotatePolicy& policy,
                                    const std::string& level);

}  // namespace rotator::rotation
