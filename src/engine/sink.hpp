// Sink: where the link-mirror engine sends the entries it displaces from T.
//
// A sink receives entries by rename only (never a copy), at the same relative
// path they had in T, and never overwrites anything (RENAME_NOREPLACE).
//
// Calling sequence:
//   TreeSink sink(holding_fd, "2026-11-22", "holding");
//   mirror(..., opt with opt.sink = &sink)   // calls take() per displaced entry
//   sink.folders_used()                      // for the job's summary
//
// Error handling: take() returns the Error of the failed Fs call with the
// display paths filled in ("failed to move 'backup/a' to 'holding/D/a': ...").
// Whatever it returns, the entry is either still in T or in the sink: the
// only call that moves it is one rename.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fs/fs.hpp"
#include "util/result.hpp"

namespace rotator::engine {

// What take() does when `<folder>/<rel_path>` (or one of its parents as a
// non-directory) is already there.
enum class Collision {
  next_folder,  // switch the rest of the run to the next folder and retry
  report,       // leave the entry in T and return Taken::occupied
};

enum class Taken { moved, occupied };

class Sink {
 public:
  virtual ~Sink() = default;

  // Moves the entry at `rel_path` of T into the sink at `<sink>/<rel_path>`.
  //
  // `t_dirs` holds open descriptors of T's root and of every directory on the
  // way down to the parent of `rel_path`: for rel_path "a/b/x", t_dirs is
  // {fd(T), fd(T/a), fd(T/a/b)}, so t_dirs.size() equals the number of '/'
  // separated components of `rel_path` and the entry is t_dirs.back()/"x".
  // Missing parents in the sink are created with the mode, owner and times
  // that the corresponding T directory has now (t_dirs[i]); the sink folder
  // itself gets those of T's root. `t_stats`, when not empty, has one entry
  // per t_dirs entry: the caller's current lstat of that directory (so the
  // sink need not stat it again), or null where the caller has none.
  // `from_display` names the entry in messages.
  //
  // REQUIRES: `rel_path` is non-empty, '/'-separated, no "." or ".." parts.
  // Returns Taken::moved when the entry is now in the sink; Taken::occupied
  // only with Collision::report; an Error when a call failed (the entry is
  // then still in T, or already in the sink if only a later call failed).
  virtual Result<Taken> take(fs::Fs& fs, std::span<const int> t_dirs, const std::string& rel_path,
                             std::string_view from_display, Collision on_collision,
                             std::span<const fs::Stat* const> t_stats = {}) = 0;

  // Where take() would put `rel_path` now, as the user names it
  // ("holding/2026-11-22/dir/old.txt"). Used for plan lines; it does not
  // predict a later switch to the next folder.
  virtual std::string display(const std::string& rel_path) const = 0;
};

struct SinkStats {
  long taken = 0;            // take() calls that moved an entry: one rename each
                             // (a directory with its whole subtree counts once)
  long dirs_created = 0;     // sink folders and parent directories created
  long folder_switches = 0;  // collisions that moved the run to the next folder
};

// A sink that is one folder `<parent>/<folder_name>`, created on the first
// take() (a run that displaces nothing creates nothing).
//
// Collisions (a resumed run on the same day after the source changed again):
// when `<folder>/<rel_path>` exists, or one of its parents exists as a
// non-directory, the rest of the run goes to `<folder>.1`, then `<folder>.2`,
// ... (each created lazily, reused if it already exists); the sink never goes
// back to an earlier folder. folders_used() lists every folder written to,
// in order.
//
// Directory attributes: parents are created with the T directory's
// permission bits and always the owner's rwx (never setuid, setgid or
// sticky), then get the T directory's mode, owner and times; entries moved
// in later bump the mtime (as rsync --backup-dir does). Only the writes that
// are needed are made: where the sink's parent directory has no setgid bit
// and no default ACL, and fs::Creation is known and agrees with a stat of
// the first directory the sink creates, the owner and mode that mkdir gave
// are predicted and not written again; times are always written. A crash
// between that mkdir and that set_metadata leaves a sink directory that no
// one but its owner can enter beyond T's own permission bits, and no data lost.
class TreeSink final : public Sink {
 public:
  // `parent_fd` stays owned by the caller and must stay open while the sink
  // is used. `folder_name` is one path component. `display_parent` is how
  // the user names the parent ("holding", "/srv/snap/.trash").
  TreeSink(int parent_fd, std::string folder_name, std::string display_parent);

  Result<Taken> take(fs::Fs& fs, std::span<const int> t_dirs, const std::string& rel_path,
                     std::string_view from_display, Collision on_collision,
                     std::span<const fs::Stat* const> t_stats = {}) override;
  std::string display(const std::string& rel_path) const override;

  // Folder names (relative to the parent) that received at least one entry.
  const std::vector<std::string>& folders_used() const { return m_used; }
  const SinkStats& stats() const { return m_stats; }

 private:
  std::string folder() const;
  std::string display_folder() const;
  // Opens (creating as needed) the sink directories for the parents of the
  // components `parts[0..n-1)`; returns Taken::occupied on a collision.
  Result<Taken> open_parents(fs::Fs& fs, std::span<const int> t_dirs,
                             std::span<const fs::Stat* const> t_stats,
                             const std::vector<std::string_view>& parts);
  // `plain`: a mkdir in `parent` gives what m_creation says (no setgid bit,
  // no default ACL up the sink's chain); on return: whether one in the new
  // directory does too.
  Result<int> ensure_dir(fs::Fs& fs, int parent, const std::string& name, int meta_fd,
                         const fs::Stat* meta, bool& plain, const std::string& display);
  Status set_made_dir(fs::Fs& fs, int parent, const std::string& name, int fd, int meta_fd,
                      const fs::Stat* meta, mode_t mode, bool& plain, const std::string& display);
  void learn_parent(fs::Fs& fs);

  int m_parent_fd;
  std::string m_base;
  std::string m_display_parent;
  int m_index = 0;  // 0: m_base, n: m_base.n
  // Open sink directories: [0] the folder, [i] the parent for component i.
  std::vector<std::pair<std::string, fs::DirHandle>> m_chain;
  std::vector<bool> m_plain;  // per m_chain entry: a mkdir in it is predictable
  // The parent's setgid bit and default ACL, and the process's creation
  // values, learnt on the first mkdir; then checked against one stat.
  bool m_parent_known = false;
  bool m_parent_plain = false;
  fs::Creation m_creation;
  enum class Prediction { unchecked, right, wrong } m_prediction = Prediction::unchecked;
  std::vector<std::string> m_used;
  SinkStats m_stats;
};

}  // namespace rotator::engine
