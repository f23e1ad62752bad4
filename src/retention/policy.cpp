#include "retention/policy.hpp"

#include <algorithm>
#include <charconv>
#include <optional>

#include <fmt/format.h>

namespace rotator::retention {

namespace {

constexpr Period k_periods[] = {Period::last,   Period::hourly,  Period::daily,
                                Period::weekly, Period::monthly, Period::yearly};

std::vector<std::string_view> split_tokens(std::string_view text) {
  std::vector<std::string_view> tokens;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) {
      ++i;
    }
    size_t start = i;
    while (i < text.size() && text[i] != ' ' && text[i] != '\t') {
      ++i;
    }
    if (i > start) {
      tokens.push_back(text.substr(start, i - start));
    }
  }
  return tokens;
}

// 1 ... k_max_count, decimal digits only (leading zeros allowed).
std::optional<int> parse_count(std::string_view digits) {
  if (digits.empty() || digits.size() > 9) {
    return std::nullopt;
  }
  int value = 0;
  auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (ec != std::errc() || ptr != digits.data() + digits.size() || value < 1 ||
      value > k_max_count) {
    return std::nullopt;
  }
  return value;
}

std::string count_text(int count) {
  return count == k_unlimited ? std::string("*") : std::to_string(count);
}

}  // namespace

bool is_valid_level_name(std::string_view name) {
  if (name.empty()) {
    return false;
  }
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  });
}

const char* period_name(Period period) {
  switch (period) {
    case Period::last:
      return "last";
    case Period::hourly:
      return "hourly";
    case Period::daily:
      return "daily";
    case Period::weekly:
      return "weekly";
    case Period::monthly:
      return "monthly";
    case Period::yearly:
      return "yearly";
  }
  return "?";
}

Result<DatedPolicy> parse_dated_policy(std::string_view text) {
  DatedPolicy policy;
  for (std::string_view token : split_tokens(text)) {
    auto colon = token.find(':');
    if (colon == std::string_view::npos) {
      return plain_error(fmt::format("keep: bad rule '{}' (expected PERIOD:N)", token));
    }
    std::string_view name = token.substr(0, colon);
    std::string_view count = token.substr(colon + 1);
    auto period = std::find_if(std::begin(k_periods), std::end(k_periods),
                               [&](Period p) { return name == period_name(p); });
    if (period == std::end(k_periods)) {
      return plain_error(fmt::format(
          "keep: unknown period '{}' (expected last, hourly, daily, weekly, monthly or yearly)",
          name));
    }
    for (const auto& rule : policy.rules) {
      if (rule.period == *period) {
        return plain_error(fmt::format("keep: duplicate period '{}'", name));
      }
    }
    DatedRule rule{*period, k_unlimited};
    if (count != "*") {
      auto n = parse_count(count);
      if (!n) {
        return plain_error(
            fmt::format("keep: bad count '{}' in '{}' (expected a positive integer up to {}, or *)",
                        count, token, k_max_count));
      }
      rule.count = *n;
    }
    policy.rules.push_back(rule);
  }
  if (policy.rules.empty()) {
    return plain_error("keep: keeps nothing");
  }
  std::sort(policy.rules.begin(), policy.rules.end(),
            [](const DatedRule& a, const DatedRule& b) { return a.period < b.period; });
  return policy;
}

std::string to_string(const DatedPolicy& policy) {
  std::string out;
  for (const auto& rule : policy.rules) {
    if (!out.empty()) {
      out += ' ';
    }
    out += fmt::format("{}:{}", period_name(rule.period), count_text(rule.count));
  }
  return out;
}

const Level* RotatePolicy::find(std::string_view name) const {
  for (const auto& level : levels) {
    if (level.name == name) {
      return &level;
    }
  }
  return nullptr;
}

Result<RotatePolicy> parse_rotate_policy(std::string_view text) {
  RotatePolicy policy;
  for (std::string_view token : split_tokens(text)) {
    auto colon = token.find(':');
    if (colon == std::string_view::npos) {
      return plain_error(fmt::format("keep: bad rule '{}' (expected LEVEL:N)", token));
    }
    std::string_view name = token.substr(0, colon);
    std::string_view count = token.substr(colon + 1);
    if (!is_valid_level_name(name)) {
      return plain_error(
          fmt::format("keep: bad level name '{}' (expected letters, digits and _)", name));
    }
    for (const char* reserved : k_reserved_level_names) {
      if (name == reserved) {
        return plain_error(
            fmt::format("keep: level name '{}' is a command word (reserved: check, status, prune, "
                        "versions, restore, find, du, diff, help, version)",
                        name));
      }
    }
    if (policy.find(name) != nullptr) {
      return plain_error(fmt::format("keep: duplicate level '{}'", name));
    }
    auto n = parse_count(count);
    if (!n) {
      return plain_error(
          fmt::format("keep: bad count '{}' in '{}' (expected a positive integer up to {})", count,
                      token, k_max_count));
    }
    policy.levels.push_back(Level{std::string(name), *n});
  }
  if (policy.levels.empty()) {
    return plain_error("keep: keeps nothing");
  }
  if (policy.levels.size() > 1 && policy.levels[0].count == 1) {
    // rsnapshot's rule: the next level promotes the lowest level's oldest
    // generation, which with a count of 1 is its only one.
    const Level& low = policy.levels[0];
    return plain_error(fmt::format(
        "keep: the first level '{}:1' has a higher level '{}', which promotes its oldest "
        "generation: that takes the only '{}' away; keep at least {}:2 (as rsnapshot requires)",
        low.name, policy.levels[1].name, low.name, low.name));
  }
  return policy;
}

std::string to_string(const RotatePolicy& policy) {
  std::string out;
  for (const auto& level : policy.levels) {
    if (!out.empty()) {
      out += ' ';
    }
    out += fmt::format("{}:{}", level.name, level.count);
  }
  return out;
}

}  // namespace rotator::retention
