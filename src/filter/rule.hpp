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
//   modifier (xattr rules), a `dir-merge` name with '/' inside a
//   per-directory file, and `dir-merge` rules in a file read in the parents
//   of the root (read-in-parents mode).
//
// Nested merges in per-directory files (rsync exclude.c, as 3.5.0 does it):
//   * `merge FILE` is inlined into the per-directory list. A name without
//     '/' resolves against the transfer root (rsync's sender works there), a
//     name with '/' against the directory being scanned; its rules are not
//     anchored at that directory, and apply on both sides whatever their
//     side modifiers (rsync adds them without its per-side filtering).
//   * `dir-merge NAME` activates a new per-directory merge while the
//     directory that declared it is being walked (RuleFilter); a name that is
//     already active (at top level or by an ancestor) is ignored on the sides
//     where it is active, as in rsync (each side keeps its own list: after
//     `:s .g`, a `:r .g` or `: .g` still activates `.g` on the receiver).
//   * the `e` rule of a nested merge has no side: it applies on both sides.
//   * nesting depth: at most k_max_merge_depth files are open at once.
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
#include <functional>
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
inline constexpr std::uint32_t k_rule_include = 1u << 0;       // include, else exclude
inline constexpr std::uint32_t k_rule_dir_only = 1u << 1;      // pattern had a trailing '/'
inline constexpr std::uint32_t k_rule_wild = 1u << 2;          // contains * ? [
inline constexpr std::uint32_t k_rule_wild2 = 1u << 3;         // contains **
inline constexpr std::uint32_t k_rule_wild2_prefix = 1u << 4;  // starts with **
inline constexpr std::uint32_t k_rule_wild3_suffix = 1u << 5;  // ends with ***
inline constexpr std::uint32_t k_rule_anchored = 1u << 6;      // pattern started with '/'
inline constexpr std::uint32_t k_rule_abs_path = 1u << 7;  // '/' modifier or anchored per-dir rule
inline constexpr std::uint32_t k_rule_negate = 1u << 8;    // '!' modifier
inline constexpr std::uint32_t k_rule_perishable = 1u << 9;  // 'p' modifier
inline constexpr std::uint32_t k_rule_sender = 1u << 10;     // 's', H, S
inline constexpr std::uint32_t k_rule_receiver = 1u << 11;   // 'r', P, R

// Where a rule is in effect (Rule::applies_to), derived at parse time from
// its sides, where it was read and rotator's `--delete-excluded` semantics,
// exactly as rsync decides it (exclude.c: parse_rule_tok, add_rule,
// send_rules). The sender builds the included set; the receiver protects.
inline constexpr std::uint8_t k_on_sender = 1u << 0;
inline constexpr std::uint8_t k_on_receiver = 1u << 1;

// Options of a merge or dir-merge rule; `defaults` are OR-ed into every rule
// of the merged file (k_rule_abs_path, k_rule_perishable, sides).
struct MergeOptions {
  std::uint32_t defaults = 0;
  bool no_prefixes = false;    // '-' or '+': each line is a pattern
  bool include_lines = false;  // '+': those patterns are includes
  bool word_split = false;     // 'w'
  bool no_inherit = false;     // 'n'
  bool exclude_self = false;   // 'e'
};

struct Rule {
  enum class Kind { pattern, dir_merge };
  Kind kind = Kind::pattern;
  std::uint32_t flags = 0;
  std::string pattern;   // compiled: trailing '/' and leading '/' removed
  int slash_cnt = 0;     // '/' in the pattern after the trailing strip (leading counts)
  int merge_index = -1;  // dir_merge: index into RuleSet::dir_merges (after
                         // RuleFilter activates it: into its active merges)
  std::uint8_t applies_to = k_on_sender | k_on_receiver;
};

struct DirMerge {
  std::string name;  // file name looked up in every directory (no '/')
  MergeOptions options;
  // Absolute, normalised directory part of a merge name with '/' (": /.f",
  // ": ../../.f"), else empty: when it is an ancestor of the transfer root the
  // file is also read in every directory from there down to the root's parent.
  std::string parent_start;
  // The placeholder's Rule::applies_to: a nested one-sided dir-merge is
  // active on its side only (rsync drops it on the other).
  std::uint8_t applies_to = k_on_sender | k_on_receiver;
};

struct RuleSet {
  std::vector<Rule> rules;
  std::vector<DirMerge> dir_merges;  // each name once, in activation order
  bool cleared = false;              // a '!' rule emptied the list (per-dir files)
};

// What is being parsed (decides anchoring, name resolution and sides).
enum class ParseContext {
  global,             // the rules file and the merge files it inlines
  per_dir,            // a per-directory (dir-merge) file itself
  per_dir_merge,      // a file inlined by `merge` from a per-directory file
  parent_scan,        // a dir-merge file read in a parent of the root
  parent_scan_merge,  // a file inlined by `merge` from a parent_scan file
};

struct ParseEnv {
  fs::Fs* fs = nullptr;
  std::string base_dir;  // relative merge names resolve here (global)
  // per_dir / parent_scan (and the merges they inline): the directory of the
  // per-directory file (absolute, no trailing '/' except "/"). Anchors its
  // leading-'/' rules and resolves relative merge names that contain '/'.
  std::string per_dir_abs;
  // Where merge names without '/' resolve when not global: the transfer root
  // for per_dir (rsync's sender runs there), per_dir_abs for parent_scan.
  std::string plain_dir;
  ParseContext context = ParseContext::global;
  int depth = 0;  // merge nesting depth of the content being parsed
  // The dir-merges already active outside this parse: a nested `dir-merge`
  // rule naming one of them is ignored on the sides where that one is
  // active (rsync activates a name once per side). May be null.
  const std::vector<DirMerge>* active = nullptr;
  // Every file read (merge files; not the per-directory file itself) is
  // read through this hook when set, else through fs->read_file(k_cwd, …).
  std::function<Result<std::string>(const std::string& path)> read;
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
