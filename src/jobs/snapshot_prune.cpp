// `rotator prune` for a snapshot job (prune_snapshot in snapshot_job.hpp).
#include <fmt/format.h>

#include "fs/tree.hpp"
#include "jobs/snap_dir.hpp"
#include "jobs/snapshot_job.hpp"
#include "jobs/snapshot_plan.hpp"
#include "jobs/snapshot_recover.hpp"
#include "retention/select.hpp"
#include "rotation/name.hpp"
#include "state/state.hpp"

namespace rotator::jobs {

namespace {

// A killed run of `job` left its state "running". Under the lock no run of
// it is under way, and recovery has just rolled that run back or finished
// it: record it as interrupted and recovered, so that the next run does not
// warn again that it "did not finish", and status says what happened.
void settle_interrupted_run(RunContext& ctx, const config::Job& job) {
  if (ctx.dry_run == DryRun::yes) {
    return;
  }
  auto st = state::load(ctx.fs, ctx.cfg.state_dir, job.name);
  if (!st || st->last_result != state::Outcome::running) {
    return;
  }
  std::string why = st->unsaved.empty()
                        ? std::string("interrupted (crash or kill)")
                        : fmt::format("could not save its state ({}), result unknown", st->unsaved);
  st->last_result = state::Outcome::error;
  st->last_summary = fmt::format("the run of {} was {}; rotator prune recovered it",
                                 st->last_start ? ctx.zone.format("%Y-%m-%d %H:%M", *st->last_start)
                                                : std::string("unknown time"),
                                 why);
  st->last_failure = ctx.now;
  st->last_failure_message = st->last_summary;
  st->resume.clear();
  if (auto saved = state::save(ctx.fs, ctx.cfg.state_dir, job.name, *st); !saved) {
    ctx.log.warning("[{}] cannot save state: {}", job.name, saved.error().message());
  } else {
    ctx.log.info("[{}] {}", job.name, st->last_summary);
  }
}

}  // namespace

JobResult prune_snapshot(RunContext& ctx, const config::Job& job, Explain explain) {
  SnapDir dir(ctx, job);
  bool dry = dir.dry();
  auto path_there = fs::exists(ctx.fs, fs::k_cwd, job.path);
  if (!path_there) {
    return job_error(with_context(std::move(path_there.error()), "stat", dir.disp()).message());
  }
  if (!*path_there) {
    settle_interrupted_run(ctx, job);  // killed before it made anything
    JobResult r;
    r.summary = fmt::format("{} does not exist yet: nothing to prune", dir.disp());
    return r;
  }
  if (auto stop = recover_and_report(ctx, job)) {
    return *stop;
  }
  settle_interrupted_run(ctx, job);
  auto names = dir.names();
  if (!names) {
    return job_error(names.error().message());
  }
  struct Line {
    std::string name;
    bool keep;
    std::string reason;
  };
  std::vector<Line> lines;
  if (job.naming == config::Naming::rotate) {
    auto policy = rotate_policy(job);
    if (!policy) {
      return job_error(policy.error().message());
    }
    for (const auto& level : policy->levels) {
      std::vector<int> indices;
      for (const auto& n : *names) {
        if (auto ln = rotation::parse_level_name(n); ln && ln->level == level.name) {
          indices.push_back(ln->index);
        }
      }
      // By rank, as the rotation does: the k-th existing generation is the
      // k-th one kept (an rsnapshot tree with holes, daily.0 daily.4
      // daily.5, keeps all three under daily:3).
      for (const auto& d : retention::select_rotate(std::move(indices), level.count)) {
        lines.push_back({rotation::format_level_name(level.name, d.index), d.keep,
                         d.keep ? fmt::format("{} #{}", level.name, d.rank)
                                : fmt::format("expired (beyond {}:{})", level.name, level.count)});
      }
    }
  } else {
    auto policy = dated_policy(job);
    if (!policy) {
      return job_error(policy.error().message());
    }
    for (const auto& dcs : dated_decisions(*names, job, *policy, ctx.zone)) {
      lines.push_back({dcs.name, dcs.keep, dcs.reason});
    }
  }
  long kept = 0;
  std::vector<std::string> expired;
  for (const auto& l : lines) {
    if (explain == Explain::yes || dry) {
      ctx.plan(fmt::format("{:<6} {:<24} {}", l.keep ? "keep" : "expire", l.name, l.reason));
    }
    if (l.keep) {
      ++kept;
    } else {
      expired.push_back(l.name);
    }
  }
  JobResult r;
  if (dry) {
    r.summary = fmt::format("dry run: {} kept, {} would expire", kept, expired.size());
    return r;
  }
  for (const auto& n : expired) {
    if (auto moved = dir.move_to_trash(n); !moved) {
      return job_error(moved.error().message());
    }
  }
  if (!expired.empty()) {
    if (auto s = dir.sync(); !s) {
      return job_error(s.error().message());
    }
  }
  TrashStep trash = finish_trash(ctx, dir);
  if (!trash.status) {
    return job_error(
        "expired generations are in the trash, but deleting it failed (the next run "
        "resumes): " +
        trash.status.error().message());
  }
  r.summary = fmt::format("{} kept, {} expired", kept, expired.size());
  if (!expired.empty()) {
    r.summary += fmt::format(" ({})", fmt::join(expired, ", "));
  }
  r.summary += trash.clause;
  return r;
}

}  // namespace rotator::jobs
