#include <doctest/doctest.h>
#include <fmt/format.h>

#include <sys/stat.h>

#include <climits>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "config/config.hpp"
#include "fs/posix_fs.hpp"
#include "testutil.hpp"

using namespace rotator;
using namespace rotator::config;

namespace {

const char* const k_good = R"([rotator]
root = /srv/backup
timezone = UTC

[clone]
type = clone
run_on = daily
source = me@laptop:/home/me/
path = clone
rsync_args = --one-file-system
  --exclude=/tmp

[backup]
type = backup
run_on = weekly
from = clone
path = backup
filter = /etc/rotator/important.rules
prune_empty_dirs = yes
holding_keep = 6y
)";

std::string error_of(const std::string& text) {
  auto r = parse_config("rotator.conf", text);
  REQUIRE_FALSE(r);
  return r.error().message();
}

}  // namespace

TEST_SUITE_BEGIN("config");

TEST_CASE("a complete configuration parses with defaults and resolved paths") {
  auto r = parse_config("rotator.conf", k_good);
  REQUIRE(r);
  const Config& c = *r;
  CHECK(c.root == "/srv/backup");
  CHECK(c.lockfile == "/srv/backup/.rotator/lock");
  CHECK(c.state_dir == "/srv/backup/.rotator");
  CHECK(c.rsync == "rsync");
  CHECK(c.timezone == "UTC");
  CHECK_FALSE(c.syslog);
  REQUIRE(c.jobs.size() == 2);
  const Job& clone = c.jobs[0];
  CHECK(clone.name == "clone");
  CHECK(clone.type == JobType::clone);
  CHECK(clone.path == "/srv/backup/clone");
  CHECK(clone.run_on == std::vector<std::string>{"daily"});
  CHECK(clone.rsync_args == std::vector<std::string>{"--one-file-system", "--exclude=/tmp"});
  CHECK(clone.max_delete == doctest::Approx(0.5));
  const Job& backup = c.jobs[1];
  CHECK(backup.from == "/srv/backup/clone");
  CHECK(backup.from_job == "clone");
  CHECK(backup.holding == "/srv/backup/holding");
  CHECK(backup.holding_format == "%Y-%m-%d");
  REQUIRE(backup.holding_keep);
  CHECK(backup.holding_keep->count == 6);
  CHECK(backup.holding_keep->unit == 'y');
  CHECK(backup.prune_empty_dirs == PruneEmpty::yes);
  CHECK(c.levels() == std::vector<std::string>{"daily", "weekly"});
}

TEST_CASE("unknown key names file, line and section, with a suggestion when close") {
  std::string text = std::string(k_good) + "holdng = h\n";
  CHECK(error_of(text) ==
        "rotator.conf:21: unknown key 'holdng' in [backup]; did you mean 'holding'?");
  CHECK(error_of("[rotator]\nroot = /x\nfrobnicate = 1\n") ==
        "rotator.conf:3: unknown key 'frobnicate' in [rotator]");
}

TEST_CASE("every problem is reported, one per line") {
  std::string text =
      "[rotator]\nroot = /x\n[c]\ntype = clone\nrun_on = daily\npath = c\nsorce = a\n";
  CHECK(error_of(text) ==
        "rotator.conf:7: unknown key 'sorce' in [c]; did you mean 'source'?\n"
        "rotator.conf:3: missing required key 'source' in [c]");
}

TEST_CASE("missing root, duplicate key, bad values") {
  CHECK(error_of("[rotator]\nlockfile = /l\n") ==
        "rotator.conf:1: missing required key 'root' in [rotator]");
  CHECK(error_of("[rotator]\nroot = /a\nroot = /b\n") ==
        "rotator.conf:3: duplicate key 'root' in [rotator] (first set on line 2)");
  CHECK(error_of("[rotator]\nroot = relative\n") ==
        "rotator.conf:2: root must be an absolute path, not 'relative'");
  for (const char* slash : {"/", "//", "/./", "/.."}) {
    CHECK(error_of(std::string("[rotator]\ntimezone = UTC\nroot = ") + slash + "\n") ==
          "rotator.conf:3: root = / is refused: give the backup disk's own directory (e.g. "
          "/srv/backup)");
  }
  CHECK(error_of("[rotator]\nroot = /a\nsyslog = maybe\n") ==
        "rotator.conf:3: syslog: bad value 'maybe' (expected yes or no)");
  CHECK(error_of("[rotator]\nroot = /a\ntimezone = Mars/Base\n") ==
        "rotator.conf:3: unknown time zone 'Mars/Base'");
  CHECK(error_of("[rotator]\nroot = /a\n[j]\ntype = tape\n") ==
        "rotator.conf:4: bad value 'tape' for 'type' in [j] (expected clone, backup or snapshot)");
}

