#include "filter/wildmatch.hpp"

#include <cctype>
#include <cstddef>

namespace rotator::filter {

namespace {

enum class SetResult { match, no_match, malformed };

bool class_matches(std::string_view name, unsigned char ch, bool& known) {
  known = true;
  if (name == "alnum") {
    return std::isalnum(ch) != 0;
  }
  if (name == "alpha") {
    return std::isalpha(ch) != 0;
  }
  if (name == "blank") {
    return std::isblank(ch) != 0;
  }
  if (name == "cntrl") {
    return std::iscntrl(ch) != 0;
  }
  if (name == "digit") {
    return std::isdigit(ch) != 0;
  }
  if (name == "graph") {
    return std::isgraph(ch) != 0;
  }
  if (name == "lower") {
    return std::islower(ch) != 0;
  }
  if (name == "print") {
    return std::isprint(ch) != 0;
  }
  if (name == "punct") {
    return std::ispunct(ch) != 0;
  }
  if (name == "space") {
    return std::isspace(ch) != 0;
  }
  if (name == "upper") {
    return std::isupper(ch) != 0;
  }
  if (name == "xdigit") {
    return std::isxdigit(ch) != 0;
  }
  known = false;
  return false;
}

// Matches the set starting at pattern[p] == '[' against `ch`. On success
// (match or no_match) `p` is left just after the closing ']'.
SetResult match_set(std::string_view pat, std::size_t& p, unsigned char ch) {
  std::size_t i = p + 1;
  bool negated = false;
  if (i < pat.size() && (pat[i] == '!' || pat[i] == '^')) {
    negated = true;
    ++i;
  }
  bool matched = false;
  bool first = true;
  int prev = -1;  // previous literal byte, for ranges
  while (true) {
    if (i >= pat.size()) {
      return SetResult::malformed;
    }
    unsigned char c = static_cast<unsigned char>(pat[i]);
    if (c == ']' && !first) {
      ++i;
      break;
    }
    first = false;
    if (c == '\\') {
      ++i;
      if (i >= pat.size()) {
        return SetResult::malformed;
      }
      c = static_cast<unsigned char>(pat[i]);
      if (ch == c) {
        matched = true;
      }
      prev = c;
      ++i;
      continue;
    }
    if (c == '-' && prev >= 0 && i + 1 < pat.size() && pat[i + 1] != ']') {
      ++i;
      unsigned char hi = static_cast<unsigned char>(pat[i]);
      if (hi == '\\') {
        ++i;
        if (i >= pat.size()) {
          return SetResult::malformed;
        }
        hi = static_cast<unsigned char>(pat[i]);
      }
      if (ch <= hi && ch >= prev) {
        matched = true;
      }
      prev = -1;
      ++i;
      continue;
    }
    if (c == '[' && i + 1 < pat.size() && pat[i + 1] == ':') {
      std::size_t s = i + 2;
      std::size_t e = s;
      while (e < pat.size() && pat[e] != ']') {
        ++e;
      }
      if (e >= pat.size()) {
        return SetResult::malformed;
      }
      if (e == s || pat[e - 1] != ':') {
        // No ":]": a literal '['.
        if (ch == '[') {
          matched = true;
        }
        prev = '[';
        ++i;
        continue;
      }
      bool known = false;
      if (class_matches(pat.substr(s, e - 1 - s), ch, known)) {
        matched = true;
      }
      if (!known) {
        return SetResult::malformed;
      }
      prev = -1;
      i = e + 1;
      continue;
    }
    if (ch == c) {
      matched = true;
    }
    prev = c;
    ++i;
  }
  p = i;
  if (ch == '/' || matched == negated) {
    return SetResult::no_match;
  }
  return SetResult::match;
}

// Results of match_from, as rsync's dowild: besides match and no match, an
// abort tells the '*' loops above that trying a later start cannot help, so
// that the search stays polynomial (plain backtracking is exponential in the
// number of '*': "*a*a*a*a*a*a*a*a*a*a*a*a*b" against 60 'a's never ended;
// found by the wildmatch fuzz target).
//   abort_all:        the text ran out: no later start of any '*' can match;
//   abort_to_starstar: a single '*' would have to cross a '/': only an
//                     enclosing '**' may still try a later start.
enum class Match { no, yes, abort_all, abort_to_starstar, malformed };

Match match_from(std::string_view pat, std::size_t p, std::string_view text, std::size_t t) {
  while (p < pat.size()) {
    char pc = pat[p];
    if (pc == '*') {
      std::size_t q = p;
      while (q < pat.size() && pat[q] == '*') {
        ++q;
      }
      const bool any = q - p >= 2;
      if (q == pat.size()) {
        // A trailing "**" matches the rest; a trailing "*" only without '/'.
        if (any) {
          return Match::yes;
        }
        return text.find('/', t) == std::string_view::npos ? Match::yes : Match::no;
      }
      // The rest of the pattern starts with a non-'*' and needs a byte.
      for (std::size_t k = t; k < text.size(); ++k) {
        Match r = match_from(pat, q, text, k);
        if (r != Match::no) {
          if (!any || r != Match::abort_to_starstar) {
            return r;
          }
        } else if (!any && text[k] == '/') {
          return Match::abort_to_starstar;
        }
      }
      return Match::abort_all;
    }
    if (t >= text.size()) {
      return Match::abort_all;
    }
    unsigned char tc = static_cast<unsigned char>(text[t]);
    if (pc == '?') {
      if (tc == '/') {
        return Match::no;
      }
      ++p;
      ++t;
      continue;
    }
    if (pc == '[') {
      SetResult r = match_set(pat, p, tc);
      if (r == SetResult::malformed) {
        return Match::malformed;
      }
      if (r == SetResult::no_match) {
        return Match::no;
      }
      ++t;
      continue;
    }
    if (pc == '\\') {
      ++p;
      if (p >= pat.size()) {
        return Match::no;
      }
      pc = pat[p];
    }
    if (static_cast<unsigned char>(pc) != tc) {
      return Match::no;
    }
    ++p;
    ++t;
  }
  return t == text.size() ? Match::yes : Match::no;
}

}  // namespace

bool wildmatch(std::string_view pattern, std::string_view text) {
  return match_from(pattern, 0, text, 0) == Match::yes;
}

}  // namespace rotator::filter
