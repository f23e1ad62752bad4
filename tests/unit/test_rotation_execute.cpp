#include <doctest/doctest.h>

#include <cerrno>
#include <map>
#include <string>
#include <vector>

#include "retention/policy.hpp"
#include "rotation/execute.hpp"
#include "rotation/plan.hpp"

using namespace rotator;
using namespace rotator::rotation;

namespace {

// A directory of generation names in memory; the `fail_at`-th op (1-based)
// fails with EIO and changes nothing.
struct MemTarget final : OpTarget {
  std::map<std::string, int> entries;  // name -> generation id
  std::vector<int> trash;
  std::vector<std::string> calls;
  int fail_at = 0;

  Status step(const std::string& call) {
    calls.push_back(call);
    if (static_cast<int>(calls.size()) == fail_at) {
      return sys_error(EIO, "rename", call);
    }
    return ok();
  }
  Status rename_generation(const std::string& from, const std::string& to) override {
    TRY(step("rename " + from + " " + to));
    REQUIRE(entries.count(from) == 1);
    REQUIRE(entries.count(to) == 0);  // plans never target an existing name
    entries[to] = entries[from];
    entries.erase(from);
    return ok();
  }
  Status expire_generation(const std::string& name) override {
    TRY(step("expire " + name));
    REQUIRE(entries.count(name) == 1);
    trash.push_back(entries[name]);
    entries.erase(name);
    return ok();
  }
  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const auto& e : entries) {
      out.push_back(e.first);
    }
    return out;
  }
};

retention::RotatePolicy policy(const char* text) {
  auto p = retention::parse_rotate_policy(text);
  REQUIRE(p);
  return *p;
}

}  // namespace

TEST_SUITE_BEGIN("rotation::execute");

TEST_CASE("apply_ops does the ops in order and counts them") {
  MemTarget t;
  t.entries = {{"daily.0", 1}, {"daily.1", 2}, {"daily.2", 3}};
  auto ops = plan_lowest_commit(t.names(), policy("daily:3"));
  Applied applied;
  REQUIRE(apply_ops(t, ops, applied));
  CHECK(t.calls == std::vector<std::string>{"expire daily.2", "rename daily.1 daily.2",
                                            "rename daily.0 daily.1"});
  CHECK(applied.renamed == 2);
  CHECK(applied.expired == 1);
  CHECK(applied.expired_names == std::vector<std::string>{"daily.2"});
  CHECK(t.entries == std::map<std::string, int>{{"daily.1", 1}, {"daily.2", 2}});
  CHECK(t.trash == std::vector<int>{3});
}

TEST_CASE("apply_ops stops at the first failure; re-planning resumes the rest") {
  // For every op k of the plan: fail at k, check that nothing after k ran,
  // then re-plan on the listing and apply: the result is that of one run.
  MemTarget ref;
  ref.entries = {{"daily.0", 1}, {"daily.2", 2}, {"daily.5", 3}, {"daily.6", 4}};
  auto pol = policy("daily:3");
  const auto start = ref.entries;
  Applied ref_applied;
  REQUIRE(apply_ops(ref, plan_lowest_commit(ref.names(), pol), ref_applied));
  const size_t n = ref.calls.size();
  REQUIRE(n >= 3);
  for (size_t k = 1; k <= n; ++k) {
    CAPTURE(k);
    MemTarget t;
    t.entries = start;
    t.fail_at = static_cast<int>(k);
    Applied applied;
    auto r = apply_ops(t, plan_lowest_commit(t.names(), pol), applied);
    REQUIRE_FALSE(r);
    CHECK(r.error().sys_errno == EIO);
    CHECK(t.calls.size() == k);
    CHECK(applied.renamed + applied.expired == static_cast<long>(k - 1));
    t.fail_at = 0;
    REQUIRE(apply_ops(t, plan_lowest_commit(t.names(), pol), applied));
    CHECK(t.entries == ref.entries);
    CHECK(t.trash == ref.trash);
    CHECK(applied.renamed == ref_applied.renamed);
    CHECK(applied.expired == ref_applied.expired);
  }
}

TEST_SUITE_END();