TEST_CASE("sync is commit by default, none when asked, and nothing else") {
  auto d = parse_config("rotator.conf", k_good);
  REQUIRE(d);
  CHECK(d->sync == Sync::commit);
  auto n = parse_config("rotator.conf", "[rotator]\nroot = /a\nsync = none\n");
  REQUIRE(n);
  CHECK(n->sync == Sync::none);
  auto c = parse_config("rotator.conf", "[rotator]\nroot = /a\nsync = commit\n");
  REQUIRE(c);
  CHECK(c->sync == Sync::commit);
  CHECK(error_of("[rotator]\nroot = /a\nsync = yes\n") ==
        "rotator.conf:3: sync: 'yes' is not commit or none");
}

TEST_CASE("a relative path escaping root is an error") {
  std::string text =
      "[rotator]\nroot = /srv/b\n[c]\ntype = clone\nrun_on = daily\nsource = /s/\npath = ../etc\n";
  CHECK(error_of(text) ==
        "rotator.conf:7: relative path '../etc' for 'path' in [c] escapes root '/srv/b'");
}

TEST_CASE("a job that no level runs is an error") {
  std::string text = "[rotator]\nroot = /r\n[c]\ntype = clone\nsource = /s/\npath = c\n";
  CHECK(error_of(text) ==
        "rotator.conf:3: job [c] is run by no level: set run_on (e.g. run_on = daily)");
}

TEST_CASE("rsync_args that update in place are refused") {
  for (const char* arg : {"--inplace", "--append", "--append-verify"}) {
    CAPTURE(arg);
    std::string text = std::string(
                           "[rotator]\nroot = /r\n[c]\ntype = clone\nrun_on = daily\nsource = "
                           "/s/\npath = c\nrsync_args = -H ") +
                       arg + "\n";
    CHECK(error_of(text) ==
          std::string("rotator.conf:8: rsync_args: '") + arg +
              "' updates files in place and would rewrite the inodes backups and snapshots share "
              "with the clone; remove it");
  }
}

TEST_CASE("rsync_args --write-devices is refused: it implies --inplace") {
  std::string text =
      "[rotator]\nroot = /r\n[c]\ntype = clone\nrun_on = daily\nsource = /s/\npath = c\n"
      "rsync_args = -a --write-devices\n";
  CHECK(error_of(text) ==
        "rotator.conf:8: rsync_args: '--write-devices' updates files in place (it implies "
        "--inplace) and would rewrite the inodes backups and snapshots share with the clone; "
        "remove it");
}

TEST_CASE("rsync_args that would blind the clone's safety checks are refused") {
  for (const char* arg : {"-q", "-aqz", "--quiet", "-n", "--dry-run", "--info=stats0",
                          "--out-format=%n", "--list-only", "--max-delete=5", "--existing"}) {
    CAPTURE(arg);
    std::string text = std::string(
                           "[rotator]\nroot = /r\n[c]\ntype = clone\nrun_on = daily\nsource = "
                           "/s/\npath = c\nrsync_args = ") +
                       arg + "\n";
    CHECK(error_of(text) ==
          std::string("rotator.conf:8: rsync_args: '") + arg +
              "' would hide what rotator checks before it lets rsync delete (or make every run "
              "a no-op); remove it (use max_delete, -n on the command line, -v for more output)");
  }
  auto fine = parse_config("r.conf",
                           "[rotator]\nroot = /r\n[c]\ntype = clone\nrun_on = daily\nsource = "
                           "/s/\npath = c\nrsync_args = -e 'ssh -q -n' -HAX --exclude=/tmp\n");
  CHECK(fine);
}

