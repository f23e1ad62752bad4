// Selector: what the link-mirror engine asks a filter while it walks.
//
// Calling sequence (the engine walks the source tree depth first):
//   enter_dir(fs, fd, "")            for the root, before any entry of it
//   included("a", is_dir) ...        for each entry of the directory
//   enter_dir(fs, fd_of_a, "a")      when it descends into an included dir "a"
//   ... leave_dir()                  when it is done with "a"
// Paths are relative to the source root, '/'-separated, no leading or
// trailing '/'. `is_dir` is from lstat (a symlink is never a directory).
//
// included(): rsync sender-side verdict (first matching rule wins, no match
// = included); an excluded directory is never entered.
// protects(): rsync receiver-side protection (P rules, `r` modifier), i.e.
// a destination entry that is not included but must not be removed, as
// under `rsync --delete --delete-excluded`.
//
// Error handling: enter_dir reads per-directory merge files through `fs`; a
// parse error there is returned as "FILE:LINE: message" and aborts the walk.
#pragma once

#include <string>

#include "fs/fs.hpp"
#include "util/result.hpp"

namespace rotator::filter {

class Selector {
 public:
  virtual ~Selector() = default;
  virtual Status enter_dir(fs::Fs& fs, int src_dir_fd, const std::string& rel_dir) = 0;
  virtual void leave_dir() = 0;
  virtual bool included(const std::string& rel_path, bool is_dir) = 0;
  virtual bool protects(const std::string& rel_path, bool is_dir) = 0;
  // rsync -m: whether a directory that ends up holding no selected
  // non-directory is kept anyway. rsync prunes after the file list is built,
  // so only receiver-side protection from rules outside per-directory files
  // counts (`P dir/`); the ancestors of a kept directory are kept too.
  virtual bool keeps_empty_dir(const std::string& rel_dir) { return protects(rel_dir, true); }
  // True when included() is always true and protects() always false, so the
  // engine may skip the calls.
  virtual bool selects_everything() const { return false; }
};

// No filter: everything is selected, nothing protected.
class SelectAll final : public Selector {
 public:
  Status enter_dir(fs::Fs&, int, const std::string&) override { return ok(); }
  void leave_dir() override {}
  bool included(const std::string&, bool) override { return true; }
  bool protects(const std::string&, bool) override { return false; }
  bool keeps_empty_dir(const std::string&) override { return false; }
  bool selects_everything() const override { return true; }
};

}  // namespace rotator::filter
