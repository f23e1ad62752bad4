// RuleFilter: rotator's native rsync filter engine, a Selector.
//
// Semantics are those of
//   rsync -a --delete --delete-excluded [-m] --filter='merge RULES' SRC/ DST/
// * included(): the sender-side verdict. Rules that apply: no side, `s`, H,
//   S (with --delete-excluded every rule without an explicit side is
//   sender-only). First matching rule decides; no match = included.
// * protects(): the receiver-side verdict. Rules that apply: explicit `r`,
//   P, R. A matching exclude (P) protects the destination entry.
// * dir-merge (`:`) rules leave a placeholder; enter_dir() reads the named
//   file in that directory (through `fs`, relative to `src_dir_fd`) and puts
//   its rules in front of the inherited ones (newest first) unless the merge
//   has `n`; a `!` in the file drops the inherited rules; a leading-'/' rule
//   in the file is anchored at the file's directory (and still inherited). A
//   missing per-directory file (ENOENT, also a dangling symlink) is ignored;
//   one that exists but cannot be read (not a regular file: a fifo, a
//   directory, ...; EACCES; larger than 1 MiB; EIO) is an Error naming its
//   path, "cannot read per-directory rule file '/abs/dir/.rsync-filter': not
//   a regular file: a fifo", which stops the walk (a job validates the
//   whole walk before it changes anything). A merge name with '/' whose
//   directory is an ancestor of the root is first read in every directory
//   from there down to the root's parent, when the root is entered.
//
// * nested merges (rule.hpp): a `dir-merge` rule inside a per-directory file
//   activates that merge in the directory that declared it (its file is read
//   there and in every subdirectory while that directory is being walked) and
//   its rules are evaluated at the nested rule's position in the enclosing
//   list, with the same inheritance (newest first, `n`, `!`); a name already
//   active is ignored. This is rsync's mergelist stack (exclude.c
//   push_local_filters / pop_local_filters).
// * sides (rule.hpp, Rule::applies_to) are decided when the rule is read;
//   a dir-merge placeholder that is not in effect on a side hides its whole
//   list on that side, and a perishable placeholder hides its list inside
//   deleted directories (rsync's check_filter).
//
// Limitation: absolute-path ('/' modifier) rules are always evaluated against
// `source_root_abs`, also when walking the destination for protects()
// (rsync's receiver would use the destination's path).
//
// Per-directory files and the receiver (rsync: PER-DIRECTORY RULES AND
// DELETE): for a directory present in the source, rotator reads the source's
// (new) copy for both sides, which is what rsync's receiver sees with
// `--delete-after` (the file has been transferred before deletion starts);
// rsync's default `--delete` (during) reads the destination's old copy. A
// destination directory that is being deleted is entered with its own
// descriptor, so its files are read there, as in every rsync delete mode.
//
// Calling sequence: load(); then as in selector.hpp: enter_dir(root fd, "")
// before the root's entries, included()/protects() for the entries of the
// directory entered last, enter_dir() for each subdirectory descended into,
// leave_dir() when done with it. To compute protection on the destination
// side, walk the destination tree the same way (enter_dir with destination
// directory descriptors): also enter_dir() a destination directory that is
// being deleted before asking protects() about its entries (with
// InsideDeletedDir::yes), as rsync's delete_dir_contents does. A directory
// with a protected entry anywhere below it cannot be deleted.
//
// Read once (enable_read_cache): every file read after the call (per-dir
// files keyed by their directory's device and inode, merge files by path) is
// read from disk the first time only; later walks see the same contents. A
// job validates every reachable rule file in a read-only dry-run walk and
// then makes its real walk with the very rules it validated.
//
// File names: `rules_path` is opened as given (through `fs` with k_cwd);
// relative `merge` names inside it resolve against the directory of
// `rules_path`, not the process working directory (rotator runs from cron).
//
// Error handling: load() and enter_dir() return "FILE:LINE: message" errors
// (see rule.hpp); load() fails when the rules file cannot be read or when
// `source_root_abs` is not absolute. A failed enter_dir() leaves the
// filter as it was before the call.
#pragma once

#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "filter/rule.hpp"
#include "filter/selector.hpp"

namespace rotator::filter {

class RuleFilter final : public Selector {
 public:
  // Reads and parses `rules_path`. `source_root_abs` is the absolute path of
  // the transfer root (for '/'-modifier rules and anchored per-dir rules).
  static Result<std::unique_ptr<RuleFilter>> load(fs::Fs& fs, const std::string& rules_path,
                                                  const std::string& source_root_abs);

