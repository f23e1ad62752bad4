// Logging: stderr, an optional log file, optional syslog.
//
// Levels: error, warning (both always reach stderr unless -q), info (stderr
// when stderr is a TTY or -v), debug (-v -v). The log file receives info and
// above, each line "[2026-11-22T02:00:00+0100] rotator[PID]: LEVEL: text" in
// the config time zone. Warnings and errors are counted: the exit status is
// derived from them (rsnapshot's convention: 1 error, 2 warnings).
// Control characters in a message are written escaped everywhere (\r, \xHH:
// util/text.hpp escape_control), so one message is always one line.
#pragma once

#include <cstdio>
#include <string>

#include <fmt/format.h>

#include "log/progress.hpp"
#include "util/zone.hpp"

namespace rotator::log {

enum class Level { error, warning, info, debug };
enum class Verbosity { quiet, normal, verbose, debug };

// True when the JOURNAL_STREAM value `env` ("DEV:INO") names the file open
// on descriptor `fd` (sd_journal_stream_fd semantics, as systemd sets it).
bool stream_is_journal(const char* env, int fd);

class Logger {
 public:
  Logger();
  ~Logger();
  Logger(const Logger&) = delete;
  Logger& operator=(const Logger&) = delete;

  void set_verbosity(Verbosity v) { m_verbosity = v; }
  Verbosity verbosity() const { return m_verbosity; }
  void set_zone(const Zone& zone) { m_zone = zone; }
  // Opens (appends to) the log file; returns false with `err` set on failure.
  bool open_file(const std::string& path, std::string* err);
  // Logs to syslog too. syslog(3) drops messages silently when the daemon
  // is unreachable, so the socket is probed first: when nothing listens on
  // `socket_path`, one warning says so (counted: the run exits 2) and syslog
  // stays off for this process.
  void enable_syslog(const std::string& socket_path = "/dev/log");
  // stderr is the systemd journal (JOURNAL_STREAM names stderr's device and
  // inode): every stderr line starts with its sd-daemon(3) priority "<N>"
  // (3 error, 4 warning, 6 info, 7 debug), info lines go there too (the
  // journal is the log), and nothing is prefixed the journal already adds
  // (no time stamp, no "rotator:").
  void set_journal(bool on) { m_journal = on; }
  bool journal() const { return m_journal; }

  // The progress line (null: none, the default). When set, every stderr
  // line is written through progress->write_above(), so it never shares the
  // terminal line with the progress text. The caller decides whether there
  // is one (stderr_tty(), not -q, not the journal); the file and syslog
  // never receive progress.
  void set_progress(Progress* progress) { m_progress = progress; }
  Progress* progress() const { return m_progress; }
  bool stderr_tty() const { return m_stderr_tty; }

  void write(Level level, const std::string& text);
  template <typename... Args>
  void error(fmt::format_string<Args...> f, Args&&... args) {
    write(Level::error, fmt::format(f, std::forward<Args>(args)...));
  }
  template <typename... Args>
  void warning(fmt::format_string<Args...> f, Args&&... args) {
    write(Level::warning, fmt::format(f, std::forward<Args>(args)...));
  }
  template <typename... Args>
  void info(fmt::format_string<Args...> f, Args&&... args) {
    write(Level::info, fmt::format(f, std::forward<Args>(args)...));
  }
  template <typename... Args>
  void debug(fmt::format_string<Args...> f, Args&&... args) {
    write(Level::debug, fmt::format(f, std::forward<Args>(args)...));
  }

  int errors() const { return m_errors; }
  int warnings() const { return m_warnings; }

 private:
  Verbosity m_verbosity = Verbosity::normal;
  bool m_stderr_tty = false;
  Zone m_zone = Zone::utc();
  std::FILE* m_file = nullptr;
  bool m_syslog = false;
  bool m_journal = false;
  Progress* m_progress = nullptr;
  int m_errors = 0;
  int m_warnings = 0;
};

}  // namespace rotator::log
