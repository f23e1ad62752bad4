#include "testutil.hpp"

#include "dir_names.hpp"
#include "fs/posix_fs.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace rotator::test {

namespace stdfs = std::filesystem;

namespace {
std::string g_root;
int g_counter = 0;
}  // namespace

std::string init_test_root() {
  const char* tmp = std::getenv("TMPDIR");
  std::string base = tmp && *tmp ? tmp : "/tmp";
  g_root = base + "/rotator-unittest." + std::to_string(getpid());
  stdfs::remove_all(g_root);
  stdfs::create_directories(g_root);
  return g_root;
}

void remove_tree(const std::string& path) {
  std::error_code ec;
  stdfs::remove_all(path, ec);
}

TestContext::TestContext() {
  if (g_root.empty()) {
    init_test_root();
  }
  m_dir = g_root + "/case" + std::to_string(++g_counter);
  stdfs::create_directories(m_dir);
}

TestContext::~TestContext() {
  // Make everything writable again (tests may chmod), then remove.
  std::error_code ec;
  for (auto it = stdfs::recursive_directory_iterator(m_dir, ec);
       it != stdfs::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_directory(ec) && !it->is_symlink(ec)) {
      stdfs::permissions(it->path(), stdfs::perms::owner_all, stdfs::perm_options::add, ec);
    }
  }
  stdfs::remove_all(m_dir, ec);
}

std::string TestContext::path(const std::string& rel) const { return m_dir + "/" + rel; }

void write_file(const std::string& path, const std::string& content) {
  stdfs::create_directories(stdfs::path(path).parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
  if (!out) {
    throw std::runtime_error("cannot write " + path);
  }
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void make_dir(const std::string& path) { stdfs::create_directories(path); }

void make_symlink(const std::string& target, const std::string& path) {
  stdfs::create_directories(stdfs::path(path).parent_path());
  stdfs::create_symlink(target, path);
}

void make_link(const std::string& existing, const std::string& path) {
  stdfs::create_directories(stdfs::path(path).parent_path());
  stdfs::create_hard_link(existing, path);
}

bool exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

ino_t inode_of(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0 ? st.st_ino : 0;
}

std::vector<std::string> list_tree(const std::string& root, WithInodes inodes) {
  std::vector<std::string> out;
  std::error_code ec;
  for (auto it = stdfs::recursive_directory_iterator(root, ec);
       it != stdfs::recursive_directory_iterator(); it.increment(ec)) {
    std::string p = it->path().string();
    struct stat st;
    if (::lstat(p.c_str(), &st) != 0) {
      continue;
    }
    std::string rel = p.substr(root.size() + 1);
    const char* type = S_ISDIR(st.st_mode)   ? "dir"
                       : S_ISLNK(st.st_mode) ? "link"
                       : S_ISREG(st.st_mode) ? "file"
                                             : "special";
    std::ostringstream line;
    line << rel << " " << type;
    if (inodes == WithInodes::yes) {
      line << " ino=" << st.st_ino << " nlink=" << st.st_nlink;
    }
    line << " mode=" << std::oct << (st.st_mode & 07777) << std::dec;
    if (!S_ISLNK(st.st_mode)) {
      line << " mtime=" << st.st_mtim.tv_sec << "." << st.st_mtim.tv_nsec;
    }
    if (!S_ISDIR(st.st_mode)) {
      line << " size=" << st.st_size;
    }
    if (S_ISLNK(st.st_mode)) {
      line << " -> " << stdfs::read_symlink(p, ec).string();
    }
    out.push_back(line.str());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::map<std::string, ino_t> inodes_under(const std::string& root) {
  std::map<std::string, ino_t> out;
  std::error_code ec;
  for (auto it = stdfs::recursive_directory_iterator(root, ec);
       it != stdfs::recursive_directory_iterator(); it.increment(ec)) {
    std::string p = it->path().string();
    struct stat st;
    if (::lstat(p.c_str(), &st) != 0 || S_ISDIR(st.st_mode)) {
      continue;
    }
    out[p.substr(root.size() + 1)] = st.st_ino;
  }
  return out;
}

long for_each_fault_point(FaultKind fault, const FaultAttempt& attempt, long limit) {
  for (long k = 1; k <= limit; ++k) {
    CAPTURE(k);
    TestContext ctx;
    fs::PosixFs real;
    fs::FaultFs faulty(real);
    if (fault == FaultKind::crash) {
      faulty.crash_after(k);
    } else {
      faulty.power_cut_after(k, ctx.dir());
    }
    bool ok = attempt(ctx, faulty);
    if (ok && !faulty.triggered()) {
      return k;
    }
  }
  FAIL("the step did not finish within ", limit, " fault points");
  return limit;
}

const char* dir_call_name(DirCall op) {
  switch (op) {
    case DirCall::list_dir:
      return "list_dir";
    case DirCall::fsync_dir:
      return "fsync_dir";
    case DirCall::sync_fs:
      return "sync_fs";
  }
  return "?";
}

FailingCallCounts for_each_failing_call(DirCall op, const FailingCallAttempt& attempt,
                                        Unreported unreported, long limit) {
  FailingCallCounts out;
  for (long k = 1; k <= limit; ++k) {
    CAPTURE(op);
    CAPTURE(k);
    fs::PosixFs real;
    fs::FaultFs faulty(real);
    faulty.set_count(fs::FaultFs::Count::all);  // list_dir is a read
    faulty.fail_at(k, EIO, dir_call_name(op));
    DirNames names(faulty);
    FailingCallRun run = attempt(names);
    if (!faulty.triggered()) {
      CHECK(run.ok);
      return out;
    }
    ++out.runs;
    REQUIRE(names.failed_op() == dir_call_name(op));
    if (unreported == Unreported::refused) {
      REQUIRE_FALSE(run.ok);
    }
    if (run.ok) {
      continue;  // a read the step repeated
    }
    ++out.reported;
    CAPTURE(run.text);
    CAPTURE(names.failed_dir());
    CHECK_FALSE(has_placeholder(run.text));
    CHECK(names_dir(run.text, names.failed_dir(), run.root));
  }
  FAIL("the step did not finish within ", limit, " failing calls");
  return out;
}

}  // namespace rotator::test
