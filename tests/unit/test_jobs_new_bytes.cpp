#include <doctest/doctest.h>

#include "jobs/new_bytes.hpp"

using namespace rotator;
using jobs::new_bytes_clause;

TEST_SUITE_BEGIN("jobs::new_bytes");

TEST_CASE("new_bytes_clause: the share of the from tree's bytes, or what is known") {
  CHECK(new_bytes_clause(6000, 14002, "clone") == ", 5.9 KiB new (42.9% of the 13.7 KiB in clone)");
  CHECK(new_bytes_clause(0, 14002, "clone") == ", 0 B new (0.0% of the 13.7 KiB in clone)");
  CHECK(new_bytes_clause(14002, 14002, "laptop") ==
        ", 13.7 KiB new (100.0% of the 13.7 KiB in laptop)");
  // No count of the from tree, or a stale one (smaller than what was linked):
  // the bytes only, never a share above 100%.
  CHECK(new_bytes_clause(6000, std::nullopt, "clone") == ", 5.9 KiB new");
  CHECK(new_bytes_clause(6000, 5000, "clone") == ", 5.9 KiB new");
  CHECK(new_bytes_clause(0, 0, "clone") == ", 0 B new");
  // A fresh build, not counted.
  CHECK(new_bytes_clause(std::nullopt, 10002, "clone") ==
        ", all bytes new (fresh build of the 9.8 KiB in clone)");
  CHECK(new_bytes_clause(std::nullopt, std::nullopt, "clone") == ", all bytes new (fresh build)");
}

TEST_SUITE_END();
