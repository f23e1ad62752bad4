#include "retention/select.hpp"

#include <algorithm>
#include <unordered_set>

#include <fmt/format.h>

namespace rotator::retention {

std::string period_key(Period period, Instant t, const Zone& zone) {
  date::local_seconds local = zone.to_local(t);
  switch (period) {
    case Period::last:
      return "";
    case Period::hourly:
      return date::format("%Y-%m-%d %Hh", local);
    case Period::daily:
      return date::format("%Y-%m-%d", local);
    case Period::weekly:
      return date::format("%G-W%V", local);
    case Period::monthly:
      return date::format("%Y-%m", local);
    case Period::yearly:
      return date::format("%Y", local);
  }
  return "";
}

std::vector<Decision> select_dated(std::vector<Generation> gens, const DatedPolicy& policy,
                                   const Zone& zone) {
  std::sort(gens.begin(), gens.end(), [](const Generation& a, const Generation& b) {
    if (a.time != b.time) {
      return a.time > b.time;
    }
    if (a.suffix != b.suffix) {
      return a.suffix > b.suffix;
    }
    return a.name > b.name;
  });
  std::vector<Decision> decisions;
  decisions.reserve(gens.size());
  for (const auto& g : gens) {
    decisions.push_back(Decision{g.name, g.time, false, "expired"});
  }
  if (gens.empty()) {
    return decisions;
  }

  std::vector<DatedRule> rules = policy.rules;
  std::stable_sort(rules.begin(), rules.end(),
                   [](const DatedRule& a, const DatedRule& b) { return a.period < b.period; });

  for (const auto& rule : rules) {
    std::unordered_set<std::string> seen;
    int counted = 0;
    for (size_t i = 0; i < gens.size(); ++i) {
      if (rule.count != k_unlimited && counted >= rule.count) {
        break;
      }
      std::string key = rule.period == Period::last ? std::to_string(i)
                                                    : period_key(rule.period, gens[i].time, zone);
      if (!seen.insert(key).second) {
        continue;  // not the newest of its period
      }
      Decision& d = decisions[i];
      if (d.keep) {
        continue;  // consumed by a finer rule, not counted
      }
      ++counted;
      d.keep = true;
      d.reason = rule.period == Period::last ? fmt::format("last #{}", counted)
                                             : fmt::format("{} {}", period_name(rule.period), key);
    }
  }
  decisions[0].keep = true;
  decisions[0].reason = "newest";
  return decisions;
}

std::vector<RotateDecision> select_rotate(std::vector<int> indices, int keep) {
  std::sort(indices.begin(), indices.end());
  indices.erase(std::unique(indices.begin(), indices.end()), indices.end());
  std::vector<RotateDecision> out;
  int rank = 0;
  for (int index : indices) {
    ++rank;
    out.push_back(RotateDecision{index, rank, rank <= keep});
  }
  return out;
}

}  // namespace rotator::retention
