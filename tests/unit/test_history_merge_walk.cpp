// The merged walk of `find` and `versions DIR`: one visit per path of all
// places, in std::map order of the paths, with the sightings of each place.
#include <doctest/doctest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "fs/posix_fs.hpp"
#include "history/merge_walk.hpp"
#include "testutil.hpp"

using namespace rotator;
using history::Sighting;

TEST_SUITE_BEGIN("history::merge_walk");

TEST_CASE("subtree_before: dir + '/' against a sibling, bytewise") {
  CHECK(history::subtree_before("a", "b"));
  CHECK_FALSE(history::subtree_before("a", "a.x"));  // '.' < '/'
  CHECK_FALSE(history::subtree_before("a", "a-b"));
  CHECK(history::subtree_before("a", "a0"));  // '0' > '/'
  CHECK(history::subtree_before("a", "ab"));
  CHECK(history::subtree_before("a.b", "a0"));
  CHECK_FALSE(history::subtree_before("b", "a"));
  CHECK(history::subtree_before("a", "\xC3\xA9"));  // bytes above 0x7f sort last
}

TEST_CASE("merge_walk: every path once, in std::map order, sightings per place") {
  test::TestContext ctx;
  std::string a = ctx.dir() + "/a", b = ctx.dir() + "/b";
  // A: d/ (with x, y/ (with z)), d.txt, d-1/, f; B: d (a file), d0/ (with q), f, g.
  for (const char* p : {"a/d/y", "a/d-1", "b/d0"}) {
    test::make_dir(ctx.dir() + "/" + p);
  }
  for (const char* p : {"a/d/x", "a/d/y/z", "a/d.txt", "a/f", "b/d", "b/d0/q", "b/f", "b/g"}) {
    test::write_file(ctx.dir() + "/" + p, p);
  }
  history::Place pa, pb;
  pa.path = a;
  pb.path = b;
  std::vector<history::MergeStart> starts{{&pa, a}, {&pb, b}};
  fs::PosixFs fs;
  std::vector<std::string> order;
  std::map<std::string, std::vector<size_t>> where;
  std::map<std::string, std::string> names;
  history::MergeCounts counts;
  auto st = history::merge_walk(
      fs, starts, "",
      [&](const std::string& rel, const std::string& name, const std::vector<Sighting>& seen) {
        order.push_back(rel);
        names[rel] = name;
        for (const auto& s : seen) {
          where[rel].push_back(s.start);
          if (rel == "d") {
            CHECK(s.type == (s.start == 0 ? fs::FileType::directory : fs::FileType::regular));
          }
        }
      },
      counts);
  REQUIRE(st);
  std::set<std::string> want{"d", "d/x", "d/y", "d/y/z", "d.txt", "d-1", "d0", "d0/q", "f", "g"};
  std::vector<std::string> sorted(want.begin(), want.end());
  CHECK(order == sorted);  // d-1, d.txt, d, d/x, d/y, d/y/z, d0, d0/q, f, g
  CHECK(where["d"] == std::vector<size_t>{0, 1});
  CHECK(where["f"] == std::vector<size_t>{0, 1});
  CHECK(where["d/y/z"] == std::vector<size_t>{0});
  CHECK(where["d0/q"] == std::vector<size_t>{1});
  CHECK(names["d/y/z"] == "z");
  CHECK(counts.entries == 12);  // 7 in A, 5 in B
  CHECK(counts.vanished.empty());

  SUBCASE("with a prefix: paths below it, same order") {
    std::vector<history::MergeStart> sub{{&pa, a + "/d"}};
    std::vector<std::string> seen;
    history::MergeCounts c2;
    REQUIRE(history::merge_walk(
        fs, sub, "d",
        [&](const std::string& rel, const std::string&, const std::vector<Sighting>&) {
          seen.push_back(rel);
        },
        c2));
    CHECK(seen == std::vector<std::string>{"d/x", "d/y", "d/y/z"});
  }
  SUBCASE("a place whose root is gone: reported vanished, the others walked") {
    history::Place gone;
    gone.path = ctx.dir() + "/gone";
    std::vector<history::MergeStart> two{{&gone, gone.path}, {&pb, b}};
    history::MergeCounts c3;
    long visits = 0;
    REQUIRE(history::merge_walk(
        fs, two, "",
        [&](const std::string&, const std::string&, const std::vector<Sighting>& s) {
          CHECK(s.front().start == 1);
          ++visits;
        },
        c3));
    CHECK(visits == 5);
    CHECK(c3.vanished.size() == 1);
  }
}

TEST_SUITE_END();
