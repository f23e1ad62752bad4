#include "jobs/runner.hpp"

#include <algorithm>
#include <chrono>
#include <set>

#include <fmt/format.h>

#include "jobs/backup_job.hpp"
#include "jobs/clone_job.hpp"
#include "jobs/snapshot_job.hpp"
#include "util/duration.hpp"
#include "util/process.hpp"

namespace rotator::jobs {

Status run_hook(RunContext& ctx, const config::Job& job, const char* which,
                const std::vector<std::string>& argv) {
  if (argv.empty()) {
    return ok();
  }
  if (ctx.dry_run == DryRun::yes) {
    ctx.plan(fmt::format("{} {}", which, quote_argv(argv)));
    return ok();
  }
  ctx.log.info("[{}] {}: {}", job.name, which, quote_argv(argv));
  auto r = run_process(argv, [&](Stream, std::string_view line) {
    ctx.log.info("[{}] {}: {}", job.name, which, line);
  });
  if (!r) {
    return plain_error(
        fmt::format("{} '{}' could not run: {}", which, argv[0], r.error().message()));
  }
  if (r->exit_code != 0) {
    return plain_error(
        fmt::format("{} '{}' failed (exit {})", which, quote_argv(argv), r->exit_code));
  }
  return ok();
}

void run_fail_exec(RunContext& ctx, const config::Job& job, const JobResult& r) {
  if (job.fail_exec.empty() || ctx.dry_run == DryRun::yes) {
    return;
  }
  ctx.log.info("[{}] fail_exec: {}", job.name, quote_argv(job.fail_exec));
  EnvVars env = {{"ROTATOR_JOB", job.name},
                 {"ROTATOR_RESULT", state::outcome_name(r.outcome)},
                 {"ROTATOR_MESSAGE", r.error}};
  auto p = run_process(
      job.fail_exec,
      [&](Stream, std::string_view line) { ctx.log.info("[{}] fail_exec: {}", job.name, line); },
      env);
  if (!p) {
    ctx.log.error("[{}] fail_exec '{}' could not run: {}", job.name, job.fail_exec[0],
                  p.error().message());
  } else if (p->exit_code != 0) {
    ctx.log.error("[{}] fail_exec '{}' failed (exit {})", job.name, quote_argv(job.fail_exec),
                  p->exit_code);
  }
}

namespace {

JobResult dispatch(RunContext& ctx, const config::Job& job) {
  switch (job.type) {
    case config::JobType::clone:
      return run_clone(ctx, job);
    case config::JobType::backup:
      return run_backup(ctx, job);
    case config::JobType::snapshot:
      return run_snapshot(ctx, job);
  }
  return job_error("unknown job type");
}

}  // namespace

ExitStatus run_level(RunContext& ctx, const std::string& level) {
  std::set<std::string> failed;
  bool any_error = false;
  for (const auto& job : ctx.cfg.jobs) {
    auto levels = job.levels();
    if (std::find(levels.begin(), levels.end(), level) == levels.end()) {
      continue;
    }
    auto started = std::chrono::steady_clock::now();
    bool dry = ctx.dry_run == DryRun::yes;
    auto loaded = state::load(ctx.fs, ctx.cfg.state_dir, job.name);
    state::JobState st = loaded ? *loaded : state::JobState{};
    if (!loaded) {
      ctx.log.warning("[{}] cannot read state: {}", job.name, loaded.error().message());
    } else if (!st.defect.empty()) {
      ctx.log.warning("[{}] {}; its last results are lost, this run starts a new state", job.name,
                      st.defect);
    }
    if (st.last_result == state::Outcome::running && !st.unsaved.empty()) {
      ctx.log.warning(
          "[{}] the previous run could not save its state ({}): its result is "
          "unknown; resuming",
          job.name, st.unsaved);
    } else if (st.last_result == state::Outcome::running) {
      ctx.log.warning("[{}] the previous run did not finish (crash or kill); resuming", job.name);
    }
    auto finish = [&](const JobResult& r) {
      double secs =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      if (r.outcome == state::Outcome::error) {
        any_error = true;
        failed.insert(job.name);
        ctx.log.error("[{}] failed: {} ({:.1f}s)", job.name, r.error, secs);
      } else {
        ctx.log.info("[{}] {}: {} ({:.1f}s)", job.name, state::outcome_name(r.outcome), r.summary,
                     secs);
      }
      if (dry) {
        return;
      }
      st.last_end = ctx.now + std::chrono::seconds(static_cast<long>(secs));
      st.last_result = r.outcome;
      if (r.outcome == state::Outcome::error) {
        st.last_summary = r.error;
        st.last_failure = st.last_end;
        st.last_failure_message = r.error;
        if (!r.resume.empty()) {
          st.resume = r.resume;  // else keep what the job saved: the rerun resumes
        }
      } else {
        st.last_summary = r.summary;
        st.churn_warning = r.churn_warning;  // a normal run clears it
        if (r.outcome != state::Outcome::partial) {
          st.last_success = st.last_end;
          st.last_success_summary = r.summary;
        } else {
          st.last_failure = st.last_end;
          st.last_failure_message = r.summary;
        }
        st.resume.clear();
        st.last_entries = r.entries;
        st.last_bytes = r.bytes;
        st.last_relinked_files = r.relinked_files;
        st.last_relinked_bytes = r.relinked_bytes;
        if (r.relinked_files >= 0 && r.relinked_bytes >= 0) {
          st.relinked_files_total = std::max(0LL, st.relinked_files_total) + r.relinked_files;
          st.relinked_bytes_total = std::max(0LL, st.relinked_bytes_total) + r.relinked_bytes;
          if (!st.relinked_since) {
            st.relinked_since = st.last_end;
          }
        }
      }
      auto saved = state::save(ctx.fs, ctx.cfg.state_dir, job.name, st);
      if (!saved) {
        any_error = true;
        ctx.log.error("[{}] cannot save state: {}", job.name, saved.error().message());
      }
      if (r.outcome == state::Outcome::error) {
        run_fail_exec(ctx, job, r);
      }
    };

    if (!job.from_job.empty() && failed.count(job.from_job)) {
      finish(
          job_error(fmt::format("skipped: its source job [{}] failed in this run", job.from_job)));
      continue;
    }
    if (!job.from_job.empty()) {
      // A clone whose last run failed or was killed may be half updated:
      // never back it up or snapshot it (it could expire good history).
      auto src = state::load(ctx.fs, ctx.cfg.state_dir, job.from_job);
      if (src && (src->last_result == state::Outcome::error ||
                  src->last_result == state::Outcome::running)) {
        finish(job_error(fmt::format(
            "skipped: the last run of its source job [{}] {}; run it successfully first",
            job.from_job,
            src->last_result == state::Outcome::error ? "failed"
            : src->unsaved.empty()                    ? "did not finish (killed?)"
                                   : fmt::format("could not save its state ({})", src->unsaved))));
        continue;
      }
    }
    if (!dry) {
      st.last_start = ctx.now;
      st.last_result = state::Outcome::running;
      auto saved = state::save(ctx.fs, ctx.cfg.state_dir, job.name, st);
      if (!saved) {
        finish(job_error("cannot save state: " + saved.error().message()));
        continue;
      }
    }
    if (auto pre = run_hook(ctx, job, "pre_exec", job.pre_exec); !pre) {
      finish(job_error(pre.error().message() + "; job skipped"));
      continue;
    }
    ctx.resume_in = st.resume;
    ctx.save_resume = [&](const std::map<std::string, std::string>& resume) -> Status {
      if (dry) {
        return ok();
      }
      st.resume = resume;
      return state::save(ctx.fs, ctx.cfg.state_dir, job.name, st);
    };
    JobResult r;
    if (log::Progress* progress = ctx.log.progress()) {
      // The line lives only while the job itself runs: hooks, the summary
      // and everything after it print on a clean line.
      // rsync's own counts are not known until it ends: the clone shows its
      // phase and elapsed time; the engine walks count entries.
      bool counted = job.type != config::JobType::clone;
      const char* kind = job.type == config::JobType::clone    ? "clone"
                         : job.type == config::JobType::backup ? "backup"
                                                               : "snapshot";
      progress->begin(fmt::format("[{}] {}", job.name, kind),
                      counted ? log::Progress::Counted::yes : log::Progress::Counted::no,
                      counted ? st.last_entries : -1);
      {
        log::ProgressTicker ticker(*progress);
        r = dispatch(ctx, job);
      }
      progress->end();
    } else {
      r = dispatch(ctx, job);
    }
    if (r.outcome != state::Outcome::error) {
      if (auto post = run_hook(ctx, job, "post_exec", job.post_exec); !post) {
        r.outcome = state::Outcome::error;
        r.error = post.error().message() + " (the job itself completed: " + r.summary + ")";
      }
    }
    finish(r);
  }
  if (any_error || ctx.log.errors() > 0) {
    return k_exit_error;
  }
  return ctx.log.warnings() > 0 ? k_exit_warning : k_exit_ok;
}

}  // namespace rotator::jobs
