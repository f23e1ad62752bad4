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
// Destination directories that are being deleted (not selected, not
// protected) are entered too (enter_deleted_dir), with their destination
// descriptor, before
// protects(…, InsideDeletedDir::yes) is asked about their entries: rsync's
// receiver reads per-directory files there (delete_dir_contents).
//
// Error handling: enter_dir reads per-directory merge files through `fs`; a
// parse error there is returned as "FILE:LINE: message" and aborts the walk
// (no leave_dir follows a failed enter_dir).
#pragma once

#include <string>

#include "fs/fs.hpp"
#include "util/result.hpp"

namespace rotator::filter {

// Whether a protection query is made for an entry inside a destination
// directory that is itself being deleted (rsync's delete_dir_contents):
// perishable rules (`p` modifier) are then ignored.
enum class InsideDeletedDir { no, yes };

class Selector {
 public:
  virtual ~Selector() = default;
  virtual Status enter_dir(fs::Fs& fs, int src_dir_fd, const std::string& rel_dir) = 0;
  // enter_dir() for a destination directory that is being deleted (not
  // selected, not protected): only rsync's receiver reads rule files there,
  // so a rule file that only the sender would read is not read. Left with
  // leave_dir(). Default: enter_dir().
  virtual Status enter_deleted_dir(fs::Fs& fs, int dst_dir_fd, const std::string& rel_dir) {
    return enter_dir(fs, dst_dir_fd, rel_dir);
  }
  virtual void leave_dir() = 0;
  virtual bool included(const std::string& rel_path, bool is_dir) = 0;
  virtual bool protects(const std::string& rel_path, bool is_dir) = 0;
  // protects() for an entry below a destination directory that is being
  // deleted (InsideDeletedDir::yes) or not. Default: the two-argument form
  // (a selector without perishable rules).
  virtual bool protects(const std::string& rel_path, bool is_dir, InsideDeletedDir inside) {
    (void)inside;
    return protects(rel_path, is_dir);
  }
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
  using Selector::protects;
  Status enter_dir(fs::Fs&, int, const std::string&) override { return ok(); }
  void leave_dir() override {}
  bool included(const std::string&, bool) override { return true; }
  bool protects(const std::string&, bool) override { return false; }
  bool keeps_empty_dir(const std::string&) override { return false; }
  bool selects_everything() const override { return true; }
};

}  // namespace rotator::filter