TEST_CASE("trees rotator writes may not overlap") {
  const std::string head =
      "[rotator]\nroot = /r\n[clone]\ntype = clone\nrun_on = daily\nsource = /s/\npath = clone\n";
  CHECK(error_of(head + "[b]\ntype = backup\nrun_on = weekly\nfrom = clone\npath = backup\nholding "
                        "= clone/hold\n") ==
        "rotator.conf:13: [b] holding '/r/clone/hold' is inside [clone] path '/r/clone'; the trees "
        "rotator reads and writes may not contain one another\n"
        "rotator.conf:13: [b] holding '/r/clone/hold' is inside [b] from '/r/clone'; the trees "
        "rotator reads and writes may not contain one another");
  CHECK(error_of(head + "[a]\ntype = backup\nrun_on = weekly\nfrom = clone\npath = a\n"
                        "[b]\ntype = backup\nrun_on = weekly\nfrom = clone\npath = b\n") ==
        "rotator.conf:13: [b] holding and [a] holding are the same directory '/r/holding'");
  CHECK(error_of(head + "[b]\ntype = backup\nrun_on = weekly\nfrom = clone\npath = clone/sub\n") ==
        "rotator.conf:12: [b] path '/r/clone/sub' is inside [clone] path '/r/clone'; the trees "
        "rotator reads and writes may not contain one another\n"
        "rotator.conf:12: [b] path '/r/clone/sub' is inside [b] from '/r/clone'; the trees "
        "rotator reads and writes may not contain one another");
  CHECK(
      error_of(
          "[rotator]\nroot = /r\n[c]\ntype = clone\nrun_on = daily\nsource = /s/\npath = .\n") ==
      "rotator.conf:7: rotator's state directory '/r/.rotator' is inside [c] path '/r'; the trees "
      "rotator reads and writes may not contain one another");
  // Two backups of one clone with their own holdings are fine.
  CHECK(parse_config(
      "r.conf", head +
                    "[a]\ntype = backup\nrun_on = weekly\nfrom = clone\npath = a\nholding = ha\n"
                    "[b]\ntype = backup\nrun_on = weekly\nfrom = clone\npath = b\nholding = hb\n"));
}

namespace {

// `dir` with every symlink resolved (the scratch root may sit under one).
std::string real_dir(const std::string& dir) {
  char buf[PATH_MAX];
  REQUIRE(::realpath(dir.c_str(), buf) != nullptr);
  return buf;
}

Result<Config> load_text(const test::TestContext& ctx, const std::string& text) {
  fs::PosixFs fs;
  test::write_file(ctx.path("rotator.conf"), text);
  return load_config(fs, ctx.path("rotator.conf"));
}

}  // namespace

TEST_CASE("overlap checks see through a symlink to root (holding inside the clone)") {
  // (a) rootlink -> root; (b) holding names the clone's .holding through the
  // link: lexically distinct, really inside the clone, whose rsync --delete
  // would wipe every archived version.
  test::TestContext ctx;
  std::string d = real_dir(ctx.dir());
  test::make_dir(d + "/root/clone");
  test::make_symlink("root", d + "/rootlink");
  std::string text =
      "[rotator]\nroot = " + d +
      "/root\n[clone]\ntype = clone\nrun_on = daily\n"
      "source = /s/\npath = clone\n[b]\ntype = backup\nrun_on = weekly\nfrom = clone\n"
      "path = backup\nholding = " +
      d + "/rootlink/clone/.holding\n";
  REQUIRE(parse_config("rotator.conf", text));  // the names alone do not overlap
  auto r = load_text(ctx, text);
  REQUIRE_FALSE(r);
  std::string f = ctx.path("rotator.conf");
  CHECK(r.error().message() ==
        f + ":13: [b] holding '" + d + "/rootlink/clone/.holding' is inside [clone] path '" + d +
            "/root/clone' (really '" + d + "/root/clone/.holding' and '" + d +
            "/root/clone'); the trees rotator reads and writes may not contain one another\n" + f +
            ":13: [b] holding '" + d + "/rootlink/clone/.holding' is inside [b] from '" + d +
            "/root/clone' (really '" + d + "/root/clone/.holding' and '" + d +
            "/root/clone'); the trees rotator reads and writes may not contain one another");
}

