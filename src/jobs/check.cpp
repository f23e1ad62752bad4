#include "jobs/check.hpp"

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "filter/filter.hpp"
#include "history/catalogue.hpp"
#include "jobs/backup_job.hpp"
#include "jobs/clone_job.hpp"
#include "util/process.hpp"

namespace rotator::jobs {

Result<dev_t> device_of(fs::Fs& fs, const std::string& path) {
  std::string p = path;
  for (;;) {
    auto st = fs.lstat(fs::k_cwd, p);
    if (st) {
      return st->dev;
    }
    if (st.error().sys_errno != ENOENT || p == "/" || p.empty()) {
      return st.error();
    }
    size_t slash = p.rfind('/');
    p = slash == 0 ? "/" : p.substr(0, slash);
  }
}

Status same_filesystem(fs::Fs& fs, const config::Job& job,
                       const std::vector<std::pair<std::string, std::string>>& named_paths) {
  std::optional<std::pair<std::string, dev_t>> first;
  for (const auto& [key, path] : named_paths) {
    TRY_ASSIGN(dev_t dev, device_of(fs, path));
    if (!first) {
      first = {key, dev};
      continue;
    }
    if (dev != first->second) {
      const std::string& first_path = named_paths.front().second;
      return plain_error(fmt::format(
          "[{}] '{}' ({}) and '{}' ({}) are on different filesystems; hard links and renames "
          "need one filesystem",
          job.name, first->first, first_path, key, path));
    }
  }
  return ok();
}

std::vector<std::string> check_environment(fs::Fs& fs, const config::Config& cfg,
                                           const Zone& zone) {
  std::vector<std::string> problems;
  auto root = fs.lstat(fs::k_cwd, cfg.root + "/.");
  if (!root) {
    problems.push_back(fmt::format("root '{}' is not accessible: {} (rotator never creates it)",
                                   cfg.root, root.error().message()));
  } else if (!root->is_dir()) {
    problems.push_back(fmt::format("root '{}' is not a directory", cfg.root));
  } else {
    // Every run writes there (state, lock, clone, backups): a read-only
    // mount or a user without permission fails only at the first change.
    // root may be a symlink (followed, "root/."); .rotator never is.
    struct Place {
      const char* what;
      std::string path, probe;
    };
    for (const auto& [what, path, probe] :
         {Place{"root", cfg.root, cfg.root + "/."},
          Place{"state directory", cfg.state_dir, cfg.state_dir}}) {
      auto st = fs.lstat(fs::k_cwd, probe);
      if (!st || !st->is_dir()) {
        continue;  // the state directory is made by the first run
      }
      if (auto w = fs.check_writable(fs::k_cwd, probe); !w) {
        problems.push_back(
            fmt::format("{} '{}' is not writable by this user: {} (rotator "
                        "keeps its lock, state and trees there)",
                        what, path, std::strerror(w.error().sys_errno)));
      }
    }
  }
  bool rsync_checked = false;
  for (const auto& job : cfg.jobs) {
    switch (job.type) {
      case config::JobType::clone: {
        if (auto fidelity = probe_clone_fidelity(fs, job); !fidelity) {
          if (root && root->is_dir()) {
            problems.push_back(fmt::format("[{}] cannot probe the clone's filesystem: {}", job.name,
                                           fidelity.error().message()));
          }
        } else {
          for (const auto& dropped : fidelity->dropped) {
            problems.push_back(fmt::format("[{}] {}", job.name, dropped));
          }
        }
        if (!rsync_checked) {
          rsync_checked = true;
          auto r = run_process({cfg.rsync, "--version"}, [](Stream, std::string_view) {});
          if (!r) {
            problems.push_back(fmt::format("[{}] rsync '{}' does not run: {}", job.name, cfg.rsync,
                                           r.error().message()));
          } else if (r->exit_code != 0) {
            problems.push_back(
                fmt::format("[{}] '{} --version' exited {}", job.name, cfg.rsync, r->exit_code));
          }
        }
        break;
      }
      case config::JobType::backup:
      case config::JobType::snapshot: {
        auto from = fs.lstat(fs::k_cwd, job.from);
        if (!from && from.error().sys_errno == ENOENT && !job.from_job.empty()) {
          // Made by the clone job's first run.
        } else if (!from) {
          problems.push_back(fmt::format("[{}] from '{}' is not accessible: {}", job.name, job.from,
                                         from.error().message()));
        } else if (!from->is_dir()) {
          problems.push_back(fmt::format("[{}] from '{}' is not a directory", job.name, job.from));
        }
        std::vector<std::pair<std::string, std::string>> paths = {{"from", job.from},
                                                                  {"path", job.path}};
        if (job.type == config::JobType::backup) {
          paths.emplace_back("holding", job.holding);
          if (!job.filter.empty()) {
            auto f = filter::RuleFilter::load(fs, job.filter, job.from);
            if (!f) {
              problems.push_back(f.error().message());
            } else if ((*f)->reads_per_dir_files() && from && from->is_dir()) {
              // Per-directory rule files: read every one the run would read.
              if (auto walk = validate_filter_walk(fs, job, **f, job.from, job.path); !walk) {
                problems.push_back(fmt::format("[{}] {}", job.name, walk.error().message()));
              }
            }
          }
        }
        if (auto same = same_filesystem(fs, job, paths); !same) {
          problems.push_back(same.error().message());
        }
        if (job.type == config::JobType::snapshot) {
          if (auto gens = history::list_generations(fs, job, zone); !gens) {
            problems.push_back(fmt::format("[{}] {}", job.name, gens.error().message()));
          }
        }
        break;
      }
    }
  }
  return problems;
}

}  // namespace rotator::jobs
