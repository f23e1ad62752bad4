#include "lock/lock_file.hpp"

#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <thread>

#include <fmt/format.h>

namespace rotator::lock {

LockFile::~LockFile() {
  if (m_fd >= 0 && m_fs) {
    m_fs->close(m_fd);  // closing the descriptor releases the flock
  }
}

namespace {

std::string describe_holder(fs::Fs& fs, int dir_fd, const std::string& name) {
  auto text = fs.read_file(dir_fd, name);
  if (!text || text->empty()) {
    return "unknown process";
  }
  std::string pid, command, started;
  size_t pos = 0;
  while (pos < text->size()) {
    size_t end = text->find('\n', pos);
    std::string line = text->substr(pos, end == std::string::npos ? std::string::npos : end - pos);
    auto eq = line.find('=');
    if (eq != std::string::npos) {
      std::string k = line.substr(0, eq), v = line.substr(eq + 1);
      if (k == "pid") pid = v;
      if (k == "command") command = v;
      if (k == "started") started = v;
    }
    if (end == std::string::npos) break;
    pos = end + 1;
  }
  return fmt::format("pid {} ({}) since {}", pid, command, started);
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
      TRY(fs.write_fd(*fd, fmt::format("pid={}\n{}", ::getpid(), holder_info)));
      return lock;
    }
    int err = fd.error().sys_errno;
    if (err == ELOOP) {
      return plain_error(fmt::format("lock file '{}' is a symlink; rotator never follows one "
                                     "there (move it away)",
                                     display));
    }
    if (err != EWOULDBLOCK && err != EAGAIN) {
      Error e = fd.error();
      e.path = display;
      return e;
    }
    if (wait_seconds == 0 || std::chrono::steady_clock::now() >= deadline) {
      return plain_error(fmt::format("another rotator run holds the lock '{}': {}{}", display,
                                     describe_holder(fs, dir_fd, name),
                                     wait_seconds == 0 ? " (use --wait to wait for it)"
                                                       : fmt::format(" (waited {}s)", wait_seconds)));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

}  // namespace rotator::lock
