#include "log/log.hpp"

#include <syslog.h>
#include <unistd.h>

#include <cerrno>
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
  m_file = std::fopen(path.c_str(), "ae");
  if (!m_file) {
    *err = fmt::format("cannot open log file '{}': {}", path, std::strerror(errno));
    return false;
  }
  return true;
}

void Logger::enable_syslog() {
  ::openlog("rotator", LOG_PID, LOG_USER);
  m_syslog = true;
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
    case Level::info: prio = LOG_INFO; break;
    case Level::debug: prio = LOG_DEBUG; break;
  }
  bool to_stderr = false;
  switch (level) {
    case Level::error:
    case Level::warning: to_stderr = m_verbosity != Verbosity::quiet || level == Level::error; break;
    case Level::info:
      to_stderr = m_verbosity >= Verbosity::verbose ||
                  (m_verbosity == Verbosity::normal && m_stderr_tty);
      break;
    case Level::debug: to_stderr = m_verbosity >= Verbosity::debug; break;
  }
  if (to_stderr) {
    fmt::print(stderr, "rotator: {}{}\n", prefix, text);
    std::fflush(stderr);
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
