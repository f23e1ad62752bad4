// Parsing and matching of rsync filter rules (merge-file syntax).
//
// A rules file holds one rule per line, exactly as rsync reads a file given
// to `--filter='merge FILE'`:
//   * long names `exclude include hide show protect risk merge dir-merge
//     clear` (followed by space, '_', ',' or end) or the short forms
//     `- + H S P R . : !`; modifiers after the name up to the first space or
//     '_'; exactly one separator; the rest of the line is the pattern,
//     verbatim (no trimming: a leading blank is an unknown rule, trailing
//     blanks are pattern text);
//   * lines end at "\n" or "\r" (CRLF works); blank lines and lines whose
//     first byte is '#' or ';' are skipped;
//   * modifiers `/ ! s r p` on `+ -`, `/ ! p` on `H S P R`, and
//     `/ s r p e n w - +` on `merge`/`dir-merge` (the latter become defaults
//     for the merged file's rules).
//
// Deliberately rejected (rsync accepts them, rotator refuses with a message):
//   `-C`, `:C`, `+C` and any `C` modifier (CVS-exclude lists), the `x`
//   modifier (xattr rules), and `merge`/`dir-merge` rules inside a
//   per-directory file.
//
// `clear`/`!` empties the list built so far, dir-merge placeholders included:
// those per-directory files are then no longer read (as in rsync).
//
// A dir-merge name with '/' (": /.rsync-filter", ": ../.rules") looks up its
// last component in every directory; its directory part, resolved like a
// merge name, names where the read-in-parents scan starts (DirMerge).
//
// File names: a relative `merge` name resolves against `ParseEnv::base_dir`,
// which RuleFilter sets to the directory of the top-level rules file (rotator
// runs from cron and has no meaningful working directory; rsync resolves
// against its cwd, so the oracle runs rsync there). Nested merges nest at most
// `k_max_merge_depth` deep.
//
// Error handling: every error is a plain Error whose message is
// "FILE:LINE: message" with the rule text quoted, e.g.
//   important.rules:3: unknown filter rule ' - foo'
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fs/fs.hpp"
#include "util/result.hpp"

namespace rotator::filter {

inline constexpr int k_max_merge_depth = 32;
inline constexpr std::size_t k_max_line_len = 5119;     // rsync: MAXPATHLEN + 1024 - 1
inline constexpr std::size_t k_max_pattern_len = 4095;  // rsync: MAXPATHLEN - 1

// Rule flags (bit set in Rule::flags).
inline constexpr std::uint32_t k_rule_include = 1u << 0;    // include, else exclude
inline constexpr std::uint32_t k_rule_dir_only = 1u << 1;   // pattern had a trailing '/'
inline constexpr std::uint32_t k_rule_wild = 1u << 2;       // contains * ? [
inline constexpr std::uint32_t k_rule_wild2 = 1u << 3;      // contains **
inline constexpr std::uint32_t k_rule_wild2_prefix = 1u << 4;  // starts with **
inline constexpr std::uint32_t k_rule_wild3_suffix = 1u << 5;  // ends with ***
inline constexpr std::uint32_t k_rule_anchored = 1u << 6;   // pattern started with '/'
inline constexpr std::uint32_t k_rule_abs_path = 1u << 7;   // '/' modifier or anchored per-dir rule
inline constexpr std::uint32_t k_rule_negate = 1u << 8;     // '!' modifier
inline constexpr std::uint32_t k_rule_perishable = 1u << 9; // 'p' modifier
inline constexpr std::uint32_t k_rule_sender = 1u << 10;    // 's', H, S
inline constexpr std::uint32_t k_rule_receiver = 1u << 11;  // 'r', P, R

// Options of a merge or dir-merge rule; `defaults` are OR-ed into every rule
// of the merged file (k_rule_abs_path, k_rule_perishable, sides).
struct MergeOptions {
  std::uint32_t defaults = 0;
  bool no_prefixes = false;      // '-' or '+': each line is a pattern
  bool include_lines = false;    // '+': those patterns are includes
  bool word_split = false;       // 'w'
  bool no_inherit = false;       // 'n'
  bool exclude_self = false;     // 'e'
};

struct Rule {
  enum class Kind { pattern, dir_merge };
  Kind kind = Kind::pattern;
  std::uint32_t flags = 0;
  std::string pattern;  // compiled: trailing '/' and leading '/' removed
  int slash_cnt = 0;    // '/' in the pattern after the trailing strip (leading counts)
  int merge_index = -1; // dir_merge: index into RuleSet::dir_merges
};

struct DirMerge {
  std::string name;  // file name looked up in every directory (no '/')
  MergeOptions options;
  // Absolute, normalised directory part of a merge name with '/' (": /.f",
  // ": ../../.f"), else empty: when it is an ancestor of the transfer root the
  // file is also read in every directory from there down to the root's parent.
  std::string parent_start;
};

struct RuleSet {
  std::vector<Rule> rules;
  std::vector<DirMerge> dir_merges;  // each name once, in activation order
  bool cleared = false;              // a '!' rule emptied the list (per-dir files)
};

struct ParseEnv {
  fs::Fs* fs = nullptr;
  std::string base_dir;      // relative merge names resolve here
  std::string per_dir_abs;   // non-empty while parsing a dir-merge file: its dir
  int depth = 0;             // merge nesting depth of the content being parsed
};

// Compiles `pattern` (verbatim rule text after the separator) into `rule`:
// strips one trailing '/' (dir-only), prepends `per_dir_abs` to a leading-'/'
// pattern when non-empty and `rule.flags` has no k_rule_abs_path yet (making
// it an absolute-path rule), computes slash_cnt and the wild
// flags, and drops the leading '/' (anchored).
void compile_pattern(std::string_view pattern, std::string_view per_dir_abs, Rule& rule);

// What rule_matches needs to know about the item.
struct Subject {
  std::string_view name;      // path relative to the transfer root, non-empty
  std::string_view last;      // last component of `name`
  std::string_view root_rel;  // absolute source root without the leading '/'
  bool is_dir = false;
};

// True when the pattern rule `rule` applies to `subject` (negation included).
// `scratch` is a reusable buffer (no allocation once it has grown).
bool rule_matches(const Rule& rule, const Subject& subject, std::string& scratch);

// Parses `content` (a rules file named `file_name` in messages) with the
// defaults of `tmpl`, appending to `out`. `merge` rules are read through
// env.fs and inlined; `dir-merge` rules leave a placeholder.
// Returns the first error as "FILE:LINE: message".
Status parse_rules(ParseEnv& env, std::string_view content, const std::string& file_name,
                   const MergeOptions& tmpl, RuleSet& out);

}  // namespace rotator::filter
