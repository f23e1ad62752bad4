#include <doctest/doctest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "rotation/name.hpp"
#include "rotation/plan.hpp"

using namespace rotator;
using namespace rotator::rotation;
using retention::RotatePolicy;

namespace {

RotatePolicy policy(const char* text) {
  auto p = retention::parse_rotate_policy(text);
  REQUIRE_MESSAGE(p, text);
  return *p;
}

std::vector<std::string> texts(const std::vector<Op>& ops) {
  std::vector<std::string> out;
  for (const auto& op : ops) {
    out.push_back(to_string(op));
  }
  return out;
}

// A snapshot directory in the simulation: name -> generation id.
struct Dir {
  std::map<std::string, int> entries;
  std::set<int> trash;
  int next_id = 1;

  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const auto& [name, id] : entries) {
      out.push_back(name);
    }
    return out;
  }
  void add(const std::string& name) {
    REQUIRE(entries.count(name) == 0);
    entries[name] = next_id++;
  }
  // Applies one op with the executor's preconditions: the source exists and a
  // rename never replaces an existing name.
  void apply(const Op& op) {
    REQUIRE_MESSAGE(entries.count(op.from) == 1, to_string(op));
    int id = entries.at(op.from);
    entries.erase(op.from);
    if (op.kind == OpKind::expire) {
      CHECK(op.to.empty());
      trash.insert(id);
    } else {
      REQUIRE_MESSAGE(entries.count(op.to) == 0, to_string(op));
      entries[op.to] = id;
    }
  }
  void apply(const std::vector<Op>& ops) {
    for (const auto& op : ops) {
      apply(op);
    }
  }
  // A lowest-level run: plan, apply, commit the staged generation to LEVEL.0.
  int backup_run(const RotatePolicy& p) {
    auto ops = plan_lowest_commit(names(), p);
    apply(ops);
    std::string zero = format_level_name(p.levels.front().name, 0);
    REQUIRE(entries.count(zero) == 0);
    int id = next_id++;
    entries[zero] = id;
    return id;
  }
  // A higher-level run; false when refused (then nothing changed).
  bool promote_run(const RotatePolicy& p, const std::string& level) {
    auto ops = plan_higher(names(), p, level);
    if (!ops) {
      return false;
    }
    apply(*ops);
    return true;
  }
  int id(const std::string& name) const {
    auto it = entries.find(name);
    return it == entries.end() ? 0 : it->second;
  }
};

Dir dir_with(const std::vector<std::string>& names) {
  Dir d;
  for (const auto& n : names) {
    d.add(n);
  }
  return d;
}

// Checks the crash/resume contract of `planner` on `start`: for every prefix
// length k of the plan, apply ops 1..k, then let the next run plan again on
// what it finds ("resume") and apply that. Every generation stays under one
// name (Dir::apply enforces no overwrite), only what the full plan expires is
// ever expired, and every resume ends in the same directory as the
// uninterrupted run.
template <typename Planner>
void check_crash_and_resume(const Dir& start, Planner planner) {
  auto full = planner(start.names());
  REQUIRE(full);
  Dir finished = start;
  finished.apply(*full);
  for (size_t k = 0; k <= full->size(); ++k) {
    CAPTURE(k);
    Dir crashed = start;
    for (size_t i = 0; i < k; ++i) {
      crashed.apply((*full)[i]);
    }
    // Nothing lost: every generation is either under a name or in the trash
    // because the full plan expires it.
    for (const auto& [name, id] : start.entries) {
      bool present = false;
      for (const auto& [n2, id2] : crashed.entries) {
        present = present || id2 == id;
      }
      CHECK((present || finished.trash.count(id) == 1));
    }
    CHECK(crashed.entries.size() + crashed.trash.size() == start.entries.size());
    auto resume = planner(crashed.names());
    if (resume) {
      crashed.apply(*resume);
    }
    CHECK(crashed.entries == finished.entries);
    CHECK(crashed.trash == finished.trash);
  }
}

}  // namespace