TEST_CASE("overlap checks see through a symlink: a backup's path that is the clone") {
  test::TestContext ctx;
  std::string d = real_dir(ctx.dir());
  test::make_dir(d + "/root/clone");
  test::make_symlink("clone", d + "/root/alias");
  std::string text =
      "[rotator]\nroot = " + d +
      "/root\n[clone]\ntype = clone\nrun_on = daily\n"
      "source = /s/\npath = clone\n[b]\ntype = backup\nrun_on = weekly\nfrom = clone\n"
      "path = alias\nholding = h\n";
  REQUIRE(parse_config("rotator.conf", text));
  auto r = load_text(ctx, text);
  REQUIRE_FALSE(r);
  std::string f = ctx.path("rotator.conf");
  CHECK(r.error().message() == f + ":12: [b] path '" + d + "/root/alias' and [clone] path '" + d +
                                   "/root/clone' are the same directory (really '" + d +
                                   "/root/clone' and '" + d + "/root/clone')\n" + f +
                                   ":12: [b] from '" + d + "/root/clone' and [b] path '" + d +
                                   "/root/alias' are the same directory (really '" + d +
                                   "/root/clone' and '" + d + "/root/clone')");
}

TEST_CASE("overlap checks through a symlinked parent of trees that do not exist yet") {
  // holding's parent is a link into the (not yet created) clone's parent:
  // both end at the same existing directory, and the missing parts nest.
  test::TestContext ctx;
  std::string d = real_dir(ctx.dir());
  test::make_dir(d + "/root");
  test::make_symlink(d + "/root", d + "/other");
  std::string text =
      "[rotator]\nroot = " + d +
      "/root\n[clone]\ntype = clone\nrun_on = daily\n"
      "source = /s/\npath = clone\n[b]\ntype = backup\nrun_on = weekly\nfrom = clone\n"
      "path = backup\nholding = " +
      d + "/other/clone/h\n";
  auto r = load_text(ctx, text);
  REQUIRE_FALSE(r);
  CHECK(r.error().message().find(":13: [b] holding '" + d +
                                 "/other/clone/h' is inside [clone] path") != std::string::npos);
  // Separate trees stay fine, existing or not.
  test::make_dir(d + "/root/clone");
  auto fine = load_text(ctx, "[rotator]\nroot = " + d +
                                 "/root\n[clone]\ntype = clone\nrun_on = daily\n"
                                 "source = /s/\npath = clone\n[b]\ntype = backup\nrun_on = weekly\n"
                                 "from = clone\npath = backup\nholding = " +
                                 d + "/other/h\n");
  CHECK_MESSAGE(fine, (fine ? std::string() : fine.error().message()));
}

TEST_CASE("holding_format must make dated folder names of its own") {
  // (a) .rotator-deleting.x: the run would delete what it archived; (b) ..:
  // archives into root; (c) .: into holding's top with no folder; (d) a
  // format whose names do not parse back is never recognised (or pruned).
  const std::string head =
      "[rotator]\nroot = /r\n[clone]\ntype = clone\nrun_on = daily\nsource = /s/\n"
      "path = clone\n[b]\ntype = backup\nrun_on = weekly\nfrom = clone\n"
      "path = backup\nholding_format = ";
  CHECK(
      error_of(head + ".rotator-deleting.x\n") ==
      "rotator.conf:13: holding_format: bad name format '.rotator-deleting.x' (it makes the name "
      "'.rotator-deleting.x': names starting with '.' are rotator's own ('.rotator-*', '.trash'))");
  CHECK(error_of(head + "..\n") ==
        "rotator.conf:13: holding_format: bad name format '..' (it makes the name '..', which is "
        "not a folder name)");
  CHECK(error_of(head + ".\n") ==
        "rotator.conf:13: holding_format: bad name format '.' (it makes the name '.', which is "
        "not a folder name)");
  CHECK(error_of(head + ".%Y\n") ==
        "rotator.conf:13: holding_format: bad name format '.%Y' (it makes the name '.2026': names "
        "starting with '.' are rotator's own ('.rotator-*', '.trash'))");
  CHECK(error_of(head + "\n") == "rotator.conf:13: holding_format: bad name format '' (empty)");
  CHECK(error_of(head + "%Y/%m\n") ==
        "rotator.conf:13: holding_format: bad name format '%Y/%m' (must not contain '/')");
  CHECK(error_of(head + "%Y-%m-%d_%Q\n") ==
        "rotator.conf:13: holding_format: bad name format '%Y-%m-%d_%Q' (names it makes do not "
        "parse back)");
  auto fine = parse_config("rotator.conf", head + "weekly-%Y%m%d\n");
  CHECK_MESSAGE(fine, (fine ? std::string() : fine.error().message()));
}

TEST_CASE("a missing key is reported at its section's header line") {
  CHECK(error_of(
            "[rotator]\nroot = /r\n\n[c]\n; comment\ntype = clone\nrun_on = daily\npath = c\n") ==
        "rotator.conf:4: missing required key 'source' in [c]");
}

