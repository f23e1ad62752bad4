#include "log/progress.hpp"

#include <fmt/format.h>

#include "util/text.hpp"

namespace rotator::log {

namespace {

std::string clock_text(long long secs) {
  if (secs >= 3600) {
    return fmt::format("{}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60);
  }
  return fmt::format("{}:{:02}", secs / 60, secs % 60);
}

}  // namespace

std::string format_progress(std::string_view phase, const ProgressCounts* counts,
                            long long expected, std::chrono::milliseconds elapsed) {
  long long ms = elapsed.count() < 0 ? 0 : elapsed.count();
  if (!counts) {
    return fmt::format("{}: rsync running, {} elapsed", phase, clock_text(ms / 1000));
  }
  std::string line = fmt::format("{}: {}", phase, counts->done);
  if (expected > 0) {
    long long pct = counts->done >= expected ? 100 : counts->done * 100 / expected;
    line += fmt::format("/{} entries ({}%)", expected, pct);
  } else {
    line += " entries";
  }
  line +=
      fmt::format(", {} linked, {} archived", format_size(counts->linked_bytes), counts->archived);
  if (ms >= 1000) {
    long long rate = counts->done * 1000 / ms;
    line += fmt::format(", {}/s", rate);
    if (expected > 0 && rate > 0) {
      long long left = expected > counts->done ? expected - counts->done : 0;
      line += ", ETA " + clock_text((left + rate - 1) / rate);
    }
  }
  return line;
}

Progress::Progress(Out out, Clock clock) : m_out(std::move(out)), m_clock(std::move(clock)) {}

void Progress::begin(std::string phase, Counted counted, long long expected) {
  std::lock_guard<std::mutex> lock(m_mu);
  clear_locked();
  m_done = 0;
  m_archived = 0;
  m_linked_bytes = 0;
  m_phase = std::move(phase);
  m_counted = counted;
  m_expected = expected;
  m_start = m_clock();
  m_last_draw = m_start;
  m_active = true;
}

void Progress::end() {
  std::lock_guard<std::mutex> lock(m_mu);
  clear_locked();
  m_active = false;
}

ProgressCounts Progress::counts() const {
  return ProgressCounts{m_done.load(std::memory_order_relaxed),
                        m_archived.load(std::memory_order_relaxed),
                        m_linked_bytes.load(std::memory_order_relaxed)};
}

bool Progress::tick() {
  std::lock_guard<std::mutex> lock(m_mu);
  if (!m_active) {
    return false;
  }
  auto now = m_clock();
  if (now - m_last_draw < k_min_interval) {
    return false;
  }
  m_last_draw = now;
  ProgressCounts c = counts();
  auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(now - m_start);
  std::string line =
      format_progress(m_phase, m_counted == Counted::yes ? &c : nullptr, m_expected, elapsed);
  m_out("\r" + line + "\033[K");
  m_shown = true;
  return true;
}

void Progress::clear() {
  std::lock_guard<std::mutex> lock(m_mu);
  clear_locked();
}

void Progress::write_above(const std::function<void()>& write) {
  std::lock_guard<std::mutex> lock(m_mu);
  clear_locked();
  write();
}

void Progress::clear_locked() {
  if (m_shown) {
    m_out("\r\033[K");
    m_shown = false;
  }
}

ProgressTicker::ProgressTicker(Progress& progress) : m_progress(progress) {
  m_thread = std::thread([this] {
    std::unique_lock<std::mutex> lock(m_mu);
    while (!m_cv.wait_for(lock, Progress::k_min_interval, [this] { return m_stop; })) {
      m_progress.tick();
    }
  });
}

ProgressTicker::~ProgressTicker() {
  {
    std::lock_guard<std::mutex> lock(m_mu);
    m_stop = true;
  }
  m_cv.notify_all();
  m_thread.join();
  m_progress.clear();
}

}  // namespace rotator::log
