// Whole weekly-backup runs (run_level: state, holding folder choice, mirror,
// pruning) under fault injection: crash at every k-th filesystem call, then
// rerun, and compare with an uninterrupted run on a twin fixture.
#include <doctest/doctest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <set>

#include "config/config.hpp"
#include "fs/fault_fs.hpp"
#include "fs/nosync_fs.hpp"
#include "fs/posix_fs.hpp"
#include "jobs/check.hpp"
#include "jobs/runner.hpp"
#include "jobs/status.hpp"
#include "log/log.hpp"
#include "state/state.hpp"
#include "testutil.hpp"

using namespace rotator;

namespace {

namespace stdfs = std::filesystem;

std::string config_for(const std::string& root) {
  return "[rotator]\nroot = " + root +
         "\ntimezone = UTC\n[backup]\ntype = backup\nrun_on = weekly\nfrom = clone\npath = backup\n"
         "filter = " +
         root + "/rules\nprune_empty_dirs = yes\nholding_keep = 1y\n";
}

// clone -> backup already mirrored once; then the clone changes.
void make_fixture(const std::string& root) {
  std::string c = root + "/clone";
  test::write_file(c + "/docs/a.txt", "a1");
  test::write_file(c + "/docs/b.txt", "b1");
  test::write_file(c + "/docs/sub/c.txt", "c1");
  test::write_file(c + "/gone/d.txt", "d1");
  test::write_file(c + "/gone/deep/e.txt", "e1");
  test::write_file(c + "/top.txt", "t1");
  test::write_file(c + "/cache/x.bin", "x");
  test::make_symlink("top.txt", c + "/link");
  test::write_file(root + "/rules", "- cache/\n");
}

void change_clone(const std::string& root) {
  std::string c = root + "/clone";
  test::write_file(c + "/docs/a.new", "a2");
  stdfs::rename(c + "/docs/a.new", c + "/docs/a.txt");  // new inode, as rsync writes
  stdfs::remove(c + "/docs/b.txt");
  stdfs::remove_all(c + "/gone");
  test::write_file(c + "/docs/new.txt", "n");
  test::write_file(c + "/added/deep/f.txt", "f");
  stdfs::remove(c + "/top.txt");
  test::make_dir(c + "/top.txt");  // file -> directory
  test::write_file(c + "/top.txt/inner", "i");
  test::write_file(root + "/rules", "- cache/\n- link\n");  // newly excluded
  // An old holding folder that the next successful run prunes (keep 1y).
  test::write_file(root + "/holding/2019-01-01/old/f", "ancient");
}

int run(fs::Fs& fs, const std::string& root, const std::string& now_iso,
        const std::string& log_file = {}) {
  auto cfg = config::parse_config("rotator.conf", config_for(root));
  REQUIRE(cfg);
  log::Logger logger;
  logger.set_verbosity(log::Verbosity::quiet);
  if (!log_file.empty()) {
    std::string err;
    REQUIRE_MESSAGE(logger.open_file(log_file, &err), err);
  }
  Zone zone = Zone::utc();
  auto now = zone.parse_iso(now_iso);
  REQUIRE(now);
  jobs::RunContext ctx{
      fs, *cfg, zone, *now, rotator::DryRun::no, logger, [](std::string_view) {}, "weekly"};
  return jobs::run_level(ctx, "weekly");
}

// rel path inside a holding folder -> inode, over every dated folder.
std::map<std::string, ino_t> holding_map(const std::string& root, std::set<std::string>* folders) {
  std::map<std::string, ino_t> out;
  for (auto& f : stdfs::directory_iterator(root + "/holding")) {
    std::string name = f.path().filename().string();
    folders->insert(name);
    for (auto& [rel, ino] : test::inodes_under(f.path().string())) {
      out[rel] = ino;
    }
    // whole displaced directories count too
    for (auto it = stdfs::recursive_directory_iterator(f.path());
         it != stdfs::recursive_directory_iterator(); ++it) {
      if (it->is_directory() && !it->is_symlink()) {
        out[it->path().string().substr(f.path().string().size() + 1) + "/"] =
            test::inode_of(it->path().string());
      }
    }
  }
  return out;
}

}  // namespace

