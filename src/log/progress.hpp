// Progress: the one updating stderr line of a long run (clone, backup,
// snapshot build), for a human at a terminal only.
//
// Contract:
// - The engine side (count_done, count_archived, count_linked_bytes) is lock-free and makes no
//   system call: it only bumps std::atomic counters, so it is safe from the
//   engine's worker threads and keeps FaultFs runs deterministic.
// - The drawing side (tick, clear, write_above) is serialized by a mutex and
//   writes only through the `Out` function given at construction (stderr in
//   rotator). tick() draws at most once per k_min_interval (100 ms) as
//   measured by the injected steady clock, whatever the entry rate.
// - Every draw is "\r" + line + "\033[K"; clear() writes "\r\033[K" when a
//   line is on screen. The Logger calls write_above() for each stderr line,
//   so a log line (and the final summary) never shares the progress line.
// - Whether a Progress exists at all is the caller's decision: rotator makes
//   one only when stderr is a TTY, not the journal, and not under -q. The log
//   file and syslog never see it.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

namespace rotator::log {

struct ProgressCounts {
  long long done = 0;          // non-directories walked (linked, unchanged, copied)
  long long archived = 0;      // entries displaced to holding (a directory counts once)
  long long linked_bytes = 0;  // st_size of the regular files and symlinks linked or copied
};

// The line for one moment, e.g.
//   "[home] backup: 1234/5000 entries (24%), 3.1 MiB linked, 2 archived, 410/s, ETA 0:09"
//   "[laptop] clone: rsync running, 1:02 elapsed"          (counts == nullptr)
// `expected` < 0: unknown (no previous run): no total, percentage or ETA.
// Pure: the elapsed time is passed in.
std::string format_progress(std::string_view phase, const ProgressCounts* counts,
                            long long expected, std::chrono::milliseconds elapsed);

class Progress {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;
  using Out = std::function<void(std::string_view)>;
  static constexpr std::chrono::milliseconds k_min_interval{100};

  explicit Progress(
      Out out, Clock clock = [] { return std::chrono::steady_clock::now(); });
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  // Starts a phase: resets the counters and the start time. `counted` false:
  // the phase has no entry counts (rsync), the line shows elapsed time only.
  enum class Counted { no, yes };
  void begin(std::string phase, Counted counted, long long expected);
  // Ends the phase: clears the line; tick() draws nothing until begin().
  void end();

  // Engine side: any thread, no lock, no system call.
  void count_done(long long n = 1) { m_done.fetch_add(n, std::memory_order_relaxed); }
  void count_archived(long long n = 1) { m_archived.fetch_add(n, std::memory_order_relaxed); }
  void count_linked_bytes(long long n) { m_linked_bytes.fetch_add(n, std::memory_order_relaxed); }
  ProgressCounts counts() const;

  // Draws the line when a phase is active and k_min_interval has passed since
  // the last draw (the first tick of a phase waits one interval too, so a
  // short run never flashes a line). Returns whether it drew.
  bool tick();
  // Erases the line if one is on screen.
  void clear();
  // Clears the line, then calls `write` (which prints a whole stderr line);
  // the next tick redraws.
  void write_above(const std::function<void()>& write);

 private:
  void clear_locked();

  Out m_out;
  Clock m_clock;
  std::atomic<long long> m_done{0};
  std::atomic<long long> m_archived{0};
  std::atomic<long long> m_linked_bytes{0};
  std::mutex m_mu;
  bool m_active = false;
  bool m_shown = false;
  Counted m_counted = Counted::no;
  std::string m_phase;
  long long m_expected = -1;
  std::chrono::steady_clock::time_point m_start{};
  std::chrono::steady_clock::time_point m_last_draw{};
};

// A thread calling progress.tick() every k_min_interval until destroyed
// (the destructor stops and joins it, then clears the line).
class ProgressTicker {
 public:
  explicit ProgressTicker(Progress& progress);
  ~ProgressTicker();
  ProgressTicker(const ProgressTicker&) = delete;
  ProgressTicker& operator=(const ProgressTicker&) = delete;

 private:
  Progress& m_progress;
  std::mutex m_mu;
  std::condition_variable m_cv;
  bool m_stop = false;
  std::thread m_thread;
};

}  // namespace rotator::log
