#include "rotation/plan.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "retention/select.hpp"
#include "rotation/name.hpp"

namespace rotator::rotation {

namespace {

// Expire + renumber ops for `level` so that index 0 is free, existing
// generations become 1..m in index order and at most `count - 1` remain
// (retention::select_rotate decides which).
std::vector<Op> plan_shift(const std::vector<std::string>& names, const std::string& level,
                           int count) {
  std::vector<int> indices;
  for (const auto& name : names) {
    auto parsed = parse_level_name(name);
    if (parsed && parsed->level == level) {
      indices.push_back(parsed->index);
    }
  }
  const auto decisions = retention::select_rotate(std::move(indices), count - 1);

  std::vector<Op> ops;
  // The k-th (1-based) existing generation goes to index k unless it expires.
  // Oldest first, so the most expendable goes first.
  for (auto d = decisions.rbegin(); d != decisions.rend(); ++d) {
    if (!d->keep) {
      ops.push_back(Op{OpKind::expire, format_level_name(level, d->index), {}});
    }
  }
  // Downward moves (index > target), lowest target first: every target is
  // below all not-yet-moved sources and above the upward movers.
  for (const auto& d : decisions) {
    if (d.keep && d.index > d.rank) {
      ops.push_back(
          Op{OpKind::rename, format_level_name(level, d.index), format_level_name(level, d.rank)});
    }
  }
  // Upward moves (index = target - 1: the contiguous run 0..p-1), highest first.
  for (auto d = decisions.rbegin(); d != decisions.rend(); ++d) {
    if (d->keep && d->index < d->rank) {
      ops.push_back(Op{OpKind::rename, format_level_name(level, d->index),
                       format_level_name(level, d->rank)});
    }
  }
  return ops;
}

}  // namespace

std::string to_string(const Op& op) {
  if (op.kind == OpKind::expire) {
    return fmt::format("expire {}", op.from);
  }
  return fmt::format("rename {} -> {}", op.from, op.to);
}

std::vector<Op> plan_lowest_commit(const std::vector<std::string>& names,
                                   const retention::RotatePolicy& policy) {
  const auto& lowest = policy.levels.front();
  return plan_shift(names, lowest.name, lowest.count);
}

Result<std::vector<Op>> plan_higher(const std::vector<std::string>& names,
                                    const retention::RotatePolicy& policy,
                                    const std::string& level) {
  size_t pos = 0;
  while (pos < policy.levels.size() && policy.levels[pos].name != level) {
    ++pos;
  }
  if (pos == policy.levels.size()) {
    std::string known;
    for (const auto& l : policy.levels) {
      known += (known.empty() ? "" : ", ") + l.name;
    }
    return plain_error(fmt::format("unknown level '{}' (levels: {})", level, known));
  }
  if (pos == 0) {
    return plain_error(fmt::format(
        "'{}' is the lowest level: it is rotated by a backup run, not promoted", level));
  }
  const auto& lower = policy.levels[pos - 1];
  const std::string source = format_level_name(lower.name, lower.count - 1);
  if (std::find(names.begin(), names.end(), source) == names.end()) {
    return plain_error(fmt::format("nothing to promote: '{}' not present (yet)", source));
  }
  std::vector<Op> ops = plan_shift(names, level, policy.levels[pos].count);
  ops.push_back(Op{OpKind::rename, source, format_level_name(level, 0)});
  return ops;
}

}  // namespace rotator::rotation
