// Running child programs (rsync, pre_exec/post_exec): fork + execvp, no shell.
//
// Output is delivered line by line to `on_line` as it arrives, so a long
// rsync listing is never held in memory.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/result.hpp"

namespace rotator {

enum class Stream { out, err };

struct ProcessResult {
  int exit_code = 0;  // the child's exit status; 128+N when killed by signal N
  bool signaled = false;
};

// Runs `argv` (argv[0] looked up in PATH) with stdin from /dev/null and
// LC_ALL=C (output rotator parses must not depend on the locale).
// Error only when the program cannot be started at all (ENOENT etc.: message
// "failed to run 'rsync': No such file or directory").
// `env` adds (or replaces) environment variables in the child only.
using EnvVars = std::vector<std::pair<std::string, std::string>>;
Result<ProcessResult> run_process(const std::vector<std::string>& argv,
                                  const std::function<void(Stream, std::string_view)>& on_line,
                                  const EnvVars& env = {});

// Shell-style quoting of an argv for logs and dry-run output.
std::string quote_argv(const std::vector<std::string>& argv);

}  // namespace rotator
