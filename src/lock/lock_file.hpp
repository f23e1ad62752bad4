// One run at a time per configuration: flock(2) on the lock file.
//
// Calling sequence:
//   auto lock = LockFile::acquire(fs, path, wait, "rotator weekly", now);
//   ... run ...            // the lock is held while `lock` lives
// flock cannot go stale: the kernel drops it when the process dies, however
// it dies. The holder writes "pid=…\ncommand=…\nstarted=…\n" into the file
// after it took the lock, and empties it when it lets go, so a second run can
// say who holds it.
//
// Error handling: held by another process -> Error whose message names the
// holder, after waiting up to `wait_seconds` when given (-1 = forever, 0 = no
// wait). The file's text is believed only when its pid is the one the kernel
// says holds the flock (/proc/locks): "another rotator run holds the lock
// '…': pid 123 (rotator -n weekly) since …". Otherwise (a killed run's text,
// a holder that is not rotator) the real holder from /proc/locks and its
// command line: "another process holds the lock '…': pid 456 (flock …)".
#pragma once

#include <string>

#include "fs/fs.hpp"
#include "util/result.hpp"

namespace rotator::lock {

class LockFile {
 public:
  LockFile() = default;
  LockFile(LockFile&& o) noexcept : m_fs(o.m_fs), m_fd(o.m_fd) { o.m_fd = -1; }
  LockFile& operator=(LockFile&&) = delete;
  LockFile(const LockFile&) = delete;
  ~LockFile();

  // `path` (a user-configured lockfile) is never followed at its last
  // component: a symlink there is an error (ELOOP), its target untouched.
  static Result<LockFile> acquire(fs::Fs& fs, const std::string& path, int wait_seconds,
                                  const std::string& holder_info);
  // The same for `name` relative to the open directory `dir_fd` (the default
  // lock, <root>/.rotator/lock, relative to .rotator opened O_NOFOLLOW);
  // `display` names it in messages.
  static Result<LockFile> acquire_at(fs::Fs& fs, int dir_fd, const std::string& name,
                                     const std::string& display, int wait_seconds,
                                     const std::string& holder_info);
  bool held() const { return m_fd >= 0; }
  // Lets go of the lock now (the destructor's work); held() is false after.
  void release();

 private:
  fs::Fs* m_fs = nullptr;
  int m_fd = -1;
};

}  // namespace rotator::lock
