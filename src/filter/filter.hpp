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
//   missing per-directory file is ignored. A merge name with '/' whose
//   directory is an ancestor of the root is first read in every directory
//   from there down to the root's parent, when the root is entered.
//
// Limitation: absolute-path ('/' modifier) rules are always evaluated against
// `source_root_abs`, also when walking the destination for protects()
// (rsync's receiver would use the destination's path).
//
// Calling sequence: load(); then as in selector.hpp: enter_dir(root fd, "")
// before the root's entries, included()/protects() for the entries of the
// directory entered last, enter_dir() for each subdirectory descended into,
// leave_dir() when done with it. To compute protection on the destination
// side, walk the destination tree the same way (enter_dir with destination
// directory descriptors), as rsync's receiver reads per-directory files from
// the destination: also enter_dir() a destination directory that is being
// deleted before asking protects() about its entries (with
// InsideDeletedDir::yes), as rsync's delete_dir_contents does. A directory
// with a protected entry anywhere below it cannot be deleted.
//
// File names: `rules_path` is opened as given (through `fs` with k_cwd);
// relative `merge` names inside it resolve against the directory of
// `rules_path`, not the process working directory (rotator runs from cron).
//
// Error handling: load() and enter_dir() return "FILE:LINE: message" errors
// (see rule.hpp); load() fails when the rules file cannot be read or when
// `source_root_abs` is not absolute.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "filter/rule.hpp"
#include "filter/selector.hpp"

namespace rotator::filter {

// Whether a protection query is made for an entry inside a destination
// directory that is itself being deleted (perishable rules are then ignored).
enum class InsideDeletedDir { no, yes };

class RuleFilter final : public Selector {
 public:
  // Reads and parses `rules_path`. `source_root_abs` is the absolute path of
  // the transfer root (for '/'-modifier rules and anchored per-dir rules).
  static Result<std::unique_ptr<RuleFilter>> load(fs::Fs& fs, const std::string& rules_path,
                                                  const std::string& source_root_abs);

  Status enter_dir(fs::Fs& fs, int src_dir_fd, const std::string& rel_dir) override;
  void leave_dir() override;
  bool included(const std::string& rel_path, bool is_dir) override;
  // Same as protects(rel_path, is_dir, InsideDeletedDir::no).
  bool protects(const std::string& rel_path, bool is_dir) override;
  bool protects(const std::string& rel_path, bool is_dir, InsideDeletedDir inside);
  // Global (non per-directory) receiver-side protection of a directory.
  bool keeps_empty_dir(const std::string& rel_dir) override;
  bool selects_everything() const override { return m_rules.rules.empty(); }

  // The compiled global list (dir-merge placeholders included), for tests.
  const RuleSet& rules() const { return m_rules; }

 private:
  RuleFilter() = default;

  struct Frame {
    std::vector<std::vector<Rule>> owned;               // per dir-merge: this dir's rules
    std::vector<std::vector<const Rule*>> lists;        // per dir-merge: effective list
  };
  enum class Side { sender, receiver };
  // +1 include, -1 exclude, 0 no rule matched.
  enum class Scope { all_rules, global_rules };  // global: skip per-directory rules
  int evaluate(const std::string& rel_path, bool is_dir, Side side, bool skip_perishable,
               Scope scope = Scope::all_rules);
  // Reads dir-merge `index` in the ancestors of the root (read-in-parents
  // mode) and returns their rules, newest (deepest) first. Read once; later
  // calls (a second walk, e.g. of the destination) get the same list.
  Result<std::vector<const Rule*>> read_parents(fs::Fs& fs, std::size_t index);
  bool applies(const Rule& rule, Side side, bool skip_perishable) const;

  RuleSet m_rules;
  std::string m_root_abs;  // no trailing '/' (except "/")
  std::string m_root_rel;  // m_root_abs without the leading '/'
  std::vector<Frame> m_frames;
  std::vector<std::unique_ptr<std::vector<Rule>>> m_parent_rules;  // from read_parents()
  std::vector<std::vector<const Rule*>> m_parent_lists;  // per dir-merge, once read
  std::vector<char> m_parents_read;
  std::string m_scratch;
};

}  // namespace rotator::filter
