#include "cli/commands.hpp"

#include <getopt.h>

#include <algorithm>
#include <cerrno>
#include <optional>

#include <fmt/format.h>

#include "cli/cmd_history.hpp"
#include "jobs/check.hpp"
#include "jobs/metrics.hpp"
#include "jobs/runner.hpp"
#include "jobs/snapshot_job.hpp"
#include "jobs/status.hpp"
#include "lock/lock_file.hpp"
#include "state/state.hpp"
#include "util/text.hpp"

namespace rotator::cli {

std::optional<lock::LockFile> prepare_and_lock(Invocation& inv);

namespace {

// The context jobs run in: plan lines of a dry run go to stdout.
jobs::RunContext run_context(Invocation& inv) {
  return jobs::RunContext{inv.fs,
                          inv.cfg,
                          inv.zone,
                          inv.now,
                          inv.dry_run,
                          inv.log,
                          [](std::string_view line) { fmt::print("{}\n", line); },
                          inv.command};
}

// After the run's lock is released: the trash the snapshot jobs of `level`
// ("" = every snapshot job, for prune) queued, deleted without the lock
// (jobs/snapshot_job.hpp, step 6). A failure is a warning: what is left
// queued is deleted by the next run. Returns the exit status `rc` or, when
// it was ok and deleting failed, k_exit_warning.
int delete_trash_after_unlock(Invocation& inv, jobs::RunContext& ctx, const std::string& level,
                              int rc) {
  if (inv.dry_run == DryRun::yes) {
    return rc;
  }
  for (const auto& job : inv.cfg.jobs) {
    auto levels = job.levels();
    if (job.type != config::JobType::snapshot ||
        (!level.empty() && std::find(levels.begin(), levels.end(), level) == levels.end())) {
      continue;
    }
    std::string done;
    if (auto st = jobs::delete_queued_trash(ctx, job, done); !st) {
      inv.log.warning("[{}] deleting the trash after the unlock failed (the next run resumes): {}",
                      job.name, st.error().message());
      rc = rc == k_exit_ok ? k_exit_warning : rc;
    } else if (!done.empty()) {
      inv.log.info("[{}] {}", job.name, done);
    }
  }
  return rc;
}

// A command's bad argument: "rotator: CMD: MESSAGE" and the usage hint, exit 1.
int argument_error(const Invocation& inv, const std::string& message) {
  fmt::print(stderr, "rotator: {}: {}\nTry 'rotator --help'.\n", inv.command, message);
  return k_exit_error;
}

// "unknown option '-x'" for what looks like an option, else "unexpected
// argument 'x'".
int bad_argument(const Invocation& inv, const std::string& arg) {
  return argument_error(
      inv, fmt::format("{} '{}'",
                       !arg.empty() && arg[0] == '-' ? "unknown option" : "unexpected argument",
                       escape_control(arg)));
}

int cmd_check(Invocation& inv) {
  if (!inv.args.empty()) {
    return bad_argument(inv, inv.args.front());
  }
  auto problems = jobs::check_environment(inv.fs, inv.cfg, inv.zone);
  if (problems.empty()) {
    fmt::print("config OK\n");
    return k_exit_ok;
  }
  for (const auto& p : problems) {
    fmt::print(stderr, "rotator: {}\n", p);
  }
  fmt::print(stderr, "rotator: {} problem{} found\n", problems.size(),
             problems.size() == 1 ? "" : "s");
  return k_exit_error;
}

// metrics_file, when configured: rewritten from the state after every run
// and every status. A failure is a warning (the backups themselves are fine).
bool write_metrics(Invocation& inv, const std::vector<jobs::JobStatus>& sts,
                   const std::string& root_bad) {
  if (inv.cfg.metrics_file.empty() || inv.dry_run == DryRun::yes) {
    return true;
  }
  auto w = jobs::write_metrics_file(inv.fs, inv.cfg.metrics_file,
                                    jobs::format_metrics(sts, root_bad, inv.now));
  if (!w) {
    inv.log.warning("cannot write metrics_file: {}", w.error().message());
    return false;
  }
  return true;
}

int cmd_status(Invocation& inv) {
  enum class Format { table, json, nagios } format = Format::table;
  for (const auto& a : inv.args) {
    if (a == "--json") {
      format = Format::json;
    } else if (a == "--nagios") {
      format = Format::nagios;
    } else {
      return bad_argument(inv, a);
    }
  }
  std::string root_bad = jobs::root_problem(inv.fs, inv.cfg);
  auto sts = jobs::collect_status(inv.fs, inv.cfg, inv.now);
  write_metrics(inv, sts, root_bad);
  switch (format) {
    case Format::json:
      fmt::print("{}", jobs::format_status_json(sts, inv.zone, inv.now, root_bad));
      break;
    case Format::nagios: {
      auto report = jobs::format_status_nagios(sts, root_bad);
      fmt::print("{}", report.line);
      return report.exit_code;
    }
    case Format::table: {
      bool quiet = inv.log.verbosity() == log::Verbosity::quiet;
      if (!root_bad.empty()) {
        fmt::print("rotator: {}\n", escape_control(root_bad));
      } else {
        fmt::print("{}",
                   jobs::format_status_table(
                       sts, inv.zone, quiet ? jobs::OnlyProblems::yes : jobs::OnlyProblems::no));
      }
      break;
    }
  }
  return root_bad.empty() ? jobs::status_exit_code(sts) : k_exit_error;
}

// rotator prune [-n] [--explain]: recovery and expiry of every snapshot job,
// creating nothing (jobs::prune_snapshot).
int cmd_prune(Invocation& inv) {
  jobs::Explain explain = jobs::Explain::no;
  for (const auto& a : inv.args) {
    if (a == "--explain") {
      explain = jobs::Explain::yes;
    } else {  // -n / --dry-run is a global option: rotator_main took it
      return bad_argument(inv, a);
    }
  }
  auto lock = prepare_and_lock(inv);
  if (!lock) {
    return k_exit_error;
  }
  jobs::RunContext ctx = run_context(inv);
  ctx.trash_deletion = jobs::RunContext::TrashDeletion::after_unlock;
  bool any = false;
  bool failed = false;
  for (const auto& job : inv.cfg.jobs) {
    if (job.type != config::JobType::snapshot) {
      continue;
    }
    any = true;
    if (explain == jobs::Explain::yes || inv.dry_run == DryRun::yes) {
      fmt::print("[{}]\n", job.name);
    }
    auto r = jobs::prune_snapshot(ctx, job, explain);
    if (r.outcome == state::Outcome::error) {
      failed = true;
      inv.log.error("[{}] prune failed: {}", job.name, r.error);
    } else {
      inv.log.info("[{}] prune: {}", job.name, r.summary);
    }
  }
  if (!any) {
    inv.log.info("no snapshot jobs: nothing to prune");
  }
  int rc = failed || inv.log.errors() > 0 ? k_exit_error
           : inv.log.warnings() > 0       ? k_exit_warning
                                          : k_exit_ok;
  lock->release();  // the next run need not wait for the deletion
  return delete_trash_after_unlock(inv, ctx, "", rc);
}

}  // namespace

const std::vector<Command> k_commands = {
    {"check", cmd_check, 0, "validate the configuration and the environment"},
    {"status", cmd_status, 0, "last success/failure of every job"},
    {"prune", cmd_prune, k_needs_lock, "recover and expire snapshot generations, creating nothing"},
    {"versions", cmd_versions, 0, "every version of a file, or the history of a directory"},
    {"find", cmd_find, 0, "paths in any place whose name matches a pattern"},
    {"restore", cmd_restore, 0, "copy a version out of the history"},
    {"diff", cmd_diff, 0, "what changed between two places"},
    {"du", cmd_du, 0, "size, exclusive size and freed-if-deleted of every place"},
};

const Command* find_command(const std::string& name) {
  for (const auto& c : k_commands) {
    if (name == c.name) {
      return &c;
    }
  }
  return nullptr;
}

// The root exists (never created), the state directory exists, the lock is
// held. Returns the lock (keep it alive while working) or nullopt after
// logging why not.
std::optional<lock::LockFile> prepare_and_lock(Invocation& inv) {
  auto root = inv.fs.lstat(fs::k_cwd, inv.cfg.root + "/.");
  if (!root || !root->is_dir()) {
    inv.log.error(
        "root '{}' does not exist or is not a directory (rotator never creates it; is "
        "the backup disk mounted?)",
        inv.cfg.root);
    return std::nullopt;
  }
  // .rotator is opened O_NOFOLLOW and the default lock relative to it, so
  // neither a symlinked .rotator nor a symlinked lock is written through.
  auto state_dir = state::open_state_dir(inv.fs, inv.cfg.state_dir, state::Create::yes);
  if (!state_dir) {
    inv.log.error("{}", state_dir.error().message());
    return std::nullopt;
  }
  std::string holder = fmt::format("command={}\nstarted={}\n", inv.command_line,
                                   inv.zone.format("%Y-%m-%dT%H:%M:%S%z", now_instant()));
  auto lock = inv.cfg.lockfile == inv.cfg.state_dir + "/lock"
                  ? lock::LockFile::acquire_at(inv.fs, state_dir->fd(), "lock", inv.cfg.lockfile,
                                               inv.wait_seconds, holder)
                  : lock::LockFile::acquire(inv.fs, inv.cfg.lockfile, inv.wait_seconds, holder);
  if (!lock) {
    inv.log.error("{}", lock.error().message());
    return std::nullopt;
  }
  return std::move(*lock);
}

int cmd_level(Invocation& inv) {
  if (!inv.args.empty()) {
    return bad_argument(inv, inv.args.front());
  }
  auto lock = prepare_and_lock(inv);
  if (!lock) {
    return k_exit_error;
  }
  jobs::RunContext ctx = run_context(inv);
  ctx.trash_deletion = jobs::RunContext::TrashDeletion::after_unlock;
  auto started = std::chrono::steady_clock::now();
  int rc = jobs::run_level(ctx, inv.command);
  // The metrics' clock: the (possibly --now) start plus the run's duration.
  Instant after = inv.now + std::chrono::duration_cast<std::chrono::seconds>(
                                std::chrono::steady_clock::now() - started);
  auto sts = jobs::collect_status(inv.fs, inv.cfg, after);
  Invocation at_end = inv;
  at_end.now = after;
  if (!write_metrics(at_end, sts, jobs::root_problem(inv.fs, inv.cfg)) && rc == k_exit_ok) {
    rc = k_exit_warning;
  }
  lock->release();  // committed, state and metrics written: the next run may start
  return delete_trash_after_unlock(inv, ctx, inv.command, rc);
}

}  // namespace rotator::cli
