// One sorted walk of the same directory in several places at once, for
// `find` and `versions DIR`: memory O(the listings on the current path),
// not O(the tree).
//
// merge_walk lists the directory `starts[i].path` of every start, merges the
// listings by name and visits each name once with its sightings (one per
// start holding it, in the order of `starts`), then descends into it in the
// starts where it is a directory. The visits come in the order of the full
// relative paths as strings (bytewise, as std::map<std::string> orders
// them): a directory's subtree "d/..." comes after a sibling "d.x" ('.' <
// '/'), so the walk defers each subtree until the next sibling sorts after
// "d/". Types come from d_type (lstat only for DT_UNKNOWN); no file is
// stat'ed or read.
//
// Descriptors: one per start and directory level on the current path.
//
// Error handling: a listing or open that fails with ENOENT in a place that
// vanished (history::vanished) drops that start for the rest of the walk
// and appends the place's qualified name to `vanished`; any other error ends
// the walk with that error restated (with_context) as "read" of PLACE_PATH/REL.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "fs/fs.hpp"
#include "history/catalogue.hpp"
#include "util/result.hpp"

namespace rotator::history {

struct MergeStart {
  const Place* place = nullptr;
  std::string path;  // the directory to walk (the place's root, or PATH in it)
};

struct Sighting {
  size_t start = 0;  // index into the starts
  fs::FileType type = fs::FileType::unknown;
  ino_t ino = 0;
};

// `rel` is `prefix` joined with the path below the starts; `name` its last
// component.
using MergeVisit = std::function<void(const std::string& rel, const std::string& name,
                                      const std::vector<Sighting>& seen)>;

struct MergeCounts {
  long entries = 0;                   // entries listed, summed over the starts
  std::vector<std::string> vanished;  // qualified names of places that vanished
};

Status merge_walk(fs::Fs& fs, const std::vector<MergeStart>& starts, const std::string& prefix,
                  const MergeVisit& visit, MergeCounts& counts);

// True when every path below directory `dir` sorts before `name` (a sibling
// of `dir`), i.e. dir + "/" < name bytewise.
bool subtree_before(const std::string& dir, const std::string& name);

}  // namespace rotator::history
