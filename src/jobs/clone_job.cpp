#include "jobs/clone_job.hpp"

#include <algorithm>
#include <cerrno>
#include <deque>

#include <fmt/format.h>

#include "history/catalogue.hpp"
#include "jobs/clone_protect.hpp"
#include "jobs/clone_relink.hpp"
#include "util/process.hpp"

namespace rotator::jobs {

namespace {

// Counts every entry under `dir` (not the root itself); 0 when missing.
// Errors name `display`, the path of `name`.
Result<long> count_entries(fs::Fs& fs, int parent, const std::string& name,
                           const std::string& display) {
  auto dir = fs::open_dir(fs, parent, name);
  if (!dir) {
    if (dir.error().sys_errno == ENOENT) {
      return 0L;
    }
    return with_context(std::move(dir.error()), "open directory", display);
  }
  TRY_ASSIGN_CONTEXT(auto entries, fs.list_dir(dir->fd()), "read directory", display);
  long n = static_cast<long>(entries.size());
  for (const auto& e : entries) {
    fs::FileType t = e.type;
    if (t == fs::FileType::unknown) {
      TRY_ASSIGN_CONTEXT(auto st, fs.lstat(dir->fd(), e.name), "stat", display + "/" + e.name);
      t = st.type();
    }
    if (t == fs::FileType::directory) {
      TRY_ASSIGN(long sub, count_entries(fs, dir->fd(), e.name, display + "/" + e.name));
      n += sub;
    }
  }
  return n;
}

long parse_count(std::string_view line, std::string_view prefix) {
  if (line.substr(0, prefix.size()) != prefix) {
    return -1;
  }
  long n = 0;
  bool any = false;
  for (char c : line.substr(prefix.size())) {
    if (c >= '0' && c <= '9') {
      n = n * 10 + (c - '0');
      any = true;
    } else if (c == ',' || c == '.') {
      continue;
    } else if (any) {
      break;
    }
  }
  return any ? n : -1;
}

struct RsyncRun {
  int exit_code = 0;
  std::deque<std::string> last_errors;  // the last few stderr lines
};

Result<RsyncRun> run_rsync(RunContext& ctx, const std::vector<std::string>& argv,
                           const std::function<void(std::string_view)>& on_out) {
  ctx.log.debug("running: {}", quote_argv(argv));
  RsyncRun run;
  auto r = run_process(argv, [&](Stream s, std::string_view line) {
    if (s == Stream::out) {
      on_out(line);
    } else {
      ctx.log.info("rsync: {}", line);
      run.last_errors.emplace_back(line);
      if (run.last_errors.size() > 5) {
        run.last_errors.pop_front();
      }
    }
  });
  if (!r) {
    return r.error();
  }
  run.exit_code = r->exit_code;
  return run;
}

std::string join_errors(const std::deque<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) {
    out += (out.empty() ? "" : "; ") + l;
  }
  return out;
}

}  // namespace

namespace {

bool user_turned_off(const config::Job& job, const char* long_name, const char* short_name) {
  return std::find_if(job.rsync_args.begin(), job.rsync_args.end(), [&](const std::string& a) {
           return a == long_name || a == short_name;
         }) != job.rsync_args.end();
}

// The previous generation of clone `job`: every backup tree and the newest
// generation of every snapshot job fed by it (history/catalogue.hpp).
Result<std::vector<std::string>> previous_generation(RunContext& ctx, const config::Job& job) {
  TRY_ASSIGN(auto cat, history::Catalogue::load(ctx.fs, ctx.cfg, ctx.zone, ctx.now));
  std::vector<std::string> roots;
  std::map<const config::Job*, std::string> newest;  // places are oldest first
  for (const history::Place* p : cat.of_lineage(history::lineage_of(ctx.cfg, job))) {
    if (p->kind == history::PlaceKind::backup) {
      roots.push_back(p->path);
    } else if (p->kind == history::PlaceKind::snapshot) {
      newest[p->job] = p->path;
    }
  }
  for (const auto& [j, path] : newest) {
    roots.push_back(path);
  }
  return roots;
}

// `pending` is the last recorded batch of temporaries (cleared with it).
Result<RelinkStats> relink_pass(RunContext& ctx, const config::Job& job, PathSpool& written,
                                PathSpool& deleted, std::vector<std::string>& pending) {
  TRY_ASSIGN(auto roots, previous_generation(ctx, job));
  auto record = [&](const std::vector<std::string>& temps) -> Status {
    pending = temps;
    std::map<std::string, std::string> resume;
    if (!temps.empty()) {
      resume[k_relink_resume_key] = encode_temps(temps);
    }
    return ctx.save_resume(resume);
  };
  auto plan = [&](std::string_view line) { ctx.log.debug("[{}] {}", job.name, line); };
  return relink_spooled(ctx.fs, job.path, written, deleted, roots, record, plan);
}

}  // namespace

