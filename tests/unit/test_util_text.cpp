#include <doctest/doctest.h>

#include <string>

#include "state/state.hpp"
#include "util/text.hpp"

using namespace rotator;

TEST_SUITE_BEGIN("util::text");

TEST_CASE("escape_control: one printable line for any bytes") {
  CHECK(escape_control("plain caf\xC3\xA9 a\\b") == "plain caf\xC3\xA9 a\\b");
  CHECK(escape_control("refused\r\n\t\x1b[2K\x7f\x01") == "refused\\r\\n\\t\\x1b[2K\\x7f\\x01");
  CHECK(escape_control(std::string("a\0b", 3)) == "a\\x00b");
}

TEST_CASE("escape_text/unescape_text round-trip every byte, and read the old form") {
  std::string all;
  for (int c = 0; c < 256; ++c) {
    all += static_cast<char>(c);
  }
  all += "\\n\\\\x";
  std::string e = escape_text(all);
  for (unsigned char c : e) {
    CHECK((c >= 0x20 && c != 0x7F));
  }
  CHECK(unescape_text(e) == all);
  CHECK(unescape_text("line1\\nline2 back\\\\slash") == "line1\nline2 back\\slash");
  CHECK(unescape_text("\\xZZ\\x4") == "xZZx4");
}

TEST_CASE("state file: a carriage return from ssh is stored escaped and read back exactly") {
  state::JobState st;
  st.last_result = state::Outcome::error;
  st.last_failure_message = "ssh: Connection refused\r\x1b[2K\rrsync: closed\nsecond";
  std::string text = state::serialize(st);
  CHECK(text.find('\r') == std::string::npos);
  CHECK(text.find('\x1b') == std::string::npos);
  CHECK(text.find(
            "last_failure_message=ssh: Connection refused\\r\\x1b[2K\\rrsync: closed\\nsecond\n") !=
        std::string::npos);
  CHECK(state::parse(text).last_failure_message == st.last_failure_message);
}

TEST_CASE("format_size: bytes, then binary units with one decimal") {
  CHECK(format_size(0) == "0 B");
  CHECK(format_size(1023) == "1023 B");
  CHECK(format_size(1024) == "1.0 KiB");
  CHECK(format_size(1536) == "1.5 KiB");
  CHECK(format_size(10002) == "9.8 KiB");
  CHECK(format_size(1048575) == "1.0 MiB");  // 1023.999 KiB would print as "1024.0 KiB"
  CHECK(format_size(3250000) == "3.1 MiB");
  CHECK(format_size(5LL << 40) == "5.0 TiB");
  CHECK(format_size(-1) == "? B");
}

TEST_SUITE_END();
