#include "jobs/snapshot_recover.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "history/catalogue.hpp"
#include "jobs/snapshot_job.hpp"
#include "jobs/snapshot_plan.hpp"
#include "jobs/snapshot_undo.hpp"
#include "rotation/name.hpp"

namespace rotator::jobs {

namespace {

// Points `latest` at `target` atomically (symlink to a temporary name, rename
// over `latest`). Leaves a `latest` that is not a symlink alone.
Status swap_latest(SnapDir& dir, const std::string& target, RunContext& ctx,
                   const config::Job& job) {
  auto st = dir.fs().lstat(fs::k_cwd, dir.p(k_snap_latest));
  if (st && st->type() != fs::FileType::symlink) {
    ctx.log.warning("[{}] '{}' is not a symlink; not updated", job.name, dir.d(k_snap_latest));
    return ok();
  }
  if (st) {
    auto cur = dir.fs().readlink(fs::k_cwd, dir.p(k_snap_latest));
    if (cur && *cur == target) {
      return ok();
    }
  }
  TRY(dir.unlink_if_present(k_snap_latest_tmp));
  auto made = dir.fs().symlink(target, fs::k_cwd, dir.p(k_snap_latest_tmp));
  if (!made) {
    return with_context(std::move(made.error()), "create symlink", dir.d(k_snap_latest_tmp));
  }
  return dir.rename(k_snap_latest_tmp, k_snap_latest, fs::RenameMode::replace);
}

}  // namespace

Status finish_rotate_commit(SnapDir& dir, const std::vector<rotation::Op>& ops,
                            const std::string& lowest0, Applied& applied) {
  TRY(rotation::apply_ops(dir, ops, applied));
  TRY(dir.rename(k_snap_committed, lowest0));
  return dir.sync();
}

Status finish_dated_commit(SnapDir& dir, const std::string& latest,
                           const std::vector<rotation::Op>& ops, RunContext& ctx,
                           const config::Job& job, Applied& applied) {
  if (!latest.empty()) {
    TRY(swap_latest(dir, latest, ctx, job));
  }
  TRY(rotation::apply_ops(dir, ops, applied));
  TRY(dir.sync());
  return dir.remove_marker(k_snap_pending);
}

// ---- recovery ----------------------------------------------------------------

Result<std::vector<std::string>> recover_snapshot(RunContext& ctx, const config::Job& job) {
  SnapDir dir(ctx, job);
  std::vector<std::string> log;
  TRY_ASSIGN(bool built, dir.exists(""));
  if (!built) {
    return log;  // nothing built yet
  }
  // Before any change: an entry named like a generation that is not a real
  // directory stops the job here (the catalogue refuses it by name).
  TRY(dir.generations());
  bool dry = dir.dry();
  if (!dry) {
    for (const char* tmp : {".rotator-staging.from.tmp", ".rotator-intent.tmp",
                            ".rotator-pending.tmp", k_snap_latest_tmp}) {
      TRY(dir.unlink_if_present(tmp));
    }
  }
  TRY_ASSIGN(bool staged, dir.exists(k_snap_staging));
  TRY_ASSIGN(bool staged_from, dir.exists(k_snap_staging_from));
  if (staged) {
    TRY(rollback(dir, log));
  } else if (staged_from && !dry) {
    TRY(dir.unlink_if_present(k_snap_staging_from));  // its build was committed
  }
  if (job.naming == config::Naming::rotate) {
    TRY_ASSIGN(auto policy, rotate_policy(job));
    TRY_ASSIGN(bool committed, dir.exists(k_snap_committed));
    if (committed) {
      if (dry) {
        log.push_back(fmt::format("finish the committed generation {}: shift, rename to {}",
                                  dir.d(k_snap_committed),
                                  rotation::format_level_name(policy.levels[0].name, 0)));
      } else {
        Applied applied;
        TRY_ASSIGN(auto names, dir.names());
        TRY(finish_rotate_commit(dir, rotation::plan_lowest_commit(names, policy),
                                 rotation::format_level_name(policy.levels[0].name, 0), applied));
        log.push_back(fmt::format("finished an interrupted commit: {}, {} expired",
                                  plural(applied.renamed, "rename"), applied.expired));
      }
    }
    TRY_ASSIGN(bool intent, dir.exists(k_snap_intent));
    if (intent) {
      auto text = dir.fs().read_file(fs::k_cwd, dir.p(k_snap_intent));
      if (!text) {
        return with_context(std::move(text.error()), "read", dir.d(k_snap_intent));
      }
      std::string level = *text;
      if (level.rfind("promote ", 0) != 0) {
        return plain_error(fmt::format("'{}' is not a rotator intent file", dir.d(k_snap_intent)));
      }
      level = level.substr(8);
      while (!level.empty() && level.back() == '\n') {
        level.pop_back();
      }
      std::string source;  // the generation being promoted (absent in old intent files)
      if (auto sp = level.find(' '); sp != std::string::npos) {
        source = level.substr(sp + 1);
        level = level.substr(0, sp);
      }
      TRY_ASSIGN(auto names, dir.names());
      auto ops = rotation::plan_higher(names, policy, level);
      if (!source.empty() && std::find(names.begin(), names.end(), source) == names.end()) {
        ops = plain_error("the promotion's last rename was done");  // finished: nothing to redo
      } else if (ops && !source.empty() && ops->back().from != source) {
        return plain_error(fmt::format(
            "an interrupted promotion of '{}' to {}.0 cannot be finished with the current keep "
            "(it would promote '{}'); restore the keep line of that run or finish it by hand "
            "and remove '{}'",
            source, level, ops->back().from, dir.d(k_snap_intent)));
      }
      if (dry) {
        log.push_back(fmt::format("finish the interrupted promotion of {}", level));
      } else {
        Applied applied;
        if (ops) {  // else the promotion's last rename was done
          TRY(rotation::apply_ops(dir, *ops, applied));
        }
        TRY(dir.sync());
        TRY(dir.remove_marker(k_snap_intent));
        log.push_back(fmt::format("finished an interrupted promotion of {}: {}, {} expired", level,
                                  plural(applied.renamed, "rename"), applied.expired));
      }
    }
  } else {
    TRY_ASSIGN(auto policy, dated_policy(job));
    TRY_ASSIGN(bool pending, dir.exists(k_snap_pending));
    if (pending) {
      auto text = dir.fs().read_file(fs::k_cwd, dir.p(k_snap_pending));
      if (!text) {
        return with_context(std::move(text.error()), "read", dir.d(k_snap_pending));
      }
      std::string name = text->substr(0, text->find('\n'));
      TRY_ASSIGN(bool named, dir.exists(name));
      if (!named) {
        // Not committed after all (or removed since): nothing to finish.
        if (!dry) {
          TRY(dir.unlink_if_present(k_snap_pending));
        }
      } else if (dry) {
        log.push_back(
            fmt::format("finish the committed generation {}: latest, expiry", dir.d(name)));
      } else {
        Applied applied;
        TRY_ASSIGN(auto names, dir.names());
        TRY_ASSIGN(auto spolicy, snapshot_policy(job, ctx.level, ctx.zone));
        auto finish = plan_dated_finish(names, spolicy, name);
        TRY(finish_dated_commit(dir, finish.latest, finish.ops, ctx, job, applied));
        log.push_back(fmt::format("finished an interrupted commit of {}: {} expired", dir.d(name),
                                  applied.expired));
      }
    }
    TRY_ASSIGN(auto names, dir.names());
    auto decisions = dated_decisions(names, job, policy, ctx.zone);
    if (!decisions.empty() && !dry) {
      bool right = false;
      if (auto cur = ctx.fs.readlink(fs::k_cwd, dir.p(k_snap_latest))) {
        right = *cur == decisions.front().name;
      }
      if (!right) {
        TRY(swap_latest(dir, decisions.front().name, ctx, job));
      }
    }
  }
  // Leftover trash is NOT deleted here: recovery runs before the build, and
  // expiry must never hold up the next backup. The run deletes it after its
  // commit; prune deletes it after its expiry.
  return log;
}

std::optional<JobResult> recover_and_report(RunContext& ctx, const config::Job& job) {
  bool dry = ctx.dry_run == DryRun::yes;
  // An entry named like a generation that is not a real directory: said as
  // it is (it is no recovery problem), and nothing runs.
  if (auto listed = history::list_generations(ctx.fs, job, ctx.zone);
      !listed && listed.error().op.empty()) {
    return job_error(listed.error().message());
  }
  auto recovered = recover_snapshot(ctx, job);
  if (!recovered) {
    return job_error("recovery failed: " + recovered.error().message() + "; nothing else was done");
  }
  for (const auto& line : *recovered) {
    if (dry) {
      ctx.plan("recover: " + line);
    } else {
      ctx.log.info("[{}] {}", job.name, line);
    }
  }
  if (dry && !recovered->empty()) {
    JobResult r;
    r.summary = "dry run: recovery is pending; the rest of the plan depends on it";
    return r;
  }
  return std::nullopt;
}

}  // namespace rotator::jobs
