// Per-job run state under <root>/.rotator/state/<job>.state.
//
// A small "key=value" text file per job, replaced atomically (write
// <job>.state.tmp, fsync, rename, fsync the directory) so a crash leaves
// either the old or the new state, never a torn one.
// Values are escaped with util/text.hpp escape_text (control characters as
// \r, \n, \xHH; backslash doubled), so a value is always one line.
//
// Fields: the last run's start, end, result and summary; the last success
// and the last failure with their summaries; `running` + `resume` while a
// run is under way (a crashed run leaves them, and the next run resumes:
// e.g. the weekly job reuses the holding folder it had chosen).
#pragma once

#include <map>
#include <optional>
#include <string>

#include "fs/fs.hpp"
#include "util/result.hpp"
#include "util/zone.hpp"

namespace rotator::state {

enum class Outcome { none, ok, warning, partial, error, running };

const char* outcome_name(Outcome o);
Outcome parse_outcome(const std::string& s);

struct JobState {
  std::optional<Instant> last_start;
  std::optional<Instant> last_end;
  Outcome last_result = Outcome::none;
  std::string last_summary;
  std::optional<Instant> last_success;  // end of the last ok/warning run
  std::string last_success_summary;
  std::optional<Instant> last_failure;
  std::string last_failure_message;
  // What the last finished run processed (-1: not recorded): entries (the
  // progress line's expected total next time) and bytes.
  long long last_entries = -1;
  long long last_bytes = -1;
  // Clone jobs with relink = yes: the files the last finished run replaced
  // by a hard link to history, and the bytes that saved (-1: not recorded:
  // relink off, the step failed, or rsync stopped before it).
  long long last_relinked_files = -1;
  long long last_relinked_bytes = -1;
  // The same, summed over every run that recorded them since
  // `relinked_since` (the end of the first such run; -1 / unset: none yet).
  long long relinked_files_total = -1;
  long long relinked_bytes_total = -1;
  std::optional<Instant> relinked_since;
  // The clone's link-efficiency warning of the last run that gave one,
  // cleared by the next run that completes without it (`status` shows it).
  std::string churn_warning;
  // Free-form resume data for an interrupted run (job-specific keys).
  std::map<std::string, std::string> resume;

  // Not part of the file; set by parse() / load():
  // Why the file is not a valid state ("is empty", "is corrupt (line 3: ...)";
  // load() prefixes "state file 'PATH' "), empty when it is fine. What could
  // be read is kept.
  std::string defect;
  // The last save of this state failed (save() recorded why, e.g. "No space
  // left on device"): the file is older than the last run. Empty when not.
  std::string unsaved;
};

std::string serialize(const JobState& st);
// Never fails: a defect is reported in `defect`.
JobState parse(const std::string& text);

enum class Create { no, yes };

// Opens `state_dir` (<root>/.rotator) for descriptor-relative use. Its parent
// (root, which may be a symlink) is followed; `.rotator` itself is opened
// O_NOFOLLOW|O_DIRECTORY, so a symlink there is refused ("'…/.rotator' is a
// symlink or not a directory: …; move it away"), never written through.
// Create::yes makes it when missing. ENOENT (Create::no, missing) is
// returned as is.
Result<fs::DirHandle> open_state_dir(fs::Fs& fs, const std::string& state_dir, Create create);

// Reads the state of `job` (a default JobState when there is none). The
// state directory and the file are never followed through a symlink.
Result<JobState> load(fs::Fs& fs, const std::string& state_dir, const std::string& job);
// Atomically replaces the state of `job`; creates `state_dir`/state if needed.
// When it fails (a full disk: ENOSPC), the cause is recorded beside the state
// as the symlink `<job>.unsaved` whose target is the strerror text (an
// inode-only record, short enough to need no data block), so that the next
// load() reports it in `unsaved` instead of a stale "running"; the next
// successful save removes it.
Status save(fs::Fs& fs, const std::string& state_dir, const std::string& job, const JobState& st);

}  // namespace rotator::state