TEST_SUITE_BEGIN("jobs::backup");

TEST_CASE("weekly backup: crash at every k-th filesystem call, rerun converges, nothing lost") {
  fs::PosixFs real;
  // The uninterrupted twin.
  test::TestContext twin;
  make_fixture(twin.dir());
  REQUIRE(run(real, twin.dir(), "2026-11-22T03:00") == 0);
  auto twin_old = test::inodes_under(twin.path("backup"));
  change_clone(twin.dir());
  REQUIRE(run(real, twin.dir(), "2026-11-29T03:00") == 0);
  auto twin_backup = test::inodes_under(twin.path("backup"));
  std::set<std::string> twin_folders;
  auto twin_holding = holding_map(twin.dir(), &twin_folders);
  REQUIRE(twin_folders == std::set<std::string>{"2026-11-29"});
  std::set<std::string> twin_holding_names;
  for (auto& [rel, ino] : twin_holding) {
    twin_holding_names.insert(rel);
  }

  long k = 1;
  for (;; ++k) {
    CAPTURE(k);
    test::TestContext ctx;
    make_fixture(ctx.dir());
    REQUIRE(run(real, ctx.dir(), "2026-11-22T03:00") == 0);
    auto old_backup = test::inodes_under(ctx.path("backup"));
    change_clone(ctx.dir());
    fs::FaultFs faulty(real);
    faulty.crash_after(k);
    int rc = run(faulty, ctx.dir(), "2026-11-29T03:00");
    bool completed = !faulty.triggered() || rc == 0;
    // (a) right after the crash: every old backup inode is in backup or holding.
    {
      std::set<std::string> folders;
      auto held = holding_map(ctx.dir(), &folders);
      auto now_backup = test::inodes_under(ctx.path("backup"));
      std::set<ino_t> present;
      for (auto& [rel, ino] : held) present.insert(ino);
      for (auto& [rel, ino] : now_backup) present.insert(ino);
      for (auto& [rel, ino] : old_backup) {
        CAPTURE(rel);
        CHECK(present.count(ino) == 1);
      }
    }
    // (b) rerun with a healthy filesystem, same day. After a crash the rerun
    // warns that it resumes an unfinished run (exit 2).
    int rerun = run(real, ctx.dir(), "2026-11-29T04:00");
    REQUIRE((rerun == 0 || (rerun == 2 && faulty.triggered())));
    auto final_backup = test::inodes_under(ctx.path("backup"));
    std::set<std::string> names, twin_names;
    for (auto& [rel, ino] : final_backup) {
      names.insert(rel);
      CAPTURE(rel);
      CHECK(ino == test::inode_of(ctx.path("clone/" + rel)));  // same inode as the clone
    }
    for (auto& [rel, ino] : twin_backup) twin_names.insert(rel);
    CHECK(names == twin_names);
    // (c) holding: the same displaced set in the same single folder, same inodes.
    std::set<std::string> folders;
    auto held = holding_map(ctx.dir(), &folders);
    CHECK(folders == twin_folders);  // resumed into 2026-11-29; 2019-01-01 pruned
    std::set<std::string> held_names;
    for (auto& [rel, ino] : held) {
      held_names.insert(rel);
      if (rel.back() != '/') {
        CAPTURE(rel);
        CHECK(ino == old_backup.at(rel));
      }
    }
    CHECK(held_names == twin_holding_names);
    if (completed) {
      break;
    }
  }
  MESSAGE("crash points covered: " << k);
  CHECK(k > 20);
}

