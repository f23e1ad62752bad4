#include "cli/commands.hpp"

#include <getopt.h>

#include <cerrno>
#include <optional>

#include <fmt/format.h>

#include "jobs/check.hpp"
#include "jobs/runner.hpp"
#include "jobs/snapshot_job.hpp"
#include "jobs/status.hpp"
#include "lock/lock_file.hpp"
#include "state/state.hpp"

namespace rotator::cli {

std::optional<lock::LockFile> prepare_and_lock(Invocation& inv);

namespace {

// The context jobs run in: plan lines of a dry run go to stdout.
jobs::RunContext run_context(Invocation& inv) {
  return jobs::RunContext{inv.fs, inv.cfg, inv.zone, inv.now, inv.dry_run, inv.log,
                          [](std::string_view line) { fmt::print("{}\n", line); }, inv.command};
}

int cmd_check(Invocation& inv) {
  auto problems = jobs::check_environment(inv.fs, inv.cfg);
  if (problems.empty()) {
    fmt::print("config OK\n");
    return k_exit_ok;
  }
  for (const auto& p : problems) {
    fmt::print(stderr, "rotator: {}\n", p);
  }
  fmt::print(stderr, "rotator: {} problem{} found\n", problems.size(), problems.size() == 1 ? "" : "s");
  return k_exit_error;
}

int cmd_status(Invocation& inv) {
  bool json = false;
  for (const auto& a : inv.args) {
    if (a == "--json") {
      json = true;
    } else {
      fmt::print(stderr, "rotator: status: unknown option '{}'\n", a);
      return k_exit_error;
    }
  }
  auto sts = jobs::collect_status(inv.fs, inv.cfg, inv.now);
  if (json) {
    fmt::print("{}", jobs::format_status_json(sts, inv.zone, inv.now));
  } else {
    fmt::print("{}", jobs::format_status_table(sts, inv.zone));
  }
  for (const auto& s : sts) {
    if (!s.healthy) {
      return k_exit_error;
    }
  }
  return k_exit_ok;
}

// rotator prune [-n] [--explain]: recovery and expiry of every snapshot job,
// creating nothing (jobs::prune_snapshot).
int cmd_prune(Invocation& inv) {
  jobs::Explain explain = jobs::Explain::no;
  for (const auto& a : inv.args) {
    if (a == "--explain") {
      explain = jobs::Explain::yes;
    } else if (a == "-n" || a == "--dry-run") {
      inv.dry_run = jobs::DryRun::yes;
    } else {
      fmt::print(stderr, "rotator: prune: unknown option '{}'\n", a);
      return k_exit_error;
    }
  }
  auto lock = prepare_and_lock(inv);
  if (!lock) {
    return k_exit_error;
  }
  jobs::RunContext ctx = run_context(inv);
  bool any = false;
  bool failed = false;
  for (const auto& job : inv.cfg.jobs) {
    if (job.type != config::JobType::snapshot) {
      continue;
    }
    any = true;
    if (explain == jobs::Explain::yes || inv.dry_run == jobs::DryRun::yes) {
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
  if (failed || inv.log.errors() > 0) {
    return k_exit_error;
  }
  return inv.log.warnings() > 0 ? k_exit_warning : k_exit_ok;
}

}  // namespace

const std::vector<Command> k_commands = {
    {"check", cmd_check, 0, "validate the configuration and the environment"},
    {"status", cmd_status, 0, "last success/failure of every job"},
    {"prune", cmd_prune, k_needs_lock, "recover and expire snapshot generations, creating nothing"},
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
    inv.log.error("root '{}' does not exist or is not a directory (rotator never creates it; is "
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
    fmt::print(stderr, "rotator: {}: unexpected argument '{}'\n", inv.command, inv.args.front());
    return k_exit_error;
  }
  auto lock = prepare_and_lock(inv);
  if (!lock) {
    return k_exit_error;
  }
  jobs::RunContext ctx = run_context(inv);
  return jobs::run_level(ctx, inv.command);
}

}  // namespace rotator::cli
