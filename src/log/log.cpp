#include "log/log.hpp"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "util/text.hpp"

namespace rotator::log {

Logger::Logger() : m_stderr_tty(::isatty(2) != 0) {}

Logger::~Logger() {
  if (m_file) {
    std::fclose(m_file);
  }
  if (m_syslog) {
    ::closelog();
  }
}

bool Logger::open_file(const std::string& path, std::string* err) {
  // The log file is an append-only text stream, not part of any backup
  // tree; it is opened with stdio rather than through the Fs seam.
  m_file = std::fopen(path.c_str(), "ae");  // lint-allow: append-only diagnostics, no user data
  if (!m_file) {
    *err = fmt::format("cannot open log file '{}': {}", path, std::strerror(errno));
    return false;
  }
  return true;
}

void Logger::enable_syslog(const std::string& socket_path) {
  int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  int err = 0;
  if (fd < 0) {
    err = errno;
  } else {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, socket_path.c_str(), sizeof addr.sun_path - 1);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0) {
      err = errno;
      // A stream socket (rsyslog with a stream /dev/log) is fine too.
      if (err == EPROTOTYPE) {
        err = 0;
      }
    }
    ::close(fd);
  }
  if (err != 0) {
    warning("syslog = yes, but syslog cannot be reached at '{}': {}; logging without syslog",
            socket_path, std::strerror(err));
    return;
  }
  ::openlog("rotator", LOG_PID, LOG_USER);
  m_syslog = true;
}

bool stream_is_journal(const char* env, int fd) {
  if (!env || !*env) {
    return false;
  }
  unsigned long long dev = 0, ino = 0;
  char tail = 0;
  if (std::sscanf(env, "%llu:%llu%c", &dev, &ino, &tail) != 2) {
    return false;
  }
  struct stat st {};
  if (::fstat(fd, &st) < 0) {
    return false;
  }
  return static_cast<unsigned long long>(st.st_dev) == dev &&
         static_cast<unsigned long long>(st.st_ino) == ino;
}

void Logger::write(Level level, const std::string& raw) {
  // A carriage return or escape sequence from ssh/rsync must not rewrite the
  // terminal line or split a log line: control characters become \r, \xHH.
  const std::string text = escape_control(raw);
  const char* prefix = "";
  int prio = LOG_INFO;
  switch (level) {
    case Level::error:
      ++m_errors;
      prefix = "error: ";
      prio = LOG_ERR;
      break;
    case Level::warning:
      ++m_warnings;
      prefix = "warning: ";
      prio = LOG_WARNING;
      break;
    case Level::info:
      prio = LOG_INFO;
      break;
    case Level::debug:
      prio = LOG_DEBUG;
      break;
  }
  bool to_stderr = false;
  switch (level) {
    case Level::error:
    case Level::warning:
      to_stderr = m_verbosity != Verbosity::quiet || level == Level::error;
      break;
    case Level::info:
      to_stderr = m_verbosity >= Verbosity::verbose ||
                  (m_verbosity == Verbosity::normal && (m_stderr_tty || m_journal));
      break;
    case Level::debug:
      to_stderr = m_verbosity >= Verbosity::debug;
      break;
  }
  auto print = [&] {
    if (m_journal) {
      fmt::print(stderr, "<{}>{}{}\n", prio, prefix, text);
    } else {
      fmt::print(stderr, "rotator: {}{}\n", prefix, text);
    }
    std::fflush(stderr);
  };
  if (to_stderr && m_progress) {
    m_progress->write_above(print);
  } else if (to_stderr) {
    print();
  }
  if (m_file && (level != Level::debug || m_verbosity >= Verbosity::debug)) {
    std::string stamp = m_zone.format("%Y-%m-%dT%H:%M:%S%z", now_instant());
    fmt::print(m_file, "[{}] rotator[{}]: {}{}\n", stamp, ::getpid(), prefix, text);
    std::fflush(m_file);
  }
  if (m_syslog && level != Level::debug) {
    ::syslog(prio, "%s%s", prefix, text.c_str());
  }
}

}  // namespace rotator::log