TEST_CASE("weekly backup: power cut at every k-th call, rerun converges, nothing lost") {
  // As the crash enumeration, but the k-th call is followed by a power cut
  // (FaultFs::power_cut_after): whatever fsync_dir / sync_fs had not made
  // durable is gone. Asserted for every k: (a) every old backup inode is in
  // backup or holding; (b) the state never claims more than the tree holds:
  // once it records this run's success, backup and this run's holding folder
  // are the uninterrupted run's; (c) a rerun converges to the uninterrupted
  // run.
  fs::PosixFs real;
  test::TestContext twin;
  make_fixture(twin.dir());
  REQUIRE(run(real, twin.dir(), "2026-11-22T03:00") == 0);
  change_clone(twin.dir());
  REQUIRE(run(real, twin.dir(), "2026-11-29T03:00") == 0);
  auto twin_backup = test::inodes_under(twin.path("backup"));
  std::set<std::string> twin_folders;
  auto twin_holding = holding_map(twin.dir(), &twin_folders);
  std::set<std::string> twin_names, twin_holding_names;
  for (auto& [rel, ino] : twin_backup) twin_names.insert(rel);
  for (auto& [rel, ino] : twin_holding) twin_holding_names.insert(rel);

  long k = 1;
  long claimed = 0;  // cuts after the state recorded the run's success
  long undone = 0;
  for (;; ++k) {
    CAPTURE(k);
    test::TestContext ctx;
    make_fixture(ctx.dir());
    REQUIRE(run(real, ctx.dir(), "2026-11-22T03:00") == 0);
    auto old_backup = test::inodes_under(ctx.path("backup"));
    change_clone(ctx.dir());
    bool triggered = false;
    {
      fs::FaultFs faulty(real);
      faulty.power_cut_after(k, ctx.dir());
      (void)run(faulty, ctx.dir(), "2026-11-29T03:00");
      triggered = faulty.triggered();
      CHECK(faulty.cut_errors().empty());
      undone += faulty.undone();
    }
    // (a) nothing lost.
    std::set<std::string> folders;
    auto held = holding_map(ctx.dir(), &folders);
    auto now_backup = test::inodes_under(ctx.path("backup"));
    std::set<ino_t> present;
    for (auto& [rel, ino] : held) present.insert(ino);
    for (auto& [rel, ino] : now_backup) present.insert(ino);
    for (auto& [rel, ino] : old_backup) {
      CAPTURE(rel);
      CHECK(present.count(ino) == 1);
    }
    // (b) the state tells no more than the tree holds.
    auto st = state::load(real, ctx.path(".rotator"), "backup");
    REQUIRE(st);
    bool this_run =
        st->last_start && *st->last_start == Zone::utc().parse_iso("2026-11-29T03:00").value();
    if (this_run && st->last_result == state::Outcome::ok) {
      ++claimed;
      std::set<std::string> names;
      for (auto& [rel, ino] : now_backup) {
        names.insert(rel);
        CAPTURE(rel);
        CHECK(ino == test::inode_of(ctx.path("clone/" + rel)));
      }
      CHECK(names == twin_names);
      std::set<std::string> this_folder;
      for (auto& [rel, ino] : test::inodes_under(ctx.path("holding/2026-11-29"))) {
        this_folder.insert(rel);
        CHECK(ino == old_backup.at(rel));
      }
      std::set<std::string> twin_files;
      for (auto& [rel, ino] : test::inodes_under(twin.path("holding/2026-11-29")))
        twin_files.insert(rel);
      CHECK(this_folder == twin_files);
    }
    // (c) rerun, same day.
    int rerun = run(real, ctx.dir(), "2026-11-29T04:00");
    REQUIRE((rerun == 0 || (rerun == 2 && triggered)));
    std::set<std::string> names;
    for (auto& [rel, ino] : test::inodes_under(ctx.path("backup"))) {
      names.insert(rel);
      CAPTURE(rel);
      CHECK(ino == test::inode_of(ctx.path("clone/" + rel)));
    }
    CHECK(names == twin_names);
    folders.clear();
    held = holding_map(ctx.dir(), &folders);
    CHECK(folders == twin_folders);
    std::set<std::string> held_names;
    for (auto& [rel, ino] : held) {
      held_names.insert(rel);
      if (rel.back() != '/') {
        CAPTURE(rel);
        CHECK(ino == old_backup.at(rel));
      }
    }
    CHECK(held_names == twin_holding_names);
    if (!triggered) {
      break;
    }
  }
  MESSAGE("power-cut points covered: " << k << ", changes undone: " << undone
                                       << ", cuts after the success was recorded: " << claimed);
  CHECK(k > 20);
  CHECK(claimed > 0);
  CHECK(undone > 0);
}

