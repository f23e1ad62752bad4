#include "jobs/snapshot_plan.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "jobs/snapshot_job.hpp"
#include "rotation/name.hpp"

namespace rotator::jobs {

Result<retention::RotatePolicy> rotate_policy(const config::Job& job) {
  auto p = retention::parse_rotate_policy(job.keep);
  if (!p) {
    return plain_error(fmt::format("[{}] {}", job.name, p.error().message()));
  }
  return std::move(*p);
}

Result<retention::DatedPolicy> dated_policy(const config::Job& job) {
  auto p = retention::parse_dated_policy(job.keep);
  if (!p) {
    return plain_error(fmt::format("[{}] {}", job.name, p.error().message()));
  }
  return std::move(*p);
}

std::vector<retention::Decision> dated_decisions(const std::vector<std::string>& names,
                                                 const config::Job& job,
                                                 const retention::DatedPolicy& policy,
                                                 const Zone& zone) {
  return retention::select_dated(rotation::dated_generations(names, job.name_format, zone), policy,
                                 zone);
}

Result<SnapshotPolicy> snapshot_policy(const config::Job& job, const std::string& level,
                                       const Zone& zone) {
  SnapshotPolicy p;
  p.job = job.name;
  p.naming = job.naming;
  p.level = level;
  p.name_format = job.name_format;
  p.zone = zone;
  if (job.naming == config::Naming::rotate) {
    TRY_ASSIGN(p.rotate, rotate_policy(job));
  } else {
    TRY_ASSIGN(p.dated, dated_policy(job));
  }
  return p;
}

namespace {

std::vector<retention::Decision> decide_dated(const std::vector<std::string>& names,
                                              const SnapshotPolicy& policy) {
  return retention::select_dated(
      rotation::dated_generations(names, policy.name_format, policy.zone), policy.dated,
      policy.zone);
}

}  // namespace

Result<SnapshotPlan> plan_snapshot_run(const std::vector<std::string>& listing,
                                       const SnapshotPolicy& policy, Instant now) {
  SnapshotPlan plan;
  if (policy.naming == config::Naming::rotate) {
    const std::string& lowest = policy.rotate.levels[0].name;
    if (policy.level != lowest) {
      auto ops = rotation::plan_higher(listing, policy.rotate, policy.level);
      if (!ops) {
        return plain_error(ops.error().message() + "; nothing was changed");
      }
      plan.action = SnapshotAction::promote;
      plan.ops = std::move(*ops);
      plan.name = plan.ops.back().to;
      return plan;
    }
    plan.name = rotation::format_level_name(lowest, 0);
    int best = -1;
    for (const auto& op : rotation::plan_lowest_commit(listing, policy.rotate)) {
      if (op.kind != rotation::OpKind::expire) {
        continue;
      }
      auto ln = rotation::parse_level_name(op.from);
      if (ln && (best < 0 || ln->index < best)) {
        best = ln->index;
        plan.recycle = op.from;
      }
    }
    auto rest = listing;
    std::erase(rest, plan.recycle);
    plan.ops = rotation::plan_lowest_commit(rest, policy.rotate);
    return plan;
  }
  // A clock behind the newest generation (a reset RTC, a wrong --now)
  // would make each new generation the "oldest" and expire it at once,
  // and `latest` would stay on old data: refuse, change nothing.
  for (const auto& g : rotation::dated_generations(listing, policy.name_format, policy.zone)) {
    if (g.time > now) {
      return plain_error(
          fmt::format("generation '{}' is dated after now ({}); the clock looks wrong, "
                      "nothing was changed",
                      g.name, policy.zone.format("%Y-%m-%d %H:%M:%S", now)));
    }
  }
  plan.name = rotation::next_free_name(
      rotation::format_dated_name(now, policy.name_format, policy.zone), listing);
  auto with_new = listing;
  with_new.push_back(plan.name);
  for (const auto& dcs :
       decide_dated(with_new, policy)) {  // newest first: the last expiring one is the oldest
    if (!dcs.keep && dcs.name != plan.name) {
      plan.recycle = dcs.name;
    }
  }
  // After the commit: the recycled generation is the new one.
  std::erase(with_new, plan.recycle);
  auto finish = plan_dated_finish(with_new, policy, plan.name);
  plan.latest = std::move(finish.latest);
  plan.ops = std::move(finish.ops);
  return plan;
}

DatedFinish plan_dated_finish(const std::vector<std::string>& listing, const SnapshotPolicy& policy,
                              const std::string& name) {
  DatedFinish out;
  auto decisions = decide_dated(listing, policy);
  if (!decisions.empty()) {
    out.latest = decisions.front().name;
  }
  for (const auto& dcs : decisions) {
    if (!dcs.keep && dcs.name != name) {
      out.ops.push_back(rotation::Op{rotation::OpKind::expire, dcs.name, {}});
    }
  }
  return out;
}

std::vector<std::string> plan_lines(const SnapshotPlan& plan, const SnapshotPolicy& policy) {
  std::vector<std::string> out;
  if (plan.action == SnapshotAction::build && policy.naming == config::Naming::rotate) {
    out.push_back(fmt::format("commit {} -> {}", k_snap_staging, k_snap_committed));
  } else if (plan.action == SnapshotAction::build) {
    out.push_back(fmt::format("commit {} -> {}", k_snap_staging, plan.name));
    out.push_back(fmt::format("latest -> {}", plan.latest));
  }
  for (const auto& op : plan.ops) {
    out.push_back(rotation::to_string(op));
  }
  if (plan.action == SnapshotAction::build && policy.naming == config::Naming::rotate) {
    out.push_back(fmt::format("rename {} -> {}", k_snap_committed, plan.name));
  }
  out.push_back("delete-trash");
  return out;
}

std::string plural(long n, const char* word) {
  return fmt::format("{} {}{}", n, word, n == 1 ? "" : "s");
}

}  // namespace rotator::jobs
