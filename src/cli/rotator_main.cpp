#include "cli/rotator_main.hpp"

#include <fmt/format.h>

namespace rotator::cli {

int rotator_main(int, char**) {
  fmt::print("rotator 0.1\n");
  return 0;
}

}  // namespace rotator::cli