TEST_CASE("keys that belong to another job type are refused") {
  std::string text =
      "[rotator]\nroot = /r\n[c]\ntype = clone\nrun_on = daily\nsource = /s/\npath = c\nholding = "
      "h\n";
  CHECK(error_of(text) == "rotator.conf:8: key 'holding' does not apply to type = clone in [c]");
}

TEST_CASE("level names may not be command words") {
  std::string text =
      "[rotator]\nroot = /r\n[c]\ntype = clone\nrun_on = status\nsource = /s/\npath = c\n";
  CHECK(error_of(text) == "rotator.conf:5: level name 'status' is a rotator command");
}

TEST_CASE("syntax errors and long lines carry the line number") {
  CHECK(error_of("[rotator]\nroot = /r\nthis line has no equals sign\n") ==
        "rotator.conf:3: syntax error (expected 'key = value' or '[section]')");
  std::string long_line = "[rotator]\nroot = /" + std::string(300, 'x') + "\n";
  CHECK(error_of(long_line) == "rotator.conf:2: line too long (at most 198 characters)");
}

TEST_CASE("max_age default is 1.5 x the level period; explicit max_age wins") {
  auto r = parse_config("r.conf", k_good);
  REQUIRE(r);
  CHECK(effective_max_age(r->jobs[0]) == std::chrono::seconds(36 * 3600));
  CHECK(effective_max_age(r->jobs[1]) == std::chrono::seconds(252 * 3600));
  std::string text =
      "[rotator]\nroot = /r\n[c]\ntype = clone\nrun_on = nightly\nsource = /s/\npath = c\n";
  auto custom = parse_config("r.conf", text);
  REQUIRE(custom);
  CHECK_FALSE(effective_max_age(custom->jobs[0]));
  auto explicit_age = parse_config("r.conf", text + "max_age = 3d\n");
  REQUIRE(explicit_age);
  CHECK(effective_max_age(explicit_age->jobs[0]) == std::chrono::seconds(3 * 86400));
}

TEST_CASE("split_words handles quotes and backslashes without expansion") {
  auto w = split_words("sh -c 'echo $HOME' \"a b\" c\\ d");
  REQUIRE(w);
  CHECK(*w == std::vector<std::string>{"sh", "-c", "echo $HOME", "a b", "c d"});
  CHECK_FALSE(split_words("'open"));
}

TEST_CASE("load_config reports an unreadable file") {
  fs::PosixFs fs;
  test::TestContext ctx;
  auto r = load_config(fs, ctx.path("none.conf"));
  REQUIRE_FALSE(r);
  CHECK(r.error().message() ==
        "cannot read configuration '" + ctx.path("none.conf") + "': No such file or directory");
}

TEST_CASE("load_config refuses what is not a small regular file, without blocking") {
  // -c /dev/zero used to abort with std::bad_alloc (exit 134); a fifo blocked.
  fs::PosixFs fs;
  test::TestContext ctx;
  REQUIRE(::mkfifo(ctx.path("fifo").c_str(), 0600) == 0);
  auto fifo = load_config(fs, ctx.path("fifo"));
  REQUIRE_FALSE(fifo);
  CHECK(fifo.error().message() ==
        "cannot read configuration '" + ctx.path("fifo") + "': not a regular file: a fifo");
  auto zero = load_config(fs, "/dev/zero");
  REQUIRE_FALSE(zero);
  CHECK(zero.error().message() ==
        "cannot read configuration '/dev/zero': not a regular file: a character device");
  auto dir = load_config(fs, ctx.dir());
  REQUIRE_FALSE(dir);
  CHECK(dir.error().message() ==
        "cannot read configuration '" + ctx.dir() + "': not a regular file: a directory");
  test::write_file(ctx.path("big.conf"), "[rotator]\nroot = /r\n" + std::string(2 << 20, ';'));
  auto big = load_config(fs, ctx.path("big.conf"));
  REQUIRE_FALSE(big);
  CHECK(big.error().message() ==
        "cannot read configuration '" + ctx.path("big.conf") + "': larger than 1 MiB");
}

TEST_CASE("a NUL byte in a config line is an error with its line") {
  CHECK(error_of(std::string("[rotator]\nroot = /r\0/x\n", 22)) ==
        "rotator.conf:2: NUL byte in line");
}

