// The command table.
//
// How to add a command: write `int cmd_NAME(Invocation&)` in commands.cpp (or
// its own cmd_NAME.cpp), add a row to k_commands with its flags, document it
// in man/rotator.1 and the usage text (usage.cpp), and add an integration
// test. A command named like a level shadows nothing: level names that equal
// a command are rejected by the config loader.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "core/types.hpp"
#include "fs/fs.hpp"
#include "jobs/job.hpp"
#include "log/log.hpp"
#include "util/zone.hpp"

namespace rotator::cli {

struct Invocation {
  fs::Fs& fs;
  config::Config& cfg;
  log::Logger& log;
  Zone zone;
  Instant now;
  DryRun dry_run = DryRun::no;
  int wait_seconds = 0;  // --wait: -1 forever
  std::string command;
  std::vector<std::string> args;  // after the command
  std::string command_line;       // for the lock holder info
};

enum CommandFlags : unsigned { k_needs_lock = 1 };

struct Command {
  const char* name;
  int (*run)(Invocation&);
  unsigned flags;
  const char* summary;
};

extern const std::vector<Command> k_commands;

const Command* find_command(const std::string& name);
// Runs a level (every job that answers to it), under the lock.
int cmd_level(Invocation& inv);

extern const char* const k_usage_text;

}  // namespace rotator::cli
