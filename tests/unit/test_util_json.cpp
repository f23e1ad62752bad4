#include <doctest/doctest.h>

#include <string>

#include "util/json.hpp"

using namespace rotator;
using json::Json;

namespace {

Json parse(const std::string& text) {
  Json j = Json::parse(text, nullptr, false);
  REQUIRE_MESSAGE(!j.is_discarded(), text);
  return j;
}

}  // namespace

TEST_SUITE_BEGIN("util::json");

TEST_CASE("is_valid_utf8: RFC 3629 well-formedness") {
  CHECK(json::is_valid_utf8(""));
  CHECK(json::is_valid_utf8("plain ascii"));
  CHECK(json::is_valid_utf8("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"));  // é € 😀
  CHECK(json::is_valid_utf8("\xF4\x8F\xBF\xBF"));                           // U+10FFFF
  CHECK_FALSE(json::is_valid_utf8("\xFF"));
  CHECK_FALSE(json::is_valid_utf8("caf\xE9"));           // Latin-1 é
  CHECK_FALSE(json::is_valid_utf8("\xC0\xAF"));          // overlong '/'
  CHECK_FALSE(json::is_valid_utf8("\xE0\x80\xAF"));      // overlong
  CHECK_FALSE(json::is_valid_utf8("\xED\xA0\x80"));      // surrogate U+D800
  CHECK_FALSE(json::is_valid_utf8("\xF4\x90\x80\x80"));  // above U+10FFFF
  CHECK_FALSE(json::is_valid_utf8("\xE2\x82"));          // truncated
  CHECK_FALSE(json::is_valid_utf8("\x80"));              // lone continuation
}

TEST_CASE("to_valid_utf8: one U+FFFD per maximal ill-formed subpart") {
  const std::string r = "\xEF\xBF\xBD";
  CHECK(json::to_valid_utf8("caf\xC3\xA9") == "caf\xC3\xA9");
  CHECK(json::to_valid_utf8("caf\xE9") == "caf" + r);
  CHECK(json::to_valid_utf8("a\xE2\x82"
                            "b") == "a" + r + "b");  // truncated 3-byte: one
  CHECK(json::to_valid_utf8("\xC0\xAF") == r + r);   // C0 never a lead byte
  CHECK(json::to_valid_utf8("\xED\xA0\x80") == r + r + r);
  CHECK(json::to_valid_utf8("\xF0\x9F\x98") == r);
  CHECK(json::to_valid_utf8("\xFF\xFE") == r + r);
  CHECK(json::is_valid_utf8(json::to_valid_utf8("\xFF\xC3\x28\xE2\x28\xA1\xF0\x28\x8C\xBC")));
}

TEST_CASE("base64: RFC 4648 test vectors and round trip") {
  CHECK(json::base64("") == "");
  CHECK(json::base64("f") == "Zg==");
  CHECK(json::base64("fo") == "Zm8=");
  CHECK(json::base64("foo") == "Zm9v");
  CHECK(json::base64("foob") == "Zm9vYg==");
  CHECK(json::base64("fooba") == "Zm9vYmE=");
  CHECK(json::base64("foobar") == "Zm9vYmFy");
  std::string all;
  for (int c = 0; c < 256; ++c) {
    all += static_cast<char>(c);
  }
  std::string back;
  REQUIRE(json::base64_decode(json::base64(all), back));
  CHECK(back == all);
  CHECK_FALSE(json::base64_decode("Zm9", back));
  CHECK_FALSE(json::base64_decode("Zm=v", back));
  CHECK_FALSE(json::base64_decode("Zm9v!A==", back));
}

TEST_CASE("put_bytes: valid names as they are, invalid ones with U+FFFD and <key>_b64") {
  Json o = Json::object();
  json::put_bytes(o, "name", "Documents/caf\xC3\xA9.txt");
  json::put_bytes(o, "bad", "photos/caf\xE9\n.jpg");
  std::string text = json::dump(o);
  Json back = parse(text);
  CHECK(back["name"] == "Documents/caf\xC3\xA9.txt");
  CHECK_FALSE(back.contains("name_b64"));
  CHECK(back["bad"] == "photos/caf\xEF\xBF\xBD\n.jpg");
  REQUIRE(back.contains("bad_b64"));
  std::string exact;
  REQUIRE(json::base64_decode(back["bad_b64"].get<std::string>(), exact));
  CHECK(exact == "photos/caf\xE9\n.jpg");
}

TEST_CASE("dump: control characters, newlines, DEL and C1 are escaped; output always parses") {
  Json o = Json::object();
  json::put_bytes(o, "msg", "ssh: connect refused\r\nline2\ttab\x01\x1b[31m\x7f\xC2\x85 end");
  std::string text = json::dump(o, -1);
  // No raw control byte anywhere in the document.
  for (unsigned char c : text) {
    CHECK_MESSAGE((c >= 0x20 && c != 0x7F), "raw control byte ", int(c), " in ", text);
  }
  CHECK(text.find("\\r\\n") != std::string::npos);
  CHECK(text.find("\\t") != std::string::npos);
  CHECK(text.find("\\u0001") != std::string::npos);
  CHECK(text.find("\\u001b") != std::string::npos);
  CHECK(text.find("\\u007f") != std::string::npos);
  CHECK(text.find("\\u0085") != std::string::npos);
  Json back = parse(text);
  CHECK(back["msg"] == "ssh: connect refused\r\nline2\ttab\x01\x1b[31m\x7f\xC2\x85 end");
  // Quote and "dump never fails" even for a raw invalid string smuggled into a Json.
  CHECK(json::quote("a\"b\\c\n") == "\"a\\\"b\\\\c\\n\"");
  Json raw = std::string("x\xFFy");
  CHECK(parse(json::dump(raw)) == "x\xEF\xBF\xBDy");
}

TEST_SUITE_END();

TEST_SUITE_BEGIN("util::json");

TEST_CASE("ArrayStream: the pieces are dump() of the whole object") {
  Json e1 = Json::object();
  e1["path"] = "a\nb";
  e1["n"] = {1, 2};
  Json e2 = Json::object();
  e2["path"] = "c";
  e2["empty"] = Json::array();
  for (int count : {0, 1, 2}) {
    Json head = Json::object();
    head["pattern"] = "*x*";
    Json tail = Json::object();
    tail["entries_read"] = 5;
    tail["vanished"] = {"snap:daily.0"};
    Json whole = head;
    whole["paths"] = Json::array();
    json::ArrayStream s("paths");
    std::string text = s.begin(head);
    for (int i = 0; i < count; ++i) {
      whole["paths"].push_back(i == 0 ? e1 : e2);
      text += s.item(i == 0 ? e1 : e2);
    }
    whole["entries_read"] = 5;
    whole["vanished"] = {"snap:daily.0"};
    text += s.end(tail);
    CHECK(text == json::dump(whole));
    // No members before or after the array.
    json::ArrayStream bare("paths");
    Json only = Json::object();
    only["paths"] = Json::array();
    std::string t2 = bare.begin(Json::object());
    for (int i = 0; i < count; ++i) {
      only["paths"].push_back(e2);
      t2 += bare.item(e2);
    }
    CHECK(t2 + bare.end(Json::object()) == json::dump(only));
  }
}

TEST_SUITE_END();
