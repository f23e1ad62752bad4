#include "util/json.hpp"

#include <array>
#include <cstdint>

namespace rotator::json {

namespace {

// Length of the well-formed UTF-8 sequence starting at s[i], or 0 when the
// bytes there are ill-formed; `bad` then receives the length of the maximal
// ill-formed subpart (>= 1) to replace by one U+FFFD.
size_t sequence_length(std::string_view s, size_t i, size_t& bad) {
  auto b = [&](size_t k) { return static_cast<unsigned char>(s[i + k]); };
  unsigned char c = b(0);
  bad = 1;
  if (c < 0x80) {
    return 1;
  }
  size_t need = 0;
  unsigned char lo = 0x80, hi = 0xBF;  // range of the second byte
  if (c >= 0xC2 && c <= 0xDF) {
    need = 2;
  } else if (c == 0xE0) {
    need = 3, lo = 0xA0;
  } else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) {
    need = 3;
  } else if (c == 0xED) {
    need = 3, hi = 0x9F;  // no surrogates
  } else if (c == 0xF0) {
    need = 4, lo = 0x90;
  } else if (c >= 0xF1 && c <= 0xF3) {
    need = 4;
  } else if (c == 0xF4) {
    need = 4, hi = 0x8F;  // <= U+10FFFF
  } else {
    return 0;  // 0x80..0xC1, 0xF5..0xFF: never a lead byte
  }
  for (size_t k = 1; k < need; ++k) {
    if (i + k >= s.size()) {
      bad = k;
      return 0;
    }
    unsigned char x = b(k);
    unsigned char l = k == 1 ? lo : 0x80, h = k == 1 ? hi : 0xBF;
    if (x < l || x > h) {
      bad = k;
      return 0;
    }
  }
  return need;
}

constexpr std::string_view k_replacement = "\xEF\xBF\xBD";  // U+FFFD
constexpr std::string_view k_b64 =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

}  // namespace

bool is_valid_utf8(std::string_view s) {
  size_t bad = 0;
  for (size_t i = 0; i < s.size();) {
    size_t n = sequence_length(s, i, bad);
    if (n == 0) {
      return false;
    }
    i += n;
  }
  return true;
}

std::string to_valid_utf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  size_t bad = 0;
  for (size_t i = 0; i < s.size();) {
    size_t n = sequence_length(s, i, bad);
    if (n == 0) {
      out += k_replacement;
      i += bad;
    } else {
      out.append(s.substr(i, n));
      i += n;
    }
  }
  return out;
}

std::string base64(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  auto at = [&](size_t k) { return static_cast<uint32_t>(static_cast<unsigned char>(bytes[k])); };
  for (; i + 3 <= bytes.size(); i += 3) {
    uint32_t v = at(i) << 16 | at(i + 1) << 8 | at(i + 2);
    out += k_b64[v >> 18 & 63];
    out += k_b64[v >> 12 & 63];
    out += k_b64[v >> 6 & 63];
    out += k_b64[v & 63];
  }
  size_t rest = bytes.size() - i;
  if (rest == 1) {
    uint32_t v = at(i) << 16;
    out += k_b64[v >> 18 & 63];
    out += k_b64[v >> 12 & 63];
    out += "==";
  } else if (rest == 2) {
    uint32_t v = at(i) << 16 | at(i + 1) << 8;
    out += k_b64[v >> 18 & 63];
    out += k_b64[v >> 12 & 63];
    out += k_b64[v >> 6 & 63];
    out += '=';
  }
  return out;
}

bool base64_decode(std::string_view text, std::string& out) {
  out.clear();
  if (text.size() % 4 != 0) {
    return false;
  }
  std::array<int, 256> val{};
  val.fill(-1);
  for (size_t k = 0; k < k_b64.size(); ++k) {
    val[static_cast<unsigned char>(k_b64[k])] = static_cast<int>(k);
  }
  for (size_t i = 0; i < text.size(); i += 4) {
    bool last = i + 4 == text.size();
    int pad = 0;
    uint32_t v = 0;
    for (size_t k = 0; k < 4; ++k) {
      unsigned char c = static_cast<unsigned char>(text[i + k]);
      if (c == '=' && last && k >= 2) {
        ++pad;
        v <<= 6;
        continue;
      }
      if (pad > 0 || val[c] < 0) {
        return false;
      }
      v = v << 6 | static_cast<uint32_t>(val[c]);
    }
    out += static_cast<char>(v >> 16 & 0xFF);
    if (pad < 2) {
      out += static_cast<char>(v >> 8 & 0xFF);
    }
    if (pad < 1) {
      out += static_cast<char>(v & 0xFF);
    }
  }
  return true;
}

void put_bytes(Json& obj, const std::string& key, std::string_view s) {
  if (is_valid_utf8(s)) {
    obj[key] = std::string(s);
    return;
  }
  obj[key] = to_valid_utf8(s);
  obj[key + "_b64"] = base64(s);
}

Json text(std::string_view s) { return Json(to_valid_utf8(s)); }

std::string dump(const Json& j, int indent) {
  std::string raw = j.dump(indent, ' ', false, nlohmann::detail::error_handler_t::replace);
  // nlohmann escapes U+0000..U+001F; also escape DEL and the C1 controls
  // (U+0080..U+009F), which terminals interpret too. In valid UTF-8 output
  // 0x7F and a 0xC2 lead byte occur only inside string values.
  std::string out;
  out.reserve(raw.size());
  for (size_t i = 0; i < raw.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(raw[i]);
    if (c == 0x7F) {
      out += "\\u007f";
    } else if (c == 0xC2 && i + 1 < raw.size() && static_cast<unsigned char>(raw[i + 1]) >= 0x80 &&
               static_cast<unsigned char>(raw[i + 1]) <= 0x9F) {
      static constexpr char k_hex[] = "0123456789abcdef";
      unsigned char cp = static_cast<unsigned char>(raw[i + 1]);
      out += "\\u00";
      out += k_hex[cp >> 4];
      out += k_hex[cp & 15];
      ++i;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

std::string quote(std::string_view s) { return dump(text(s), -1); }

std::string ArrayStream::begin(const Json& head) const {
  std::string out = "{\n";
  if (!head.empty()) {
    out = dump(head, 2);
    out.resize(out.size() - 2);  // "\n}"
    out += ",\n";
  }
  return out + "  " + quote(m_key) + ": [";
}

std::string ArrayStream::item(const Json& element) {
  std::string out = m_any ? ",\n    " : "\n    ";
  m_any = true;
  for (char c : dump(element, 2)) {
    out += c;
    if (c == '\n') {
      out += "    ";
    }
  }
  return out;
}

std::string ArrayStream::end(const Json& tail) const {
  std::string out = m_any ? "\n  ]" : "]";
  if (tail.empty()) {
    return out + "\n}";
  }
  return out + "," + dump(tail, 2).substr(1);  // without its "{"
}

}  // namespace rotator::json
