// The only user of inih: turns INI text into (section, key, value, line)
// records, keeping every value's line number.
//
// inih rules apply (style.md §1): `;` after whitespace starts an inline
// comment, an indented line continues the previous key (reported as a
// separate record with `continuation` set), a line without `=` is an error.
#pragma once

#include <string>
#include <vector>

#include "util/result.hpp"

namespace rotator::config {

struct IniRecord {
  std::string section;
  std::string key;
  std::string value;
  int line = 0;
  bool continuation = false;  // an indented line continuing the previous key
};

// Parses `text` (read from `file_name`, used only in messages). On a syntax
// error returns "FILE:LINE: syntax error (expected 'key = value' or '[section]')".
Result<std::vector<IniRecord>> parse_ini(const std::string& file_name, const std::string& text);

}  // namespace rotator::config
