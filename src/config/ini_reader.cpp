#include "config/ini_reader.hpp"

#include <ini.h>

#include <cstring>

#include <fmt/format.h>

namespace rotator::config {

namespace {

constexpr size_t k_max_line = INI_MAX_LINE - 1;

struct Stream {
  const std::string* text = nullptr;
  size_t pos = 0;
  int line = 0;
  std::string current;  // raw text of the line being parsed
  std::vector<IniRecord>* out = nullptr;
};

char* read_line(char* str, int num, void* user) {
  auto* s = static_cast<Stream*>(user);
  if (s->pos >= s->text->size()) {
    return nullptr;
  }
  size_t end = s->text->find('\n', s->pos);
  size_t stop = end == std::string::npos ? s->text->size() : end + 1;
  size_t len = stop - s->pos;
  if (len > static_cast<size_t>(num - 1)) {
    len = static_cast<size_t>(num - 1);  // pre-checked: cannot happen
  }
  std::memcpy(str, s->text->data() + s->pos, len);
  str[len] = '\0';
  s->current.assign(s->text->data() + s->pos, len);
  s->pos += len;
  ++s->line;
  return str;
}

int on_value(void* user, const char* section, const char* name, const char* value) {
  auto* s = static_cast<Stream*>(user);
  bool cont = !s->current.empty() && (s->current[0] == ' ' || s->current[0] == '\t');
  s->out->push_back(IniRecord{section, name, value, s->line, cont});
  return 1;
}

}  // namespace

Result<std::vector<IniRecord>> parse_ini(const std::string& file_name, const std::string& text) {
  // inih splits lines longer than its buffer; refuse them instead.
  int line_no = 0;
  for (size_t pos = 0; pos <= text.size();) {
    size_t end = text.find('\n', pos);
    size_t len = (end == std::string::npos ? text.size() : end) - pos;
    ++line_no;
    if (len > k_max_line - 1) {
      return plain_error(fmt::format("{}:{}: line too long (at most {} characters)", file_name,
                                     line_no, k_max_line - 1));
    }
    // inih reads C strings: a NUL would silently cut the line.
    if (text.find('\0', pos) < pos + len) {
      return plain_error(fmt::format("{}:{}: NUL byte in line", file_name, line_no));
    }
    if (end == std::string::npos) {
      break;
    }
    pos = end + 1;
  }
  std::vector<IniRecord> records;
  Stream stream{&text, 0, 0, {}, &records};
  int rc = ini_parse_stream(read_line, &stream, on_value, &stream);
  if (rc > 0) {
    return plain_error(
        fmt::format("{}:{}: syntax error (expected 'key = value' or '[section]')", file_name, rc));
  }
  if (rc < 0) {
    return plain_error(fmt::format("{}: cannot parse (out of memory)", file_name));
  }
  return records;
}

}  // namespace rotator::config
