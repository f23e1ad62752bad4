#include "jobs/new_bytes.hpp"

#include <fmt/format.h>

#include "state/state.hpp"
#include "util/text.hpp"

namespace rotator::jobs {

std::optional<long long> from_tree_bytes(RunContext& ctx, const config::Job& job) {
  if (job.from_job.empty()) {
    return std::nullopt;
  }
  for (const auto& j : ctx.cfg.jobs) {
    if (j.name != job.from_job || j.type != config::JobType::clone) {
      continue;
    }
    auto st = state::load(ctx.fs, ctx.cfg.state_dir, j.name);
    if (!st || st->last_bytes < 0) {
      return std::nullopt;
    }
    return st->last_bytes;
  }
  return std::nullopt;
}

std::string new_bytes_clause(std::optional<long long> new_bytes,
                             std::optional<long long> from_bytes, const std::string& from_name) {
  if (!new_bytes) {
    if (from_bytes) {
      return fmt::format(", all bytes new (fresh build of the {} in {})", format_size(*from_bytes),
                         from_name);
    }
    return ", all bytes new (fresh build)";
  }
  std::string out = fmt::format(", {} new", format_size(*new_bytes));
  if (from_bytes && *from_bytes > 0 && *new_bytes <= *from_bytes) {
    out += fmt::format(" ({:.1f}% of the {} in {})",
                       100.0 * static_cast<double>(*new_bytes) / static_cast<double>(*from_bytes),
                       format_size(*from_bytes), from_name);
  }
  return out;
}

}  // namespace rotator::jobs
