#include "jobs/snap_dir.hpp"

#include <algorithm>
#include <cerrno>

#include <fmt/format.h>

#include "jobs/snapshot_job.hpp"
#include "lock/lock_file.hpp"
#include "rotation/name.hpp"

namespace rotator::jobs {

SnapDir::SnapDir(RunContext& ctx, const config::Job& job) : m_ctx(ctx), m_job(job) {
  m_disp = job.path;
  if (job.path.rfind(ctx.cfg.root + "/", 0) == 0) {
    m_disp = job.path.substr(ctx.cfg.root.size() + 1);
  }
}

Result<bool> SnapDir::exists(const std::string& name) {
  TRY_ASSIGN_CONTEXT(bool there, fs::exists(fs(), fs::k_cwd, p(name)), "stat",
                     name.empty() ? m_disp : d(name));
  return there;
}

Result<history::GenerationListing> SnapDir::generations() {
  auto listed = history::list_generations(fs(), m_job, m_ctx.zone);
  if (!listed) {
    // The same failure, named as the user knows the directory (a complete
    // message such as not_a_generation's is kept as it is).
    std::string op = listed.error().op;
    std::string path = listed.error().path;
    if (path.rfind(m_job.path, 0) == 0) {
      path = m_disp + path.substr(m_job.path.size());
    }
    return with_context(std::move(listed.error()), op, path);
  }
  if (!listed->exists) {
    return sys_error(ENOENT, "open directory", m_disp);
  }
  return std::move(*listed);
}

Result<std::vector<std::string>> SnapDir::names(const std::string& sub) {
  if (sub.empty()) {
    TRY_ASSIGN(auto listing, generations());
    return std::move(listing.names);
  }
  std::string shown = sub.empty() ? m_disp : d(sub);
  TRY_ASSIGN_CONTEXT(auto dir, fs::open_dir(fs(), fs::k_cwd, sub.empty() ? m_job.path : p(sub)),
                     "open directory", shown);
  TRY_ASSIGN_CONTEXT(auto list, fs().list_dir(dir.fd()), "read directory", shown);
  std::vector<std::string> out;
  for (const auto& e : list) {
    out.push_back(e.name);
  }
  std::sort(out.begin(), out.end());
  return out;
}

Status SnapDir::rename(const std::string& from, const std::string& to, fs::RenameMode mode) {
  TRY_CONTEXT(fs().rename(fs::k_cwd, p(from), fs::k_cwd, p(to), mode), "rename", d(from),
              "to '" + d(to) + "'");
  return ok();
}

Status SnapDir::mkdir(const std::string& name, IfExists if_exists) {
  auto r = fs().mkdir(fs::k_cwd, p(name), 0700);
  if (!r && !(if_exists == IfExists::ok && r.error().sys_errno == EEXIST)) {
    return with_context(std::move(r.error()), "create directory", d(name));
  }
  return ok();
}

Status SnapDir::unlink_if_present(const std::string& name) {
  auto r = fs().unlink(fs::k_cwd, p(name));
  if (!r && r.error().sys_errno != ENOENT) {
    return with_context(std::move(r.error()), "remove", d(name));
  }
  return ok();
}

Status SnapDir::fsync_entry(const std::string& name) {
  std::string shown = name.empty() ? m_disp : d(name);
  TRY_ASSIGN_CONTEXT(auto dir, fs::open_dir(fs(), fs::k_cwd, name.empty() ? m_job.path : p(name)),
                     "open directory", shown);
  TRY_CONTEXT(fs().fsync_dir(dir.fd()), "sync directory", shown);
  return ok();
}

Status SnapDir::sync() {
  // .trash first: an expiry (a rename into .trash) is durable only once both
  // directories are; .trash's own entry is made durable by the second fsync.
  TRY_ASSIGN(bool has_trash, exists(k_snap_trash));
  if (has_trash) {
    TRY(fsync_entry(k_snap_trash));
  }
  return fsync_entry("");
}

Status SnapDir::remove_marker(const std::string& name) {
  TRY(unlink_if_present(name));
  // The marker's removal says the work it guarded is over: durable, so a
  // power cut cannot bring it back and make the next run redo that work.
  return fsync_entry("");
}

Status SnapDir::sync_all() {
  TRY_ASSIGN_CONTEXT(auto dir, fs::open_dir(fs(), fs::k_cwd, m_job.path), "open directory", m_disp);
  TRY_CONTEXT(fs().sync_fs(dir.fd()), "sync the filesystem of", m_disp);
  return ok();
}

Status SnapDir::write_atomic(const std::string& name, const std::string& content) {
  std::string tmp = name + ".tmp";
  TRY(unlink_if_present(tmp));
  TRY_CONTEXT(fs().write_file(fs::k_cwd, p(tmp), content), "write", d(tmp));
  return rename(tmp, name, fs::RenameMode::replace);
}

Status SnapDir::ensure_trash() {
  TRY(this->mkdir(k_snap_trash, IfExists::ok));
  return check_trash_owned(Adopt::yes);
}

Status SnapDir::check_trash_owned(Adopt adopt) {
  std::string marker = std::string(k_snap_trash) + "/" + k_trash_marker;
  TRY_ASSIGN(bool owned, exists(marker));
  if (owned) {
    return ok();
  }
  TRY_ASSIGN(auto in_trash, names(k_snap_trash));
  if (!in_trash.empty()) {
    return plain_error(
        fmt::format("'{}' was not made by rotator (no {} inside) and is not empty; rotator never "
                    "touches it: move it away",
                    d(k_snap_trash), k_trash_marker));
  }
  if (adopt == Adopt::no) {
    return ok();
  }
  TRY_CONTEXT(fs().write_file(fs::k_cwd, p(marker),
                              "rotator's trash: expired generations, deleted after each commit\n"),
              "write", d(marker));
  return ok();
}

Result<std::string> SnapDir::move_to_trash(const std::string& name) {
  TRY(ensure_trash());
  TRY_ASSIGN(auto in_trash, names(k_snap_trash));
  std::string base = name;
  if (!base.empty() && base[0] == '.') {
    base = "_" + base.substr(1);  // keep trash entries visible in listings
  }
  std::string to = std::string(k_snap_trash) + "/" + rotation::next_free_name(base, in_trash);
  TRY(this->rename(name, to));
  return to;
}

Status SnapDir::expire_generation(const std::string& name) {
  TRY(move_to_trash(name));
  return ok();
}

Result<long> SnapDir::queue_trash() {
  TRY_ASSIGN(bool has_trash, exists(k_snap_trash));
  if (!has_trash) {
    return 0L;
  }
  TRY(check_trash_owned(Adopt::no));
  TRY_ASSIGN(auto in_trash, names(k_snap_trash));
  const std::string queue = std::string(k_snap_trash) + "/" + k_trash_deleting;
  std::vector<std::string> queued;
  long n = 0;
  for (const auto& name : in_trash) {
    if (name == k_trash_marker || name == k_trash_deleting || name == k_trash_deleting_lock) {
      continue;
    }
    if (n == 0) {
      TRY(this->mkdir(queue, IfExists::ok));
      TRY_ASSIGN(queued, names(queue));
    }
    std::string to = rotation::next_free_name(name, queued);
    TRY(this->rename(std::string(k_snap_trash) + "/" + name, queue + "/" + to));
    queued.push_back(to);
    ++n;
  }
  return n;
}

Result<long> SnapDir::delete_queued(fs::RemoveStats* stats) {
  const std::string queue = std::string(k_snap_trash) + "/" + k_trash_deleting;
  TRY_ASSIGN(bool queued, exists(queue));
  if (!queued) {
    return 0L;
  }
  TRY_ASSIGN_CONTEXT(auto trash, fs::open_dir(fs(), fs::k_cwd, p(k_snap_trash)), "open directory",
                     d(k_snap_trash));
  // Waits for a deleter that holds it (it may be deleting what this run
  // queued): when this returns, what was queued before it is gone.
  TRY_ASSIGN(auto lock,
             lock::LockFile::acquire_at(fs(), trash.fd(), k_trash_deleting_lock,
                                        d(std::string(k_snap_trash) + "/" + k_trash_deleting_lock),
                                        -1, fmt::format("command=delete {}\n", d(queue))));
  long removed = 0;
  for (;;) {  // again until it stays empty: a run may queue more meanwhile
    TRY_ASSIGN_CONTEXT(auto dir, fs::open_dir(fs(), fs::k_cwd, p(queue)), "open directory",
                       d(queue));
    TRY_ASSIGN_CONTEXT(auto list, fs().list_dir(dir.fd()), "read directory", d(queue));
    if (list.empty()) {
      return removed;
    }
    std::vector<std::string> names;
    for (const auto& e : list) {
      names.push_back(e.name);
    }
    std::sort(names.begin(), names.end());  // a fixed order under FaultFs
    for (const auto& n : names) {
      TRY(fs::remove_tree(fs(), dir.fd(), n, d(queue + "/" + n), stats));
      ++removed;
    }
  }
}

Result<long> SnapDir::delete_trash(fs::RemoveStats* stats) {
  TRY(queue_trash());
  return delete_queued(stats);
}

TrashStep finish_trash(RunContext& ctx, SnapDir& dir) {
  TrashStep t;
  if (ctx.trash_deletion == RunContext::TrashDeletion::after_unlock) {
    auto queued = dir.queue_trash();
    if (!queued) {
      t.status = queued.error();
    } else if (*queued > 0) {
      t.clause = fmt::format(", trash queued ({} {}, deleted after the unlock)", *queued,
                             *queued == 1 ? "entry" : "entries");
    }
    return t;
  }
  fs::RemoveStats rs;
  auto deleted = dir.delete_trash(&rs);
  if (!deleted) {
    t.status = deleted.error();
  } else if (*deleted > 0) {
    t.clause = fmt::format(", trash deleted ({} files, {} dirs)", rs.files, rs.dirs);
  }
  return t;
}

}  // namespace rotator::jobs
