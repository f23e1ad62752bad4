#include "util/text.hpp"

#include <iterator>

#include <fmt/format.h>

namespace rotator {

namespace {

constexpr char k_hex[] = "0123456789abcdef";

void append_escaped(std::string& out, unsigned char c) {
  switch (c) {
    case '\n':
      out += "\\n";
      break;
    case '\r':
      out += "\\r";
      break;
    case '\t':
      out += "\\t";
      break;
    default:
      out += "\\x";
      out += k_hex[c >> 4];
      out += k_hex[c & 15];
  }
}

bool is_control(unsigned char c) { return c < 0x20 || c == 0x7F; }

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string escape_control(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char ch : s) {
    unsigned char c = static_cast<unsigned char>(ch);
    if (is_control(c)) {
      append_escaped(out, c);
    } else {
      out += ch;
    }
  }
  return out;
}

std::string escape_text(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char ch : s) {
    unsigned char c = static_cast<unsigned char>(ch);
    if (ch == '\\') {
      out += "\\\\";
    } else if (is_control(c)) {
      append_escaped(out, c);
    } else {
      out += ch;
    }
  }
  return out;
}

std::string unescape_text(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\' || i + 1 >= s.size()) {
      out += s[i];
      continue;
    }
    char e = s[++i];
    switch (e) {
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 't':
        out += '\t';
        break;
      case 'x':
        if (i + 2 < s.size() && hex_value(s[i + 1]) >= 0 && hex_value(s[i + 2]) >= 0) {
          out += static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
          i += 2;
        } else {
          out += 'x';
        }
        break;
      default:
        out += e;
    }
  }
  return out;
}

std::string format_size(long long bytes) {
  if (bytes < 0) {
    return "? B";
  }
  if (bytes < 1024) {
    return fmt::format("{} B", bytes);
  }
  static const char* const k_units[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  double v = static_cast<double>(bytes) / 1024.0;
  size_t u = 0;
  while (v >= 1023.95 && u + 1 < std::size(k_units)) {
    v /= 1024.0;
    ++u;
  }
  return fmt::format("{:.1f} {}", v, k_units[u]);
}

}  // namespace rotator