TEST_SUITE_BEGIN("rotation::plan");

TEST_CASE("plan_lowest_commit: shift, expire, leave LEVEL.0 free") {
  SUBCASE("a full level") {
    CHECK(texts(plan_lowest_commit({"daily.0", "daily.1", "daily.2"}, policy("daily:3"))) ==
          std::vector<std::string>{"expire daily.2", "rename daily.1 -> daily.2",
                                   "rename daily.0 -> daily.1"});
  }
  SUBCASE("not yet full") {
    CHECK(texts(plan_lowest_commit({"daily.1", "daily.0"}, policy("daily:7 weekly:4"))) ==
          std::vector<std::string>{"rename daily.1 -> daily.2", "rename daily.0 -> daily.1"});
  }
  SUBCASE("empty directory") { CHECK(plan_lowest_commit({}, policy("daily:7")).empty()); }
  SUBCASE("holes from an rsnapshot history are closed, not propagated") {
    CHECK(texts(plan_lowest_commit({"daily.0", "daily.3", "daily.4"}, policy("daily:7"))) ==
          std::vector<std::string>{"rename daily.3 -> daily.2", "rename daily.4 -> daily.3",
                                   "rename daily.0 -> daily.1"});
    CHECK(texts(plan_lowest_commit({"daily.2", "daily.5"}, policy("daily:7"))) ==
          std::vector<std::string>{"rename daily.2 -> daily.1", "rename daily.5 -> daily.2"});
  }
  SUBCASE("LEVEL.0 already free: nothing to do") {
    CHECK(plan_lowest_commit({"daily.1", "daily.2"}, policy("daily:7")).empty());
  }
  SUBCASE("keep shrank: the oldest beyond N-1 expire") {
    CHECK(texts(plan_lowest_commit(
              {"daily.0", "daily.1", "daily.2", "daily.3", "daily.4", "daily.5", "daily.6"},
              policy("daily:3"))) ==
          std::vector<std::string>{"expire daily.6", "expire daily.5", "expire daily.4",
                                   "expire daily.3", "expire daily.2", "rename daily.1 -> daily.2",
                                   "rename daily.0 -> daily.1"});
  }
  SUBCASE("N = 1 keeps only the new generation") {
    CHECK(texts(plan_lowest_commit({"daily.0", "daily.4"}, policy("daily:1"))) ==
          std::vector<std::string>{"expire daily.4", "expire daily.0"});
  }
  SUBCASE("other levels and foreign names are never touched") {
    CHECK(texts(plan_lowest_commit({"daily.0", "weekly.0", "daily.01", "daily", "notes",
                                    "2026-11-22_020000", "hourly.0", "daily.x"},
                                   policy("daily:7 weekly:4"))) ==
          std::vector<std::string>{"rename daily.0 -> daily.1"});
  }
}

