// The catalogue of places: the one definition of "what generations exist".
//
// A *place* is a tree under root with a time attached:
//   clone       a clone job's path; its content is current now. `time` is the
//               clone's last success (state), `current` is set.
//   backup      a backup job's path; `time` = the job's last success (state;
//               the directory's mtime when there is none).
//   holding     a folder `holding/<holding_format>[.K]` of a backup job;
//               `time` = the date its name denotes. Its entries were current
//               *until* then (the weekly run of that date displaced them).
//   snapshot    a committed generation of a snapshot job: LEVEL.N (naming =
//               rotate; `time` = the generation directory's mtime, which the
//               snapshot job sets to the commit time) or <name_format>[.K]
//               (naming = dated; `time` = what the name denotes).
// Names that are not generations (.rotator-staging, .trash, latest, foreign
// names, ".rotator-deleting.*" holding folders) are never places.
//
// Every job (snapshot, backup) and every history command (versions, find,
// restore, diff, du) lists generations through this module.
//
// Lineage: all places fed by one clone job hold the same relative paths
// (`Documents/novel.txt`); the lineage of a place is the name of that clone
// job (or "path:<from>" for a job whose `from` is no clone job's path).
//
// Error handling: listing a directory that does not exist yields no places
// (a job that never ran); any other error is returned. Nothing here takes the
// lock: a generation may appear or vanish between listing and reading, and
// readers must treat ENOENT on a place's root as "vanished" (see vanished()).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "fs/fs.hpp"
#include "util/result.hpp"
#include "util/zone.hpp"

namespace rotator::history {

enum class PlaceKind { clone, backup, holding, snapshot };

const char* place_kind_name(PlaceKind kind);

struct Place {
  PlaceKind kind = PlaceKind::clone;
  const config::Job* job = nullptr;
  std::string name;      // "clone", "backup", "holding/2026-11-22", "daily.3", "2026-11-22_020000"
  std::string entry;     // the directory's own name in its parent ("2026-11-22", "daily.3")
  std::string path;      // absolute
  Instant time{};        // see the file comment
  int order = 0;         // tie-break among equal times: higher is newer
  bool current = false;  // the clone: its content is current now
  std::string lineage;   // clone job name (see the file comment)

  // "JOB:NAME", accepted wherever a place is named.
  std::string qualified() const;
};

// One snapshot directory as a job sees it: every entry name (sorted) and the
// committed generations among them with their times, oldest first.
struct GenerationListing {
  bool exists = false;             // the directory exists
  std::vector<std::string> names;  // every entry of the directory, sorted
  std::vector<Place> generations;  // oldest first
};

// Lists snapshot job `job`'s directory. Missing directory: empty listing.
// An entry named like one of its generations (LEVEL.N of a level of `keep`,
// or a name parsing as name_format) that is not a real directory (a
// symlink, even to a directory; a file; ...) is an Error naming it
// (not_a_generation): every job, `check`, `prune` and the history commands
// list through here, so none of them shifts, expires, recycles or reads it.
Result<GenerationListing> list_generations(fs::Fs& fs, const config::Job& job, const Zone& zone);

// "snapshot 'daily.0' is a symlink, not a directory: move it out of
// '/srv/snapshots' and rerun"
Error not_a_generation(const config::Job& job, const std::string& name, fs::FileType type);

// The holding folders of backup job `job` (names parsing as holding_format),
// oldest first, plus every entry name of the holding directory (sorted).
struct HoldingListing {
  bool exists = false;
  std::vector<std::string> names;
  std::vector<Place> folders;
};
Result<HoldingListing> list_holding(fs::Fs& fs, const config::Job& job, const Zone& zone);

// The lineage of `job` in `cfg` (see the file comment).
std::string lineage_of(const config::Config& cfg, const config::Job& job);

class Catalogue {
 public:
  // Lists every place of every job of `cfg`. `now` is the clone's time.
  static Result<Catalogue> load(fs::Fs& fs, const config::Config& cfg, const Zone& zone,
                                Instant now);

  // Every place, oldest first (by time, then order); clones last.
  const std::vector<Place>& places() const { return m_places; }
  // The places of one lineage, oldest first.
  std::vector<const Place*> of_lineage(const std::string& lineage) const;
  // Distinct lineages, in config order.
  const std::vector<std::string>& lineages() const { return m_lineages; }

  // A place named by `spec`: "clone", "backup", "holding/DATE", a generation
  // name, "JOB:NAME", or "@WHEN" (the place current at WHEN: the newest
  // snapshot or backup at or before WHEN, or the clone when WHEN is at or
  // after its last success). Error (message for the user) when unknown or
  // ambiguous.
  Result<const Place*> find(const std::string& spec, const Zone& zone, Instant now) const;

  // The place current at `when` within `lineage` (holding folders excluded);
  // nullptr when `when` is before every place.
  const Place* current_at(Instant when, const std::string& lineage) const;

  // A user's PATH resolved to (lineage, path relative to the clone root):
  //   a relative path (only with one lineage, else ambiguous);
  //   an absolute path inside a place (or a snapshot job's `latest`);
  //   a path under a clone source that is a local directory or host:/dir/.
  // "" as rel means the root itself. Error when outside every place.
  struct Resolved {
    std::string lineage;
    std::string rel;
  };
  Result<Resolved> resolve(const std::string& path) const;

  const config::Config& config() const { return *m_cfg; }

 private:
  const config::Config* m_cfg = nullptr;
  std::vector<Place> m_places;
  std::vector<std::string> m_lineages;
};

// WHEN as the history commands take it: "2026-11-24" (the end of that local
// day, 23:59:59), "2026-11-24T14:00[:SS]" or "2026-11-24 14:00", or an age
// counted back from `now` ("10d", "3w", "36h", as in max_age).
Result<Instant> parse_when(const std::string& text, const Zone& zone, Instant now);

// True when place `p`'s root no longer exists (it vanished while reading).
bool vanished(fs::Fs& fs, const Place& p);

// `base` joined with `rel` ("" or "." = base itself).
std::string join(const std::string& base, const std::string& rel);

}  // namespace rotator::history
