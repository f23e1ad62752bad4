// libFuzzer target: the INI configuration parser, in memory
// (config::parse_config, the entry point behind load_config after the file
// is read). Any input must give a Config or an Error, never a crash, a hang
// or undefined behaviour.
#include <cstddef>
#include <cstdint>
#include <string>

#include "config/config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  auto cfg = rotator::config::parse_config("fuzz.conf", text);
  if (!cfg) {
    std::string msg = cfg.error().message();
    (void)msg;
  } else {
    for (const auto& job : cfg->jobs) {
      (void)rotator::config::effective_max_age(job);
    }
  }
  return 0;
}