TEST_CASE("plan_higher: rsnapshot 1.5 promotion of the lower level's oldest") {
  auto p = policy("daily:7 weekly:4 monthly:12");
  std::vector<std::string> names = {"daily.0",  "daily.1",  "daily.2",  "daily.3",
                                    "daily.4",  "daily.5",  "daily.6",  "weekly.0",
                                    "weekly.1", "weekly.2", "weekly.3", "monthly.0"};
  auto weekly = plan_higher(names, p, "weekly");
  REQUIRE(weekly);
  CHECK(texts(*weekly) == std::vector<std::string>{"expire weekly.3", "rename weekly.2 -> weekly.3",
                                                   "rename weekly.1 -> weekly.2",
                                                   "rename weekly.0 -> weekly.1",
                                                   "rename daily.6 -> weekly.0"});
  auto monthly = plan_higher(names, p, "monthly");
  REQUIRE(monthly);
  CHECK(texts(*monthly) ==
        std::vector<std::string>{"rename monthly.0 -> monthly.1", "rename weekly.3 -> monthly.0"});

  SUBCASE("the lower level's oldest slot is missing: refused") {
    auto r = plan_higher({"daily.0", "daily.1", "daily.5", "weekly.0"}, p, "weekly");
    REQUIRE_FALSE(r);
    CHECK(r.error().message() == "nothing to promote: 'daily.6' not present (yet)");
    auto m = plan_higher(names, policy("daily:7 weekly:5 monthly:12"), "monthly");
    REQUIRE_FALSE(m);
    CHECK(m.error().message() == "nothing to promote: 'weekly.4' not present (yet)");
  }
  SUBCASE("unknown and lowest levels") {
    auto u = plan_higher(names, p, "fortnightly");
    REQUIRE_FALSE(u);
    CHECK(u.error().message() == "unknown level 'fortnightly' (levels: daily, weekly, monthly)");
    auto l = plan_higher(names, p, "daily");
    REQUIRE_FALSE(l);
    CHECK(l.error().message() ==
          "'daily' is the lowest level: it is rotated by a backup run, not promoted");
  }
  SUBCASE("holes in the promoted level are closed") {
    auto r = plan_higher({"daily.6", "weekly.0", "weekly.2", "weekly.7"}, p, "weekly");
    REQUIRE(r);
    // weekly.2 stays where it is; weekly.7 moves down to 3.
    CHECK(texts(*r) == std::vector<std::string>{"rename weekly.7 -> weekly.3",
                                                "rename weekly.0 -> weekly.1",
                                                "rename daily.6 -> weekly.0"});
  }
}

TEST_CASE("rsnapshot#331: daily:3 weekly:2, weekly before the dailies fill") {
  auto p = policy("daily:3 weekly:2");
  Dir d;
  SUBCASE("no daily yet, then two: refused, nothing changes") {
    CHECK_FALSE(d.promote_run(p, "weekly"));
    CHECK(d.entries.empty());
    d.backup_run(p);
    d.backup_run(p);
    auto before = d.entries;
    auto r = plan_higher(d.names(), p, "weekly");
    REQUIRE_FALSE(r);
    CHECK(r.error().message() == "nothing to promote: 'daily.2' not present (yet)");
    CHECK_FALSE(d.promote_run(p, "weekly"));
    CHECK(d.entries == before);
  }
  SUBCASE("three dailies then three weeklies: the weekly is kept, never all deleted") {
    int d1 = d.backup_run(p);
    int d2 = d.backup_run(p);
    int d3 = d.backup_run(p);
    CHECK(d.entries ==
          std::map<std::string, int>{{"daily.0", d3}, {"daily.1", d2}, {"daily.2", d1}});
    CHECK(d.promote_run(p, "weekly"));
    CHECK_FALSE(d.promote_run(p, "weekly"));  // daily.2 was promoted: nothing left
    CHECK_FALSE(d.promote_run(p, "weekly"));
    // rsnapshot 1.4.x ended with no weekly.* at all here.
    CHECK(d.entries ==
          std::map<std::string, int>{{"daily.0", d3}, {"daily.1", d2}, {"weekly.0", d1}});
    CHECK(d.trash.empty());
  }
  SUBCASE("three weeks of cron: weekly runs just before the daily on days 7, 14, 21") {
    std::map<int, int> day_id;
    for (int day = 1; day <= 21; ++day) {
      if (day % 7 == 0) {
        CHECK(d.promote_run(p, "weekly"));
      }
      day_id[day] = d.backup_run(p);
    }
    // Day 7 promotes day 4's daily, day 14 day 11's, day 21 day 18's; the weekly
    // from day 4 falls off weekly.1 on day 21.
    CHECK(d.entries == std::map<std::string, int>{{"daily.0", day_id[21]},
                                                  {"daily.1", day_id[20]},
                                                  {"daily.2", day_id[19]},
                                                  {"weekly.0", day_id[18]},
                                                  {"weekly.1", day_id[11]}});
    CHECK(d.trash.count(day_id[4]) == 1);
  }
}