Result<CloneFidelity> probe_clone_fidelity(fs::Fs& fs, const config::Job& job) {
  CloneFidelity out;
  bool want_acls = !user_turned_off(job, "--no-acls", "--no-A");
  bool want_xattrs = !user_turned_off(job, "--no-xattrs", "--no-X");
  if (!want_acls) {
    out.acls = fs::Support::no;
  }
  if (!want_xattrs) {
    out.xattrs = fs::Support::no;
  }
  if (!want_acls && !want_xattrs) {
    return out;
  }
  std::string where = job.path;
  auto dir = fs::open_dir(fs, fs::k_cwd, where);
  if (!dir && dir.error().sys_errno == ENOENT) {
    size_t slash = job.path.rfind('/');
    where = slash == 0 ? "/" : job.path.substr(0, slash);
    dir = fs::open_dir(fs, fs::k_cwd, where);
  }
  if (!dir) {
    return with_context(std::move(dir.error()), "open directory", where);
  }
  auto probed = fs.probe_xattr_support(dir->fd());
  if (!probed) {
    return with_context(std::move(probed.error()), "probe extended attributes in", where);
  }
  if (want_acls && probed->acls == fs::Support::no) {
    out.acls = fs::Support::no;
    out.dropped.push_back(fmt::format(
        "the clone's filesystem ('{}') does not store ACLs: rsync runs without -A and ACLs are "
        "not kept (add --no-acls to rsync_args to accept that)",
        where));
  }
  if (want_xattrs && probed->xattrs == fs::Support::no) {
    out.xattrs = fs::Support::no;
    out.dropped.push_back(fmt::format(
        "the clone's filesystem ('{}') does not store extended attributes: rsync runs without -X "
        "and xattrs are not kept (add --no-xattrs to rsync_args to accept that)",
        where));
  }
  return out;
}

std::vector<std::string> clone_rsync_argv(const config::Config& cfg, const config::Job& job,
                                          const CloneFidelity& fidelity) {
  std::vector<std::string> argv = {cfg.rsync, "-a"};
  // Before rsync_args, so a user's --no-H / --no-A / --no-X there wins.
  argv.push_back("-H");
  if (fidelity.acls == fs::Support::yes) {
    argv.push_back("-A");
  }
  if (fidelity.xattrs == fs::Support::yes) {
    argv.push_back("-X");
  }
  argv.insert(argv.end(), {"--delete", "--numeric-ids"});
  argv.insert(argv.end(), job.rsync_args.begin(), job.rsync_args.end());
  // Last among the options, so no option in rsync_args (today's or one a
  // future rsync adds) can make rsync rewrite the inodes shared with backups
  // and snapshots.
  argv.push_back("--no-inplace");
  argv.push_back(job.source);
  argv.push_back(job.path + "/");
  return argv;
}

