// rsync wildmatch semantics (rsync lib/wildmatch.c), implemented as plain
// backtracking.
//
//   ?        one byte except '/'
//   *        zero or more bytes except '/'
//   **, ***  (any run of two or more '*') zero or more bytes including '/'
//   [...]    a set: '!' or '^' negates, ranges a-z, ']' first is literal,
//            '-' first or last is literal, '\' escapes, POSIX classes
//            [:alpha:] etc. (C ctype). A set never matches '/'.
//   \x       the byte x
//
// Matching is case-sensitive and byte-wise. The whole of `text` must be
// consumed. A malformed set (unterminated '[' or unknown [:class:]) makes the
// pattern match nothing, as in rsync.
#pragma once

#include <string_view>

namespace rotator::filter {

// Returns true when `pattern` matches all of `text`.
bool wildmatch(std::string_view pattern, std::string_view text);

}  // namespace rotator::filter
