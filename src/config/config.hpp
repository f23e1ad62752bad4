// The typed configuration and its loader.
//
// load_config() reads the INI file through the Fs, validates every key
// against the key table (k_config_keys in config.cpp) and returns a Config or an Error
// whose message lists every problem, one per line, each as
// "FILE:LINE: message" (e.g. "rotator.conf:12: unknown key 'holdng' in
// [backup]; did you mean 'holding'?").
//
// Paths in the result are absolute: relative job paths resolve under `root`;
// a relative path that escapes root ("../x") is an error.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/types.hpp"
#include "fs/fs.hpp"
#include "util/duration.hpp"
#include "util/result.hpp"

namespace rotator::config {

enum class JobType { clone, backup, snapshot };
enum class Naming { rotate, dated };
enum class ProtectMetadata { no, yes };
// sync: commit = make each run durable at its commit points (fsync_dir,
// syncfs); none = skip those syncs (fs/nosync_fs.hpp states the cost).
enum class Sync { commit, none };
enum class Relink { no, yes };

const char* job_type_name(JobType type);

struct Job {
  std::string name;                      // the INI section name
  int line = 0;                          // line of the [section] header
  std::map<std::string, int> key_lines;  // line of each key set in the section
  JobType type = JobType::clone;
  std::vector<std::string> run_on;     // levels that run this job
  std::string path;                    // absolute
  std::optional<Duration> max_age;     // explicit max_age; see effective_max_age()
  std::vector<std::string> pre_exec;   // argv; empty = none
  std::vector<std::string> post_exec;  // argv; empty = none
  std::vector<std::string> fail_exec;  // argv run when the job fails; empty = none

  // type = clone
  std::string source;
  std::vector<std::string> rsync_args;
  double max_delete = 0.5;  // fraction of the clone's entries
  // Warn when more than this share of the clone's existing files got a new
  // inode in one run (hard links to backups and snapshots broken); none = off.
  std::optional<double> churn_warn = 0.3;
  // yes: a file whose metadata rsync would change in place first gets a new
  // inode in the clone, so history keeps the old metadata (clone_protect.hpp).
  ProtectMetadata protect_metadata = ProtectMetadata::no;
  // yes: after the rsync run, a new file equal (content, mode, owner, mtime,
  // xattrs) to one the newest generation holds becomes a hard link to that
  // inode, so a rename or copy on the source costs no space (clone_relink.hpp).
  Relink relink = Relink::no;

  // type = backup, snapshot
  std::string from;      // absolute path of the source tree
  std::string from_job;  // name of the clone job `from` refers to, if any

  // type = backup
  std::string filter;  // absolute path of the rules file; empty = everything
  PruneEmpty prune_empty_dirs = PruneEmpty::no;
  std::string holding;  // absolute
  std::string holding_format = "%Y-%m-%d";
  std::optional<Duration> holding_keep;  // empty = keep forever

  // type = snapshot
  Naming naming = Naming::rotate;
  std::string keep;  // raw text, parsed by retention (validated at load)
  std::string name_format = "%Y-%m-%d_%H%M%S";

  // The levels this job answers to: run_on, or for rotate snapshots the keep levels.
  std::vector<std::string> levels() const;
};

struct Config {
  std::string file;   // as given (used in messages)
  std::string root;   // absolute
  int root_line = 0;  // line of the root key (for messages)
  std::string lockfile;
  std::string logfile;  // empty = none
  bool syslog = false;
  std::string metrics_file;  // Prometheus textfile; empty = none
  std::string timezone = "local";
  std::string rsync = "rsync";
  Sync sync = Sync::commit;
  std::string state_dir;  // <root>/.rotator
  std::vector<Job> jobs;  // in file order

  // Every level name some job answers to, in first-use order.
  std::vector<std::string> levels() const;
  const Job* find_job(const std::string& name) const;
};

// max_age for `status`: the explicit one, else 1.5 x the period of the job's
// first level when that level is hourly/daily/weekly/monthly/yearly; none otherwise.
std::optional<std::chrono::seconds> effective_max_age(const Job& job);

// Parses and validates `text` as read from `file`.
Result<Config> parse_config(const std::string& file, const std::string& text);
// The overlap rule of parse_config (no tree rotator writes lies inside
// another tree of the configuration), checked where the trees really are:
// every path resolved through `fs` (symlinks followed in the existing part,
// then device+inode of each existing ancestor), so neither a symlink nor a
// second name for a directory (a bind mount) can hide an overlap. Error:
// every overlap as "FILE:LINE: message", one per line.
Status check_real_overlaps(fs::Fs& fs, const Config& cfg);
// Reads `file` through `fs`, parses it and runs check_real_overlaps (so
// `check` and every run see the trees as they are now).
Result<Config> load_config(fs::Fs& fs, const std::string& file);

// Splits a command or argument list like a shell would for words and quotes
// ('...', "...", backslash), without any expansion. Error on an unclosed quote.
Result<std::vector<std::string>> split_words(const std::string& text);

// Every key name of the key table (for the documentation test).
std::vector<std::string> config_key_names();

// Levenshtein distance, for "did you mean".
size_t edit_distance(const std::string& a, const std::string& b);

}  // namespace rotator::config
