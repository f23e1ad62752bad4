#include "jobs/snapshot_job.hpp"

#include <cerrno>
#include <optional>

#include <fmt/format.h>

#include "engine/mirror.hpp"
#include "fs/tree.hpp"
#include "jobs/check.hpp"
#include "jobs/new_bytes.hpp"
#include "jobs/snap_dir.hpp"
#include "jobs/snapshot_plan.hpp"
#include "jobs/snapshot_recover.hpp"
#include "jobs/snapshot_undo.hpp"
#include "rotation/name.hpp"
#include "rotation/plan.hpp"

namespace rotator::jobs {

namespace {

enum class Build { fresh, recycled };

}  // namespace

Status delete_queued_trash(RunContext& ctx, const config::Job& job, std::string& done) {
  if (ctx.dry_run == DryRun::yes) {
    return ok();
  }
  SnapDir dir(ctx, job);
  fs::RemoveStats rs;
  TRY_ASSIGN(long removed, dir.delete_queued(&rs));
  if (removed > 0) {
    done = fmt::format("trash deleted after the unlock ({} files, {} dirs)", rs.files, rs.dirs);
  }
  return ok();
}

namespace {

// A higher rotate level: carry out the promotion `plan` (plan_higher's ops),
// guarded by .rotator-intent.
JobResult execute_promotion(RunContext& ctx, const config::Job& job, SnapDir& dir,
                            const SnapshotPlan& plan) {
  auto fail = [&](const std::string& msg) { return job_error(msg); };
  const auto& ops = plan.ops;
  // The intent names the generation being promoted, so recovery can tell
  // a finished promotion (source gone) from an unfinished one.
  if (auto w =
          dir.write_atomic(k_snap_intent, "promote " + ctx.level + " " + ops.back().from + "\n");
      !w) {
    return fail(w.error().message() + "; nothing was changed");
  }
  Applied applied;
  Status done = rotation::apply_ops(dir, ops, applied);
  if (done) {
    done = dir.sync();
  }
  if (done) {
    done = dir.remove_marker(k_snap_intent);
  }
  if (!done) {
    return fail(done.error().message() + "; the next run finishes the promotion");
  }
  TrashStep trash = finish_trash(ctx, dir);
  JobResult r;
  r.summary = fmt::format("promoted {} to {}: {} shifted, {} expired", ops.back().from,
                          ops.back().to, applied.renamed - 1, applied.expired);
  if (!applied.expired_names.empty()) {
    r.summary += fmt::format(" ({})", fmt::join(applied.expired_names, ", "));
  }
  if (!trash.status) {
    r.outcome = state::Outcome::warning;
    ctx.log.warning("[{}] deleting the trash failed (the next run resumes): {}", job.name,
                    trash.status.error().message());
  }
  r.summary += trash.clause;
  return r;
}

// Build `plan.name` (fresh, or recycled from `plan.recycle`), commit it and
// carry out the plan's post-commit ops. In a dry run the engine walks the
// tree with mutations off and the plan's commit phase is printed.
JobResult execute_build(RunContext& ctx, const config::Job& job, SnapDir& dir,
                        const SnapshotPlan& plan, const SnapshotPolicy& policy,
                        const fs::Stat& from_st) {
  bool dry = dir.dry();
  auto fail = [&](const std::string& msg) { return job_error(msg); };
  const std::string& recycle = plan.recycle;
  const std::string& final_name = plan.name;
  Build build = recycle.empty() ? Build::fresh : Build::recycled;

  // A failure before the commit: roll the build back now (renames only), so
  // that no generation is missing even until the next run.
  auto abort_build = [&](const std::string& why) {
    std::vector<std::string> lines;
    Status rb = dry ? ok() : rollback(dir, lines);
    if (!rb) {
      return fail(fmt::format(
          "{}; rolling back failed too ({}); the next run rolls back{}", why, rb.error().message(),
          build == Build::recycled ? " and restores " + recycle : std::string()));
    }
    if (!dry) {
      (void)finish_trash(ctx, dir);  // best effort: the next run resumes it
    }
    return fail(why + (build == Build::recycled
                           ? "; rolled back: " + recycle + " restored, nothing lost"
                           : std::string("; nothing was changed")));
  };
  // 4. The build.
  std::string build_id;
  if (build == Build::recycled && !dry) {
    Status prepared = dir.ensure_trash();
    if (prepared) {
      auto in_trash = dir.names(k_snap_trash);
      if (!in_trash) {
        return fail(in_trash.error().message() + "; nothing was changed");
      }
      build_id = std::string(k_snap_trash) + "/" +
                 rotation::next_free_name(
                     fmt::format("build-{}", ctx.now.time_since_epoch().count()), *in_trash);
      prepared = dir.mkdir(build_id, SnapDir::IfExists::fail);
    }
    if (prepared) {
      prepared =
          dir.mkdir(build_id + "/undo", SnapDir::IfExists::fail);  // a rollback then only renames
    }
    if (prepared) {
      prepared = dir.write_atomic(k_snap_staging_from, recycle + "\n" + build_id + "\n");
    }
    if (prepared) {
      prepared = dir.rename(recycle, k_snap_staging);
    }
    if (!prepared) {
      // Unknown (cannot look) counts as staged: the rollback then stops with
      // the reason, and the next run's recovery finds the staging if it exists.
      auto staged = dir.exists(k_snap_staging);
      if (!staged || *staged) {
        return abort_build(prepared.error().message());
      }
      // Best effort: the next run's recovery removes these too.
      (void)dir.unlink_if_present(".rotator-staging.from.tmp");
      (void)dir.unlink_if_present(k_snap_staging_from);
      (void)finish_trash(ctx, dir);
      return fail(prepared.error().message() + "; nothing was changed");
    }
  } else if (!dry) {
    if (auto made = dir.mkdir(k_snap_staging, SnapDir::IfExists::fail); !made) {
      return fail(made.error().message() + "; nothing was changed");
    }
  }
  if (dry && build == Build::recycled) {
    ctx.plan("recycle " + recycle);
  }
  std::optional<DisplacedList> displaced;
  if (build == Build::recycled && !dry) {
    displaced.emplace(dir, build_id);
  }
  AddRecorder recorder(dir, build_id);
  engine::MirrorOptions opt;
  opt.sink = displaced ? static_cast<engine::Sink*>(&*displaced) : nullptr;
  opt.dry_run = dry ? DryRun::yes : DryRun::no;
  opt.src_display = job.from_job.empty() ? job.from : job.from_job;
  opt.dst_display = dir.d(dry && build == Build::recycled ? recycle : k_snap_staging);
  if (build == Build::recycled && !dry) {
    opt.before_add = [&](const engine::AddInfo& add) { return recorder.record(add); };
  }
  if (dry && build == Build::fresh) {
    opt.target_root = engine::MirrorOptions::TargetRoot::absent;
  }
  opt.plan = plan_output(ctx, job.name);
  if (dry && build == Build::recycled) {
    // Plan against the generation that would be recycled; the sink is
    // displayed but never written in a dry run.
    displaced.emplace(dir, std::string(k_snap_trash) + "/build-ID");
    opt.sink = &*displaced;
  }
  opt.progress = ctx.log.progress();
  // A fresh build links every file: its bytes are all new without counting
  // them (one lstat per file), which only a shown progress line pays for.
  bool count = build == Build::recycled || opt.progress != nullptr;
  opt.count_bytes = count ? engine::CountBytes::yes : engine::CountBytes::no;
  std::string target = dir.p(dry && build == Build::recycled ? recycle : k_snap_staging);
  auto stats = build == Build::fresh ? engine::mirror_fresh(ctx.fs, job.from, target, opt)
                                     : engine::mirror(ctx.fs, job.from, target, opt);
  if (!stats) {
    const Error& e = stats.error();
    std::string why = e.sys_errno == EXDEV ? "configuration error: " + e.message() +
                                                 " ('from' and 'path' must be on one filesystem)"
                                           : e.message();
    return abort_build(why);
  }
  if (!dry) {
    // The generation's own mtime records when it was taken.
    fs::Metadata meta = fs::metadata_of(from_st);
    meta.mtime = timespec{static_cast<time_t>(ctx.now.time_since_epoch().count()), 0};
    meta.atime = meta.mtime;
    auto set = ctx.fs.set_metadata(fs::k_cwd, dir.p(k_snap_staging), meta);
    if (!set) {
      return abort_build(
          with_context(std::move(set.error()), "set attributes of", dir.d(k_snap_staging))
              .message());
    }
  }

  // 5. Commit, then the post-commit steps.
  Applied applied;
  if (dry) {
    for (const auto& line : plan_lines(plan, policy)) {
      ctx.plan(line);
    }
  } else {
    // The build's whole tree (and a recycled build's trash folder and
    // marker) is made durable before the commit names it: otherwise a power
    // cut after the commit could leave a committed, incomplete generation.
    Status committed = dir.sync_all();
    if (committed && job.naming == config::Naming::dated) {
      committed = dir.write_atomic(k_snap_pending, final_name + "\n");
    }
    if (committed) {
      committed = job.naming == config::Naming::rotate
                      ? dir.rename(k_snap_staging, k_snap_committed)
                      : dir.rename(k_snap_staging, final_name);
    }
    if (!committed) {
      return abort_build(committed.error().message());
    }
    // The point of no return: from here on a failure is finished by the next run.
    Status post = dir.sync();
    if (post) {
      post = dir.unlink_if_present(k_snap_staging_from);
    }
    if (post && job.naming == config::Naming::rotate) {
      post = finish_rotate_commit(dir, plan.ops, final_name, applied);
    } else if (post) {
      post = finish_dated_commit(dir, plan.latest, plan.ops, ctx, job, applied);
    }
    if (!post) {
      return fail(fmt::format("{} was committed, but {}; the next run finishes the rotation",
                              dir.d(final_name), post.error().message()));
    }
  }

  // 6. The trash: deleted now, or queued and deleted after the unlock.
  JobResult r;
  TrashStep trash;
  if (!dry) {
    trash = finish_trash(ctx, dir);
    if (!trash.status) {
      r.outcome = state::Outcome::warning;
      ctx.log.warning("[{}] deleting the trash failed (the next run resumes): {}", job.name,
                      trash.status.error().message());
    }
  }
  r.entries = stats->linked + stats->unchanged + stats->copied_emlink + stats->emlink_copies_kept;
  r.summary =
      fmt::format("{}{} {} ({}): {} linked, {} unchanged, {} displaced", dry ? "dry run: " : "",
                  dry ? "would create" : "created", final_name,
                  build == Build::recycled ? "recycled from " + recycle : std::string("fresh"),
                  stats->linked, stats->unchanged, stats->archived);
  r.summary +=
      new_bytes_clause(count ? std::optional<long long>(stats->linked_bytes) : std::nullopt,
                       from_tree_bytes(ctx, job), opt.src_display);
  if (job.naming == config::Naming::rotate && !dry) {
    r.summary += fmt::format(", {} shifted", applied.renamed);
  }
  if (!applied.expired_names.empty()) {
    r.summary += fmt::format(", expired {}", fmt::join(applied.expired_names, ", "));
  }
  r.summary += trash.clause;
  if (stats->copied_emlink > 0) {
    r.outcome = state::Outcome::warning;
    r.summary +=
        fmt::format(", {} copied (hard-link limit reached)", plural(stats->copied_emlink, "file"));
    ctx.log.warning("[{}] {} could not be hard-linked (EMLINK: link limit) and {} copied", job.name,
                    plural(stats->copied_emlink, "file"),
                    stats->copied_emlink == 1 ? "was" : "were");
  }
  if (stats->emlink_copies_kept > 0) {
    r.summary +=
        fmt::format(", {} cop{} kept (hard-link limit: unchanged copies)",
                    stats->emlink_copies_kept, stats->emlink_copies_kept == 1 ? "y" : "ies");
  }
  return r;
}

}  // namespace

// ---- the run ----------------------------------------------------------------

JobResult run_snapshot(RunContext& ctx, const config::Job& job) {
  SnapDir dir(ctx, job);
  bool dry = dir.dry();
  auto fail = [&](const std::string& msg) { return job_error(msg); };

  // 1. Same filesystem; the directory exists (created on the first run). A
  // promotion (a higher rotate level) does not read the source.
  bool promoting = false;
  if (job.naming == config::Naming::rotate) {
    auto p = rotate_policy(job);
    promoting = p && ctx.level != p->levels[0].name;
  }
  auto from = ctx.fs.lstat(fs::k_cwd, job.from);
  if (!promoting && (!from || !from->is_dir())) {
    return fail(fmt::format("from '{}' is not a directory{}; no generation was created or changed",
                            job.from, from ? "" : ": " + from.error().message()));
  }
  // An empty source (an unmounted disk, a wiped clone) would become a
  // generation and push a real one out: refuse it.
  if (promoting) {
    // nothing to check
  } else if (auto handle = fs::open_dir(ctx.fs, fs::k_cwd, job.from)) {
    auto entries = ctx.fs.list_dir(handle->fd());
    if (!entries) {
      return fail(with_context(std::move(entries.error()), "read directory", job.from).message() +
                  "; no generation was created or changed");
    }
    if (entries->empty()) {
      return fail(
          fmt::format("from '{}' is empty (not mounted? a failed clone?); no generation "
                      "was created or changed",
                      job.from));
    }
  } else {
    return fail(with_context(std::move(handle.error()), "open directory", job.from).message() +
                "; no generation was created or changed");
  }
  if (!dry) {
    auto made = ctx.fs.mkdir(fs::k_cwd, job.path, 0755);
    if (!made && made.error().sys_errno != EEXIST) {
      return fail(with_context(std::move(made.error()), "create directory", job.path).message());
    }
  }
  auto path_there = fs::exists(ctx.fs, fs::k_cwd, job.path);
  if (!path_there) {
    return fail(with_context(std::move(path_there.error()), "stat", job.path).message());
  }
  if (!promoting && *path_there) {
    if (auto same = same_filesystem(ctx.fs, job, {{"from", job.from}, {"path", job.path}}); !same) {
      return fail(same.error().message());
    }
  }

  // 2. Recovery.
  if (auto stop = recover_and_report(ctx, job)) {
    return *stop;
  }
  std::vector<std::string> names;
  if (!dry || *path_there) {  // a dry run before the first run: nothing there yet
    auto listed = dir.names();
    if (!listed) {
      return fail(listed.error().message());
    }
    names = *listed;
  }

  // 3. What this run does (pure), then doing it.
  auto policy = snapshot_policy(job, ctx.level, ctx.zone);
  if (!policy) {
    return fail(policy.error().message());
  }
  auto plan = plan_snapshot_run(names, *policy, ctx.now);
  if (!plan) {
    return fail(plan.error().message());
  }
  if (plan->action == SnapshotAction::promote) {
    if (dry) {
      for (const auto& line : plan_lines(*plan, *policy)) {
        ctx.plan(line);
      }
      JobResult r;
      r.summary =
          fmt::format("dry run: promote {} to {}", plan->ops.back().from, plan->ops.back().to);
      return r;
    }
    return execute_promotion(ctx, job, dir, *plan);
  }
  return execute_build(ctx, job, dir, *plan, *policy, *from);
}

}  // namespace rotator::jobs