TEST_CASE("every key of the table is documented in rotator.conf(5) and the sample config") {
  // The man page and the sample live at the top of the source tree; the
  // unit tests run from there (make check) or from tests/unit.
  auto slurp = [](const std::string& p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  };
  std::string man = slurp("man/rotator.conf.5");
  std::string sample = slurp("etc/rotator.conf");
  if (man.empty()) {
    man = slurp("../../man/rotator.conf.5");
    sample = slurp("../../etc/rotator.conf");
  }
  REQUIRE_FALSE(man.empty());
  REQUIRE_FALSE(sample.empty());
  for (const auto& key : config_key_names()) {
    CAPTURE(key);
    CHECK(man.find(".It Cm " + key) != std::string::npos);
    CHECK(sample.find(key + " ") != std::string::npos);
  }
}

TEST_CASE("relink: a clone key, default no, yes or no") {
  const std::string head =
      "[rotator]\nroot = /r\n[c]\ntype = clone\nrun_on = daily\nsource = /s/\npath = c\n";
  auto def = parse_config("rotator.conf", head);
  REQUIRE(def);
  CHECK(def->jobs[0].relink == Relink::no);
  auto on = parse_config("rotator.conf", head + "relink = yes\n");
  REQUIRE(on);
  CHECK(on->jobs[0].relink == Relink::yes);
  CHECK(error_of(head + "relink = sometimes\n") ==
        "rotator.conf:8: relink: bad value 'sometimes' (expected yes or no)");
  CHECK(
      error_of(head + "[b]\ntype = backup\nrun_on = weekly\nfrom = c\npath = b\nrelink = yes\n") ==
      "rotator.conf:13: key 'relink' does not apply to type = backup in [b]");
}

TEST_SUITE_END();

TEST_SUITE_BEGIN("config snapshot");

namespace {

std::string snapshot_conf(const std::string& keys) {
  return "[rotator]\nroot = /r\n[clone]\ntype = clone\nrun_on = daily\nsource = /s/\npath = clone\n"
         "[snaps]\ntype = snapshot\nfrom = clone\npath = snaps\n" +
         keys;
}

}  // namespace

TEST_CASE("snapshot jobs: rotate and dated parse, levels come from keep or run_on") {
  auto r = parse_config("rotator.conf",
                        snapshot_conf("naming = rotate\nkeep = daily:7 weekly:4 monthly:12\n"));
  REQUIRE_MESSAGE(r, (r ? std::string() : r.error().message()));
  const Job& rot = r->jobs[1];
  CHECK(rot.type == JobType::snapshot);
  CHECK(rot.naming == Naming::rotate);
  CHECK(rot.from == "/r/clone");
  CHECK(rot.from_job == "clone");
  CHECK(rot.levels() == std::vector<std::string>{"daily", "weekly", "monthly"});

  r = parse_config("rotator.conf",
                   snapshot_conf("naming = dated\nkeep = daily:7 weekly:4 monthly:*\n"
                                 "name_format = %Y%m%d-%H%M\nrun_on = daily\n"));
  REQUIRE_MESSAGE(r, (r ? std::string() : r.error().message()));
  const Job& dated = r->jobs[1];
  CHECK(dated.naming == Naming::dated);
  CHECK(dated.name_format == "%Y%m%d-%H%M");
  CHECK(dated.levels() == std::vector<std::string>{"daily"});
}

