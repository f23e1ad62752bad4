#include "fs/fault_fs.hpp"

#include <cerrno>

#include "fs/tree.hpp"

namespace rotator::fs {

bool FaultFs::refuse(const char* op, Call call, const std::string& what, int* err) {
  bool mutating = call == Call::mutates;
  if (mutating) {
    m_journal.push_back(std::string(op) + " " + what);
  }
  bool dies = m_mode == Mode::crash || m_mode == Mode::power_cut;
  if (dies && m_triggered) {
    *err = EIO;
    return true;
  }
  // A call named by fail_at's `only_op` is counted even when it is a read.
  bool counted = m_only_op.empty() ? mutating || m_count == Count::all : m_only_op == op;
  if (!counted) {
    return false;
  }
  ++m_calls;
  if (m_mode == Mode::fail && m_calls == m_k) {
    m_triggered = true;
    *err = m_errno;
    return true;
  }
  if (dies && m_calls >= m_k) {
    // The k-th call itself completes (power_cut: then the cut, after_call);
    // everything after it is refused.
    m_triggered = true;
    return false;
  }
  return false;
}

void FaultFs::after_call() {
  if (m_mode == Mode::power_cut && m_triggered && !m_cut_done) {
    cut();
  }
}

// --- power-cut model ---------------------------------------------------------

namespace {

std::string under(const std::string& dir, const std::string& name) {
  return dir == "/" ? "/" + name : dir + "/" + name;
}

bool has_prefix(const std::string& path, const std::string& prefix) {
  return path == prefix ||
         (path.size() > prefix.size() && path.compare(0, prefix.size(), prefix) == 0 &&
          path[prefix.size()] == '/');
}

}  // namespace

void FaultFs::power_cut_after(long k, const std::string& root) {
  m_mode = Mode::power_cut;
  m_k = k;
  m_root = root;
  m_save_dir = root + ".faultfs-saved";
  (void)target().mkdir(k_cwd, m_save_dir, 0700);
}

FaultFs::~FaultFs() {
  if (!m_save_dir.empty()) {
    (void)remove_tree(target(), k_cwd, m_save_dir, m_save_dir);
  }
}

FaultFs::DirId FaultFs::id_of(const Stat& st) {
  if (!st.is_dir()) {
    return -1;
  }
  auto [it, fresh] = m_ids.try_emplace({st.dev, st.ino}, m_next_id);
  if (fresh) {
    ++m_next_id;
  }
  return it->second;
}

FaultFs::DirId FaultFs::dir_id(int d, const std::string& n) {
  auto st = target().lstat(d, n);
  return st ? id_of(*st) : -1;
}

// The parent directory of (d, n) and the base name. "dir/." follows a
// symlinked parent (a root given through a symlink), as the kernel does.
FaultFs::Where FaultFs::where(int d, const std::string& n) {
  size_t slash = n.rfind('/');
  if (slash == std::string::npos) {
    return {dir_id(d, ""), n};
  }
  std::string parent = slash == 0 ? "/" : n.substr(0, slash);
  return {dir_id(d, parent + "/."), n.substr(slash + 1)};
}

// Keeps the file (d, n) alive by a hard link in the save area, so that its
// removal can be undone with the same inode. Empty when it cannot (a
// directory, a missing name, the link limit): then the removal is kept.
std::string FaultFs::save(int d, const std::string& n) {
  std::string name = std::to_string(m_saved_count++);
  if (!target().link(d, n, k_cwd, m_save_dir + "/" + name)) {
    return {};
  }
  return name;
}

void FaultFs::push(Change c) {
  c.seq = ++m_seq;
  m_changes.push_back(std::move(c));
}

bool FaultFs::synced_after(DirId dir, long seq) const {
  if (m_fs_synced > seq) {
    return true;
  }
  auto it = m_synced.find(dir);
  return it != m_synced.end() && it->second > seq;
}

bool FaultFs::durable(const Change& c) const {
  switch (c.kind) {
    case Kind::rename:
      return synced_after(c.parent, c.seq) && synced_after(c.parent2, c.seq);
    case Kind::metadata:
      return c.dir >= 0 ? synced_after(c.dir, c.seq) : m_fs_synced > c.seq;
    case Kind::create:
    case Kind::unlink:
    case Kind::rmdir:
      return synced_after(c.parent, c.seq);
  }
  return true;
}

// The power cut: map every known directory under the root to its current
// path, then undo the non-durable changes newest first.
void FaultFs::cut() {
  m_cut_done = true;
  std::map<DirId, std::string> paths;
  std::vector<std::string> stack = {m_root};
  while (!stack.empty()) {
    std::string path = stack.back();
    stack.pop_back();
    auto st = target().lstat(k_cwd, path);
    if (!st || !st->is_dir()) {
      continue;
    }
    auto known = m_ids.find({st->dev, st->ino});
    if (known != m_ids.end()) {
      paths[known->second] = path;
    }
    auto dir = fs::open_dir(target(), k_cwd, path);
    if (!dir) {
      m_cut_errors.push_back(dir.error().message());
      continue;
    }
    auto entries = target().list_dir(dir->fd());
    if (!entries) {
      m_cut_errors.push_back(entries.error().message());
      continue;
    }
    for (const auto& e : *entries) {
      if (e.type == FileType::directory || e.type == FileType::unknown) {
        stack.push_back(under(path, e.name));
      }
    }
  }
  for (auto it = m_changes.rbegin(); it != m_changes.rend(); ++it) {
    if (!durable(*it)) {
      undo(*it, paths);
    }
  }
  // The lock file's holder text was never synced.
  for (const auto& [fd, file] : m_lock_files) {
    if (auto w = target().write_fd(fd, file.second); !w) {
      m_cut_errors.push_back(w.error().message());
    }
  }
  (void)remove_tree(target(), k_cwd, m_save_dir, m_save_dir);
  m_save_dir.clear();
}

void FaultFs::undo(const Change& c, std::map<DirId, std::string>& paths) {
  auto path_of = [&](DirId parent, const std::string& name) -> std::string {
    auto it = paths.find(parent);
    return it == paths.end() ? std::string() : under(it->second, name);
  };
  // Is `st` the entry the change made? A directory is compared by id: one
  // whose rmdir was undone is the same directory with a new inode.
  auto same = [&](const Result<Stat>& st) {
    if (!st) {
      return false;
    }
    if (c.dir >= 0) {
      auto it = m_ids.find({st->dev, st->ino});
      return st->is_dir() && it != m_ids.end() && it->second == c.dir;
    }
    return st->ino == c.ino;
  };
  // A directory the undo re-created carries the old one's id.
  auto remade = [&](const std::string& path, DirId id) {
    if (auto st = target().lstat(k_cwd, path)) {
      m_ids[{st->dev, st->ino}] = id;
      paths[id] = path;
    }
  };
  auto note = [&](const Status& s) {
    if (!s) {
      m_cut_errors.push_back(s.error().message());
    }
  };
  std::string p = path_of(c.parent, c.name);
  if (p.empty()) {
    return;  // outside the root (or below a directory the cut removed)
  }
  auto now = target().lstat(k_cwd, p);
  switch (c.kind) {
    case Kind::create: {
      if (!same(now)) {
        ++m_kept;
        return;
      }
      if (now->is_dir()) {
        note(remove_tree(target(), k_cwd, p, p));
        for (auto it = paths.begin(); it != paths.end();) {
          it = has_prefix(it->second, p) ? paths.erase(it) : std::next(it);
        }
      } else {
        note(target().unlink(k_cwd, p));
      }
      ++m_undone;
      return;
    }
    case Kind::rename: {
      std::string p2 = path_of(c.parent2, c.name2);
      auto moved =
          p2.empty() ? Result<Stat>(sys_error(ENOENT, "stat", p2)) : target().lstat(k_cwd, p2);
      if (p2.empty() || !same(moved) || now) {
        ++m_kept;
        return;
      }
      note(target().rename(k_cwd, p2, k_cwd, p, RenameMode::no_replace));
      if (c.dir >= 0) {
        for (auto& [id, path] : paths) {
          if (has_prefix(path, p2)) {
            path = p + path.substr(p2.size());
          }
        }
      }
      if (!c.saved.empty()) {
        note(target().rename(k_cwd, under(m_save_dir, c.saved), k_cwd, p2, RenameMode::no_replace));
      } else if (c.replaced_dir) {
        note(target().mkdir(k_cwd, p2, c.old.mode & 07777));
        note(target().set_metadata(k_cwd, p2, metadata_of(c.old)));
        remade(p2, c.dir2);
      }
      ++m_undone;
      return;
    }
    case Kind::unlink: {
      if (c.saved.empty() || now) {
        ++m_kept;
        return;
      }
      note(target().rename(k_cwd, under(m_save_dir, c.saved), k_cwd, p, RenameMode::no_replace));
      ++m_undone;
      return;
    }
    case Kind::rmdir: {
      if (now) {
        ++m_kept;
        return;
      }
      if (!c.saved.empty()) {
        note(target().rename(k_cwd, under(m_save_dir, c.saved), k_cwd, p, RenameMode::no_replace));
        paths[c.dir] = p;
      } else {
        note(target().mkdir(k_cwd, p, c.old.mode & 07777));
        note(target().set_metadata(k_cwd, p, metadata_of(c.old)));
        remade(p, c.dir);
      }
      ++m_undone;
      return;
    }
    case Kind::metadata: {
      if (!same(now)) {
        ++m_kept;
        return;
      }
      note(target().set_metadata(k_cwd, p, metadata_of(c.old)));
      ++m_undone;
      return;
    }
  }
}

// --- the calls ----------------------------------------------------------------

#define FAULT_GUARD(op, call, what)            \
  do {                                         \
    int fault_err_ = 0;                        \
    if (refuse(op, call, what, &fault_err_)) { \
      return sys_error(fault_err_, op, what);  \
    }                                          \
  } while (false)

// For a call that has only a descriptor: the journal says "<fd>", the Error
// has an empty path, as PosixFs's (the caller names the directory).
#define FAULT_GUARD_FD(op, call)                 \
  do {                                           \
    int fault_err_ = 0;                          \
    if (refuse(op, call, "<fd>", &fault_err_)) { \
      return sys_error(fault_err_, op, "");      \
    }                                            \
  } while (false)

Result<int> FaultFs::open_dir(int d, const std::string& n) {
  FAULT_GUARD("open_dir", Call::reads, n);
  return FsWrapper::open_dir(d, n);
}
void FaultFs::close(int fd) {
  m_lock_files.erase(fd);
  m_listed.erase(fd);
  FsWrapper::close(fd);
}
Result<std::vector<DirEntry>> FaultFs::list_dir(int d) {
  FAULT_GUARD_FD("list_dir", Call::reads);
  if (!m_listed.insert(d).second) {
    // fs.hpp: PosixFs does not rewind, so a second listing would be empty.
    return sys_error(EINVAL, "list_dir", "", "(descriptor listed twice: open it again)");
  }
  return FsWrapper::list_dir(d);
}
Result<Stat> FaultFs::lstat(int d, const std::string& n) {
  FAULT_GUARD("lstat", Call::reads, n);
  return FsWrapper::lstat(d, n);
}
Result<std::string> FaultFs::readlink(int d, const std::string& n) {
  FAULT_GUARD("readlink", Call::reads, n);
  return FsWrapper::readlink(d, n);
}
Result<long> FaultFs::link_max(int d) {
  FAULT_GUARD_FD("link_max", Call::reads);
  if (m_link_limit > 0) {
    return m_link_limit;
  }
  return FsWrapper::link_max(d);
}
Result<XattrSupport> FaultFs::probe_xattr_support(int d) {
  // Leaves the directory as it was: a read as far as faults are concerned.
  FAULT_GUARD_FD("probe_xattr_support", Call::reads);
  return FsWrapper::probe_xattr_support(d);
}
Result<int> FaultFs::open_read(int d, const std::string& n) {
  FAULT_GUARD("open_read", Call::reads, n);
  return FsWrapper::open_read(d, n);
}
Result<size_t> FaultFs::read_fd(int fd, char* b, size_t n) {
  FAULT_GUARD_FD("read_fd", Call::reads);
  return FsWrapper::read_fd(fd, b, n);
}
Result<std::string> FaultFs::read_file(int d, const std::string& n) {
  FAULT_GUARD("read_file", Call::reads, n);
  return FsWrapper::read_file(d, n);
}
Result<std::vector<std::pair<std::string, std::string>>> FaultFs::get_xattrs(int d,
                                                                             const std::string& n) {
  FAULT_GUARD("get_xattrs", Call::reads, n);
  return FsWrapper::get_xattrs(d, n);
}

// A new name (d, n) now exists: record its creation.
#define RECORD_CREATE(d, n)            \
  do {                                 \
    if (r && recording()) {            \
      auto st_ = target().lstat(d, n); \
      if (st_) {                       \
        Where w_ = where(d, n);        \
        Change c_{Kind::create};       \
        c_.parent = w_.parent;         \
        c_.name = w_.name;             \
        c_.ino = st_->ino;             \
        c_.dir = id_of(*st_);          \
        push(std::move(c_));           \
      }                                \
    }                                  \
    after_call();                      \
  } while (false)

Status FaultFs::mkdir(int d, const std::string& n, mode_t m) {
  FAULT_GUARD("mkdir", Call::mutates, n);
  auto r = FsWrapper::mkdir(d, n, m);
  RECORD_CREATE(d, n);
  return r;
}
Status FaultFs::link(int od, const std::string& on, int nd, const std::string& nn) {
  FAULT_GUARD("link", Call::mutates, on + " -> " + nn);
  if (m_link_limit > 0) {
    auto st = target().lstat(od, on);
    if (st && static_cast<long>(st->nlink) >= m_link_limit) {
      return sys_error(EMLINK, "link", on);
    }
  }
  auto r = FsWrapper::link(od, on, nd, nn);
  RECORD_CREATE(nd, nn);
  return r;
}
Status FaultFs::symlink(const std::string& t, int d, const std::string& n) {
  FAULT_GUARD("symlink", Call::mutates, n);
  auto r = FsWrapper::symlink(t, d, n);
  RECORD_CREATE(d, n);
  return r;
}
Status FaultFs::copy_data(int od, const std::string& on, int nd, const std::string& nn) {
  FAULT_GUARD("copy_data", Call::mutates, on + " -> " + nn);
  auto r = FsWrapper::copy_data(od, on, nd, nn);
  RECORD_CREATE(nd, nn);
  return r;
}
Status FaultFs::write_file(int d, const std::string& n, std::string_view c) {
  FAULT_GUARD("write_file", Call::mutates, n);
  // Over an existing file only the (fsynced) content changes: durable.
  bool existed = recording() && target().lstat(d, n).has_value();
  auto r = FsWrapper::write_file(d, n, c);
  if (existed) {
    after_call();
    return r;
  }
  RECORD_CREATE(d, n);
  return r;
}

#undef RECORD_CREATE

Status FaultFs::rename(int od, const std::string& on, int nd, const std::string& nn, RenameMode m) {
  FAULT_GUARD("rename", Call::mutates, on + " -> " + nn);
  Change c{Kind::rename};
  bool rec = recording();
  if (rec) {
    auto st = target().lstat(od, on);
    if (st) {
      c.ino = st->ino;
      c.dir = id_of(*st);
    }
    if (m == RenameMode::replace) {
      auto old = target().lstat(nd, nn);
      if (old && old->is_dir()) {
        c.replaced_dir = true;
        c.old = *old;
        c.dir2 = id_of(*old);
      } else if (old) {
        c.saved = save(nd, nn);
      }
    }
  }
  auto r = FsWrapper::rename(od, on, nd, nn, m);
  if (rec && r) {
    Where w1 = where(od, on);
    Where w2 = where(nd, nn);
    c.parent = w1.parent;
    c.name = w1.name;
    c.parent2 = w2.parent;
    c.name2 = w2.name;
    if (c.replaced_dir) {
      m_ids.erase({c.old.dev, c.old.ino});
    }
    push(std::move(c));
  } else if (rec && !c.saved.empty()) {
    (void)target().unlink(k_cwd, under(m_save_dir, c.saved));
  }
  after_call();
  return r;
}
Status FaultFs::unlink(int d, const std::string& n) {
  FAULT_GUARD("unlink", Call::mutates, n);
  bool rec = recording();
  std::string saved = rec ? save(d, n) : std::string();
  auto r = FsWrapper::unlink(d, n);
  if (rec && r) {
    Where w = where(d, n);
    Change c{Kind::unlink};
    c.parent = w.parent;
    c.name = w.name;
    c.saved = saved;
    push(std::move(c));
  } else if (!saved.empty()) {
    (void)target().unlink(k_cwd, under(m_save_dir, saved));
  }
  after_call();
  return r;
}
Status FaultFs::rmdir(int d, const std::string& n) {
  FAULT_GUARD("rmdir", Call::mutates, n);
  bool rec = recording();
  auto old = rec ? target().lstat(d, n) : Result<Stat>(Stat{});
  // An empty directory is moved into the save area instead, so that an undo
  // brings back the same inode (what a lost rmdir leaves); anything else
  // gets the real rmdir and its real error.
  std::string saved;
  if (rec && old && old->is_dir()) {
    if (auto h = fs::open_dir(target(), d, n)) {
      auto entries = target().list_dir(h->fd());
      if (entries && entries->empty()) {
        saved = std::to_string(m_saved_count++);
      }
    }
  }
  auto r = saved.empty()
               ? FsWrapper::rmdir(d, n)
               : FsWrapper::rename(d, n, k_cwd, under(m_save_dir, saved), RenameMode::no_replace);
  if (rec && r && old) {
    Where w = where(d, n);
    Change c{Kind::rmdir};
    c.parent = w.parent;
    c.name = w.name;
    c.dir = id_of(*old);
    c.old = *old;
    c.saved = saved;
    push(std::move(c));
  }
  after_call();
  return r;
}
Status FaultFs::set_metadata(int d, const std::string& n, const Metadata& m) {
  FAULT_GUARD("set_metadata", Call::mutates, n);
  bool rec = recording();
  auto old = rec ? target().lstat(d, n) : Result<Stat>(Stat{});
  auto r = FsWrapper::set_metadata(d, n, m);
  if (rec && r && old) {
    Where w = where(d, n);
    Change c{Kind::metadata};
    c.parent = w.parent;
    c.name = w.name;
    c.ino = old->ino;
    c.dir = id_of(*old);
    c.old = *old;
    push(std::move(c));
  }
  after_call();
  return r;
}
Status FaultFs::set_xattr(int d, const std::string& n, const std::string& k, const std::string& v) {
  FAULT_GUARD("set_xattr", Call::mutates, n);
  auto r = FsWrapper::set_xattr(d, n, k, v);
  after_call();
  return r;
}
Status FaultFs::fsync_dir(int d) {
  FAULT_GUARD_FD("fsync_dir", Call::mutates);
  // Power-cut mode: the model decides what is durable; the real sync would
  // only make the enumeration wait for the disk.
  auto r = m_mode == Mode::power_cut ? ok() : FsWrapper::fsync_dir(d);
  if (r && recording()) {
    DirId id = dir_id(d, "");
    if (id >= 0) {
      m_synced[id] = ++m_seq;
    }
  }
  after_call();
  return r;
}
Status FaultFs::sync_fs(int d) {
  FAULT_GUARD_FD("sync_fs", Call::mutates);
  auto r = m_mode == Mode::power_cut ? ok() : FsWrapper::sync_fs(d);
  if (r && recording()) {
    m_fs_synced = ++m_seq;
  }
  after_call();
  return r;
}
Result<int> FaultFs::lock_file(const std::string& p, LockMode m) {
  bool rec = recording();
  bool existed = rec && target().lstat(k_cwd, p).has_value();
  std::string content;
  if (existed) {
    auto text = target().read_file(k_cwd, p);
    content = text ? *text : std::string();
  }
  auto r = FsWrapper::lock_file(p, m);
  if (rec && r) {
    m_lock_files[*r] = {p, content};
    if (!existed) {
      if (auto st = target().lstat(k_cwd, p)) {
        Where w = where(k_cwd, p);
        Change c{Kind::create};
        c.parent = w.parent;
        c.name = w.name;
        c.ino = st->ino;
        push(std::move(c));
      }
    }
  }
  return r;
}
Status FaultFs::write_fd(int fd, std::string_view c) { return FsWrapper::write_fd(fd, c); }

#undef FAULT_GUARD

}  // namespace rotator::fs
