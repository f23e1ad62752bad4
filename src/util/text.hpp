// Control characters in free text (rsync and ssh messages, file names) made
// visible, so that a carriage return or an escape sequence in a message can
// neither rewrite a terminal line nor split a log or state-file line.
#pragma once

#include <string>
#include <string_view>
#include <utility>

namespace rotator {

// Bytes 0x00..0x1F and 0x7F as C escapes: \n \r \t, others \xHH (lower-case
// hex). Everything else, backslashes included, is unchanged; bytes >= 0x80 are
// left alone (UTF-8 stays readable). One line out for any input.
std::string escape_control(std::string_view s);

// Reversible form for key=value files: as escape_control() plus "\\" for a
// backslash. unescape_text(escape_text(s)) == s for every s; unescape_text also
// reads the older form (only \n and \\ escaped).
std::string escape_text(std::string_view s);
std::string unescape_text(std::string_view s);

// A byte count for humans, binary units with one decimal above 1 KiB:
// "0 B", "1023 B", "1.0 KiB", "3.4 MiB", "1.2 GiB", "5.0 TiB". Negative: "? B".
std::string format_size(long long bytes);

// A relative path split at its last '/': "a/b/c" -> ("a/b", "c"); "c" -> ("", "c").
inline std::pair<std::string, std::string> split_rel(const std::string& rel) {
  size_t slash = rel.rfind('/');
  if (slash == std::string::npos) {
    return {"", rel};
  }
  return {rel.substr(0, slash), rel.substr(slash + 1)};
}
// The inverse: "" + "c" -> "c", "a/b" + "c" -> "a/b/c".
inline std::string join_rel(const std::string& dir, const std::string& name) {
  return dir.empty() ? name : dir + "/" + name;
}

}  // namespace rotator
