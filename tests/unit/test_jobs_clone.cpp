// The clone job's rsync line: -H -A -X by default, -A / -X only where the
// clone's filesystem stores them (issue 7 item 9).
#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "fs/posix_fs.hpp"
#include "jobs/clone_job.hpp"
#include "testutil.hpp"

using namespace rotator;

TEST_SUITE_BEGIN("jobs::clone");

namespace {

// A filesystem that stores neither ACLs nor xattrs (or only what it is told).
class PoorFs final : public fs::FsWrapper {
 public:
  PoorFs(fs::Fs& target, fs::XattrSupport support) : FsWrapper(target), m_support(support) {}
  Result<fs::XattrSupport> probe_xattr_support(int d) override {
    ++probes;
    TRY(FsWrapper::probe_xattr_support(d));  // the real probe must work there too
    return m_support;
  }
  int probes = 0;

 private:
  fs::XattrSupport m_support;
};

config::Job clone_job(const std::string& root, std::vector<std::string> rsync_args = {}) {
  config::Job job;
  job.name = "clone";
  job.type = config::JobType::clone;
  job.source = "/home/me/";
  job.path = root + "/clone";
  job.rsync_args = std::move(rsync_args);
  return job;
}

bool has(const std::vector<std::string>& argv, const std::string& arg) {
  return std::find(argv.begin(), argv.end(), arg) != argv.end();
}

}  // namespace

TEST_CASE("clone_rsync_argv: -H -A -X before rsync_args, each per the fidelity") {
  config::Config cfg;
  cfg.rsync = "rsync";
  config::Job job = clone_job("/r", {"--one-file-system"});
  auto full = jobs::clone_rsync_argv(cfg, job);
  CHECK(full == std::vector<std::string>{"rsync", "-a", "-H", "-A", "-X", "--delete",
                                         "--numeric-ids", "--one-file-system", "--no-inplace",
                                         "/home/me/", "/r/clone/"});
  jobs::CloneFidelity poor;
  poor.acls = fs::Support::no;
  poor.xattrs = fs::Support::no;
  CHECK(jobs::clone_rsync_argv(cfg, job, poor) ==
        std::vector<std::string>{"rsync", "-a", "-H", "--delete", "--numeric-ids",
                                 "--one-file-system", "--no-inplace", "/home/me/", "/r/clone/"});
  jobs::CloneFidelity no_acls;
  no_acls.acls = fs::Support::no;
  auto argv = jobs::clone_rsync_argv(cfg, job, no_acls);
  CHECK_FALSE(has(argv, "-A"));
  CHECK(has(argv, "-X"));
}

TEST_CASE(
    "probe_clone_fidelity: the clone's filesystem decides -A and -X, and says what it drops") {
  test::TestContext ctx;
  fs::PosixFs real;
  SUBCASE("a filesystem with ACLs and xattrs (the test's own, ext4 or tmpfs with both)") {
    auto f =
        jobs::probe_clone_fidelity(real, clone_job(ctx.dir()));  // clone/ not there: its parent
    REQUIRE_MESSAGE(f, f.error().message());
    CHECK(f->acls == fs::Support::yes);
    CHECK(f->xattrs == fs::Support::yes);
    CHECK(f->dropped.empty());
    CHECK(test::list_tree(ctx.dir()).empty());  // the probe left nothing behind
  }
  SUBCASE("neither: both dropped, each with the reason and the way to accept it") {
    test::make_dir(ctx.path("clone"));
    PoorFs poor(real, fs::XattrSupport{});
    auto f = jobs::probe_clone_fidelity(poor, clone_job(ctx.dir()));
    REQUIRE(f);
    CHECK(f->acls == fs::Support::no);
    CHECK(f->xattrs == fs::Support::no);
    CHECK(f->dropped ==
          std::vector<std::string>{
              "the clone's filesystem ('" + ctx.path("clone") +
                  "') does not store ACLs: rsync runs without -A and ACLs are not kept (add "
                  "--no-acls to rsync_args to accept that)",
              "the clone's filesystem ('" + ctx.path("clone") +
                  "') does not store extended attributes: rsync runs without -X and xattrs are "
                  "not kept (add --no-xattrs to rsync_args to accept that)"});
    CHECK(test::list_tree(ctx.path("clone")).empty());
  }
  SUBCASE("xattrs only: -A dropped") {
    PoorFs poor(real, fs::XattrSupport{fs::Support::yes, fs::Support::no});
    auto f = jobs::probe_clone_fidelity(poor, clone_job(ctx.dir()));
    REQUIRE(f);
    CHECK(f->acls == fs::Support::no);
    CHECK(f->xattrs == fs::Support::yes);
    REQUIRE(f->dropped.size() == 1);
    CHECK(f->dropped[0].find("without -A") != std::string::npos);
  }
  SUBCASE("--no-acls --no-X in rsync_args: nothing probed, nothing to say") {
    PoorFs poor(real, fs::XattrSupport{});
    auto f = jobs::probe_clone_fidelity(poor, clone_job(ctx.dir(), {"--no-acls", "--no-X"}));
    REQUIRE(f);
    CHECK(poor.probes == 0);
    CHECK(f->acls == fs::Support::no);
    CHECK(f->xattrs == fs::Support::no);
    CHECK(f->dropped.empty());
  }
  SUBCASE("neither the clone nor its parent exists: an error naming the parent") {
    config::Job job = clone_job(ctx.path("missing"));
    auto f = jobs::probe_clone_fidelity(real, job);
    REQUIRE_FALSE(f);
    CHECK(f.error().message() ==
          "failed to open directory '" + ctx.path("missing") + "': No such file or directory");
  }
}

TEST_SUITE_END();