TEST_CASE("weekly backup: ENOSPC/EIO/EACCES at every k-th call fails with exit 1, prunes nothing") {
  fs::PosixFs real;
  for (int err : {ENOSPC, EIO, EACCES}) {
    for (long k = 1;; ++k) {
      CAPTURE(err);
      CAPTURE(k);
      test::TestContext ctx;
      make_fixture(ctx.dir());
      REQUIRE(run(real, ctx.dir(), "2026-11-22T03:00") == 0);
      auto old_backup = test::inodes_under(ctx.path("backup"));
      change_clone(ctx.dir());
      fs::FaultFs faulty(real);
      faulty.fail_at(k, err);
      int rc = run(faulty, ctx.dir(), "2026-11-29T03:00");
      if (!faulty.triggered()) {
        CHECK(rc == 0);
        break;
      }
      CHECK(rc == 1);
      std::set<std::string> folders;
      auto held = holding_map(ctx.dir(), &folders);
      auto now_backup = test::inodes_under(ctx.path("backup"));
      std::set<ino_t> present;
      for (auto& [rel, ino] : held) present.insert(ino);
      for (auto& [rel, ino] : now_backup) present.insert(ino);
      for (auto& [rel, ino] : old_backup) {
        CHECK(present.count(ino) == 1);
      }
      // Pruning happens only after the mirror succeeded: a failure before
      // that point keeps the old folder.
      bool pruned = !test::exists(ctx.path("holding/2019-01-01/old/f"));
      if (pruned) {
        // Only a failure inside pruning itself, after the mirror, may leave
        // it partly done; the backup must then be complete.
        CHECK(test::exists(ctx.path("backup/docs/new.txt")));
      }
      int rerun = run(real, ctx.dir(), "2026-11-29T04:00");
      REQUIRE((rerun == 0 || rerun == 2));
      CHECK_FALSE(test::exists(ctx.path("holding/2019-01-01")));
      CHECK(test::inode_of(ctx.path("backup/docs/a.txt")) ==
            test::inode_of(ctx.path("clone/docs/a.txt")));
    }
  }
}

TEST_SUITE_END();

TEST_SUITE_BEGIN("jobs::backup");

TEST_CASE("weekly backup: a file at the hard-link limit is copied and the run warns (exit 2)") {
  // (a) the first weekly run links everything; (b) the clone changes; (c)
  // linking docs/new.txt fails with EMLINK: that one file is copied with its
  // metadata, the run ends with a warning and the summary counts it.
  fs::PosixFs real;
  test::TestContext ctx;
  make_fixture(ctx.dir());
  REQUIRE(run(real, ctx.dir(), "2026-11-22T03:00") == 0);
  change_clone(ctx.dir());
  fs::FaultFs faulty(real);
  faulty.fail_at(1, EMLINK, "link");
  CHECK(run(faulty, ctx.dir(), "2026-11-29T03:00") == 2);
  CHECK(faulty.triggered());
  auto st = state::load(real, ctx.path(".rotator"), "backup");
  REQUIRE(st);
  CHECK(st->last_result == state::Outcome::warning);
  CHECK(st->last_summary.find("1 file copied (hard-link limit reached)") != std::string::npos);
  // Every selected file is in the backup with the clone's content; exactly
  // one of them is a copy (another inode).
  int copies = 0;
  for (auto& [rel, ino] : test::inodes_under(ctx.path("backup"))) {
    CAPTURE(rel);
    CHECK(test::read_file(ctx.path("backup/" + rel)) == test::read_file(ctx.path("clone/" + rel)));
    copies += ino != test::inode_of(ctx.path("clone/" + rel)) ? 1 : 0;
  }
  CHECK(copies == 1);
}

