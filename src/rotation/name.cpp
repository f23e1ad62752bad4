#include "rotation/name.hpp"

#include <algorithm>
#include <charconv>
#include <sstream>
#include <unordered_set>

#include <fmt/format.h>

#include "retention/policy.hpp"

namespace rotator::rotation {

namespace {

// Decimal without sign or leading zeros, 0 ... max. nullopt otherwise.
std::optional<int> parse_index(std::string_view digits, int max) {
  if (digits.empty() || (digits.size() > 1 && digits[0] == '0')) {
    return std::nullopt;
  }
  for (char c : digits) {
    if (c < '0' || c > '9') {
      return std::nullopt;
    }
  }
  int value = 0;
  auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (ec != std::errc() || ptr != digits.data() + digits.size() || value > max) {
    return std::nullopt;
  }
  return value;
}

bool has_offset(const std::string& format) {
  return format.find("%z") != std::string::npos || format.find("%Ez") != std::string::npos ||
         format.find("%Oz") != std::string::npos;
}

// Parses `text` as the canonical rendering of `format`; see parse_dated_name.
std::optional<Instant> parse_canonical(const std::string& format, const std::string& text,
                                       const Zone& zone) {
  std::istringstream in(text);
  date::local_seconds local{};
  std::string abbrev;
  std::chrono::minutes offset{0};
  in >> date::parse(format, local, abbrev, offset);
  if (in.fail() || in.peek() != std::char_traits<char>::eof()) {
    return std::nullopt;
  }
  const bool with_offset = has_offset(format);
  std::chrono::seconds offset_sec = offset;
  std::ostringstream out;
  date::to_stream(out, format.c_str(), local, abbrev.empty() ? nullptr : &abbrev,
                  with_offset ? &offset_sec : nullptr);
  if (out.fail() || out.str() != text) {
    return std::nullopt;
  }
  if (with_offset) {
    return Instant{local.time_since_epoch() - offset_sec};
  }
  return zone.to_instant(local);
}

}  // namespace

bool is_valid_level(std::string_view level) { return retention::is_valid_level_name(level); }

std::optional<LevelName> parse_level_name(std::string_view name) {
  auto dot = name.find('.');
  if (dot == std::string_view::npos) {
    return std::nullopt;
  }
  std::string_view level = name.substr(0, dot);
  if (!is_valid_level(level)) {
    return std::nullopt;
  }
  auto index = parse_index(name.substr(dot + 1), k_max_level_index);
  if (!index) {
    return std::nullopt;
  }
  return LevelName{std::string(level), *index};
}

std::string format_level_name(const std::string& level, int index) {
  return fmt::format("{}.{}", level, index);
}

Status check_name_format(const std::string& format) {
  if (format.empty()) {
    return plain_error("bad name format '' (empty)");
  }
  if (format.find('/') != std::string::npos) {
    return plain_error(fmt::format("bad name format '{}' (must not contain '/')", format));
  }
  // date::parse reads a field width ("%4Y") into an int without a bound:
  // "%44444444444Y" overflowed it (undefined behaviour, found by the config
  // fuzz target). rotator's names need no widths.
  for (std::size_t i = 0; i + 1 < format.size(); ++i) {
    if (format[i] != '%') {
      continue;
    }
    if (format[i + 1] >= '0' && format[i + 1] <= '9') {
      return plain_error(fmt::format(
          "bad name format '{}' (field widths such as '%4Y' are not supported)", format));
    }
    ++i;  // skip the conversion character ("%%" included)
  }
  // Two sample instants that differ in every field.
  Zone utc = Zone::utc();
  for (Instant sample : {Instant{std::chrono::seconds{1795748645}},     // 2026-11-27 03:04:05 UTC
                         Instant{std::chrono::seconds{1842347837}}}) {  // 2028-05-19 11:17:17 UTC
    std::string name = format_dated_name(sample, format, utc);
    if (auto bad = check_dated_folder_name(name); !bad) {
      return plain_error(fmt::format("bad name format '{}' ({})", format, bad.error().message()));
    }
    if (!parse_dated_name(name, format, utc)) {
      return plain_error(
          fmt::format("bad name format '{}' (names it makes do not parse back)", format));
    }
  }
  return ok();
}

Status check_dated_folder_name(const std::string& name) {
  if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos) {
    return plain_error(fmt::format("it makes the name '{}', which is not a folder name", name));
  }
  if (name[0] == '.') {
    return plain_error(fmt::format(
        "it makes the name '{}': names starting with '.' are rotator's own ('.rotator-*', "
        "'.trash')",
        name));
  }
  return ok();
}

