// JSON output for rotator, built on nlohmann-json (Debian nlohmann-json3-dev).
//
// Contract:
// * This header is the ONLY place that includes <nlohmann/json.hpp> (`make lint`
//   enforces it). It defines JSON_NOEXCEPTION first, so the library never throws
//   (src/ has no exceptions): a misuse that would throw aborts instead. Use only
//   the non-throwing parts: building values, operator[] on objects/arrays you
//   built, push_back, and json::dump() below. Tests parse with
//   `Json::parse(text, nullptr, false)` and check `is_discarded()`.
// * `Json` keeps keys in insertion order (the documents are read by people too).
// * Strings in a Json must be valid UTF-8. File names, paths, rsync and ssh
//   messages are bytes, not text: put them with put_bytes(), never directly.
//     put_bytes(obj, "name", s)
//       valid UTF-8:  obj["name"] = s                       (no extra field)
//       otherwise:    obj["name"] = to_valid_utf8(s)         (U+FFFD replacements)
//                     obj["name_b64"] = base64(s)            (the exact bytes)
//   A consumer that needs the exact bytes uses `<key>_b64` when present, else
//   `<key>`. Control characters (U+0000..U+001F) are always written escaped
//   (\n, \r, \t, \u0001, ...), as RFC 8259 requires; so is U+007F (\u007f).
// * dump() never fails: anything that still is not valid UTF-8 is replaced by
//   U+FFFD (belt and braces; put_bytes already made it valid).
#pragma once

#ifndef JSON_NOEXCEPTION
#define JSON_NOEXCEPTION 1
#endif
#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

namespace rotator::json {

using Json = nlohmann::ordered_json;

// True when `s` is well-formed UTF-8 (RFC 3629: no overlong forms, no
// surrogates U+D800..U+DFFF, nothing above U+10FFFF).
bool is_valid_utf8(std::string_view s);

// `s` with every maximal ill-formed subsequence replaced by one U+FFFD (the
// Unicode "substitution of maximal subparts" practice, as browsers do);
// valid input is returned unchanged.
std::string to_valid_utf8(std::string_view s);

// RFC 4648 base64 with '=' padding, no line breaks.
std::string base64(std::string_view bytes);
// Inverse of base64(); returns false (out unspecified) on malformed input.
bool base64_decode(std::string_view text, std::string& out);

// obj[key] = s, with the `<key>_b64` companion when s is not valid UTF-8 (see
// the contract above). `obj` must be an object (or null, which becomes one).
void put_bytes(Json& obj, const std::string& key, std::string_view s);

// A JSON string value for bytes `s`: to_valid_utf8(s). For array elements
// where no companion field fits; prefer put_bytes() for names.
Json text(std::string_view s);

// Serialised document. indent < 0: one line; otherwise pretty-printed with
// `indent` spaces. Non-ASCII stays UTF-8 (not \u-escaped); control characters
// and U+007F are \u-escaped. No trailing newline.
std::string dump(const Json& j, int indent = 2);

// One JSON string literal (with quotes) for bytes `s`, escaped as dump() does.
std::string quote(std::string_view s);

// dump(doc, 2) of an object `doc` with one long array member, written in
// pieces so the array never has to be in memory: begin(head) + item(e) for
// every element + end(tail) is byte for byte dump() of the object holding
// head's members, then `key`: [the elements], then tail's members.
class ArrayStream {
 public:
  explicit ArrayStream(std::string key) : m_key(std::move(key)) {}
  std::string begin(const Json& head) const;
  std::string item(const Json& element);
  std::string end(const Json& tail) const;

 private:
  std::string m_key;
  bool m_any = false;
};

}  // namespace rotator::json
