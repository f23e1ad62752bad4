#include <doctest/doctest.h>

#include <string>

#include "retention/policy.hpp"

using namespace rotator;
using namespace rotator::retention;

namespace {

std::string dated_error(const char* text) {
  auto r = parse_dated_policy(text);
  REQUIRE_FALSE_MESSAGE(r, text);
  return r.error().message();
}

std::string rotate_error(const char* text) {
  auto r = parse_rotate_policy(text);
  REQUIRE_FALSE_MESSAGE(r, text);
  return r.error().message();
}

}  // namespace

TEST_SUITE_BEGIN("retention::policy");

TEST_CASE("parse_dated_policy: any text order, stored fine -> coarse") {
  auto p = parse_dated_policy("yearly:* monthly:12 \tweekly:4 daily:7 hourly:24 last:3");
  REQUIRE(p);
  CHECK(p->rules == std::vector<DatedRule>{{Period::last, 3},
                                           {Period::hourly, 24},
                                           {Period::daily, 7},
                                           {Period::weekly, 4},
                                           {Period::monthly, 12},
                                           {Period::yearly, k_unlimited}});
  CHECK(to_string(*p) == "last:3 hourly:24 daily:7 weekly:4 monthly:12 yearly:*");
  auto again = parse_dated_policy(to_string(*p));
  REQUIRE(again);
  CHECK(*again == *p);

  auto one = parse_dated_policy("  daily:007  ");
  REQUIRE(one);
  CHECK(one->rules == std::vector<DatedRule>{{Period::daily, 7}});
  CHECK(parse_dated_policy("daily:1000000"));
}

TEST_CASE("parse_dated_policy: errors") {
  CHECK(dated_error("") == "keep: keeps nothing");
  CHECK(dated_error(" \t ") == "keep: keeps nothing");
  CHECK(dated_error("fortnightly:2") ==
        "keep: unknown period 'fortnightly' (expected last, hourly, daily, weekly, monthly or "
        "yearly)");
  CHECK(dated_error("Daily:2") ==
        "keep: unknown period 'Daily' (expected last, hourly, daily, weekly, monthly or yearly)");
  CHECK(dated_error("daily:7 weekly:4 daily:3") == "keep: duplicate period 'daily'");
  CHECK(dated_error("daily:0") ==
        "keep: bad count '0' in 'daily:0' (expected a positive integer up to 1000000, or *)");
  CHECK(dated_error("weekly:4 daily:-1") ==
        "keep: bad count '-1' in 'daily:-1' (expected a positive integer up to 1000000, or *)");
  CHECK(dated_error("daily:") ==
        "keep: bad count '' in 'daily:' (expected a positive integer up to 1000000, or *)");
  CHECK(dated_error("daily:7d") ==
        "keep: bad count '7d' in 'daily:7d' (expected a positive integer up to 1000000, or *)");
  CHECK(dated_error("daily:1000001") ==
        "keep: bad count '1000001' in 'daily:1000001' (expected a positive integer up to "
        "1000000, or *)");
  CHECK(dated_error("daily:**") ==
        "keep: bad count '**' in 'daily:**' (expected a positive integer up to 1000000, or *)");
  CHECK(dated_error("daily7") == "keep: bad rule 'daily7' (expected PERIOD:N)");
  CHECK(dated_error("daily: 7") ==
        "keep: bad count '' in 'daily:' (expected a positive integer up to 1000000, or *)");
}

TEST_CASE("parse_rotate_policy: levels in text order, lowest first") {
  auto p = parse_rotate_policy("daily:7 weekly:4 monthly:12");
  REQUIRE(p);
  CHECK(p->levels == std::vector<Level>{{"daily", 7}, {"weekly", 4}, {"monthly", 12}});
  CHECK(to_string(*p) == "daily:7 weekly:4 monthly:12");
  REQUIRE(p->find("weekly") != nullptr);
  CHECK(p->find("weekly")->count == 4);
  CHECK(p->find("yearly") == nullptr);
  auto odd = parse_rotate_policy("alpha:6 Beta_2:1");
  REQUIRE(odd);
  CHECK(odd->levels == std::vector<Level>{{"alpha", 6}, {"Beta_2", 1}});
}

TEST_CASE("parse_rotate_policy: errors") {
  CHECK(rotate_error("") == "keep: keeps nothing");
  CHECK(rotate_error("daily") == "keep: bad rule 'daily' (expected LEVEL:N)");
  CHECK(rotate_error("daily:7 da-ily:3") ==
        "keep: bad level name 'da-ily' (expected letters, digits and _)");
  CHECK(rotate_error(":3") == "keep: bad level name '' (expected letters, digits and _)");
  CHECK(rotate_error("daily:7 weekly:2 daily:3") == "keep: duplicate level 'daily'");
  CHECK(rotate_error("daily:0") ==
        "keep: bad count '0' in 'daily:0' (expected a positive integer up to 1000000)");
  CHECK(rotate_error("daily:1 weekly:3") ==
        "keep: the first level 'daily:1' has a higher level 'weekly', which promotes its oldest "
        "generation: that takes the only 'daily' away; keep at least daily:2 (as rsnapshot "
        "requires)");
  CHECK(parse_rotate_policy("daily:1"));           // no higher level: fine
  CHECK(parse_rotate_policy("daily:2 weekly:1"));  // only the first level needs 2
  CHECK(rotate_error("daily:*") ==
        "keep: bad count '*' in 'daily:*' (expected a positive integer up to 1000000)");
  for (const char* word : {"check", "status", "prune", "versions", "restore", "find", "du", "diff",
                           "help", "version"}) {
    std::string text = std::string(word) + ":3";
    CHECK(rotate_error(text.c_str()) ==
          std::string("keep: level name '") + word +
              "' is a command word (reserved: check, status, prune, versions, restore, find, du, "
              "diff, help, version)");
  }
}

TEST_SUITE_END();