  Status enter_dir(fs::Fs& fs, int src_dir_fd, const std::string& rel_dir) override;
  // Only dir-merges in effect on the receiver side are read there.
  Status enter_deleted_dir(fs::Fs& fs, int dst_dir_fd, const std::string& rel_dir) override;
  void leave_dir() override;
  bool included(const std::string& rel_path, bool is_dir) override;
  // Same as protects(rel_path, is_dir, InsideDeletedDir::no).
  bool protects(const std::string& rel_path, bool is_dir) override;
  bool protects(const std::string& rel_path, bool is_dir, InsideDeletedDir inside) override;
  // Global (non per-directory) receiver-side protection of a directory.
  bool keeps_empty_dir(const std::string& rel_dir) override;
  bool selects_everything() const override { return m_rules.rules.empty(); }

  // The compiled global list (dir-merge placeholders included), for tests.
  const RuleSet& rules() const { return m_rules; }
  // True when some rule file is read during a walk (a dir-merge rule exists):
  // only then can enter_dir() fail.
  bool reads_per_dir_files() const { return !m_rules.dir_merges.empty(); }
  // See "Read once" above.
  void enable_read_cache() { m_cache_on = true; }
  // Number of distinct files held by the read cache (for tests).
  std::size_t cached_reads() const { return m_cache.size(); }

 private:
  RuleFilter() = default;

  struct Frame {
    std::deque<Rule> owned;                       // rules read in this directory
    std::vector<std::vector<const Rule*>> lists;  // per active merge: effective list
    std::size_t active_before = 0;                // m_active.size() before this frame
  };
  enum class Side { sender, receiver };
  // +1 include, -1 exclude, 0 no rule matched.
  enum class Scope { all_rules, global_rules };  // global: skip per-directory rules
  // Perishable rules are skipped inside a deleted directory (rsync's
  // check_filter on a deleted dir's contents).
  int evaluate(const std::string& rel_path, bool is_dir, Side side, InsideDeletedDir inside,
               Scope scope = Scope::all_rules);
  int evaluate_list(const std::vector<const Rule*>& list, const Subject& subject, Side side,
                    InsideDeletedDir inside);
  Status enter(fs::Fs& fs, int dir_fd, const std::string& rel_dir, std::uint8_t sides);
  // Fills m_frames.back(): reads the files of the dir-merges in effect on
  // `sides` in `dir_fd`.
  Status push_frame(fs::Fs& fs, int dir_fd, const std::string& rel_dir, std::uint8_t sides);
  // Reads dir-merge `index` in the ancestors of the root (read-in-parents
  // mode) and returns their rules, newest (deepest) first. Read once; later
  // calls (a second walk, e.g. of the destination) get the same list.
  Result<std::vector<const Rule*>> read_parents(fs::Fs& fs, std::size_t index);
  bool applies(const Rule& rule, Side side, InsideDeletedDir inside) const;
  // Reads through the cache when it is on.
  Result<std::string> read_path(fs::Fs& fs, const std::string& path);
  // One cached read of `name` relative to `dir_fd`, keyed by `key`; a failed
  // read is cached too and reported with `name` as the path.
  Result<std::string> cached_read(fs::Fs& fs, int dir_fd, std::string key, const std::string& name);
  Result<std::string> read_in_dir(fs::Fs& fs, int dir_fd, const std::string& dir_key,
                                  const std::string& name);

  struct Cached {
    std::optional<Error> error;  // the failed read's (read_failure needs its detail)
    std::string data;            // when no error
  };

  RuleSet m_rules;
  std::string m_root_abs;  // no trailing '/' (except "/")
  std::string m_root_rel;  // m_root_abs without the leading '/'
  // A deque: frames never move, so rules inherited by pointer stay valid.
  std::deque<Frame> m_frames;
  // rsync's mergelist_parents: the dir-merges in effect, global ones first,
  // then those activated by per-directory files of the directories on the
  // current path (a stack: a frame's activations end with it).
  std::vector<DirMerge> m_active;
  std::vector<std::unique_ptr<std::vector<Rule>>> m_parent_rules;  // from read_parents()
  std::vector<std::vector<const Rule*>> m_parent_lists;            // per dir-merge, once read
  std::vector<char> m_parents_read;
  std::string m_scratch;
  bool m_cache_on = false;
  std::unordered_map<std::string, Cached> m_cache;
};

}  // namespace rotator::filter
