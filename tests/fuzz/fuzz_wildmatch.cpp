// libFuzzer target: filter::wildmatch. The input is PATTERN NUL TEXT (without
// a NUL byte: the first half is the pattern). Any pair must be answered,
// quickly (libFuzzer's -timeout catches exponential backtracking).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "filter/wildmatch.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto nul = in.find('\0');
  std::string_view pattern =
      nul == std::string_view::npos ? in.substr(0, size / 2) : in.substr(0, nul);
  std::string_view text = nul == std::string_view::npos ? in.substr(size / 2) : in.substr(nul + 1);
  (void)rotator::filter::wildmatch(pattern, text);
  return 0;
}
