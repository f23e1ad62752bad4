// `rotator versions` and `rotator find`: what the places hold of a path.
//
// The same inode is the same version: no file content is ever read.
//
// file_versions(PATH): one fstatat of PATH in every place of its lineage (a
// few hundred calls, no tree walk). Each distinct (dev, inode) of a file or
// symlink is one Version; directory sightings are grouped into Version rows
// of type directory, one per run of consecutive places. Versions are oldest
// first (by first sighting).
//   first_seen / last_seen: the earliest / latest time of a place holding it
//   (a holding folder's time is the day its entries were displaced: they
//   were current until then); `current` when the clone holds it.
//
// tree_versions(DIR): walks DIR in every place at once (merge_walk) and
// gives each path below it to a sink, in path order, as it is found: number
// of versions (distinct inodes of non-directories), whether the clone has
// it, and for a path gone from the clone the interval in which it was
// deleted: after `last_present` (its newest sighting in a clone, backup or
// snapshot) and by `gone_by` (the next such place lacking it, or an earlier
// holding folder holding it).
//
// find_paths(PATTERN): walks the places of each lineage at once (memory
// O(the listings on the current path), not O(the tree)); an entry whose
// name (or, when the pattern contains '/', whose whole relative path; a
// leading '/' is ignored) matches the rsync wildmatch PATTERN goes to the
// sink, grouped by path, with its number of versions (distinct d_ino: no
// stat) and last sighting. Below a matching directory the walk goes on (a
// match inside it is reported too).
//
// Tolerance: a place that vanishes while it is read (a run holds the lock
// and expires it) is listed in `vanished` and skipped; any other error is
// returned.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "fs/fs.hpp"
#include "history/catalogue.hpp"
#include "util/json.hpp"

namespace rotator::history {

struct Version {
  fs::FileType type = fs::FileType::unknown;
  dev_t dev = 0;
  ino_t ino = 0;
  off_t size = 0;
  timespec mtime{};
  std::string target;                // symlink target
  std::vector<const Place*> places;  // oldest first
  Instant first_seen{};
  Instant last_seen{};
  bool current = false;
};

struct FileVersions {
  std::string rel;
  std::vector<Version> versions;      // oldest first
  std::vector<const Place*> absent;   // places of the lineage without the path
  std::vector<std::string> vanished;  // places that vanished while read
};

Result<FileVersions> file_versions(fs::Fs& fs, const Catalogue& cat,
                                   const Catalogue::Resolved& path);

struct PathHistory {
  fs::FileType type = fs::FileType::unknown;  // in its newest sighting
  std::vector<ino_t> inodes;                  // distinct, non-directories only
  bool in_clone = false;
  std::optional<Instant> last_present;  // newest sighting outside holding
  std::optional<Instant> last_seen;     // newest sighting anywhere
  std::optional<Instant> gone_by;       // see the file comment
  const Place* last_place = nullptr;
};

// Called once per path, in the order of the paths as strings (bytewise).
using PathSink = std::function<void(const std::string& rel, const PathHistory& h)>;

struct TreeVersions {
  std::string rel;
  std::vector<std::string> vanished;
  long paths = 0;  // paths given to the sink
};

// Gives every path below DIR to `sink` as the walk finds it (memory: the
// listings on the current path, not the tree).
Result<TreeVersions> tree_versions(fs::Fs& fs, const Catalogue& cat,
                                   const Catalogue::Resolved& path, const PathSink& sink);

struct FindResult {
  std::vector<std::string> vanished;
  long entries = 0;  // entries looked at
  long paths = 0;    // paths given to the sink: "rel" (or "LINEAGE:rel" with several)
};

// `progress(done_places, all_places, entries)` is called after each lineage
// and every 65536 entries (may be empty). Matches go to `sink` as found.
Result<FindResult> find_paths(fs::Fs& fs, const Catalogue& cat, const std::string& pattern,
                              const std::function<void(size_t, size_t, long)>& progress,
                              const PathSink& sink);

// Place names of `places`, runs of one rotate level compressed: "daily.0..3,
// weekly.1, backup, holding/2026-11-22".
std::string place_list(const std::vector<const Place*>& places);

// Text and JSON renderings (the JSON carries the same facts).
std::string format_file_versions(const FileVersions& v, const Zone& zone);
json::Json file_versions_json(const FileVersions& v, const Zone& zone);
// One line of `versions DIR` / of `find` for a path; the notes for places
// that vanished; the JSON object of a path (of both commands).
std::string format_tree_path(const std::string& rel, const PathHistory& h, const Zone& zone);
std::string format_find_path(const std::string& rel, const PathHistory& h, const Zone& zone);
std::string format_vanished(const std::vector<std::string>& vanished);
json::Json path_history_json(const std::string& rel, const PathHistory& h, const Zone& zone);

// "2026-11-22 02:00" in `zone`; JSON times are ISO 8601 with offset.
std::string show_time(Instant t, const Zone& zone);
std::string iso_time(Instant t, const Zone& zone);
// A path for a text line: bytes that are not printable are escaped as \ooo
// (newline, invalid UTF-8 stays visible and one line).
std::string show_path(const std::string& path);

}  // namespace rotator::history