TEST_CASE("weekly backup: an unreadable per-directory rule file stops the run before any change") {
  // (a) the clone changed and its docs/.rsync-filter is a fifo (read by
  // `: .rsync-filter`); (b) the weekly fails (exit 1) naming that path;
  // (c) backup and holding are exactly as before; (d) once it is a regular
  // file the run succeeds.
  fs::PosixFs real;
  test::TestContext ctx;
  make_fixture(ctx.dir());
  REQUIRE(run(real, ctx.dir(), "2026-11-22T03:00") == 0);
  change_clone(ctx.dir());
  test::write_file(ctx.path("rules"), "- cache/\n- link\n: .rsync-filter\n");
  std::string fifo = ctx.path("clone/docs/.rsync-filter");
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  auto backup_before = test::list_tree(ctx.path("backup"));
  auto holding_before = test::list_tree(ctx.path("holding"));
  CHECK(run(real, ctx.dir(), "2026-11-29T03:00") == 1);
  CHECK(test::list_tree(ctx.path("backup")) == backup_before);
  CHECK(test::list_tree(ctx.path("holding")) == holding_before);
  auto st = state::load(real, ctx.path(".rotator"), "backup");
  REQUIRE(st);
  CHECK(st->last_result == state::Outcome::error);
  CHECK(st->last_summary == "cannot read per-directory rule file '" + fifo +
                                "': not a regular file: a fifo; stopped before changing anything "
                                "(the rule files are checked first)");
  REQUIRE(::unlink(fifo.c_str()) == 0);
  test::write_file(fifo, "- new.txt\n");
  CHECK(run(real, ctx.dir(), "2026-11-29T03:00") == 0);
  CHECK_FALSE(test::exists(ctx.path("backup/docs/new.txt")));
}

TEST_CASE(
    "weekly backup: a copy made at the hard-link limit is kept by the next weekly, not "
    "re-archived") {
  // (a) docs/a.txt has 2 links and the filesystem's limit is 2 (FaultFs):
  // the first weekly copies it, warns in the singular and exits 2;
  // (b) the next weekly, the file unchanged and still at the limit, archives
  // nothing, copies nothing, counts the copy as kept and exits 0.
  fs::PosixFs real;
  test::TestContext ctx;
  make_fixture(ctx.dir());
  REQUIRE(::link(ctx.path("clone/docs/a.txt").c_str(), ctx.path("a.extra").c_str()) == 0);
  {
    fs::FaultFs limit(real);
    limit.set_link_limit(2);
    auto cfg = config::parse_config("rotator.conf", config_for(ctx.dir()));
    REQUIRE(cfg);
    log::Logger logger;
    logger.set_verbosity(log::Verbosity::quiet);
    std::string err;
    REQUIRE(logger.open_file(ctx.path("log"), &err));
    Zone zone = Zone::utc();
    auto now = zone.parse_iso("2026-11-22T03:00");
    REQUIRE(now);
    jobs::RunContext rc{limit,   *cfg, zone, *now, DryRun::no, logger, [](std::string_view) {},
                        "weekly"};
    CHECK(jobs::run_level(rc, "weekly") == 2);
  }
  CHECK(test::read_file(ctx.path("log"))
            .find("[backup] 1 file could not be hard-linked (EMLINK: link limit) and was copied") !=
        std::string::npos);
  ino_t copy = test::inode_of(ctx.path("backup/docs/a.txt"));
  REQUIRE(copy != test::inode_of(ctx.path("clone/docs/a.txt")));
  std::set<std::string> before;
  auto held_before = holding_map(ctx.dir(), &before);
  fs::FaultFs limit(real);
  limit.set_link_limit(2);
  CHECK(run(limit, ctx.dir(), "2026-11-29T03:00") == 0);
  std::set<std::string> after;
  CHECK(holding_map(ctx.dir(), &after) == held_before);
  CHECK(after == before);
  CHECK(test::inode_of(ctx.path("backup/docs/a.txt")) == copy);
  for (const std::string& line : limit.journal()) {
    CAPTURE(line);
    CHECK(line.rfind("copy_data", 0) != 0);
    CHECK(line.rfind("link a.txt", 0) != 0);
  }
  auto st = state::load(real, ctx.path(".rotator"), "backup");
  REQUIRE(st);
  CHECK(st->last_result == state::Outcome::ok);
  CHECK(st->last_summary.find("0 archived") != std::string::npos);
  CHECK(st->last_summary.find("1 copy kept (hard-link limit: unchanged copies)") !=
        std::string::npos);
}

