#include "cli/commands.hpp"

#include <getopt.h>

#include <cerrno>

#include <fmt/format.h>

#include "jobs/check.hpp"
#include "jobs/runner.hpp"
#include "jobs/status.hpp"
#include "lock/lock_file.hpp"

namespace rotator::cli {

namespace {

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

}  // namespace

const std::vector<Command> k_commands = {
    {"check", cmd_check, 0, "validate the configuration and the environment"},
    {"status", cmd_status, 0, "last success/failure of every job"},
};

const Command* find_command(const std::string& name) {
  for (const auto& c : k_commands) {
    if (name == c.name) {
      return &c;
    }
  }
  return nullptr;
}

int cmd_level(Invocation& inv) {
  if (!inv.args.empty()) {
    fmt::print(stderr, "rotator: {}: unexpected argument '{}'\n", inv.command, inv.args.front());
    return k_exit_error;
  }
  auto root = inv.fs.lstat(fs::k_cwd, inv.cfg.root);
  if (!root || !root->is_dir()) {
    inv.log.error("root '{}' does not exist or is not a directory (rotator never creates it; is "
                  "the backup disk mounted?)",
                  inv.cfg.root);
    return k_exit_error;
  }
  auto made = inv.fs.mkdir(fs::k_cwd, inv.cfg.state_dir, 0755);
  if (!made && made.error().sys_errno != EEXIST) {
    inv.log.error("{}", made.error().message());
    return k_exit_error;
  }
  auto lock = lock::LockFile::acquire(
      inv.fs, inv.cfg.lockfile, inv.wait_seconds,
      fmt::format("command={}\nstarted={}\n", inv.command_line,
                  inv.zone.format("%Y-%m-%dT%H:%M:%S%z", now_instant())));
  if (!lock) {
    inv.log.error("{}", lock.error().message());
    return k_exit_error;
  }
  jobs::RunContext ctx{inv.fs, inv.cfg, inv.zone, inv.now, inv.dry_run, inv.log,
                       [](std::string_view line) { fmt::print("{}\n", line); }, inv.command};
  return jobs::run_level(ctx, inv.command);
}

}  // namespace rotator::cli
