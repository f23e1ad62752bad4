// InodeMarks, the per-inode memory of `rotator du`: 4 bytes per inode in
// pages indexed by the inode number, a hash map only for what does not fit.
#include <doctest/doctest.h>

#include "history/inode_marks.hpp"

using namespace rotator;
using history::InodeMarks;

TEST_SUITE_BEGIN("history::inode_marks");

TEST_CASE("InodeMarks: dense inode numbers stay in pages, a few thousand for a million inodes") {
  InodeMarks m;
  CHECK(m.get(7, 42).links == 0);
  CHECK(m.get(7, 42).place == 0);
  for (ino_t ino = 1000; ino < 1000 + 1000000; ++ino) {
    m.set(7, ino, InodeMarks::Mark{static_cast<uint32_t>(ino % 30), 3});
  }
  CHECK(m.spilled() == 0);
  CHECK(m.pages() <= 1000000 / InodeMarks::k_page + 2);  // 4 MB of marks, no more
  CHECK(m.get(7, 1031).links == 1031 % 30);
  CHECK(m.get(7, 1000 + 31).place == 3);
  CHECK(m.get(8, 1000 + 31).place == 0);  // another device: its own marks
  m.set(7, 5000, InodeMarks::Mark{InodeMarks::k_done, 4});
  CHECK(m.get(7, 5000).links == InodeMarks::k_done);
  CHECK(m.get(7, 5000).place == 4);
  CHECK(m.spilled() == 0);
}

TEST_CASE("InodeMarks: what does not fit goes to the map, and comes back") {
  InodeMarks m;
  m.set(1, InodeMarks::k_dense_limit + 5, InodeMarks::Mark{2, 1});  // XFS-like inode number
  CHECK(m.spilled() == 1);
  CHECK(m.get(1, InodeMarks::k_dense_limit + 5).links == 2);
  m.set(1, 10, InodeMarks::Mark{70000, 1});  // more links than 16 bits
  CHECK(m.spilled() == 2);
  CHECK(m.get(1, 10).links == 70000);
  m.set(1, 10, InodeMarks::Mark{InodeMarks::k_done, 2});
  CHECK(m.spilled() == 1);
  CHECK(m.get(1, 10).links == InodeMarks::k_done);
  CHECK(m.get(1, 10).place == 2);
  // Past the page budget: still exact, in the map.
  for (size_t page = 0; page < InodeMarks::k_max_pages + 10; ++page) {
    m.set(2, page * InodeMarks::k_page, InodeMarks::Mark{1, 1});
  }
  // Device 1's page 0 (inode 10) counts too: the last 11 pages did not fit.
  CHECK(m.pages() == InodeMarks::k_max_pages);
  CHECK(m.spilled() == 1 + 11);
  CHECK(m.get(2, (InodeMarks::k_max_pages + 5) * InodeMarks::k_page).links == 1);
}

TEST_SUITE_END();