TEST_CASE(
    "weekly backup: a holding_format expanding to a name that is not a folder changes nothing") {
  // The loader refuses such formats; a Config built another way (or a date
  // whose expansion differs from the samples) is caught again at the run.
  fs::PosixFs real;
  test::TestContext ctx;
  make_fixture(ctx.dir());
  REQUIRE(run(real, ctx.dir(), "2026-11-22T03:00") == 0);
  change_clone(ctx.dir());
  auto before_backup = test::list_tree(ctx.path("backup"));
  auto before_holding = test::list_tree(ctx.path("holding"));
  for (const char* format : {"..", ".", ".rotator-deleting.x"}) {
    CAPTURE(format);
    auto cfg = config::parse_config("rotator.conf", config_for(ctx.dir()));
    REQUIRE(cfg);
    cfg->jobs[0].holding_format = format;
    log::Logger logger;
    logger.set_verbosity(log::Verbosity::quiet);
    Zone zone = Zone::utc();
    auto now = zone.parse_iso("2026-11-29T03:00");
    REQUIRE(now);
    jobs::RunContext rc{
        real, *cfg, zone, *now, rotator::DryRun::no, logger, [](std::string_view) {}, "weekly"};
    CHECK(jobs::run_level(rc, "weekly") == 1);
    auto st = state::load(real, ctx.dir() + "/.rotator", "backup");
    REQUIRE(st);
    CHECK(st->last_failure_message.find("holding_format '" + std::string(format) + "'") == 0);
    CHECK(test::list_tree(ctx.path("backup")) == before_backup);
    CHECK(test::list_tree(ctx.path("holding")) == before_holding);
  }
}

TEST_CASE("a final state save that fails for a full disk is reported as such by the next run") {
  // (a) The weekly's work is done but its last state save fails with ENOSPC
  // (FaultFs on the last write_file); (b) the next run and status used to
  // say "did not finish (crash or kill)"; they say the state could not be
  // saved: No space left on device.
  test::TestContext twin, ctx;
  for (const auto* c : {&twin, &ctx}) {
    make_fixture(c->dir());
  }
  fs::PosixFs real;
  long writes = 0;
  {
    fs::FaultFs recorder(real);
    recorder.record();
    REQUIRE(run(recorder, twin.dir(), "2026-11-22T03:00") == 0);
    for (const auto& line : recorder.journal()) {
      writes += line.rfind("write_file ", 0) == 0 ? 1 : 0;
    }
  }
  REQUIRE(writes >= 2);
  fs::FaultFs full(real);
  full.fail_at(writes, ENOSPC, "write_file");
  CHECK(run(full, ctx.dir(), "2026-11-22T03:00") == 1);
  REQUIRE(full.triggered());
  auto st = state::load(real, ctx.dir() + "/.rotator", "backup");
  REQUIRE(st);
  CHECK(st->last_result == state::Outcome::running);
  CHECK(st->unsaved == "No space left on device");
  auto cfg = config::parse_config("rotator.conf", config_for(ctx.dir()));
  REQUIRE(cfg);
  auto sts = jobs::collect_status(real, *cfg, Instant(std::chrono::seconds(1795400000)));
  REQUIRE(sts.size() == 1);
  CHECK(sts[0].problem ==
        "the last run could not save its state: No space left on device (its result is unknown)");
  // The next run: the warning names the cause, not a kill.
  log::Logger logger;
  std::string err;
  REQUIRE(logger.open_file(ctx.path("run.log"), &err));
  logger.set_verbosity(log::Verbosity::quiet);
  Zone zone = Zone::utc();
  auto now = zone.parse_iso("2026-11-22T04:00");
  REQUIRE(now);
  jobs::RunContext rc{real,    *cfg, zone, *now, DryRun::no, logger, [](std::string_view) {},
                      "weekly"};
  CHECK(jobs::run_level(rc, "weekly") == 2);
  std::string log_text = test::read_file(ctx.path("run.log"));
  CAPTURE(log_text);
  CHECK(log_text.find("[backup] the previous run could not save its state (No space left on "
                      "device): its result is unknown; resuming") != std::string::npos);
  CHECK(log_text.find("did not finish") == std::string::npos);
  auto after = state::load(real, ctx.dir() + "/.rotator", "backup");
  REQUIRE(after);
  CHECK(after->last_result == state::Outcome::ok);
  CHECK(after->unsaved.empty());
}