std::string format_dated_name(Instant t, const std::string& format, const Zone& zone) {
  return zone.format(format, t);
}

std::optional<DatedName> parse_dated_name(std::string_view name, const std::string& format,
                                          const Zone& zone) {
  std::string whole(name);
  if (auto t = parse_canonical(format, whole, zone)) {
    return DatedName{*t, 0, whole};
  }
  auto dot = name.rfind('.');
  if (dot == std::string_view::npos) {
    return std::nullopt;
  }
  auto suffix = parse_index(name.substr(dot + 1), k_max_level_index);
  if (!suffix || *suffix == 0) {
    return std::nullopt;
  }
  std::string base(name.substr(0, dot));
  if (auto t = parse_canonical(format, base, zone)) {
    return DatedName{*t, *suffix, base};
  }
  return std::nullopt;
}

std::vector<retention::Generation> dated_generations(const std::vector<std::string>& names,
                                                     const std::string& format, const Zone& zone) {
  std::vector<retention::Generation> gens;
  for (const auto& name : names) {
    if (auto parsed = parse_dated_name(name, format, zone)) {
      gens.push_back(retention::Generation{name, parsed->time, parsed->suffix});
    }
  }
  return gens;
}

std::string next_free_name(const std::string& base, const std::vector<std::string>& existing) {
  bool base_taken = false;
  int highest = 0;
  for (const auto& name : existing) {
    if (name == base) {
      base_taken = true;
    } else if (name.size() > base.size() + 1 && name.compare(0, base.size(), base) == 0 &&
               name[base.size()] == '.') {
      if (auto k = parse_index(std::string_view(name).substr(base.size() + 1), k_max_level_index)) {
        highest = std::max(highest, *k);
      }
    }
  }
  if (!base_taken && highest == 0) {
    return base;
  }
  // Unparsable or out-of-range tails ("base.07", "base.x") never block a name:
  // they differ from every "base.K" we can return.
  std::unordered_set<std::string> taken(existing.begin(), existing.end());
  int k = highest + 1;
  std::string candidate = fmt::format("{}.{}", base, k);
  while (taken.count(candidate) != 0) {
    candidate = fmt::format("{}.{}", base, ++k);
  }
  return candidate;
}

std::vector<std::string> select_expired_holding(const std::vector<std::string>& names,
                                                const std::string& format,
                                                std::optional<Duration> keep, Instant now,
                                                const Zone& zone) {
  if (!keep) {
    return {};
  }
  const Instant cutoff = subtract(now, *keep, zone);
  std::vector<std::pair<DatedName, std::string>> expired;
  for (const auto& name : names) {
    auto parsed = parse_dated_name(name, format, zone);
    if (parsed && parsed->time < cutoff) {
      expired.emplace_back(*parsed, name);
    }
  }
  std::sort(expired.begin(), expired.end(), [](const auto& a, const auto& b) {
    if (a.first.time != b.first.time) {
      return a.first.time < b.first.time;
    }
    if (a.first.suffix != b.first.suffix) {
      return a.first.suffix < b.first.suffix;
    }
    return a.second < b.second;
  });
  std::vector<std::string> result;
  result.reserve(expired.size());
  for (auto& e : expired) {
    result.push_back(std::move(e.second));
  }
  return result;
}

}  // namespace rotator::rotation
