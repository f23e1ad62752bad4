// Reference walk: the set of paths a Selector includes in a source tree.
//
// This is what `rsync -a -n --out-format=%n --filter=... [-m] SRC/ EMPTY/`
// lists: a directory is tested before its contents, an excluded directory is
// never entered, and with PruneEmpty::yes (rsync -m) a directory without a
// non-directory descendant in the list is dropped unless the selector
// protects it (then it is kept with its ancestors). As on rsync's receiver,
// that protection is asked after the walk, with no directory entered: for a
// RuleFilter only rules outside per-directory files count. The root is never
// listed.
// Meant for tests and for comparing the engine against; simple, not fast.
#pragma once

#include <string>
#include <vector>

#include "core/types.hpp"
#include "filter/selector.hpp"
#include "fs/fs.hpp"
#include "util/result.hpp"

namespace rotator::filter {

// Returns the included paths of `src_root` relative to it, in depth-first
// order with the entries of each directory sorted by name; directories end in
// '/'. Types come from d_type, lstat only when it is unknown (symlinks are
// never directories). Fails with the first Fs error or selector error.
Result<std::vector<std::string>> select_paths(fs::Fs& fs, const std::string& src_root,
                                              Selector& selector, PruneEmpty prune);

}  // namespace rotator::filter
