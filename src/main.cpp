#include "cli/rotator_main.hpp"

int main(int argc, char** argv) { return rotator::cli::rotator_main(argc, argv); }