TEST_CASE("plan_lowest_commit: every crash point resumes to the same result") {
  // Every subset of daily.0 ... daily.5, with other levels and foreign names
  // around, for several counts.
  for (int count : {1, 2, 3, 4, 6, 8}) {
    // (daily:1 with a higher level is refused by the parser: then weekly.*
    // are names of a level the policy does not know.)
    auto p = policy(("daily:" + std::to_string(count) + (count == 1 ? "" : " weekly:2")).c_str());
    for (int mask = 0; mask < 64; ++mask) {
      CAPTURE(count);
      CAPTURE(mask);
      std::vector<std::string> names = {"weekly.0", "weekly.1", "daily.01", "notes"};
      for (int i = 0; i < 6; ++i) {
        if (mask & (1 << i)) {
          names.push_back(format_level_name("daily", i));
        }
      }
      Dir start = dir_with(names);
      auto planner = [&](const std::vector<std::string>& listing) {
        return Result<std::vector<Op>>(plan_lowest_commit(listing, p));
      };
      check_crash_and_resume(start, planner);
      // After the plan: daily.0 is free, the survivors are daily.1 ... daily.m in
      // their old order, and planning again finds nothing to do.
      Dir done = start;
      done.apply(plan_lowest_commit(names, p));
      CHECK(done.entries.count("daily.0") == 0);
      std::vector<int> old_order, new_order;
      for (int i = 0; i < 6; ++i) {
        if (mask & (1 << i)) {
          old_order.push_back(start.id(format_level_name("daily", i)));
        }
      }
      for (int i = 1; i < count; ++i) {
        if (int id = done.id(format_level_name("daily", i))) {
          new_order.push_back(id);
        }
      }
      old_order.resize(std::min(old_order.size(), static_cast<size_t>(count - 1)));
      CHECK(new_order == old_order);
      CHECK(plan_lowest_commit(done.names(), p).empty());
      for (const char* untouched : {"weekly.0", "weekly.1", "daily.01", "notes"}) {
        CHECK(done.id(untouched) == start.id(untouched));
      }
    }
  }
}

TEST_CASE("plan_higher: every crash point resumes to the same result") {
  auto p = policy("daily:3 weekly:3 monthly:2");
  for (int mask = 0; mask < 32; ++mask) {
    CAPTURE(mask);
    std::vector<std::string> names = {"daily.0", "daily.2", "monthly.0", "weekly.x"};
    for (int i = 0; i < 5; ++i) {
      if (mask & (1 << i)) {
        names.push_back(format_level_name("weekly", i));
      }
    }
    Dir start = dir_with(names);
    auto planner = [&](const std::vector<std::string>& listing) {
      return plan_higher(listing, p, "weekly");
    };
    check_crash_and_resume(start, planner);
    Dir done = start;
    auto plan = plan_higher(names, p, "weekly");
    REQUIRE(plan);
    done.apply(*plan);
    CHECK(done.id("weekly.0") == start.id("daily.2"));
    CHECK(done.id("daily.0") == start.id("daily.0"));
    CHECK(done.id("monthly.0") == start.id("monthly.0"));
    // Once promoted, a second run has nothing to promote and changes nothing.
    auto again = plan_higher(done.names(), p, "weekly");
    REQUIRE_FALSE(again);
    CHECK(again.error().message() == "nothing to promote: 'daily.2' not present (yet)");
  }
}

TEST_CASE("to_string(Op)") {
  CHECK(to_string(Op{OpKind::rename, "daily.1", "daily.2"}) == "rename daily.1 -> daily.2");
  CHECK(to_string(Op{OpKind::expire, "daily.6", ""}) == "expire daily.6");
}

TEST_SUITE_END();