namespace {

// A read-only mount as faccessat reports it: EROFS for the root only.
class ReadOnlyRootFs : public fs::FsWrapper {
 public:
  ReadOnlyRootFs(fs::Fs& target, std::string root) : FsWrapper(target), m_root(std::move(root)) {}
  Status check_writable(int d, const std::string& n) override {
    if (d == fs::k_cwd && n == m_root + "/.") {
      return sys_error(EROFS, "access", n);
    }
    return FsWrapper::check_writable(d, n);
  }

 private:
  std::string m_root;
};

}  // namespace

TEST_CASE("check reports a root this user cannot write") {
  test::TestContext ctx;
  make_fixture(ctx.dir());
  auto cfg = config::parse_config("rotator.conf", config_for(ctx.dir()));
  REQUIRE(cfg);
  fs::PosixFs real;
  CHECK(jobs::check_environment(real, *cfg).empty());
  ReadOnlyRootFs read_only(real, ctx.dir());
  auto problems = jobs::check_environment(read_only, *cfg);
  REQUIRE(problems.size() == 1);
  CHECK(problems[0] == "root '" + ctx.dir() +
                           "' is not writable by this user: Read-only file system (rotator keeps "
                           "its lock, state and trees there)");
}

TEST_SUITE_END();

// Issue 7 item 10: a rule error in a per-directory file deep in the tree
// (here a nested dir-merge's file) is found by the read-only pass, before
// anything changes: the backup and holding are exactly as they were, the run
// fails with the file and line, and `rotator check` reports it too.
TEST_CASE("weekly backup: a bad nested per-directory rule stops the run before any change") {
  fs::PosixFs real;
  test::TestContext ctx;
  const std::string root = ctx.dir();
  make_fixture(root);
  test::write_file(root + "/rules", ": .filt\n- cache/\n");
  test::write_file(root + "/clone/docs/.filt", "dir-merge .g\n- *.tmp\n");
  test::write_file(root + "/clone/docs/sub/.g", "- skip.me\n");
  REQUIRE(run(real, root, "2026-11-22T03:00") == 0);
  change_clone(root);
  test::write_file(root + "/rules", ": .filt\n- cache/\n");
  // The walk reaches "added/" (new: it would be linked) before "docs/sub/".
  test::write_file(root + "/clone/docs/sub/.g", "- skip.me\n-q bad\n");
  auto backup_before = test::list_tree(root + "/backup");
  auto holding_before = test::list_tree(root + "/holding");

  fs::FaultFs recorder(real);
  auto cfg = config::parse_config("rotator.conf", config_for(root));
  REQUIRE(cfg);
  log::Logger logger;
  logger.set_verbosity(log::Verbosity::quiet);
  Zone zone = Zone::utc();
  auto now = zone.parse_iso("2026-11-29T03:00");
  REQUIRE(now);
  jobs::RunContext rc{
      recorder, *cfg, zone, *now, rotator::DryRun::no, logger, [](std::string_view) {}, "weekly"};
  CHECK(jobs::run_level(rc, "weekly") == 1);
  CHECK(test::list_tree(root + "/backup") == backup_before);
  CHECK(test::list_tree(root + "/holding") == holding_before);
  CHECK_FALSE(test::exists(root + "/backup/added"));
  auto st = state::load(real, root + "/.rotator", "backup");
  REQUIRE(st);
  CAPTURE(st->last_summary);
  CHECK(st->last_summary.find("docs/sub/.g:2: invalid modifier 'q' in filter rule '-q bad'; "
                              "stopped before changing anything") != std::string::npos);
  // The only mutating calls are the job state's (resume point, outcome).
  for (const auto& call : recorder.journal()) {
    CAPTURE(call);
    CHECK((call.find(".rotator") != std::string::npos ||
           call.find("backup.state") != std::string::npos || call.rfind("fsync_dir", 0) == 0 ||
           call == "mkdir " + root + "/backup" || call == "mkdir " + root + "/holding" ||
           call == "mkdir state"));  // <root>/.rotator/state, made relative to .rotator
  }
  // `rotator check` sees it without running anything.
  auto problems = jobs::check_environment(real, *cfg);
  bool found = false;
  for (const auto& p : problems) {
    found = found || p.find("[backup] docs/sub/.g:2: invalid modifier 'q'") != std::string::npos;
  }
  CHECK_MESSAGE(found, "check problems: " << problems.size());

  // Fixed, the next run completes as usual.
  test::write_file(root + "/clone/docs/sub/.g", "- skip.me\n");
  CHECK(run(real, root, "2026-11-29T03:00") == 0);
  CHECK(test::exists(root + "/backup/added/deep/f.txt"));
}

