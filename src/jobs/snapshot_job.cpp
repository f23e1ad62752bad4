#include "jobs/snapshot_job.hpp"

#include <algorithm>
#include <cerrno>
#include <optional>
#include <set>
#include <span>

#include <fmt/format.h>

#include "engine/mirror.hpp"
#include "fs/tree.hpp"
#include "jobs/check.hpp"
#include "retention/policy.hpp"
#include "retention/select.hpp"
#include "rotation/name.hpp"
#include "rotation/plan.hpp"

namespace rotator::jobs {

namespace {

enum class Build { fresh, recycled };

// The snapshot directory of one job and the Fs calls on it, with messages
// that name entries as the user knows them ("snapshots/daily.1").
class SnapDir {
 public:
  SnapDir(RunContext& ctx, const config::Job& job) : m_ctx(ctx), m_job(job) {
    m_disp = job.path;
    if (job.path.rfind(ctx.cfg.root + "/", 0) == 0) {
      m_disp = job.path.substr(ctx.cfg.root.size() + 1);
    }
  }

  fs::Fs& fs() { return m_ctx.fs; }
  bool dry() const { return m_ctx.dry_run == DryRun::yes; }
  std::string p(const std::string& name) const { return m_job.path + "/" + name; }
  std::string d(const std::string& name) const { return m_disp + "/" + name; }
  const std::string& disp() const { return m_disp; }

  bool exists(const std::string& name) { return static_cast<bool>(fs().lstat(fs::k_cwd, p(name))); }

