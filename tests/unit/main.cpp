// Unit test runner: runs every case in a scratch directory under
// $TMPDIR/rotator-unittest.<pid>, removed on success, kept (and named) on failure.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "testutil.hpp"

int main(int argc, char** argv) {
  std::string root = rotator::test::init_test_root();
  doctest::Context context;
  context.applyCommandLine(argc, argv);
  int rc = context.run();
  if (rc == 0) {
    rotator::test::remove_tree(root);
  } else {
    std::fprintf(stderr, "unittest: scratch files kept in %s\n", root.c_str());
  }
  return rc;
}
