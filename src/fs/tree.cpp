#include "fs/tree.hpp"

#include <atomic>
#include <cerrno>
#include <mutex>
#include <thread>
#include <vector>

namespace rotator::fs {

namespace {

Status remove_contents(Fs& fs, int dir_fd, const std::string& display, RemoveStats* stats) {
  TRY_ASSIGN_CONTEXT(auto entries, fs.list_dir(dir_fd), "read directory", display);
  for (const auto& e : entries) {
    FileType t = e.type;
    std::string sub = display + "/" + e.name;
    if (t == FileType::unknown) {
      TRY_ASSIGN_CONTEXT(auto st, fs.lstat(dir_fd, e.name), "stat", sub);
      t = st.type();
    }
    if (t == FileType::directory) {
      TRY_ASSIGN_CONTEXT(auto child, open_dir(fs, dir_fd, e.name), "open directory", sub);
      TRY(remove_contents(fs, child.fd(), sub, stats));
      child.reset();
      auto r = fs.rmdir(dir_fd, e.name);
      if (!r) {
        return with_context(std::move(r.error()), "remove directory", sub);
      }
      if (stats) ++stats->dirs;
    } else {
      auto r = fs.unlink(dir_fd, e.name);
      if (!r && r.error().sys_errno != ENOENT) {
        return with_context(std::move(r.error()), "remove", sub);
      }
      if (stats) ++stats->files;
    }
  }
  return ok();
}

enum class Parallel { no, yes };
Status remove_one(Fs& fs, int parent_fd, const std::string& name, const std::string& display,
                  RemoveStats* stats, Parallel parallel);

Status remove_sequential(Fs& fs, int parent_fd, const std::string& name, const std::string& display,
                         RemoveStats* stats) {
  return remove_one(fs, parent_fd, name, display, stats, Parallel::no);
}

// Parallel removal: expand the top levels into independent subtrees, let
// k_remove_threads workers remove them, then remove what is left (the
// expanded directories themselves and their non-directory entries) with the
// sequential walk.
Status remove_parallel(Fs& fs, int dir_fd, const std::string& display, RemoveStats* stats) {
  struct Task {
    int parent_fd;
    std::string name;
    std::string display;
  };
  std::vector<DirHandle> holders;  // keep expanded directories open
  std::vector<Task> tasks;
  std::vector<Task> frontier = {{dir_fd, "", display}};
  for (int level = 0; level < 2 && !frontier.empty(); ++level) {
    std::vector<Task> next;
    for (const auto& f : frontier) {
      int fd = f.parent_fd;
      if (!f.name.empty()) {
        TRY_ASSIGN_CONTEXT(auto h, open_dir(fs, f.parent_fd, f.name), "open directory", f.display);
        fd = h.fd();
        holders.push_back(std::move(h));
      }
      TRY_ASSIGN_CONTEXT(auto entries, fs.list_dir(fd), "read directory", f.display);
      for (const auto& e : entries) {
        if (e.type == FileType::directory) {
          next.push_back({fd, e.name, f.display + "/" + e.name});
        }
      }
    }
    if (next.size() >= static_cast<size_t>(4 * k_remove_threads) || (level == 1 && !next.empty())) {
      tasks = std::move(next);
      break;
    }
    frontier = std::move(next);
    tasks = frontier;
  }
  std::atomic<size_t> index{0};
  std::mutex mu;
  Status first_error;
  RemoveStats total;
  auto worker = [&] {
    RemoveStats mine;
    for (size_t i; (i = index.fetch_add(1)) < tasks.size();) {
      Status st = remove_sequential(fs, tasks[i].parent_fd, tasks[i].name, tasks[i].display, &mine);
      if (!st) {
        std::lock_guard<std::mutex> lock(mu);
        if (first_error) {
          first_error = st;
        }
        index = tasks.size();  // stop the others at their next task
      }
    }
    std::lock_guard<std::mutex> lock(mu);
    total.files += mine.files;
    total.dirs += mine.dirs;
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < k_remove_threads; ++t) {
    threads.emplace_back(worker);
  }
  for (auto& t : threads) {
    t.join();
  }
  if (stats) {
    stats->files += total.files;
    stats->dirs += total.dirs;
  }
  TRY(first_error);
  holders.clear();
  // `dir_fd` was listed above: what is left is listed through a new
  // descriptor (list_dir never rewinds).
  TRY_ASSIGN_CONTEXT(auto again, open_dir(fs, dir_fd, "."), "open directory", display);
  return remove_contents(fs, again.fd(), display, stats);
}

Status remove_one(Fs& fs, int parent_fd, const std::string& name, const std::string& display,
                  RemoveStats* stats, Parallel parallel) {
  auto st = fs.lstat(parent_fd, name);
  if (!st) {
    if (st.error().sys_errno == ENOENT) {
      return ok();
    }
    return with_context(std::move(st.error()), "stat", display);
  }
  if (!st->is_dir()) {
    auto r = fs.unlink(parent_fd, name);
    if (!r) {
      return with_context(std::move(r.error()), "remove", display);
    }
    if (stats) ++stats->files;
    return ok();
  }
  {
    auto dir = open_dir(fs, parent_fd, name);
    if (!dir) {
      return with_context(std::move(dir.error()), "open directory", display);
    }
    if (parallel == Parallel::yes) {
      TRY(remove_parallel(fs, dir->fd(), display, stats));
    } else {
      TRY(remove_contents(fs, dir->fd(), display, stats));
    }
  }
  auto r = fs.rmdir(parent_fd, name);
  if (!r) {
    return with_context(std::move(r.error()), "remove directory", display);
  }
  if (stats) ++stats->dirs;
  return ok();
}

}  // namespace

Status remove_tree(Fs& fs, int parent_fd, const std::string& name, const std::string& display,
                   RemoveStats* stats) {
  return remove_one(fs, parent_fd, name, display, stats,
                    fs.concurrent_safe() ? Parallel::yes : Parallel::no);
}

}  // namespace rotator::fs
