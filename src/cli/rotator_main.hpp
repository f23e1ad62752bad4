#pragma once

namespace rotator::cli {

// The whole program: parses argv, runs one command, returns the exit status
// (0 ok, 1 error, 2 completed with warnings).
int rotator_main(int argc, char** argv);

}  // namespace rotator::cli
