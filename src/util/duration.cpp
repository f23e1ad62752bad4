#include "util/duration.hpp"

#include <charconv>

#include <fmt/format.h>

namespace rotator {

namespace {

constexpr long k_max_years = 1000;

bool is_unit(char c) { return c == 'h' || c == 'd' || c == 'w' || c == 'm' || c == 'y'; }

}  // namespace

Result<Duration> parse_duration(std::string_view text) {
  auto bad_shape = [&] {
    return plain_error(
        fmt::format("bad duration '{}' (expected a number followed by h, d, w, m or y)", text));
  };
  if (text.size() < 2 || !is_unit(text.back())) {
    return bad_shape();
  }
  std::string_view digits = text.substr(0, text.size() - 1);
  for (char c : digits) {
    if (c < '0' || c > '9') {
      return bad_shape();
    }
  }
  Duration d;
  d.unit = text.back();
  auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), d.count);
  if (ec == std::errc::result_out_of_range) {
    return plain_error(
        fmt::format("bad duration '{}' (too large, at most {} years)", text, k_max_years));
  }
  if (ec != std::errc() || ptr != digits.data() + digits.size()) {
    return bad_shape();
  }
  if (d.count == 0) {
    return plain_error(fmt::format("bad duration '{}' (must be at least 1)", text));
  }
  // Compare in the unit itself so the check cannot overflow.
  long max_count = 0;
  switch (d.unit) {
    case 'h':
      max_count = k_max_years * 366 * 24;
      break;
    case 'd':
      max_count = k_max_years * 366;
      break;
    case 'w':
      max_count = k_max_years * 53;
      break;
    case 'm':
      max_count = k_max_years * 12;
      break;
    default:
      max_count = k_max_years;
      break;
  }
  if (d.count > max_count) {
    return plain_error(
        fmt::format("bad duration '{}' (too large, at most {} years)", text, k_max_years));
  }
  return d;
}

std::string to_string(const Duration& d) { return fmt::format("{}{}", d.count, d.unit); }

Instant subtract(Instant t, const Duration& d, const Zone& zone) {
  using namespace std::chrono;
  if (d.unit == 'h') {
    return t - hours{d.count};
  }
  date::local_seconds local = zone.to_local(t);
  date::local_days day = date::floor<date::days>(local);
  seconds time_of_day = local - day;
  if (d.unit == 'd' || d.unit == 'w') {
    long n = d.unit == 'w' ? d.count * 7 : d.count;
    return zone.to_instant(day - date::days{n} + time_of_day);
  }
  date::year_month_day ymd{day};
  date::year_month ym = ymd.year() / ymd.month();
  ym -= date::months{d.unit == 'y' ? d.count * 12 : d.count};
  date::day last = (ym / date::last).day();
  date::day target_day = ymd.day() > last ? last : ymd.day();
  return zone.to_instant(date::local_days{ym / target_day} + time_of_day);
}

std::chrono::seconds approx_seconds(const Duration& d) {
  using namespace std::chrono;
  switch (d.unit) {
    case 'h':
      return duration_cast<seconds>(hours{d.count});
    case 'd':
      return duration_cast<seconds>(date::days{d.count});
    case 'w':
      return duration_cast<seconds>(date::weeks{d.count});
    case 'm':
      return duration_cast<seconds>(date::months{d.count});
    default:
      return duration_cast<seconds>(date::years{d.count});
  }
}

std::string format_age(std::chrono::seconds age) {
  if (age.count() < 0) {
    return "-" + format_age(-age);
  }
  long long s = age.count();
  long long days = s / 86400;
  long long hours = (s % 86400) / 3600;
  long long minutes = (s % 3600) / 60;
  if (days > 0) {
    return hours > 0 ? fmt::format("{}d {}h", days, hours) : fmt::format("{}d", days);
  }
  if (hours > 0) {
    return minutes > 0 ? fmt::format("{}h {}m", hours, minutes) : fmt::format("{}h", hours);
  }
  if (minutes > 0) {
    return fmt::format("{}m", minutes);
  }
  return fmt::format("{}s", s);
}

}  // namespace rotator
