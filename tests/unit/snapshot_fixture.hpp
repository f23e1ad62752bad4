// A snapshot job on real temporary directories, for test_jobs_snapshot*.cpp.
//
// The fixture owns a clone tree (changed with change_clone(), which always
// gives changed files new inodes, as rsync does), a Config and Job of type
// snapshot, and runs run_snapshot / recover_snapshot / prune_snapshot through
// any Fs with an explicit `now`. state() observes the snapshot directory with
// the standard library (not the code under test).
#pragma once

#include <doctest/doctest.h>

#include <date/date.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "fs/posix_fs.hpp"
#include "jobs/snapshot_job.hpp"
#include "log/log.hpp"
#include "testutil.hpp"

namespace rotator::test {

inline Instant at(int y, unsigned m, unsigned d, int h = 2, int min = 0) {
  return Instant{date::sys_days{date::year{y} / date::month{m} / date::day{d}}} +
         std::chrono::hours(h) + std::chrono::minutes(min);
}

// name -> (relative path -> inode), for every generation-like entry of the
// snapshot directory (everything except .trash and `latest`), directories
// included ("." is the generation's root).
using SnapState = std::map<std::string, std::map<std::string, ino_t>>;

class SnapFixture {
 public:
  SnapFixture(config::Naming naming, std::string keep, std::vector<std::string> run_on = {}) {
    m_root = m_ctx.dir();
    m_cfg.root = m_root;
    m_cfg.state_dir = m_root + "/.rotator";
    m_job.name = "snaps";
    m_job.type = config::JobType::snapshot;
    m_job.from = m_root + "/clone";
    m_job.from_job = "clone";
    m_job.path = m_root + "/snaps";
    m_job.naming = naming;
    m_job.keep = std::move(keep);
    m_job.run_on = std::move(run_on);
    m_log.set_verbosity(log::Verbosity::quiet);
    write_file(clone("a.txt"), "a1");
    write_file(clone("dir/b.txt"), "b1");
    write_file(clone("dir/sub/c.txt"), "c1");
    write_file(clone("gone.txt"), "g1");
    make_symlink("a.txt", clone("link"));
  }

  config::Job& job() { return m_job; }
  // Appends the runs' log (warnings, errors) to `path` too (log_text()).
  void log_to(const std::string& path) {
    std::string err;
    REQUIRE_MESSAGE(m_log.open_file(path, &err), err);
    m_log_path = path;
  }
  std::string log_text() const { return m_log_path.empty() ? "" : read_file(m_log_path); }
  void set_zone(const Zone& zone) { m_zone = zone; }
  std::string clone(const std::string& rel) const { return m_root + "/clone/" + rel; }
  std::string snap(const std::string& rel) const { return m_job.path + "/" + rel; }
  std::string path(const std::string& rel) const { return m_root + "/" + rel; }
  const std::string& root() const { return m_root; }
  const std::vector<std::string>& plan() const { return m_plan; }
  void clear_plan() { m_plan.clear(); }

  // Round `round` of changes: a.txt rewritten (new inode), a new file, a file
  // removed, a directory replaced by a file.
  void change_clone(int round) {
    std::string r = std::to_string(round);
    replace_file(clone("a.txt"), "a" + r);
    write_file(clone("new" + r + ".txt"), "n" + r);
    std::filesystem::remove(clone("gone.txt"));
    if (round % 2 == 1) {
      std::filesystem::remove_all(clone("dir/sub"));
      write_file(clone("dir/sub"), "now a file " + r);
    } else {
      std::filesystem::remove_all(clone("dir/sub"));
      write_file(clone("dir/sub/c.txt"), "c" + r);
    }
  }

  jobs::RunContext context(fs::Fs& fs, const std::string& level, Instant now,
                           rotator::DryRun dry = rotator::DryRun::no) {
    return jobs::RunContext{fs,
                            m_cfg,
                            m_zone,
                            now,
                            dry,
                            m_log,
                            [this](std::string_view l) { m_plan.emplace_back(l); },
                            level};
  }

