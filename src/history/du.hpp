// `rotator du [JOB]`: what each place costs and what deleting it would free.
//
// For each snapshot generation, backup and holding folder (of JOB, or of
// every job), oldest first:
//   apparent    st_size of its distinct inodes, directories included (what
//               `du -sb PLACE` says for it alone);
//   exclusive   disk bytes (st_blocks x 512) freed if only this place were
//               deleted: its directories, and its files whose every link
//               (st_nlink) lies inside it;
//   freed       disk bytes freed if this place and every older one listed
//               were deleted: files whose every link lies in those places.
// and the root's real total: every inode under root once (what `du -sB1
// ROOT` says); then, for each clone job with relink = yes, what its relinks
// saved (from its state file: the last run, and the sum since the first run
// that recorded one): data the history shares instead of storing again,
// which the figures above no longer contain.
//
// It counts, per place, the links it finds of each inode against st_nlink;
// the running total keeps only inodes with links still unseen (at most about
// one place's worth), so memory stays O(one place). The root total keeps the
// inodes with st_nlink > 1, as du does.
//
// Tolerance: a place that vanishes while read gets `vanished` and is left
// out of the running total.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "fs/fs.hpp"
#include "history/catalogue.hpp"
#include "util/json.hpp"

namespace rotator::history {

struct DuRow {
  const Place* place = nullptr;
  long long apparent = 0;
  long long exclusive = 0;
  long long freed = 0;
  long entries = 0;
  bool vanished = false;
};

// What relink = yes saved for a clone job (its state file: the last run's
// counts and the sums since `since`; -1 / unset: not recorded yet).
struct RelinkSaved {
  std::string job;
  long long last_files = -1;
  long long last_bytes = -1;
  long long total_files = -1;
  long long total_bytes = -1;
  std::optional<Instant> since;
};

struct DuResult {
  std::vector<DuRow> rows;   // oldest first
  long long root_bytes = 0;  // disk bytes under root, each inode once
  std::string root;
  // Each clone job with relink = yes (JOB empty, or JOB itself), in config
  // order: the data its relinks keep from being stored twice.
  std::vector<RelinkSaved> relink;
};

// `job` empty: every job's places. Error: unknown job, or a read error.
Result<DuResult> disk_usage(fs::Fs& fs, const Catalogue& cat, const std::string& job);

std::string format_du(const DuResult& d, const Zone& zone);
json::Json du_json(const DuResult& d, const Zone& zone);

}  // namespace rotator::history
