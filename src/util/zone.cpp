#include "util/zone.hpp"

#include <cctype>
#include <cstdlib>
#include <exception>
#include <sstream>
#include <string_view>

#include <fmt/format.h>

namespace rotator {

namespace {

// date::locate_zone throws std::runtime_error for unknown names; this is the
// boundary where that becomes a value.
const date::time_zone* locate_or_null(const std::string& name) {
  try {
    return date::locate_zone(name);
  } catch (const std::exception&) {
    return nullptr;
  }
}

// The IANA name $TZ asks for, or "" when $TZ is unset (then the system zone
// applies). POSIX: an empty TZ means UTC; a leading ':' is implementation
// defined (glibc: a file name). Absolute paths into a zoneinfo tree are
// mapped back to the zone name.
bool tz_from_environment(std::string& out) {
  const char* env = std::getenv("TZ");
  if (env == nullptr) {
    return false;
  }
  std::string value = env;
  if (!value.empty() && value[0] == ':') {
    value.erase(0, 1);
  }
  if (value.empty()) {
    value = "UTC";
  }
  auto pos = value.rfind("zoneinfo/");
  if (!value.empty() && value[0] == '/' && pos != std::string::npos) {
    value = value.substr(pos + 9);
  }
  out = value;
  return true;
}

bool is_utc_name(const std::string& name) {
  return name == "UTC" || name == "Etc/UTC" || name == "UTC0" || name == "Etc/Universal" ||
         name == "Universal" || name == "Zulu" || name == "Etc/Zulu" || name == "GMT" ||
         name == "Etc/GMT";
}

bool format_has_offset(const std::string& fmt) {
  return fmt.find("%z") != std::string::npos || fmt.find("%Ez") != std::string::npos ||
         fmt.find("%Oz") != std::string::npos;
}

}  // namespace

Result<Zone> Zone::from_name(const std::string& name) {
  Zone zone;
  zone.m_name = name;
  if (name == "UTC") {
    return zone;
  }
  if (name == "local") {
    std::string env_name;
    if (tz_from_environment(env_name)) {
      if (is_utc_name(env_name)) {
        return zone;  // m_tz stays nullptr = UTC
      }
      zone.m_tz = locate_or_null(env_name);
      if (zone.m_tz == nullptr) {
        return plain_error(fmt::format("unknown time zone '{}' (from $TZ)", env_name));
      }
      return zone;
    }
    try {
      zone.m_tz = date::current_zone();
    } catch (const std::exception& e) {
      return plain_error(fmt::format("cannot determine the local time zone: {}", e.what()));
    }
    return zone;
  }
  if (name.empty()) {
    return plain_error("unknown time zone ''");
  }
  zone.m_tz = locate_or_null(name);
  if (zone.m_tz == nullptr) {
    return plain_error(fmt::format("unknown time zone '{}'", name));
  }
  return zone;
}

Zone Zone::utc() {
  Zone zone;
  zone.m_name = "UTC";
  return zone;
}

date::local_seconds Zone::to_local(Instant t) const {
  if (m_tz == nullptr) {
    return date::local_seconds{t.time_since_epoch()};
  }
  return m_tz->to_local(t);
}

Instant Zone::to_instant(date::local_seconds t) const {
  if (m_tz == nullptr) {
    return Instant{t.time_since_epoch()};
  }
  // For a unique time `first` is the only offset. In a gap (nonexistent) `first`
  // is the offset before the transition, so 02:30 + gap -> 03:30 after it. For
  // an ambiguous time `first` is the earlier (pre-transition) offset, which
  // gives the earlier instant.
  date::local_info info = m_tz->get_info(t);
  return Instant{t.time_since_epoch() - info.first.offset};
}

std::string Zone::format(const std::string& fmt, Instant t) const {
  if (m_tz == nullptr) {
    return date::format(fmt, t);
  }
  return date::format(fmt, date::zoned_seconds(m_tz, t));
}

Result<Instant> Zone::parse(const std::string& fmt, const std::string& text) const {
  std::istringstream in(text);
  date::local_seconds local{};
  std::chrono::minutes offset{0};
  in >> date::parse(fmt, local, offset);
  if (in.fail() || in.peek() != std::char_traits<char>::eof()) {
    return plain_error(fmt::format("bad time '{}' (expected format '{}')", text, fmt));
  }
  if (format_has_offset(fmt)) {
    return Instant{local.time_since_epoch() - offset};
  }
  return to_instant(local);
}

Result<Instant> Zone::parse_iso(const std::string& text) const {
  // Shape check first: date::parse is lenient about widths ("2026-1-1T2:0").
  static constexpr std::string_view k_shape = "dddd-dd-ddTdd:dd:dd";
  auto bad = [&] {
    return plain_error(fmt::format("bad time '{}' (expected YYYY-MM-DDTHH:MM[:SS])", text));
  };
  if (text.size() != 16 && text.size() != 19) {
    return bad();
  }
  std::string normalized = text;
  for (size_t i = 0; i < normalized.size(); ++i) {
    char want = k_shape[i];
    char& c = normalized[i];
    if (want == 'd') {
      if (!std::isdigit(static_cast<unsigned char>(c))) {
        return bad();
      }
    } else if (want == 'T') {
      if (c != 'T' && c != ' ') {
        return bad();
      }
      c = 'T';
    } else if (c != want) {
      return bad();
    }
  }
  const std::string fmt = normalized.size() == 16 ? "%Y-%m-%dT%H:%M" : "%Y-%m-%dT%H:%M:%S";
  auto r = parse(fmt, normalized);
  if (!r) {
    return bad();
  }
  return r;
}

Instant now_instant() {
  return std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
}

}  // namespace rotator
