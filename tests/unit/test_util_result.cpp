#include <doctest/doctest.h>

#include <cerrno>
#include <string>

#include "util/result.hpp"

using namespace rotator;

namespace {

// Stands for an Fs call that has only a descriptor: it cannot name the path.
Result<int> fd_call(int err) {
  if (err != 0) {
    return sys_error(err, "read directory", "");
  }
  return 7;
}

// The caller that knows which directory the descriptor is.
Status caller(int err, int* context_evaluated) {
  TRY_CONTEXT(fd_call(err), "read directory",
              (++*context_evaluated, std::string("snapshots/daily.1")));
  return ok();
}

Result<int> assigning_caller(int err) {
  TRY_ASSIGN_CONTEXT(int v, fd_call(err), "rename", "holding/a", "to 'holding/b'");
  return v + 1;
}

Status plain_caller() {
  TRY_CONTEXT(Status(plain_error("'.trash' was not made by rotator")), "stat", "x");
  return ok();
}

}  // namespace

TEST_SUITE_BEGIN("util::result");

TEST_CASE("with_context keeps errno and names the caller's path, op and detail") {
  Error inner = sys_error(EACCES, "link", "f", "to 'g'");
  Error e = with_context(inner, "link", "clone/d/f", "to 'backup/d/f'");
  CHECK(e.sys_errno == EACCES);
  CHECK(e.op == "link");
  CHECK(e.path == "clone/d/f");
  CHECK(e.detail == "to 'backup/d/f'");
  CHECK(e.message() == "failed to link 'clone/d/f' to 'backup/d/f': Permission denied");

  // Without a detail, the callee's (which names its relative paths) is dropped.
  Error bare = with_context(inner, "stat", "clone/d/f");
  CHECK(bare.detail.empty());
  CHECK(bare.message() == "failed to stat 'clone/d/f': Permission denied");

  // An Error from a descriptor-only call (empty path) gets the path.
  CHECK(with_context(sys_error(EIO, "fsync", ""), "sync directory", "snapshots").message() ==
        "failed to sync directory 'snapshots': Input/output error");
}

TEST_CASE("with_context returns a complete message (no op) unchanged") {
  Error plain = plain_error("rotator.conf:3: unknown key 'x' in [j]");
  Error e = with_context(plain, "stat", "somewhere");
  CHECK(e.op.empty());
  CHECK(e.path.empty());
  CHECK(e.sys_errno == 0);
  CHECK(e.message() == "rotator.conf:3: unknown key 'x' in [j]");
}

TEST_CASE("TRY_CONTEXT: the error with the caller's context; success passes, context unevaluated") {
  int evaluated = 0;
  Status bad = caller(EACCES, &evaluated);
  REQUIRE_FALSE(bad);
  CHECK(evaluated == 1);
  CHECK(bad.error().sys_errno == EACCES);
  CHECK(bad.error().message() == "failed to read directory 'snapshots/daily.1': Permission denied");

  evaluated = 0;
  CHECK(caller(0, &evaluated));
  CHECK(evaluated == 0);

  Status plain = plain_caller();
  REQUIRE_FALSE(plain);
  CHECK(plain.error().message() == "'.trash' was not made by rotator");
}

TEST_CASE("TRY_ASSIGN_CONTEXT assigns on success, adds op, path and detail on failure") {
  auto good = assigning_caller(0);
  REQUIRE(good);
  CHECK(*good == 8);
  auto bad = assigning_caller(EXDEV);
  REQUIRE_FALSE(bad);
  CHECK(bad.error().sys_errno == EXDEV);
  CHECK(bad.error().message() ==
        "failed to rename 'holding/a' to 'holding/b': Invalid cross-device link");
}

TEST_SUITE_END();
