// Time zones and instants for rotator: the config's `timezone` (local, UTC or
// an IANA name) decides dated names, period boundaries and --now parsing.
//
// Instants are std::chrono::sys_seconds (UTC). Local wall-clock values are
// date::local_seconds. Conversions from local time resolve a DST gap by
// moving forward (02:30 in a spring-forward gap -> 03:30) and an ambiguous
// time (autumn) to the earlier instant.
#pragma once

#include <chrono>
#include <string>

#include <date/tz.h>

#include "util/result.hpp"

namespace rotator {

using Instant = std::chrono::sys_seconds;

class Zone {
 public:
  // "local" (the system zone, $TZ honoured), "UTC", or an IANA name such as
  // "Europe/Paris". Error text: "unknown time zone 'Mars/Base'".
  //
  // "local": when $TZ is set it names the zone (a leading ':' is ignored, a
  // path ending in zoneinfo/NAME means NAME, an empty value means UTC); a
  // POSIX rule string such as "CET-1CEST,M3.5.0,M10.5.0/3" is not supported
  // and gives "unknown time zone '...' (from $TZ)". Without $TZ the system
  // zone (/etc/localtime) applies; if it cannot be determined the error is
  // "cannot determine the local time zone: ...". name() stays "local".
  static Result<Zone> from_name(const std::string& name);
  static Zone utc();

  const std::string& name() const { return m_name; }
  date::local_seconds to_local(Instant t) const;
  Instant to_instant(date::local_seconds t) const;

  // strftime-style formatting of `t` in this zone (date::format syntax: %Y %m
  // %d %H %M %S %G %V %z ...).
  std::string format(const std::string& fmt, Instant t) const;
  // Parses `text` with `fmt` as local time in this zone; the whole text must
  // be consumed. Error when it does not parse.
  Result<Instant> parse(const std::string& fmt, const std::string& text) const;
  // --now syntax: "2026-11-01T02:00" or "2026-11-01T02:00:30" (also with a
  // space instead of 'T'), local time in this zone.
  Result<Instant> parse_iso(const std::string& text) const;

 private:
  std::string m_name;
  const date::time_zone* m_tz = nullptr;  // nullptr = UTC
};

// The real clock.
Instant now_instant();

}  // namespace rotator