TEST_CASE("sync = none: a weekly backup makes no fsync_dir or syncfs call, and the same tree") {
  // The FaultFs under NoSyncFs fails the first fsync_dir and the first
  // sync_fs it sees: with sync = none neither may reach it. The control run
  // (no NoSyncFs) shows the faults would have fired.
  for (const char* op : {"fsync_dir", "sync_fs"}) {
    CAPTURE(op);
    fs::PosixFs real;
    test::TestContext ctx;
    make_fixture(ctx.dir());
    fs::FaultFs control(real);
    control.fail_at(1, EIO, op);
    CHECK(run(control, ctx.dir(), "2026-11-22T03:00") == 1);
    CHECK(control.triggered());

    test::TestContext ctx2;
    make_fixture(ctx2.dir());
    fs::FaultFs faulty(real);
    faulty.fail_at(1, EIO, op);
    fs::NoSyncFs nosync(faulty);
    REQUIRE(run(nosync, ctx2.dir(), "2026-11-22T03:00") == 0);
    change_clone(ctx2.dir());
    REQUIRE(run(nosync, ctx2.dir(), "2026-11-29T03:00") == 0);
    CHECK_FALSE(faulty.triggered());
    CHECK(test::read_file(ctx2.path("backup/docs/a.txt")) == "a2");
    CHECK(test::inode_of(ctx2.path("backup/docs/a.txt")) ==
          test::inode_of(ctx2.path("clone/docs/a.txt")));
    std::set<std::string> folders;
    CHECK(holding_map(ctx2.dir(), &folders).count("docs/a.txt") == 1);  // the old version kept
  }
}

TEST_SUITE_BEGIN("jobs::backup");

TEST_CASE(
    "weekly backup: a failing list_dir, fsync_dir or sync_fs is reported naming its directory") {
  // (a) a first weekly run mirrors the clone; (b) the clone changes and the
  // second weekly run has its k-th call of one kind fail with EIO, for every
  // k; (c) whenever the run reports it (exit 1 or 2), the log names the
  // directory the call was made on (the clone, the backup, holding, the
  // state directory or one below them), never '' or a placeholder. A
  // failure not reported is a read that is repeated.
  fs::PosixFs real;
  for (test::DirCall op :
       {test::DirCall::list_dir, test::DirCall::fsync_dir, test::DirCall::sync_fs}) {
    CAPTURE(op);
    auto got = test::for_each_failing_call(op, [&](fs::Fs& names) {
      test::TestContext ctx;
      make_fixture(ctx.dir());
      REQUIRE(run(real, ctx.dir(), "2026-11-22T03:00") == 0);
      change_clone(ctx.dir());
      int rc = run(names, ctx.dir(), "2026-11-29T03:00", ctx.path("run.log"));
      return test::FailingCallRun{rc == 0, test::read_file(ctx.path("run.log")), ctx.dir()};
    });
    // Not vacuous: the source check, the mirror's walks, the state's fsync
    // and the backup's syncfs were reached and reported.
    CHECK(got.reported >= (op == test::DirCall::list_dir ? 5 : 1));
  }
}

TEST_SUITE_END();
