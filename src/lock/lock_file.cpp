#include "lock/lock_file.hpp"

#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <optional>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "util/text.hpp"

namespace rotator::lock {

LockFile::~LockFile() { release(); }

void LockFile::release() {
  if (m_fd >= 0 && m_fs) {
    // The holder text goes with the lock: a finished run leaves none behind.
    (void)m_fs->write_fd(m_fd, "");
    m_fs->close(m_fd);  // closing the descriptor releases the flock
  }
  m_fd = -1;
}

namespace {

// The lock file's holder text: pid, command, started (empty when unset).
struct HolderInfo {
  std::string pid, command, started;
};

HolderInfo parse_holder(const std::string& text) {
  HolderInfo h;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    std::string line = text.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
    auto eq = line.find('=');
    if (eq != std::string::npos) {
      std::string k = line.substr(0, eq), v = line.substr(eq + 1);
      if (k == "pid") h.pid = v;
      if (k == "command") h.command = v;
      if (k == "started") h.started = v;
    }
    if (end == std::string::npos) break;
    pos = end + 1;
  }
  return h;
}

// The pids holding a flock on the file `st` names, from /proc/locks
// ("1: FLOCK  ADVISORY  WRITE 6889 fe:00:10953122 0 EOF"; waiters, "->",
// and POSIX locks are skipped). nullopt when /proc/locks cannot be read.
std::optional<std::vector<std::string>> flock_holders(fs::Fs& fs, const fs::Stat& st) {
  auto text = fs.read_file(fs::k_cwd, "/proc/locks");
  if (!text) {
    return std::nullopt;
  }
  std::string want = fmt::format("{:02x}:{:02x}:{}", major(st.dev), minor(st.dev), st.ino);
  std::vector<std::string> out;
  size_t at = 0;
  while (at < text->size()) {
    size_t nl = text->find('\n', at);
    std::string line = text->substr(at, nl == std::string::npos ? std::string::npos : nl - at);
    at = nl == std::string::npos ? text->size() : nl + 1;
    std::vector<std::string> tok;
    size_t pos = 0;
    while (pos < line.size()) {
      size_t b = line.find_first_not_of(" \t", pos);
      if (b == std::string::npos) break;
      size_t e = line.find_first_of(" \t", b);
      tok.push_back(line.substr(b, e == std::string::npos ? std::string::npos : e - b));
      pos = e == std::string::npos ? line.size() : e;
    }
    if (tok.size() >= 6 && tok[1] == "FLOCK" && tok[5] == want) {
      out.push_back(tok[4]);
    }
  }
  return out;
}

// The command line of process `pid` (/proc/PID/cmdline, arguments joined
// by spaces, control characters escaped, at most 200 bytes), "" if unknown.
std::string command_of(fs::Fs& fs, const std::string& pid) {
  auto text = fs.read_file(fs::k_cwd, "/proc/" + pid + "/cmdline");
  if (!text) {
    return {};
  }
  std::string cmd = *text;
  while (!cmd.empty() && cmd.back() == '\0') {
    cmd.pop_back();
  }
  for (char& c : cmd) {
    if (c == '\0') c = ' ';
  }
  if (cmd.size() > 200) {
    cmd = cmd.substr(0, 200) + "...";
  }
  return escape_control(cmd);
}

// Who holds the lock on `name`, for the "lock is held" message: the holder
// text the current holder wrote after it took the lock, but only when its
// pid is the one the kernel says holds the flock (/proc/locks); a run that
// ended or was killed leaves its text behind, and a holder that is not
// rotator (flock(1), a script) never writes one. Returns the message's
// subject and detail: "another rotator run holds ...: pid 1 (rotator -n
// weekly) since T" or "another process holds ...: pid 2 (flock ...)".
std::string describe_holder(fs::Fs& fs, int dir_fd, const std::string& name,
                            const std::string& display) {
  auto text = fs.read_file(dir_fd, name);
  HolderInfo info = parse_holder(text ? *text : std::string());
  auto rotator_run = [&] {
    return fmt::format("another rotator run holds the lock '{}': pid {} ({}) since {}", display,
                       info.pid, escape_control(info.command), escape_control(info.started));
  };
  auto st = fs.lstat(dir_fd, name);
  auto holders = st ? flock_holders(fs, *st) : std::nullopt;
  if (holders && !holders->empty()) {
    for (const auto& pid : *holders) {
      if (pid == info.pid) {
        return rotator_run();
      }
    }
    const std::string& pid = holders->front();
    std::string cmd = command_of(fs, pid);
    return fmt::format("another process holds the lock '{}': pid {}{}", display, pid,
                       cmd.empty() ? std::string() : " (" + cmd + ")");
  }
  // No /proc/locks (or the holder let go meanwhile): the text is believed
  // only when its process still exists.
  if (!info.pid.empty() && info.pid.find_first_not_of("0123456789") == std::string::npos &&
      fs.lstat(fs::k_cwd, "/proc/" + info.pid)) {
    return rotator_run();
  }
  return fmt::format("another process holds the lock '{}' (which one is unknown)", display);
}

}  // namespace

Result<LockFile> LockFile::acquire(fs::Fs& fs, const std::string& path, int wait_seconds,
                                   const std::string& holder_info) {
  return acquire_at(fs, fs::k_cwd, path, path, wait_seconds, holder_info);
}

Result<LockFile> LockFile::acquire_at(fs::Fs& fs, int dir_fd, const std::string& name,
                                      const std::string& display, int wait_seconds,
                                      const std::string& holder_info) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(wait_seconds);
  for (;;) {
    auto fd = fs.lock_file_at(dir_fd, name,
                              wait_seconds < 0 ? fs::LockMode::wait : fs::LockMode::no_wait);
    if (fd) {
      LockFile lock;
      lock.m_fs = &fs;
      lock.m_fd = *fd;
      TRY_CONTEXT(fs.write_fd(*fd, fmt::format("pid={}\n{}", ::getpid(), holder_info)), "write",
                  display);
      return lock;
    }
    int err = fd.error().sys_errno;
    if (err == ELOOP) {
      return plain_error(
          fmt::format("lock file '{}' is a symlink; rotator never follows one "
                      "there (move it away)",
                      display));
    }
    if (err != EWOULDBLOCK && err != EAGAIN) {
      Error e = fd.error();
      e.path = display;
      return e;
    }
    if (wait_seconds == 0 || std::chrono::steady_clock::now() >= deadline) {
      return plain_error(fmt::format("{}{}", describe_holder(fs, dir_fd, name, display),
                                     wait_seconds == 0
                                         ? " (use --wait to wait for it)"
                                         : fmt::format(" (waited {}s)", wait_seconds)));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

}  // namespace rotator::lock
