#include "jobs/backup_job.hpp"

#include <algorithm>
#include <cerrno>
#include <memory>

#include <fmt/format.h>

#include "engine/mirror.hpp"
#include "filter/filter.hpp"
#include "fs/tree.hpp"
#include "history/catalogue.hpp"
#include "jobs/check.hpp"
#include "jobs/new_bytes.hpp"
#include "rotation/name.hpp"

namespace rotator::jobs {

namespace {

constexpr const char* k_deleting_prefix = ".rotator-deleting.";

// Creates directory `path` if it is missing (its parent must exist).
Status ensure_dir(fs::Fs& fs, const std::string& path, mode_t mode) {
  auto made = fs.mkdir(fs::k_cwd, path, mode);
  if (!made && made.error().sys_errno != EEXIST) {
    return with_context(std::move(made.error()), "create directory", path);
  }
  auto st = fs.lstat(fs::k_cwd, path);
  if (!st) {
    return st.error();
  }
  if (!st->is_dir()) {
    return plain_error(fmt::format("'{}' exists and is not a directory", path));
  }
  return ok();
}

std::string relative_to_root(const config::Config& cfg, const std::string& path) {
  if (path.rfind(cfg.root + "/", 0) == 0) {
    return path.substr(cfg.root.size() + 1);
  }
  return path;
}

// Deletes holding folders older than holding_keep, after a successful mirror.
// Each folder is first renamed to .rotator-deleting.NAME (so a half-deleted
// folder never looks like a dated archive), then removed; leftovers of an
// interrupted deletion are finished first.
Result<long> prune_holding(RunContext& ctx, const config::Job& job, fs::DirHandle& holding,
                           const std::vector<std::string>& in_use) {
  TRY_ASSIGN(auto listing, history::list_holding(ctx.fs, job, ctx.zone));
  const std::vector<std::string>& names = listing.names;
  std::string disp = relative_to_root(ctx.cfg, job.holding);
  long pruned = 0;
  for (const auto& n : names) {
    if (n.rfind(k_deleting_prefix, 0) == 0) {
      if (ctx.dry_run == DryRun::yes) {
        ctx.plan(fmt::format("prune {}/{}", disp, n));
        continue;
      }
      TRY(fs::remove_tree(ctx.fs, holding.fd(), n, disp + "/" + n));
    }
  }
  // A clock that runs behind the newest folder (a reset RTC, a wrong
  // --now) makes ages meaningless: prune nothing and say so.
  for (const auto& folder : listing.folders) {
    const std::string& n = folder.entry;
    if (folder.time > ctx.now + std::chrono::hours(24)) {
      ctx.log.warning(
          "[{}] holding folder {}/{} is dated after now ({}); the clock looks wrong, "
          "holding not pruned",
          job.name, disp, n, ctx.zone.format("%Y-%m-%d %H:%M", ctx.now));
      return 0L;
    }
  }
  auto expired = rotation::select_expired_holding(names, job.holding_format, job.holding_keep,
                                                  ctx.now, ctx.zone);
  for (const auto& n : expired) {
    if (std::find(in_use.begin(), in_use.end(), n) != in_use.end()) {
      continue;  // holding_keep shorter than the folder's period: keep today's work
    }
    ++pruned;
    if (ctx.dry_run == DryRun::yes) {
      ctx.plan(fmt::format("prune {}/{}", disp, n));
      continue;
    }
    std::string tmp = k_deleting_prefix + n;
    TRY(ctx.fs.rename(holding.fd(), n, holding.fd(), tmp, fs::RenameMode::no_replace));
    TRY(fs::remove_tree(ctx.fs, holding.fd(), tmp, disp + "/" + tmp));
    ctx.log.info("[{}] pruned holding folder {}/{} (older than {})", job.name, disp, n,
                 to_string(*job.holding_keep));
  }
  return pruned;
}

}  // namespace

Status validate_filter_walk(fs::Fs& fs, const config::Job& job, filter::RuleFilter& rules,
                            const std::string& src_display, const std::string& dst_display) {
  // A dry run never moves anything to the sink; it only names it.
  engine::TreeSink sink(fs::k_cwd, "validate", "holding");
  engine::MirrorOptions opt;
  opt.selector = &rules;
  opt.prune_empty = job.prune_empty_dirs;
  opt.sink = &sink;
  opt.dry_run = DryRun::yes;
  opt.src_display = src_display;
  opt.dst_display = dst_display;
  if (!fs.lstat(fs::k_cwd, job.path)) {
    opt.target_root = engine::MirrorOptions::TargetRoot::absent;
  }
  TRY(engine::mirror(fs, job.from, job.path, opt));
  return ok();
}

JobResult run_backup(RunContext& ctx, const config::Job& job) {
  bool dry = ctx.dry_run == DryRun::yes;
  // 1. One filesystem for from, path and holding; the trees exist.
  auto from = ctx.fs.lstat(fs::k_cwd, job.from);
  if (!from || !from->is_dir()) {
    return job_error(fmt::format("from '{}' is not a directory{}", job.from,
                                 from ? "" : ": " + from.error().message()));
  }
  if (auto same = same_filesystem(
          ctx.fs, job, {{"from", job.from}, {"path", job.path}, {"holding", job.holding}});
      !same) {
    return job_error(same.error().message());
  }
  if (!dry) {
    for (const std::string* p : {&job.path, &job.holding}) {
      if (auto made = ensure_dir(ctx.fs, *p, 0755); !made) {
        return job_error(made.error().message());
      }
    }
  }
  bool target_absent = false;
  if (dry) {
    auto there = fs::exists(ctx.fs, fs::k_cwd, job.path);
    if (!there) {
      return job_error(with_context(std::move(there.error()), "stat", job.path).message());
    }
    target_absent = !*there;
  }

  // An empty `from` (an unmounted or wiped clone) would send the whole backup
  // to holding, where holding_keep eventually expires it: refuse.
  {
    auto from_dir = fs::open_dir(ctx.fs, fs::k_cwd, job.from);
    if (!from_dir) {
      return job_error(from_dir.error().message());
    }
    auto entries = ctx.fs.list_dir(from_dir->fd());
    if (!entries) {
      return job_error(
          with_context(std::move(entries.error()), "read directory", job.from).message());
    }
    if (entries->empty() && !target_absent) {
      auto to = fs::open_dir(ctx.fs, fs::k_cwd, job.path);
      auto existing =
          to ? ctx.fs.list_dir(to->fd()) : Result<std::vector<fs::DirEntry>>(to.error());
      if (existing && !existing->empty()) {
        return job_error(fmt::format(
            "from '{}' is empty (unmounted?); refusing to move the whole backup '{}' to holding",
            job.from, job.path));
      }
    }
  }

  // 2. The holding folder: resume an interrupted run's, else a fresh name.
  // An interrupted run of the same date resumes into its folder, so a rerun
  // converges to what the uninterrupted run would have left; a later run
  // starts a folder of its own date.
  std::string base = rotation::format_dated_name(ctx.now, job.holding_format, ctx.zone);
  if (auto bad = rotation::check_dated_folder_name(base); !bad) {
    // Checked at load for sample dates; this date's expansion is checked too.
    return job_error(fmt::format("holding_format '{}': {}; nothing was changed", job.holding_format,
                                 bad.error().message()));
  }
  std::string folder;
  auto resumed = ctx.resume_in.find("holding");
  if (resumed != ctx.resume_in.end()) {
    auto parsed = rotation::parse_dated_name(resumed->second, job.holding_format, ctx.zone);
    if (parsed && parsed->base == base) {
      folder = resumed->second;
      ctx.log.info("[{}] resuming the interrupted run into holding folder {}", job.name, folder);
    }
  }
  if (folder.empty()) {
    std::vector<std::string> existing;
    if (auto listing = history::list_holding(ctx.fs, job, ctx.zone)) {
      existing = std::move(listing->names);
    }
    folder = rotation::next_free_name(base, existing);
  }
  if (auto saved = ctx.save_resume({{"holding", folder}}); !saved) {
    return job_error("cannot save state: " + saved.error().message());
  }

  // 3. The filter.
  std::unique_ptr<filter::RuleFilter> rules;
  if (!job.filter.empty()) {
    auto loaded = filter::RuleFilter::load(ctx.fs, job.filter, job.from);
    if (!loaded) {
      return job_error(loaded.error().message());
    }
    rules = std::move(*loaded);
  }
  if (rules && rules->reads_per_dir_files() && !dry) {
    // Per-directory rule files are only met during the walk: read and check
    // all of them before the backup is touched, and walk with what was read.
    rules->enable_read_cache();
    if (auto valid = validate_filter_walk(ctx.fs, job, *rules, relative_to_root(ctx.cfg, job.from),
                                          relative_to_root(ctx.cfg, job.path));
        !valid) {
      return job_error(valid.error().message() +
                       "; stopped before changing anything (the rule files are checked first)");
    }
  }

  // 4. The mirror, in one pass.
  fs::DirHandle holding;
  if (auto h = fs::open_dir(ctx.fs, fs::k_cwd, job.holding)) {
    holding = std::move(*h);
  } else if (!dry) {
    return job_error(h.error().message());
  }
  std::string holding_disp = relative_to_root(ctx.cfg, job.holding);
  engine::TreeSink sink(holding.valid() ? holding.fd() : fs::k_cwd, folder, holding_disp);
  engine::MirrorOptions opt;
  opt.selector = rules.get();
  opt.prune_empty = job.prune_empty_dirs;
  opt.sink = &sink;
  opt.dry_run = dry ? DryRun::yes : DryRun::no;
  if (target_absent) {
    opt.target_root = engine::MirrorOptions::TargetRoot::absent;
    ctx.plan("mkdir .");
  }
  opt.src_display = relative_to_root(ctx.cfg, job.from);
  opt.dst_display = relative_to_root(ctx.cfg, job.path);
  opt.plan = plan_output(ctx, job.name);
  opt.progress = ctx.log.progress();
  // An lstat per linked file only: O(changes) for a backup (new_bytes.hpp).
  opt.count_bytes = engine::CountBytes::yes;
  auto stats = engine::mirror(ctx.fs, job.from, job.path, opt);
  if (!stats) {
    const Error& e = stats.error();
    if (e.sys_errno == EXDEV) {
      return job_error(
          fmt::format("configuration error: {} ('from', 'path' and 'holding' must be "
                      "on one filesystem); nothing was lost, holding not pruned",
                      e.message()));
    }
    return job_error(e.message() + "; nothing was lost, holding not pruned, the next run resumes");
  }

  // One syncfs makes the whole mirror and this run's holding folder durable
  // (no fsync per directory), so a power cut can no longer undo a backup the
  // state below and the run's success then record as done.
  if (!dry) {
    if (auto synced = ctx.fs.sync_fs(holding.fd()); !synced) {
      return job_error(
          "cannot sync the backup to disk: " +
          with_context(std::move(synced.error()), "sync the filesystem of", job.holding).message() +
          "; nothing was lost, holding not pruned, the next run resumes");
    }
  }

  // The mirror is complete: a rerun today must start a new folder, so the
  // resume point is cleared before anything else can fail.
  if (auto saved = ctx.save_resume({}); !saved) {
    return job_error("cannot save state: " + saved.error().message());
  }

  // 5. Only now: prune old holding folders (never one this run wrote to).
  long pruned = 0;
  if (job.holding_keep && holding.valid()) {
    std::vector<std::string> in_use = sink.folders_used();
    in_use.push_back(folder);
    auto p = prune_holding(ctx, job, holding, in_use);
    if (!p) {
      return job_error("the backup is complete, but pruning holding failed: " +
                       p.error().message());
    }
    pruned = *p;
  }

  JobResult r;
  std::string folders;
  for (const auto& f : sink.folders_used()) {
    folders += (folders.empty() ? "" : ", ") + holding_disp + "/" + f;
  }
  r.entries = stats->linked + stats->unchanged + stats->copied_emlink + stats->emlink_copies_kept;
  r.summary = fmt::format("{}{} linked, {} unchanged, {} archived{}{}, {} dirs created",
                          dry ? "dry run: " : "", stats->linked, stats->unchanged, stats->archived,
                          folders.empty() ? "" : " to ", folders, stats->dirs_created);
  r.summary += new_bytes_clause(stats->linked_bytes, from_tree_bytes(ctx, job),
                                job.from_job.empty() ? opt.src_display : job.from_job);
  if (pruned > 0) {
    r.summary += fmt::format(", {} holding folder{} pruned", pruned, pruned == 1 ? "" : "s");
  }
  if (stats->copied_emlink > 0) {
    r.outcome = state::Outcome::warning;
    r.summary += fmt::format(", {} file{} copied (hard-link limit reached)", stats->copied_emlink,
                             stats->copied_emlink == 1 ? "" : "s");
    ctx.log.warning("[{}] {} file{} could not be hard-linked (EMLINK: link limit) and {} copied",
                    job.name, stats->copied_emlink, stats->copied_emlink == 1 ? "" : "s",
                    stats->copied_emlink == 1 ? "was" : "were");
  }
  if (stats->emlink_copies_kept > 0) {
    r.summary +=
        fmt::format(", {} cop{} kept (hard-link limit: unchanged copies)",
                    stats->emlink_copies_kept, stats->emlink_copies_kept == 1 ? "y" : "ies");
  }
  return r;
}

}  // namespace rotator::jobs