JobResult run_clone(RunContext& ctx, const config::Job& job) {
  // 0. An interrupted protect_metadata or relink step left temporaries:
  // remove exactly those (whatever the keys say now), then clear the record.
  for (auto [key, what] : {std::pair{k_protect_resume_key, "protect_metadata"},
                           std::pair{k_relink_resume_key, "relink"}}) {
    auto it = ctx.resume_in.find(key);
    if (it == ctx.resume_in.end() || ctx.dry_run == DryRun::yes) {
      continue;
    }
    auto removed = remove_protect_temps(ctx.fs, job.path, decode_temps(it->second), what);
    if (!removed) {
      return job_error(fmt::format("cannot remove the temporaries of an interrupted {} step: {}",
                                   what, removed.error().message()));
    }
    if (*removed > 0) {
      ctx.log.info("[{}] removed {} temporaries of an interrupted {} step", job.name, *removed,
                   what);
    }
    if (auto cleared = ctx.save_resume({}); !cleared) {
      return job_error("cannot save state: " + cleared.error().message());
    }
  }

  // 0b. What the clone's filesystem keeps: -A / -X only where it stores them.
  auto fidelity = probe_clone_fidelity(ctx.fs, job);
  if (!fidelity) {
    return job_error(fidelity.error().message());
  }
  for (const auto& dropped : fidelity->dropped) {
    ctx.log.warning("[{}] {}", job.name, dropped);
  }
  // 1. Dry run: what does the source hold, what would be deleted? With
  // protect_metadata: which files change only in metadata?
  std::vector<std::string> argv = clone_rsync_argv(ctx.cfg, job, *fidelity);
  std::vector<std::string> check = argv;
  // After the user's rsync_args, so they cannot switch this output off.
  check.insert(check.end() - 2, {"-n", "--stats", "--out-format=%i %n"});
  long source_files = -1, deletions = 0, changes = 0, source_bytes = -1;
  // The metadata-only items in a scratch file (memory O(1) in their
  // number; clone_protect.hpp).
  PathSpool meta_only;
  std::optional<Error> meta_error;
  auto dry = run_rsync(ctx, check, [&](std::string_view line) {
    if (job.protect_metadata == config::ProtectMetadata::yes && !meta_error) {
      if (auto item = parse_itemized(line); item && metadata_only(*item)) {
        if (auto added = spool_protect_item(meta_only, *item); !added) {
          meta_error = added.error();
        }
      }
    }
    if (line.substr(0, 10) == "*deleting ") {
      ++deletions;
      ++changes;
      if (ctx.dry_run == DryRun::yes) {
        ctx.plan(fmt::format("delete {}", line.substr(line.find_first_not_of(' ', 10))));
      }
      return;
    }
    long n = parse_count(line, "Number of files: ");
    if (n >= 0) {
      source_files = n;
      return;
    }
    if (long b = parse_count(line, "Total file size: "); b >= 0) {
      source_bytes = b;
      return;
    }
    if (line.size() > 12 && line[11] == ' ' &&
        (line[0] == '>' || line[0] == 'c' || line[0] == '.' || line[0] == 'h' || line[0] == '<')) {
      ++changes;
      if (ctx.dry_run == DryRun::yes) {
        ctx.plan(fmt::format("update {}", line.substr(12)));
      }
    }
  });
  if (!dry) {
    return job_error(dry.error().message());
  }
  if (meta_error) {
    return job_error("protect_metadata: " + meta_error->message() +
                     " (rsync did not run; history is unchanged)");
  }
  if (dry->exit_code != 0 && dry->exit_code != 24 && dry->exit_code != 23) {
    return job_error(fmt::format("rsync failed (exit {}) listing '{}': {}", dry->exit_code,
                                 job.source, join_errors(dry->last_errors)));
  }
  if (source_files < 0) {
    return job_error(fmt::format(
        "could not read the file count from rsync's --stats output for '{}'; refusing to "
        "run without the empty-source check{}",
        job.source, dry->last_errors.empty() ? "" : ": " + join_errors(dry->last_errors)));
  }
  if (source_files <= 1) {
    return job_error(fmt::format(
        "source '{}' yields no files (unmounted or empty?); refusing to empty the clone '{}'{}",
        job.source, job.path,
        dry->last_errors.empty() ? "" : " (rsync: " + join_errors(dry->last_errors) + ")"));
  }
  auto existing = count_entries(ctx.fs, fs::k_cwd, job.path, job.path);
  if (!existing) {
    return job_error(existing.error().message());
  }
  if (*existing > 0 &&
      static_cast<double>(deletions) > job.max_delete * static_cast<double>(*existing)) {
    return job_error(fmt::format(
        "rsync would delete {} of the {} entries of '{}' ({:.0f}% > max_delete {:.0f}%); "
        "refusing (is the source complete? raise max_delete if this is intended)",
        deletions, *existing, job.path,
        100.0 * static_cast<double>(deletions) / static_cast<double>(*existing),
        100.0 * job.max_delete));
  }
  // 2. protect_metadata: a new inode for each file whose metadata rsync is
  // about to change in place, so history keeps the old inode as it is.
  ProtectStats protect;
  if (meta_only.size() > 0) {
    auto record = [&](const std::vector<std::string>& temps) -> Status {
      std::map<std::string, std::string> resume;
      if (!temps.empty()) {
        resume[k_protect_resume_key] = encode_temps(temps);
      }
      return ctx.save_resume(resume);
    };
    auto plan = [&](std::string_view line) {
      if (ctx.dry_run == DryRun::yes) {
        ctx.plan(line);
      } else {
        ctx.log.debug("[{}] {}", job.name, line);
      }
    };
    auto done = protect_spooled(ctx.fs, job.path, meta_only, ctx.dry_run, record, plan);
    if (!done) {
      return job_error("protect_metadata: " + done.error().message() +
                       " (rsync did not run; history is unchanged)");
    }
    protect = *done;
  }
  if (ctx.dry_run == DryRun::yes) {
    JobResult r;
    r.summary = fmt::format("dry run: {} changes, {} deletions", changes, deletions);
    if (protect.files + protect.symlinks + protect.hard_links > 0) {
      r.summary += fmt::format(", {} files to protect",
                               protect.files + protect.symlinks + protect.hard_links);
    }
    return r;
  }

  // 3. The real run, with rsync's own deletion limit too: the source could
  // vanish (an unmount) between the check and this run.
  if (*existing > 0) {
    long limit = static_cast<long>(job.max_delete * static_cast<double>(*existing));
    argv.insert(argv.end() - 2, fmt::format("--max-delete={}", std::max(limit, deletions)));
  }
  // Itemized output and stats of the real run measure the churn: files that
  // existed and got a new inode (rsync never updates in place here).
  argv.insert(argv.end() - 2, {"--stats", "--out-format=%i %n"});
  long replaced = 0, created = 0, regular = -1, clone_bytes = -1;
  // relink: the files rsync gave a new inode and the names it deleted, in
  // scratch files (memory O(1) in their number; clone_relink.hpp).
  PathSpool written, deleted;
  std::optional<Error> spool_error;
  auto spool = [&](PathSpool& to, std::string_view name) {
    if (!spool_error) {
      if (auto added = to.add(unescape_rsync_name(name)); !added) {
        spool_error = added.error();
      }
    }
  };
  auto run = run_rsync(ctx, argv, [&](std::string_view line) {
    ctx.log.debug("rsync: {}", line);
    if (job.relink == config::Relink::yes && line.size() > 12 &&
        line.substr(0, 10) == "*deleting " && line[11] == ' ') {
      spool(deleted, line.substr(12));  // `%i` is 11 columns, then the space
      return;
    }
    if (line.size() > 12 && line[0] == '>' && line[1] == 'f' && line[11] == ' ') {
      if (job.relink == config::Relink::yes) {
        spool(written, line.substr(12));
      }
      if (line.substr(2, 9) == "+++++++++") {
        ++created;
      } else {
        ++replaced;
      }
      return;
    }
    // The clone's size after the transfer, for the backup and snapshot
    // summaries' share of new bytes (new_bytes.hpp).
    if (long b = parse_count(line, "Total file size: "); b >= 0) {
      clone_bytes = b;
      return;
    }
    if (line.substr(0, 17) == "Number of files: ") {
      auto reg = line.find("reg: ");
      if (reg != std::string_view::npos) {
        regular = parse_count(line.substr(reg), "reg: ");
      }
    }
  });
  if (!run) {
    return job_error(run.error().message());
  }
  JobResult r;
  r.entries = source_files < 0 ? -1 : source_files - 1;
  r.bytes = clone_bytes >= 0 ? clone_bytes : source_bytes;
  std::string counts =
      fmt::format("{} source entries, {} changed, {} deleted",
                  source_files < 0 ? 0 : source_files - 1, changes - deletions, deletions);
  switch (run->exit_code) {
    case 0:
      r.summary = "refreshed from " + job.source + ": " + counts;
      break;
    case 24:
      r.outcome = state::Outcome::warning;
      r.summary = "refreshed from " + job.source + ": " + counts +
                  "; some source files vanished (rsync exit 24)";
      ctx.log.warning("[{}] some files vanished while rsync read them (rsync exit 24)", job.name);
      break;
    case 23:
      r.outcome = state::Outcome::partial;
      r.summary = "partial transfer from " + job.source +
                  " (rsync exit 23): " + join_errors(run->last_errors);
      ctx.log.warning("[{}] partial transfer (rsync exit 23): {}", job.name,
                      join_errors(run->last_errors));
      break;
    case 25:
      return job_error(fmt::format(
          "rsync stopped at the deletion limit (max_delete {:.0f}%): the source changed "
          "between the check and the transfer; the clone may be partly updated, nothing "
          "beyond the limit was deleted: {}",
          100.0 * job.max_delete, join_errors(run->last_errors)));
    default:
      return job_error(
          fmt::format("rsync failed (exit {}): {}", run->exit_code, join_errors(run->last_errors)));
  }
  // 4. relink: new inodes equal to an older one become links to it.
  if (job.relink == config::Relink::yes && run->exit_code != 25) {
    r.relinked_files = 0;  // rsync wrote nothing: nothing to relink
    r.relinked_bytes = 0;
  }
  if (job.relink == config::Relink::yes && run->exit_code != 25 && written.size() > 0) {
    std::vector<std::string> pending;
    Result<RelinkStats> relinked = spool_error ? Result<RelinkStats>(*spool_error)
                                               : relink_pass(ctx, job, written, deleted, pending);
    if (!relinked) {
      // The clone is complete and correct (a name is the new inode or an
      // equal older one): remove the batch's temporaries now, and warn.
      auto removed = remove_protect_temps(ctx.fs, job.path, pending, "relink");
      if (!removed) {
        return job_error(
            fmt::format("relink: {}; cannot remove its temporaries ({}): the next run removes them",
                        relinked.error().message(), removed.error().message()));
      }
      if (auto cleared = ctx.save_resume({}); !cleared) {
        return job_error("cannot save state: " + cleared.error().message());
      }
      ctx.log.warning("[{}] relink: {} (the clone is complete; nothing was relinked further)",
                      job.name, relinked.error().message());
      r.summary += "; relink failed: " + relinked.error().message();
      r.relinked_files = -1;  // some may have been relinked before the failure
      r.relinked_bytes = -1;
      if (r.outcome == state::Outcome::ok) {
        r.outcome = state::Outcome::warning;
      }
    } else {
      r.relinked_files = relinked->linked;
      r.relinked_bytes = relinked->bytes;
    }
    if (relinked && relinked->linked > 0) {
      r.summary += fmt::format("; {} file{} relinked to history ({} bytes saved)", relinked->linked,
                               relinked->linked == 1 ? "" : "s", relinked->bytes);
    }
  }
  long reinoded = protect.files + protect.symlinks + protect.hard_links;
  if (reinoded > 0) {
    r.summary += fmt::format(
        "; {} files given a new inode so that history keeps their old metadata ({} bytes copied)",
        reinoded, protect.bytes);
  }
  // A protected file got its new inode before rsync ran (rsync then shows
  // it as a metadata change): it costs the next generations a copy too.
  replaced += protect.files + protect.hard_links;
  long existed = regular - created;
  if (job.churn_warn && existed > 0) {
    double share = static_cast<double>(replaced) / static_cast<double>(existed);
    if (replaced >= k_churn_min_files && share > *job.churn_warn) {
      r.churn_warning = fmt::format(
          "{:.0f}% of the clone's files ({} of {}) got a new inode (churn_warn {:.0f}%): the hard "
          "links to the backup and snapshots are broken for them and the next generations cost "
          "full copies; likely causes: the source's clock or time zone jumped, chmod -R or touch "
          "on the source, or the source was restored from a copy",
          100.0 * share, replaced, existed, 100.0 * *job.churn_warn);
      r.summary += fmt::format("; {:.0f}% of the files got a new inode", 100.0 * share);
      if (r.outcome == state::Outcome::ok) {
        r.outcome = state::Outcome::warning;
      }
      ctx.log.warning("[{}] {}", job.name, r.churn_warning);
    }
  }
  return r;
}

}  // namespace rotator::jobs