  Result<std::vector<std::string>> names(const std::string& sub = {}) {
    auto dir = fs::open_dir(fs(), fs::k_cwd, sub.empty() ? m_job.path : p(sub));
    if (!dir) {
      return sys_error(dir.error().sys_errno, "open directory", sub.empty() ? m_disp : d(sub));
    }
    auto list = fs().list_dir(dir->fd());
    if (!list) {
      return sys_error(list.error().sys_errno, "read directory", sub.empty() ? m_disp : d(sub));
    }
    std::vector<std::string> out;
    for (const auto& e : *list) {
      out.push_back(e.name);
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  Status rename(const std::string& from, const std::string& to,
                fs::RenameMode mode = fs::RenameMode::no_replace) {
    auto r = fs().rename(fs::k_cwd, p(from), fs::k_cwd, p(to), mode);
    if (!r) {
      return sys_error(r.error().sys_errno, "rename", d(from), "to '" + d(to) + "'");
    }
    return ok();
  }

  Status mkdir(const std::string& name, bool ignore_existing) {
    auto r = fs().mkdir(fs::k_cwd, p(name), 0700);
    if (!r && !(ignore_existing && r.error().sys_errno == EEXIST)) {
      return sys_error(r.error().sys_errno, "create directory", d(name));
    }
    return ok();
  }

  Status unlink_if_present(const std::string& name) {
    auto r = fs().unlink(fs::k_cwd, p(name));
    if (!r && r.error().sys_errno != ENOENT) {
      return sys_error(r.error().sys_errno, "remove", d(name));
    }
    return ok();
  }

  Status sync() {
    auto dir = fs::open_dir(fs(), fs::k_cwd, m_job.path);
    if (!dir) {
      return sys_error(dir.error().sys_errno, "open directory", m_disp);
    }
    auto r = fs().fsync_dir(dir->fd());
    if (!r) {
      return sys_error(r.error().sys_errno, "sync directory", m_disp);
    }
    return ok();
  }

  // Writes `name` atomically: `name`.tmp, then rename over `name`.
  Status write_atomic(const std::string& name, const std::string& content) {
    std::string tmp = name + ".tmp";
    TRY(unlink_if_present(tmp));
    auto w = fs().write_file(fs::k_cwd, p(tmp), content);
    if (!w) {
      return sys_error(w.error().sys_errno, "write", d(tmp));
    }
    return rename(tmp, name, fs::RenameMode::replace);
  }

  // Creates .trash if needed and makes sure rotator owns it: a `.trash` that
  // rotator did not make (no marker file inside) may hold a user's data and
  // is never used or emptied; an empty one (also what a crash between the
  // mkdir and the marker leaves) is adopted.
  Status ensure_trash() {
    TRY(mkdir(k_snap_trash, true));
    return check_trash_owned(Adopt::yes);
  }

  enum class Adopt { no, yes };
  Status check_trash_owned(Adopt adopt) {
    std::string marker = std::string(k_snap_trash) + "/" + k_trash_marker;
    if (exists(marker)) {
      return ok();
    }
    TRY_ASSIGN(auto in_trash, names(k_snap_trash));
    if (!in_trash.empty()) {
      return plain_error(fmt::format(
          "'{}' was not made by rotator (no {} inside) and is not empty; rotator never "
          "touches it: move it away",
          d(k_snap_trash), k_trash_marker));
    }
    if (adopt == Adopt::no) {
      return ok();
    }
    auto w = fs().write_file(fs::k_cwd, p(marker),
                             "rotator's trash: expired generations, deleted after each commit\n");
    if (!w) {
      return sys_error(w.error().sys_errno, "write", d(marker));
    }
    return ok();
  }

  // Moves generation (or any entry) `name` into .trash under a free name.
  Result<std::string> move_to_trash(const std::string& name) {
    TRY(ensure_trash());
    TRY_ASSIGN(auto in_trash, names(k_snap_trash));
    std::string base = name;
    if (!base.empty() && base[0] == '.') {
      base = "_" + base.substr(1);  // keep trash entries visible in listings
    }
    std::string to = std::string(k_snap_trash) + "/" + rotation::next_free_name(base, in_trash);
    TRY(rename(name, to));
    return to;
  }

  // Deletes everything rotator put inside .trash (refuses a .trash it does
  // not own). Returns the number of entries removed.
  Result<long> delete_trash(fs::RemoveStats* stats) {
    if (!exists(k_snap_trash)) {
      return 0L;
    }
    TRY(check_trash_owned(Adopt::no));
    TRY_ASSIGN(auto in_trash, names(k_snap_trash));
    in_trash.erase(std::remove(in_trash.begin(), in_trash.end(), std::string(k_trash_marker)),
                   in_trash.end());
    if (in_trash.empty()) {
      return 0L;
    }
    auto dir = fs::open_dir(fs(), fs::k_cwd, p(k_snap_trash));
    if (!dir) {
      return sys_error(dir.error().sys_errno, "open directory", d(k_snap_trash));
    }
    for (const auto& n : in_trash) {
      TRY(fs::remove_tree(fs(), dir->fd(), n, d(std::string(k_snap_trash) + "/" + n), stats));
    }
    return static_cast<long>(in_trash.size());
  }

  void plan(const std::string& line) { m_ctx.plan(line); }

 private:
  RunContext& m_ctx;
  const config::Job& m_job;
  std::string m_disp;
};

// ---- recycled builds: additions and their undo ------------------------------

// Records every entry a recycled build adds, as a marker at
// `.trash/ID/added/REL`, before the engine creates it. A marker is a symlink
// (cheap: no data, no fsync), so it cannot be mistaken for the directories
// that hold markers. Nothing is recorded below an added directory (removing
// the directory removes all of it).
// Forwards to a TreeSink and remembers the last path it moved into the sink:
// an entry the engine then adds at that path replaces a displaced one, and
// needs no marker (a rollback moves whatever occupies a displaced entry's
// place out of the way before putting the entry back).
class RecordingSink final : public engine::Sink {
 public:
  explicit RecordingSink(engine::TreeSink& inner) : m_inner(inner) {}
  Result<engine::Taken> take(fs::Fs& fs, std::span<const int> t_dirs, const std::string& rel_path,
                             std::string_view from_display, engine::Collision on_collision) override {
    auto r = m_inner.take(fs, t_dirs, rel_path, from_display, on_collision);
    if (r && *r == engine::Taken::moved) {
      m_last = rel_path;
    }
    return r;
  }
  std::string display(const std::string& rel_path) const override { return m_inner.display(rel_path); }
  const std::string& last_taken() const { return m_last; }

 private:
  engine::TreeSink& m_inner;
  std::string m_last;
};

class AddRecorder {
 public:
  AddRecorder(SnapDir& dir, std::string build, const RecordingSink* sink)
      : m_dir(dir), m_added(std::move(build) + "/added"), m_sink(sink) {}

  Status record(const std::string& rel, fs::FileType type) {
    if (m_sink && rel == m_sink->last_taken()) {
      return ok();  // replaces a displaced entry: the rollback finds it there
    }
    for (size_t slash = rel.find('/'); slash != std::string::npos; slash = rel.find('/', slash + 1)) {
      if (m_added_dirs.count(rel.substr(0, slash))) {
        return ok();
      }
    }
    std::string marker = m_added;
    TRY(ensure(marker));
    for (size_t start = 0, slash; (slash = rel.find('/', start)) != std::string::npos; start = slash + 1) {
      TRY(ensure(m_added + "/" + rel.substr(0, slash)));
    }
    std::string name = m_added + "/" + rel;
    auto w = m_dir.fs().symlink("added", fs::k_cwd, m_dir.p(name));
    if (!w && w.error().sys_errno != EEXIST) {
      return sys_error(w.error().sys_errno, "create marker", m_dir.d(name));
    }
    if (type == fs::FileType::directory) {
      m_added_dirs.insert(rel);
    }
    return ok();
  }

 private:
  Status ensure(const std::string& name) {
    if (m_made.count(name)) {
      return ok();
    }
    TRY(m_dir.mkdir(name, true));
    m_made.insert(name);
    return ok();
  }

  SnapDir& m_dir;
  std::string m_added;
  const RecordingSink* m_sink;
  std::set<std::string> m_added_dirs;
  std::set<std::string> m_made;
};

// Moves out of .rotator-staging every entry named by a marker under
// `markers` (relative path `rel`), into `undo`.
Status undo_additions(SnapDir& dir, const std::string& markers, const std::string& rel,
                      const std::string& undo, long* moved) {
  TRY_ASSIGN(auto list, dir.names(rel.empty() ? markers : markers + "/" + rel));
  for (const auto& n : list) {
    std::string sub = rel.empty() ? n : rel + "/" + n;
    auto st = dir.fs().lstat(fs::k_cwd, dir.p(markers + "/" + sub));
    if (!st) {
      return sys_error(st.error().sys_errno, "stat", dir.d(markers + "/" + sub));
    }
    if (st->is_dir()) {
      TRY(undo_additions(dir, markers, sub, undo, moved));
      continue;
    }
    std::string staged = std::string(k_snap_staging) + "/" + sub;
    if (!dir.exists(staged)) {
      continue;  // not created yet, or already moved by an earlier rollback
    }
    TRY(dir.mkdir(undo, true));
    TRY_ASSIGN(auto used, dir.names(undo));
    TRY(dir.rename(staged, undo + "/" + rotation::next_free_name(std::to_string(used.size()), used)));
    ++*moved;
  }
  return ok();
}

// Moves every entry of the sink folder `sink` (at relative path `rel`) back
// to the same place in .rotator-staging. Whatever occupies that place
// (other than a directory that holds displaced entries) was added by the
// build and goes to `undo` first.
Status restore_displaced(SnapDir& dir, const std::string& sink, const std::string& rel,
                         const std::string& undo, long* restored, long* removed) {
  TRY_ASSIGN(auto list, dir.names(rel.empty() ? sink : sink + "/" + rel));
  for (const auto& n : list) {
    std::string sub = rel.empty() ? n : rel + "/" + n;
    std::string from = sink + "/" + sub;
    std::string to = std::string(k_snap_staging) + "/" + sub;
    auto there = dir.fs().lstat(fs::k_cwd, dir.p(to));
    if (!there) {
      TRY(dir.rename(from, to));
      ++*restored;
      continue;
    }
    auto mine = dir.fs().lstat(fs::k_cwd, dir.p(from));
    if (!mine) {
      return sys_error(mine.error().sys_errno, "stat", dir.d(from));
    }
    if (mine->is_dir() && there->is_dir()) {
      TRY(restore_displaced(dir, sink, sub, undo, restored, removed));  // a parent the sink created
      continue;
    }
    TRY(dir.mkdir(undo, true));
    TRY_ASSIGN(auto used, dir.names(undo));
    TRY(dir.rename(to, undo + "/" + rotation::next_free_name(std::to_string(used.size()), used)));
    ++*removed;
    TRY(dir.rename(from, to));
    ++*restored;
  }
  return ok();
}

struct StagingFrom {
  std::string original;
  std::string build;  // ".trash/ID"
};

std::optional<StagingFrom> parse_staging_from(const std::string& text) {
  size_t nl = text.find('\n');
  if (nl == std::string::npos) {
    return std::nullopt;
  }
  StagingFrom f;
  f.original = text.substr(0, nl);
  size_t nl2 = text.find('\n', nl + 1);
  f.build = text.substr(nl + 1, nl2 == std::string::npos ? std::string::npos : nl2 - nl - 1);
  if (f.original.empty() || f.original.find('/') != std::string::npos || f.original[0] == '.' ||
      f.build.rfind(std::string(k_snap_trash) + "/", 0) != 0) {
    return std::nullopt;
  }
  return f;
}

// Rolls back an uncommitted .rotator-staging.
Status rollback(SnapDir& dir, std::vector<std::string>& log) {
  std::optional<StagingFrom> from;
  if (dir.exists(k_snap_staging_from)) {
    auto text = dir.fs().read_file(fs::k_cwd, dir.p(k_snap_staging_from));
    if (!text) {
      return sys_error(text.error().sys_errno, "read", dir.d(k_snap_staging_from));
    }
    from = parse_staging_from(*text);
    if (!from) {
      return plain_error(fmt::format("'{}' is not a rotator recycle marker; remove it after checking '{}'",
                                     dir.d(k_snap_staging_from), dir.d(k_snap_staging)));
    }
  }
  if (!from) {
    if (dir.dry()) {
      log.push_back(fmt::format("roll back {}: move it to {}", dir.d(k_snap_staging), dir.d(k_snap_trash)));
      return ok();
    }
    TRY(dir.move_to_trash(k_snap_staging));
    TRY(dir.unlink_if_present(k_snap_pending));
    TRY(dir.unlink_if_present(".rotator-pending.tmp"));
    log.push_back(fmt::format("rolled back an interrupted fresh build ({} moved to trash)",
                              dir.d(k_snap_staging)));
    return ok();
  }
  if (dir.exists(from->original)) {
    return plain_error(fmt::format("cannot roll back '{}' to '{}': that name exists",
                                   dir.d(k_snap_staging), dir.d(from->original)));
  }
  if (dir.dry()) {
    log.push_back(fmt::format("roll back {}: restore {} from {}", dir.d(k_snap_staging),
                              dir.d(from->original), dir.d(from->build)));
    return ok();
  }
  long removed = 0;
  long restored = 0;
  if (dir.exists(from->build)) {
    if (dir.exists(from->build + "/added")) {
      TRY(undo_additions(dir, from->build + "/added", "", from->build + "/undo", &removed));
    }
    TRY_ASSIGN(auto folders, dir.names(from->build));
    std::vector<std::pair<int, std::string>> sinks;
    for (const auto& f : folders) {
      if (f == "displaced") {
        sinks.emplace_back(0, f);
      } else if (f.rfind("displaced.", 0) == 0) {
        sinks.emplace_back(std::atoi(f.c_str() + 10), f);
      }
    }
    std::sort(sinks.begin(), sinks.end());
    for (const auto& s : sinks) {
      TRY(restore_displaced(dir, from->build + "/" + s.second, "", from->build + "/undo", &restored,
                            &removed));
    }
  }
  TRY(dir.rename(k_snap_staging, from->original));
  TRY(dir.sync());
  TRY(dir.unlink_if_present(k_snap_staging_from));
  TRY(dir.unlink_if_present(k_snap_pending));
  TRY(dir.unlink_if_present(".rotator-pending.tmp"));
  log.push_back(fmt::format("rolled back an interrupted recycled build: {} restored ({} added "
                            "entries removed, {} displaced entries put back)",
                            dir.d(from->original), removed, restored));
  return ok();
}

// ---- rotate naming ---------------------------------------------------------

Result<retention::RotatePolicy> rotate_policy(const config::Job& job) {
  auto p = retention::parse_rotate_policy(job.keep);
  if (!p) {
    return plain_error(fmt::format("[{}] {}", job.name, p.error().message()));
  }
  return std::move(*p);
}

Result<retention::DatedPolicy> dated_policy(const config::Job& job) {
  auto p = retention::parse_dated_policy(job.keep);
  if (!p) {
    return plain_error(fmt::format("[{}] {}", job.name, p.error().message()));
  }
  return std::move(*p);
}

struct Applied {
  long renamed = 0;
  long expired = 0;
  std::vector<std::string> expired_names;
};

Status apply_ops(SnapDir& dir, const std::vector<rotation::Op>& ops, Applied& applied) {
  for (const auto& op : ops) {
    if (op.kind == rotation::OpKind::rename) {
      TRY(dir.rename(op.from, op.to));
      ++applied.renamed;
    } else {
      TRY(dir.move_to_trash(op.from));
      ++applied.expired;
      applied.expired_names.push_back(op.from);
    }
  }
  return ok();
}

// After the commit of a rotate build: shift, then .rotator-committed -> LOWEST.0.
Status finish_rotate_commit(SnapDir& dir, const retention::RotatePolicy& policy, Applied& applied) {
  TRY_ASSIGN(auto names, dir.names());
  TRY(apply_ops(dir, rotation::plan_lowest_commit(names, policy), applied));
  TRY(dir.rename(k_snap_committed, rotation::format_level_name(policy.levels[0].name, 0)));
  return dir.sync();
}

// ---- dated naming ----------------------------------------------------------

// Points `latest` at `target` atomically (symlink to a temporary name, rename
// over `latest`). Leaves a `latest` that is not a symlink alone.
Status swap_latest(SnapDir& dir, const std::string& target, RunContext& ctx, const config::Job& job) {
  auto st = dir.fs().lstat(fs::k_cwd, dir.p(k_snap_latest));
  if (st && st->type() != fs::FileType::symlink) {
    ctx.log.warning("[{}] '{}' is not a symlink; not updated", job.name, dir.d(k_snap_latest));
    return ok();
  }
  if (st) {
    auto cur = dir.fs().readlink(fs::k_cwd, dir.p(k_snap_latest));
    if (cur && *cur == target) {
      return ok();
    }
  }
  TRY(dir.unlink_if_present(k_snap_latest_tmp));
  auto made = dir.fs().symlink(target, fs::k_cwd, dir.p(k_snap_latest_tmp));
  if (!made) {
    return sys_error(made.error().sys_errno, "create symlink", dir.d(k_snap_latest_tmp));
  }
  return dir.rename(k_snap_latest_tmp, k_snap_latest, fs::RenameMode::replace);
}

std::vector<retention::Decision> dated_decisions(const std::vector<std::string>& names,
                                                 const config::Job& job,
                                                 const retention::DatedPolicy& policy,
                                                 const Zone& zone) {
  return retention::select_dated(rotation::dated_generations(names, job.name_format, zone), policy,
                                 zone);
}

// After the commit of dated generation `name`: `latest`, expiry into the
// trash (never `name` itself), sync, then .rotator-pending is removed.
Status finish_dated_commit(SnapDir& dir, const std::string& name, RunContext& ctx,
                           const config::Job& job, const retention::DatedPolicy& policy,
                           Applied& applied) {
  TRY_ASSIGN(auto names, dir.names());
  auto decisions = dated_decisions(names, job, policy, ctx.zone);
  if (!decisions.empty()) {
    TRY(swap_latest(dir, decisions.front().name, ctx, job));
  }
  for (const auto& dcs : decisions) {
    if (dcs.keep || dcs.name == name) {
      continue;
    }
    TRY(dir.move_to_trash(dcs.name));
    ++applied.expired;
    applied.expired_names.push_back(dcs.name);
  }
  TRY(dir.sync());
  return dir.unlink_if_present(k_snap_pending);
}

std::string plural(long n, const char* word) {
  return fmt::format("{} {}{}", n, word, n == 1 ? "" : "s");
}

}  // namespace

// ---- recovery ----------------------------------------------------------------

Result<std::vector<std::string>> recover_snapshot(RunContext& ctx, const config::Job& job) {
  SnapDir dir(ctx, job);
  std::vector<std::string> log;
  if (!dir.exists("")) {
    return log;  // nothing built yet
  }
  bool dry = dir.dry();
  if (!dry) {
    for (const char* tmp : {".rotator-staging.from.tmp", ".rotator-intent.tmp", ".rotator-pending.tmp", k_snap_latest_tmp}) {
      TRY(dir.unlink_if_present(tmp));
    }
  }
  if (dir.exists(k_snap_staging)) {
    TRY(rollback(dir, log));
  } else if (dir.exists(k_snap_staging_from) && !dry) {
    TRY(dir.unlink_if_present(k_snap_staging_from));  // its build was committed
  }
  if (job.naming == config::Naming::rotate) {
    TRY_ASSIGN(auto policy, rotate_policy(job));
    if (dir.exists(k_snap_committed)) {
      if (dry) {
        log.push_back(fmt::format("finish the committed generation {}: shift, rename to {}",
                                  dir.d(k_snap_committed),
                                  rotation::format_level_name(policy.levels[0].name, 0)));
      } else {
        Applied applied;
        TRY(finish_rotate_commit(dir, policy, applied));
        log.push_back(fmt::format("finished an interrupted commit: {}, {} expired",
                                  plural(applied.renamed, "rename"), applied.expired));
      }
    }
    if (dir.exists(k_snap_intent)) {
      auto text = dir.fs().read_file(fs::k_cwd, dir.p(k_snap_intent));
      if (!text) {
        return sys_error(text.error().sys_errno, "read", dir.d(k_snap_intent));
      }
      std::string level = *text;
      if (level.rfind("promote ", 0) != 0) {
        return plain_error(fmt::format("'{}' is not a rotator intent file", dir.d(k_snap_intent)));
      }
      level = level.substr(8);
      while (!level.empty() && level.back() == '\n') {
        level.pop_back();
      }
      std::string source;  // the generation being promoted (absent in old intent files)
      if (auto sp = level.find(' '); sp != std::string::npos) {
        source = level.substr(sp + 1);
        level = level.substr(0, sp);
      }
      TRY_ASSIGN(auto names, dir.names());
      auto ops = rotation::plan_higher(names, policy, level);
      if (!source.empty() && std::find(names.begin(), names.end(), source) == names.end()) {
        ops = plain_error("the promotion's last rename was done");  // finished: nothing to redo
      } else if (ops && !source.empty() && ops->back().from != source) {
        return plain_error(fmt::format(
            "an interrupted promotion of '{}' to {}.0 cannot be finished with the current keep "
            "(it would promote '{}'); restore the keep line of that run or finish it by hand "
            "and remove '{}'",
            source, level, ops->back().from, dir.d(k_snap_intent)));
      }
      if (dry) {
        log.push_back(fmt::format("finish the interrupted promotion of {}", level));
      } else {
        Applied applied;
        if (ops) {  // else the promotion's last rename was done
          TRY(apply_ops(dir, *ops, applied));
        }
        TRY(dir.sync());
        TRY(dir.unlink_if_present(k_snap_intent));
        log.push_back(fmt::format("finished an interrupted promotion of {}: {}, {} expired", level,
                                  plural(applied.renamed, "rename"), applied.expired));
      }
    }
  } else {
    TRY_ASSIGN(auto policy, dated_policy(job));
    if (dir.exists(k_snap_pending)) {
      auto text = dir.fs().read_file(fs::k_cwd, dir.p(k_snap_pending));
      if (!text) {
        return sys_error(text.error().sys_errno, "read", dir.d(k_snap_pending));
      }
      std::string name = text->substr(0, text->find('\n'));
      if (!dir.exists(name)) {
        // Not committed after all (or removed since): nothing to finish.
        if (!dry) {
          TRY(dir.unlink_if_present(k_snap_pending));
        }
      } else if (dry) {
        log.push_back(fmt::format("finish the committed generation {}: latest, expiry", dir.d(name)));
      } else {
        Applied applied;
        TRY(finish_dated_commit(dir, name, ctx, job, policy, applied));
        log.push_back(fmt::format("finished an interrupted commit of {}: {} expired", dir.d(name),
                                  applied.expired));
      }
    }
    TRY_ASSIGN(auto names, dir.names());
    auto decisions = dated_decisions(names, job, policy, ctx.zone);
    if (!decisions.empty() && !dry) {
      bool right = false;
      if (auto cur = ctx.fs.readlink(fs::k_cwd, dir.p(k_snap_latest))) {
        right = *cur == decisions.front().name;
      }
      if (!right) {
        TRY(swap_latest(dir, decisions.front().name, ctx, job));
      }
    }
  }
  // Leftover trash is NOT deleted here: recovery runs before the build, and
  // expiry must never hold up the next backup. The run deletes it after its
  // commit; prune deletes it after its expiry.
  return log;
}

// Runs recovery and reports what it did (plan lines in a dry run, log lines
// otherwise). Returns a JobResult when the caller must stop here: recovery
// failed, or a dry run whose further plan would depend on pending recovery.
std::optional<JobResult> recover_and_report(RunContext& ctx, const config::Job& job) {
  bool dry = ctx.dry_run == DryRun::yes;
  auto recovered = recover_snapshot(ctx, job);
  if (!recovered) {
    return job_error("recovery failed: " + recovered.error().message() +
                     "; nothing else was done");
  }
  for (const auto& line : *recovered) {
    if (dry) {
      ctx.plan("recover: " + line);
    } else {
      ctx.log.info("[{}] {}", job.name, line);
    }
  }
  if (dry && !recovered->empty()) {
    JobResult r;
    r.summary = "dry run: recovery is pending; the rest of the plan depends on it";
    return r;
  }
  return std::nullopt;
}

// ---- the run ----------------------------------------------------------------

JobResult run_snapshot(RunContext& ctx, const config::Job& job) {
  SnapDir dir(ctx, job);
  bool dry = dir.dry();
  auto fail = [&](const std::string& msg) { return job_error(msg); };

  // 1. Same filesystem; the directory exists (created on the first run). A
  // promotion (a higher rotate level) does not read the source.
  bool promoting = false;
  if (job.naming == config::Naming::rotate) {
    auto p = rotate_policy(job);
    promoting = p && ctx.level != p->levels[0].name;
  }
  auto from = ctx.fs.lstat(fs::k_cwd, job.from);
  if (!promoting && (!from || !from->is_dir())) {
    return fail(fmt::format("from '{}' is not a directory{}; no generation was created or changed",
                            job.from, from ? "" : ": " + from.error().message()));
  }
  // An empty source (an unmounted disk, a wiped clone) would become a
  // generation and push a real one out: refuse it.
  if (promoting) {
    // nothing to check
  } else if (auto handle = fs::open_dir(ctx.fs, fs::k_cwd, job.from)) {
    auto entries = ctx.fs.list_dir(handle->fd());
    if (!entries) {
      return fail(sys_error(entries.error().sys_errno, "read directory", job.from).message() +
                  "; no generation was created or changed");
    }
    if (entries->empty()) {
      return fail(fmt::format("from '{}' is empty (not mounted? a failed clone?); no generation "
                              "was created or changed",
                              job.from));
    }
  } else {
    return fail(sys_error(handle.error().sys_errno, "open directory", job.from).message() +
                "; no generation was created or changed");
  }
  if (!dry) {
    auto made = ctx.fs.mkdir(fs::k_cwd, job.path, 0755);
    if (!made && made.error().sys_errno != EEXIST) {
      return fail(sys_error(made.error().sys_errno, "create directory", job.path).message());
    }
  }
  if (!promoting && ctx.fs.lstat(fs::k_cwd, job.path)) {
    if (auto same = same_filesystem(ctx.fs, job, {{"from", job.from}, {"path", job.path}}); !same) {
      return fail(same.error().message());
    }
  }

  // 2. Recovery.
  if (auto stop = recover_and_report(ctx, job)) {
    return *stop;
  }
  std::vector<std::string> names;
  if (ctx.fs.lstat(fs::k_cwd, job.path)) {
    auto listed = dir.names();
    if (!listed) {
      return fail(listed.error().message());
    }
    names = *listed;
  }

  // 3. What this run does: which name it commits, what it recycles.
  std::optional<retention::RotatePolicy> rpolicy;
  std::optional<retention::DatedPolicy> dpolicy;
  std::string recycle;  // empty: fresh build
  std::string final_name;
  if (job.naming == config::Naming::rotate) {
    auto p = rotate_policy(job);
    if (!p) {
      return fail(p.error().message());
    }
    rpolicy = *p;
    const std::string& lowest = rpolicy->levels[0].name;
    if (ctx.level != lowest) {
      // A higher level: promotion only.
      auto ops = rotation::plan_higher(names, *rpolicy, ctx.level);
      if (!ops) {
        return fail(ops.error().message() + "; nothing was changed");
      }
      if (dry) {
        for (const auto& op : *ops) {
          ctx.plan(rotation::to_string(op));
        }
        ctx.plan("delete-trash");
        JobResult r;
        r.summary = fmt::format("dry run: promote {} to {}", ops->back().from, ops->back().to);
        return r;
      }
      // The intent names the generation being promoted, so recovery can tell
      // a finished promotion (source gone) from an unfinished one.
      if (auto w = dir.write_atomic(k_snap_intent,
                                    "promote " + ctx.level + " " + ops->back().from + "\n");
          !w) {
        return fail(w.error().message() + "; nothing was changed");
      }
      Applied applied;
      Status done = apply_ops(dir, *ops, applied);
      if (done) {
        done = dir.sync();
      }
      if (done) {
        done = dir.unlink_if_present(k_snap_intent);
      }
      if (!done) {
        return fail(done.error().message() + "; the next run finishes the promotion");
      }
      fs::RemoveStats rs;
      auto deleted = dir.delete_trash(&rs);
      JobResult r;
      r.summary = fmt::format("promoted {} to {}: {} shifted, {} expired", ops->back().from,
                              ops->back().to, applied.renamed - 1, applied.expired);
      if (!applied.expired_names.empty()) {
        r.summary += fmt::format(" ({})", fmt::join(applied.expired_names, ", "));
      }
      if (!deleted) {
        r.outcome = state::Outcome::warning;
        ctx.log.warning("[{}] deleting the trash failed (the next run resumes): {}", job.name,
                        deleted.error().message());
      } else if (*deleted > 0) {
        r.summary += fmt::format(", trash deleted ({} files)", rs.files);
      }
      return r;
    }
    final_name = rotation::format_level_name(lowest, 0);
    int best = -1;
    for (const auto& op : rotation::plan_lowest_commit(names, *rpolicy)) {
      if (op.kind != rotation::OpKind::expire) {
        continue;
      }
      auto ln = rotation::parse_level_name(op.from);
      if (ln && (best < 0 || ln->index < best)) {
        best = ln->index;
        recycle = op.from;
      }
    }
  } else {
    auto p = dated_policy(job);
    if (!p) {
      return fail(p.error().message());
    }
    dpolicy = *p;
    // A clock behind the newest generation (a reset RTC, a wrong --now)
    // would make each new generation the "oldest" and expire it at once,
    // and `latest` would stay on old data: refuse, change nothing.
    for (const auto& g : rotation::dated_generations(names, job.name_format, ctx.zone)) {
      if (g.time > ctx.now) {
        return fail(fmt::format("generation '{}' is dated after now ({}); the clock looks wrong, "
                                "nothing was changed",
                                g.name, ctx.zone.format("%Y-%m-%d %H:%M:%S", ctx.now)));
      }
    }
    final_name = rotation::next_free_name(rotation::format_dated_name(ctx.now, job.name_format, ctx.zone),
                                          names);
    auto with_new = names;
    with_new.push_back(final_name);
    auto decisions = dated_decisions(with_new, job, *dpolicy, ctx.zone);
    for (const auto& dcs : decisions) {  // newest first: the last expiring one is the oldest
      if (!dcs.keep && dcs.name != final_name) {
        recycle = dcs.name;
      }
    }
  }
  Build build = recycle.empty() ? Build::fresh : Build::recycled;

  // A failure before the commit: roll the build back now (renames only), so
  // that no generation is missing even until the next run.
  auto abort_build = [&](const std::string& why) {
    std::vector<std::string> lines;
    Status rb = dry ? ok() : rollback(dir, lines);
    if (!rb) {
      return fail(fmt::format("{}; rolling back failed too ({}); the next run rolls back{}", why,
                              rb.error().message(),
                              build == Build::recycled ? " and restores " + recycle : std::string()));
    }
    if (!dry) {
      fs::RemoveStats unused;
      (void)dir.delete_trash(&unused);  // best effort: the next run resumes it
    }
    return fail(why + (build == Build::recycled ? "; rolled back: " + recycle + " restored, nothing lost"
                                                : std::string("; nothing was changed")));
  };
  // 4. The build.
  std::string build_id;
  if (build == Build::recycled && !dry) {
    Status prepared = dir.ensure_trash();
    if (prepared) {
      auto in_trash = dir.names(k_snap_trash);
      if (!in_trash) {
        return fail(in_trash.error().message() + "; nothing was changed");
      }
      build_id = std::string(k_snap_trash) + "/" +
                 rotation::next_free_name(fmt::format("build-{}", ctx.now.time_since_epoch().count()), *in_trash);
      prepared = dir.mkdir(build_id, false);
    }
    if (prepared) {
      prepared = dir.mkdir(build_id + "/undo", false);  // a rollback then only renames
    }
    if (prepared) {
      prepared = dir.write_atomic(k_snap_staging_from, recycle + "\n" + build_id + "\n");
    }
    if (prepared) {
      prepared = dir.rename(recycle, k_snap_staging);
    }
    if (!prepared) {
      if (dir.exists(k_snap_staging)) {
        return abort_build(prepared.error().message());
      }
      // Best effort: the next run's recovery removes these too.
      (void)dir.unlink_if_present(".rotator-staging.from.tmp");
      (void)dir.unlink_if_present(k_snap_staging_from);
      fs::RemoveStats unused;
      (void)dir.delete_trash(&unused);
      return fail(prepared.error().message() + "; nothing was changed");
    }
  } else if (!dry) {
    if (auto made = dir.mkdir(k_snap_staging, false); !made) {
      return fail(made.error().message() + "; nothing was changed");
    }
  }
  if (dry && build == Build::recycled) {
    ctx.plan("recycle " + recycle);
  }
  std::optional<engine::TreeSink> sink;
  std::optional<RecordingSink> recording;
  fs::DirHandle build_dir;
  if (build == Build::recycled && !dry) {
    auto h = fs::open_dir(ctx.fs, fs::k_cwd, dir.p(build_id));
    if (!h) {
      return abort_build(h.error().message());
    }
    build_dir = std::move(*h);
    sink.emplace(build_dir.fd(), "displaced", dir.d(build_id));
    recording.emplace(*sink);
  }
  AddRecorder recorder(dir, build_id, recording ? &*recording : nullptr);
  engine::MirrorOptions opt;
  opt.sink = recording ? static_cast<engine::Sink*>(&*recording) : nullptr;
  opt.dry_run = dry ? engine::DryRun::yes : engine::DryRun::no;
  opt.src_display = job.from_job.empty() ? job.from : job.from_job;
  opt.dst_display = dir.d(dry && build == Build::recycled ? recycle : k_snap_staging);
  if (build == Build::recycled && !dry) {
    opt.before_add = [&](const std::string& rel, fs::FileType type) { return recorder.record(rel, type); };
  }
  if (dry && build == Build::fresh) {
    opt.target_root = engine::MirrorOptions::TargetRoot::absent;
  }
  opt.plan = [&](std::string_view line) {
    if (dry) {
      ctx.plan(line);
    } else {
      ctx.log.debug("[{}] {}", job.name, line);
    }
  };
  if (dry && build == Build::recycled) {
    // Plan against the generation that would be recycled; the sink is
    // displayed but never written in a dry run.
    sink.emplace(fs::k_cwd, "displaced", dir.d(std::string(k_snap_trash) + "/build-ID"));
    opt.sink = &*sink;
  }
  std::string target = dir.p(dry && build == Build::recycled ? recycle : k_snap_staging);
  auto stats = build == Build::fresh ? engine::mirror_fresh(ctx.fs, job.from, target, opt)
                                     : engine::mirror(ctx.fs, job.from, target, opt);
  if (!stats) {
    const Error& e = stats.error();
    std::string why = e.sys_errno == EXDEV
                          ? "configuration error: " + e.message() + " ('from' and 'path' must be on one filesystem)"
                          : e.message();
    return abort_build(why);
  }
  if (!dry) {
    // The generation's own mtime records when it was taken.
    fs::Metadata meta = fs::metadata_of(*from);
    meta.mtime = timespec{static_cast<time_t>(ctx.now.time_since_epoch().count()), 0};
    meta.atime = meta.mtime;
    auto set = ctx.fs.set_metadata(fs::k_cwd, dir.p(k_snap_staging), meta);
    if (!set) {
      return abort_build(sys_error(set.error().sys_errno, "set attributes of", dir.d(k_snap_staging)).message());
    }
  }

  // 5. Commit, then the post-commit steps.
  Applied applied;
  std::string expired_text;
  if (dry) {
    if (job.naming == config::Naming::rotate) {
      ctx.plan(fmt::format("commit {} -> {}", k_snap_staging, k_snap_committed));
      auto rest = names;
      std::erase(rest, recycle);
      for (const auto& op : rotation::plan_lowest_commit(rest, *rpolicy)) {
        ctx.plan(rotation::to_string(op));
      }
      ctx.plan(fmt::format("rename {} -> {}", k_snap_committed, final_name));
    } else {
      ctx.plan(fmt::format("commit {} -> {}", k_snap_staging, final_name));
      ctx.plan(fmt::format("latest -> {}", final_name));
      auto rest = names;
      std::erase(rest, recycle);
      rest.push_back(final_name);
      for (const auto& dcs : dated_decisions(rest, job, *dpolicy, ctx.zone)) {
        if (!dcs.keep) {
          ctx.plan("expire " + dcs.name);
        }
      }
    }
    ctx.plan("delete-trash");
  } else {
    Status committed = ok();
    if (job.naming == config::Naming::dated) {
      committed = dir.write_atomic(k_snap_pending, final_name + "\n");
    }
    if (committed) {
      committed = job.naming == config::Naming::rotate ? dir.rename(k_snap_staging, k_snap_committed)
                                                       : dir.rename(k_snap_staging, final_name);
    }
    if (!committed) {
      return abort_build(committed.error().message());
    }
    // The point of no return: from here on a failure is finished by the next run.
    Status post = dir.sync();
    if (post) {
      post = dir.unlink_if_present(k_snap_staging_from);
    }
    if (post && job.naming == config::Naming::rotate) {
      post = finish_rotate_commit(dir, *rpolicy, applied);
    } else if (post) {
      post = finish_dated_commit(dir, final_name, ctx, job, *dpolicy, applied);
    }
    if (!post) {
      return fail(fmt::format("{} was committed, but {}; the next run finishes the rotation",
                              dir.d(final_name), post.error().message()));
    }
  }

  // 6. The trash.
  fs::RemoveStats rs;
  JobResult r;
  long trash = 0;
  if (!dry) {
    auto deleted = dir.delete_trash(&rs);
    if (!deleted) {
      r.outcome = state::Outcome::warning;
      ctx.log.warning("[{}] deleting the trash failed (the next run resumes): {}", job.name,
                      deleted.error().message());
    } else {
      trash = *deleted;
    }
  }
  r.summary = fmt::format("{}{} {} ({}): {} linked, {} unchanged, {} displaced", dry ? "dry run: " : "",
                          dry ? "would create" : "created", final_name,
                          build == Build::recycled ? "recycled from " + recycle : std::string("fresh"),
                          stats->linked, stats->unchanged, stats->archived);
  if (job.naming == config::Naming::rotate && !dry) {
    r.summary += fmt::format(", {} shifted", applied.renamed);
  }
  if (!applied.expired_names.empty()) {
    r.summary += fmt::format(", expired {}", fmt::join(applied.expired_names, ", "));
  }
  if (trash > 0) {
    r.summary += fmt::format(", trash deleted ({} files, {} dirs)", rs.files, rs.dirs);
  }
  if (stats->copied_emlink > 0) {
    r.outcome = state::Outcome::warning;
    r.summary += fmt::format(", {} copied (hard-link limit reached)", plural(stats->copied_emlink, "file"));
    ctx.log.warning("[{}] {} could not be hard-linked (EMLINK: link limit) and were copied", job.name,
                    plural(stats->copied_emlink, "file"));
  }
  return r;
}

// ---- prune ---------------------------------------------------------------------

JobResult prune_snapshot(RunContext& ctx, const config::Job& job, Explain explain) {
  SnapDir dir(ctx, job);
  bool dry = dir.dry();
  if (!ctx.fs.lstat(fs::k_cwd, job.path)) {
    JobResult r;
    r.summary = fmt::format("{} does not exist yet: nothing to prune", dir.disp());
    return r;
  }
  if (auto stop = recover_and_report(ctx, job)) {
    return *stop;
  }
  auto names = dir.names();
  if (!names) {
    return job_error(names.error().message());
  }
  struct Line {
    std::string name;
    bool keep;
    std::string reason;
  };
  std::vector<Line> lines;
  if (job.naming == config::Naming::rotate) {
    auto policy = rotate_policy(job);
    if (!policy) {
      return job_error(policy.error().message());
    }
    for (const auto& level : policy->levels) {
      std::vector<rotation::LevelName> gens;
      for (const auto& n : *names) {
        if (auto ln = rotation::parse_level_name(n); ln && ln->level == level.name) {
          gens.push_back(*ln);
        }
      }
      std::sort(gens.begin(), gens.end(), [](const auto& a, const auto& b) { return a.index < b.index; });
      // By rank, as the rotation's hole policy does: the k-th existing
      // generation is the k-th one kept (an rsnapshot tree with holes,
      // daily.0 daily.4 daily.5, keeps all three under daily:3).
      int rank = 0;
      for (const auto& g : gens) {
        bool keep = rank < level.count;
        ++rank;
        lines.push_back({rotation::format_level_name(g.level, g.index), keep,
                         keep ? fmt::format("{} #{}", level.name, rank)
                              : fmt::format("expired (beyond {}:{})", level.name, level.count)});
      }
    }
  } else {
    auto policy = dated_policy(job);
    if (!policy) {
      return job_error(policy.error().message());
    }
    for (const auto& dcs : dated_decisions(*names, job, *policy, ctx.zone)) {
      lines.push_back({dcs.name, dcs.keep, dcs.reason});
    }
  }
  long kept = 0;
  std::vector<std::string> expired;
  for (const auto& l : lines) {
    if (explain == Explain::yes || dry) {
      ctx.plan(fmt::format("{:<6} {:<24} {}", l.keep ? "keep" : "expire", l.name, l.reason));
    }
    if (l.keep) {
      ++kept;
    } else {
      expired.push_back(l.name);
    }
  }
  JobResult r;
  if (dry) {
    r.summary = fmt::format("dry run: {} kept, {} would expire", kept, expired.size());
    return r;
  }
  for (const auto& n : expired) {
    if (auto moved = dir.move_to_trash(n); !moved) {
      return job_error(moved.error().message());
    }
  }
  if (!expired.empty()) {
    if (auto s = dir.sync(); !s) {
      return job_error(s.error().message());
    }
  }
  fs::RemoveStats rs;
  auto deleted = dir.delete_trash(&rs);
  if (!deleted) {
    return job_error("expired generations are in the trash, but deleting it failed (the next run "
                     "resumes): " + deleted.error().message());
  }
  r.summary = fmt::format("{} kept, {} expired", kept, expired.size());
  if (!expired.empty()) {
    r.summary += fmt::format(" ({})", fmt::join(expired, ", "));
  }
  if (*deleted > 0) {
    r.summary += fmt::format(", trash deleted ({} files, {} dirs)", rs.files, rs.dirs);
  }
  return r;
}

}  // namespace rotator::jobs