TEST_CASE("snapshot jobs: keep and name_format are validated at load time") {
  CHECK(error_of(snapshot_conf("naming = rotate\nkeep = daily:0\n")) ==
        "rotator.conf:13: keep: bad count '0' in 'daily:0' (expected a positive integer up to "
        "1000000)");
  CHECK(error_of(snapshot_conf("naming = rotate\nkeep = daily:1 weekly:3\n")) ==
        "rotator.conf:13: keep: the first level 'daily:1' has a higher level 'weekly', which "
        "promotes its oldest generation: that takes the only 'daily' away; keep at least daily:2 "
        "(as rsnapshot requires)");
  CHECK(error_of(snapshot_conf("naming = rotate\nkeep = daily:7 prune:2\n")) ==
        "rotator.conf:13: keep: level name 'prune' is a command word (reserved: check, status, "
        "prune, versions, restore, find, du, diff, help, version)");
  CHECK(
      error_of(snapshot_conf("naming = dated\nkeep = fortnightly:2\nrun_on = daily\n")) ==
      "rotator.conf:13: keep: unknown period 'fortnightly' (expected last, hourly, daily, weekly, "
      "monthly or yearly)");
  CHECK(error_of(snapshot_conf("naming = dated\nkeep =\nrun_on = daily\n")) ==
        "rotator.conf:13: keep: keeps nothing");
  CHECK(error_of(snapshot_conf(
            "naming = dated\nkeep = daily:7\nname_format = %Y/%m\nrun_on = daily\n")) ==
        "rotator.conf:14: name_format: bad name format '%Y/%m' (must not contain '/')");
  CHECK(error_of(snapshot_conf(
            "naming = dated\nkeep = daily:7\nname_format = .trash\nrun_on = daily\n")) ==
        "rotator.conf:14: name_format: bad name format '.trash' (it makes the name '.trash': names "
        "starting with '.' are rotator's own ('.rotator-*', '.trash'))");
  CHECK(error_of(snapshot_conf("naming = rotate\nkeep = daily:7\nname_format = %Y\n")) ==
        "rotator.conf:14: name_format does not apply to naming = rotate in [snaps]");
  CHECK(
      error_of(snapshot_conf("naming = rotate\nkeep = daily:7\nrun_on = daily\n")) ==
      "rotator.conf:14: run_on does not apply to naming = rotate in [snaps]: the levels are those "
      "of 'keep'");
  CHECK(error_of(snapshot_conf("naming = dated\nkeep = daily:7\n")) ==
        "rotator.conf:8: job [snaps] is run by no level: set run_on (e.g. run_on = daily)");
  CHECK(error_of(snapshot_conf("keep = daily:7\nnaming = hourly\n")) ==
        "rotator.conf:13: bad value 'hourly' for 'naming' in [snaps] (expected rotate or dated)");
}

TEST_CASE("max_delete and churn_warn: a percentage from 0 to 100, never nan, inf or a sign") {
  const std::string head =
      "[rotator]\nroot = /r\n[c]\ntype = clone\nrun_on = daily\nsource = /s/\npath = c\n";
  for (const char* good : {"0", "0%", "100%", "12.5%", "7.25", "50"}) {
    CAPTURE(good);
    auto r = parse_config("rotator.conf",
                          head + "max_delete = " + good + "\nchurn_warn = " + good + "\n");
    REQUIRE(r);
    double want = std::strtod(good, nullptr) / 100.0;
    CHECK(r->jobs[0].max_delete == doctest::Approx(want));
    REQUIRE(r->jobs[0].churn_warn);
    CHECK(*r->jobs[0].churn_warn == doctest::Approx(want));
  }
  // strtod takes every one of these; a nan guard would compare false with
  // every share and never fire.
  for (const char* bad :
       {"nan", "nan%", "NaN",  "-nan", "inf", "inf%", "infinity", "-inf", "-0",     "-0%", "+5%",
        "-5%", "1e1",  "0x32", "5.",   ".5",  "5%%",  "%",        "101%", "100.5%", "1 0"}) {
    CAPTURE(bad);
    CHECK(error_of(head + "max_delete = " + bad + "\n") ==
          fmt::format("rotator.conf:8: max_delete: bad value '{}' (expected a percentage such as "
                      "50%)",
                      bad));
    CHECK(error_of(head + "churn_warn = " + bad + "\n") ==
          fmt::format("rotator.conf:8: churn_warn: bad value '{}' (expected a percentage such as "
                      "30%, or none)",
                      bad));
  }
}

TEST_CASE("protect_metadata: a clone key, default no, yes or no") {
  const std::string head =
      "[rotator]\nroot = /r\n[c]\ntype = clone\nrun_on = daily\nsource = /s/\npath = c\n";
  auto def = parse_config("rotator.conf", head);
  REQUIRE(def);
  CHECK(def->jobs[0].protect_metadata == ProtectMetadata::no);
  auto on = parse_config("rotator.conf", head + "protect_metadata = yes\n");
  REQUIRE(on);
  CHECK(on->jobs[0].protect_metadata == ProtectMetadata::yes);
  CHECK(error_of(head + "protect_metadata = maybe\n") ==
        "rotator.conf:8: protect_metadata: bad value 'maybe' (expected yes or no)");
  CHECK(error_of(
            head +
            "[b]\ntype = backup\nrun_on = weekly\nfrom = c\npath = b\nprotect_metadata = yes\n") ==
        "rotator.conf:13: key 'protect_metadata' does not apply to type = backup in [b]");
}

TEST_SUITE_END();
