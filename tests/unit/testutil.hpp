// Helpers for unit tests: scratch directories and tree listings.
//
// Tests only ever touch directories created here (under $TMPDIR, default /tmp).
// These helpers use the standard library directly (not the Fs seam): they
// build fixtures and observe results independently of the code under test.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <date/date.h>
#include <doctest/doctest.h>

#include "fs/fault_fs.hpp"
#include "util/duration.hpp"
#include "util/zone.hpp"

namespace rotator::test {

// Creates the per-process scratch root and returns it.
std::string init_test_root();
// Removes a tree (test scratch only).
void remove_tree(const std::string& path);

// A fresh, empty directory for one test case; removed when the case ends.
class TestContext {
 public:
  TestContext();
  ~TestContext();
  TestContext(const TestContext&) = delete;
  TestContext& operator=(const TestContext&) = delete;
  const std::string& dir() const { return m_dir; }
  // `dir()/rel`
  std::string path(const std::string& rel) const;

 private:
  std::string m_dir;
};

// Fixture builders (create parents as needed).
void write_file(const std::string& path, const std::string& content);
std::string read_file(const std::string& path);
void make_dir(const std::string& path);
void make_symlink(const std::string& target, const std::string& path);
void make_link(const std::string& existing, const std::string& path);
bool exists(const std::string& path);
ino_t inode_of(const std::string& path);  // lstat; 0 if missing

// One line per entry under `root` (sorted, relative paths):
//   "<rel> <type> ino=<n> nlink=<n> mode=<o> mtime=<s.ns> size=<n>[ -> target]"
// Set `with_inodes` false to compare trees of different inodes.
enum class WithInodes { yes, no };
std::vector<std::string> list_tree(const std::string& root, WithInodes inodes = WithInodes::yes);
// Map rel path -> inode for every non-directory under `root`.
std::map<std::string, ino_t> inodes_under(const std::string& root);

// Fault enumeration, the loop every "crash (or power cut) at every k" test
// runs: for k = 1, 2, ... a fresh TestContext and a FaultFs over a real
// PosixFs set to crash (or cut the power under the context's directory)
// after counted call k; `attempt(ctx, faulty)` runs the step through it,
// checks what is left, recovers and checks again, and returns whether the
// step itself returned ok. The loop ends at the first k whose attempt
// returned ok with the fault never reached (the step has fewer calls than
// k), and returns that k: the number of points tried. A step that never
// finishes within `limit` points fails the test case.
enum class FaultKind { crash, power_cut };
using FaultAttempt = std::function<bool(const TestContext& ctx, fs::FaultFs& faulty)>;
long for_each_fault_point(FaultKind fault, const FaultAttempt& attempt, long limit = 500);

// Failure enumeration for the descriptor-only calls DirNames (dir_names.hpp)
// can name the directory of: for k = 1, 2, ... a FaultFs over a real
// PosixFs counting every call (reads too) fails the k-th call of `op` with
// EIO, and a DirNames over it is handed to `attempt(fs)`, which runs the
// step through it and says what the step showed. When the fault fired, it
// must have fired on `op`, and the step either reported it (ok false: its
// `text` then names the failed directory, absolute or relative to `root`,
// and holds no empty or placeholder path) or, with Unreported::allowed
// only, absorbed it (ok true: a read it repeated). The loop ends at the
// first k whose attempt ran with the fault never reached, which must be
// ok, and returns the counts; a step not finished within `limit` points
// fails the test case. The attempt makes its own fixture when each point
// needs a fresh one, and adds any checks of its own on the error.
enum class DirCall { list_dir, fsync_dir, sync_fs };
const char* dir_call_name(DirCall op);  // "list_dir", as FaultFs::fail_at takes it
// How CAPTURE and CHECK show one (doctest shows other enums as numbers).
inline doctest::String toString(DirCall op) { return dir_call_name(op); }
enum class Unreported { allowed, refused };
struct FailingCallRun {
  bool ok = false;   // the step succeeded (exit 0, Outcome::ok, a value)
  std::string text;  // its error and log, where a reported failure is named
  std::string root;  // the configured root: a path shown relative to it counts
};
struct FailingCallCounts {
  long runs = 0;      // points at which the fault fired
  long reported = 0;  // ... and the step reported it
};
using FailingCallAttempt = std::function<FailingCallRun(fs::Fs& fs)>;
FailingCallCounts for_each_failing_call(DirCall op, const FailingCallAttempt& attempt,
                                        Unreported unreported = Unreported::allowed,
                                        long limit = 500);

// Time helpers shared by the pure tests (zone, duration, names, selection).
inline Instant utc_at(int y, unsigned mo, unsigned d, int h, int mi, int s = 0) {
  using namespace std::chrono;
  return Instant{date::sys_days{date::year{y} / mo / d}} + hours{h} + minutes{mi} + seconds{s};
}
// The zone `name` (REQUIREd to load).
inline Zone zone(const std::string& name) {
  auto z = Zone::from_name(name);
  REQUIRE_MESSAGE(z, name);
  return *z;
}
// The duration `text` (REQUIREd to parse).
inline Duration dur(const char* text) {
  auto d = parse_duration(text);
  REQUIRE_MESSAGE(d, text);
  return *d;
}

}  // namespace rotator::test