  jobs::JobResult run(fs::Fs& fs, const std::string& level, Instant now,
                      rotator::DryRun dry = rotator::DryRun::no) {
    auto ctx = context(fs, level, now, dry);
    return jobs::run_snapshot(ctx, m_job);
  }
  jobs::JobResult run(const std::string& level, Instant now,
                      rotator::DryRun dry = rotator::DryRun::no) {
    return run(m_posix, level, now, dry);
  }
  Result<std::vector<std::string>> recover(fs::Fs& fs) {
    auto ctx = context(fs, "", at(2026, 1, 1));
    return jobs::recover_snapshot(ctx, m_job);
  }
  jobs::JobResult prune(fs::Fs& fs, Instant now, jobs::Explain explain,
                        rotator::DryRun dry = rotator::DryRun::no) {
    auto ctx = context(fs, "", now, dry);
    return jobs::prune_snapshot(ctx, m_job, explain);
  }
  jobs::JobResult prune(Instant now, jobs::Explain explain,
                        rotator::DryRun dry = rotator::DryRun::no) {
    return prune(m_posix, now, explain, dry);
  }

  SnapState state() const {
    SnapState out;
    if (!std::filesystem::exists(m_job.path)) {
      return out;
    }
    for (const auto& e : std::filesystem::directory_iterator(m_job.path)) {
      std::string name = e.path().filename().string();
      if (name == ".trash" || name == "latest") {
        continue;
      }
      auto& files = out[name];
      files["."] = inode_of(e.path().string());
      if (e.is_directory() && !e.is_symlink()) {
        for (const auto& f : std::filesystem::recursive_directory_iterator(e.path())) {
          files[std::filesystem::relative(f.path(), e.path()).string()] =
              inode_of(f.path().string());
        }
      }
    }
    return out;
  }

  // Generation names (state() keys) in order.
  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const auto& [n, _] : state()) {
      out.push_back(n);
    }
    return out;
  }

  // relative path -> inode of the clone's non-directories.
  std::map<std::string, ino_t> clone_files() const { return inodes_under(m_root + "/clone"); }
  // relative path -> inode of a generation's non-directories.
  std::map<std::string, ino_t> gen_files(const std::string& name) const {
    return inodes_under(m_job.path + "/" + name);
  }
  // Entries left in .trash, those queued in .trash/.rotator-deleting
  // included (rotator's own files there, the ownership marker, the queue
  // folder itself and its lock, are not counted).
  size_t trash_entries() const {
    std::string t = m_job.path + "/.trash";
    if (!std::filesystem::exists(t)) {
      return 0;
    }
    size_t n = 0;
    for (const auto& e : std::filesystem::directory_iterator(t)) {
      std::string name = e.path().filename().string();
      if (name == ".rotator-deleting" && e.is_directory()) {
        for ([[maybe_unused]] const auto& q : std::filesystem::directory_iterator(e.path())) {
          ++n;
        }
      } else if (name != ".rotator-trash" && name != ".rotator-deleting.lock") {
        ++n;
      }
    }
    return n;
  }

  fs::PosixFs& posix() { return m_posix; }
  std::string latest_target() const {
    std::error_code ec;
    return std::filesystem::read_symlink(m_job.path + "/latest", ec).string();
  }

 private:
  static void replace_file(const std::string& path, const std::string& content) {
    write_file(path + ".new", content);
    std::filesystem::rename(path + ".new", path);
  }

  TestContext m_ctx;
  std::string m_root;
  config::Config m_cfg;
  config::Job m_job;
  Zone m_zone = Zone::utc();
  log::Logger m_log;
  fs::PosixFs m_posix;
  std::vector<std::string> m_plan;
  std::string m_log_path;
};

}  // namespace rotator::test
