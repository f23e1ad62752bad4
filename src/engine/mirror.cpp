#include "engine/mirror.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

namespace rotator::engine {

namespace {

using fs::DirEntry;
using fs::FileType;

enum class TState {
  existing,  // T directory was there before this run
  created,   // created by this run (in a dry run: would be)
  pending,   // not in T (yet): created only when something goes in it
};

// One directory of the walk: the S directory and its T counterpart.
struct Level {
  Level* parent = nullptr;
  std::string name;    // component in the parent; empty for the root
  size_t rel_len = 0;  // length of this directory's relative path
  size_t depth = 0;    // 0 for the root
  fs::DirHandle s;
  fs::DirHandle t;  // invalid while pending (and in a dry run when created)
  TState tstate = TState::pending;
  fs::Stat s_stat;
  fs::Stat t_stat;                    // valid when existing
  bool content = false;               // a selected non-directory is below
  bool kept = false;                  // a protected T entry stays below
  bool modified = false;              // this run added or removed entries of T's directory
  bool archived_below = false;        // an entry below went to the sink
  AddKind add_kind = AddKind::fresh;  // pending: what its creation will be
  // t_stat is a real stat of T's directory (mode and owner are as it says;
  // the times are too unless this walk changed the directory's entries).
  bool t_known = false;
  // A mkdir in T's directory gives what fs::Creation says (no setgid bit,
  // no default ACL); for a created directory: so did its own mkdir.
  bool plain = false;
};

// The mode a new T directory is made with: S's permission bits, and always
// the owner's (it is filled before its metadata is set).
mode_t creation_mode(const fs::Stat& s) { return (s.mode & 0777) | 0700; }

bool metadata_differs(const fs::Stat& a, const fs::Stat& b) {
  return a.mode != b.mode || a.uid != b.uid || a.gid != b.gid || a.mtime.tv_sec != b.mtime.tv_sec ||
         a.mtime.tv_nsec != b.mtime.tv_nsec;
}

bool by_name(const DirEntry& a, const DirEntry& b) { return a.name < b.name; }

// Which part of a walk a Walker does. mirror() is Part::whole; mirror_fresh
// splits a fresh build into one Part::subtree per top-level directory (run
// by the workers) and one Part::top (the root level, after them).
enum class Part {
  whole,
  subtree,  // T's root was just created for this walk (empty): a created directory
  top,      // T's root is the fresh build's (empty but for the prebuilt subtrees)
};

class Walker {
 public:
  Walker(fs::Fs& fs, const std::string& src_root, const std::string& dst_root,
         const MirrorOptions& opt, Part part = Part::whole,
         const std::vector<std::string>* prebuilt = nullptr)
      : m_fs(fs),
        m_part(part),
        m_prebuilt(prebuilt),
        m_opt(opt),
        m_src_root(src_root),
        m_dst_root(dst_root),
        m_src_disp(opt.src_display.empty() ? src_root : opt.src_display),
        m_dst_disp(opt.dst_display.empty() ? dst_root : opt.dst_display),
        m_sel(opt.selector ? opt.selector : &m_select_all),
        m_all(m_sel->selects_everything()),
        m_dry(opt.dry_run == DryRun::yes) {}

  Result<MirrorStats> run();

 private:
  Status walk(Level& dir);
  Status entry(Level& dir, const DirEntry* s, const DirEntry* t);
  Status descend(Level& dir, const DirEntry& s, TState tstate, AddKind kind = AddKind::fresh);
  Status finish_child(Level& dir, Level& child);
  Status finish_meta(Level& dir, int s_parent, const std::string& s_name, int t_parent,
                     const std::string& t_name);
  Status materialize(Level& dir);
  Status link_entry(Level& dir, const DirEntry& s, AddKind kind, const fs::Stat* s_stat = nullptr);
  Status copy_emlink(Level& dir, const DirEntry& s, const fs::Stat* s_stat);
  Result<bool> is_emlink_copy(Level& dir, const DirEntry& s, const fs::Stat& sst);
  Status archive(Level& dir);
  Status archive_unselected(Level& dir, const DirEntry& t);
  Status descend_protected(Level& dir, const DirEntry& t);
  Result<bool> has_protected(int parent_fd, const std::string& name);
  Status remove_pruned(Level& dir, Level& child);

  Result<std::vector<DirEntry>> list_sorted(int fd, const std::string& disp_root);
  Result<bool> plain_root(const Level& root);
  Status check_prediction(const Level& dir);
  fs::MetaParts parts_needed(const Level& dir) const;
  void emit(std::string_view action, std::string_view path, std::string_view target = {});
  std::string src_path(std::string_view rel) const { return join(m_src_disp, rel); }
  std::string dst_path(std::string_view rel) const { return join(m_dst_disp, rel); }
  static std::string join(const std::string& root, std::string_view rel) {
    std::string out = root;
    if (!rel.empty()) {
      out += '/';
      out += rel;
    }
    return out;
  }
  std::string_view rel_of(const Level& dir) const {
    return std::string_view(m_rel).substr(0, dir.rel_len);
  }
  void push_name(const std::string& name) {
    if (!m_rel.empty()) {
      m_rel += '/';
    }
    m_rel += name;
  }

  fs::Fs& m_fs;
  Part m_part;
  const std::vector<std::string>*
      m_prebuilt;  // Part::top: sorted top-level directories already built
  // Progress counting: atomic increments only (no system call).
  void progress_done() {
    if (m_opt.progress) {
      m_opt.progress->count_done();
    }
  }
  void progress_archived() {
    if (m_opt.progress) {
      m_opt.progress->count_archived();
    }
  }
  void add_linked_bytes(long long n) {
    m_stats.linked_bytes += n;
    if (m_opt.progress) {
      m_opt.progress->count_linked_bytes(n);
    }
  }
  const MirrorOptions& m_opt;
  const std::string& m_src_root;
  const std::string& m_dst_root;
  std::string m_src_disp;
  std::string m_dst_disp;
  filter::SelectAll m_select_all;
  filter::Selector* m_sel;
  bool m_all;
  bool m_dry;
  std::string m_rel;        // relative path of the entry being processed
  std::vector<int> m_tfds;  // T descriptors from the root down (-1: pending)
  // For the sink: the stats of the T directories from the root down to
  // `dir` that are still current (t_known, entries not changed by this
  // walk), null for the others. Reuses one buffer.
  std::span<const fs::Stat* const> t_stats_of(const Level& dir) {
    m_tstats.assign(dir.depth + 1, nullptr);
    for (const Level* l = &dir; l != nullptr; l = l->parent) {
      if (l->t_known && !l->modified && l->depth < m_tstats.size()) {
        m_tstats[l->depth] = &l->t_stat;
      }
    }
    return m_tstats;
  }
  std::vector<const fs::Stat*> m_tstats;
  std::string m_line;  // reused plan line buffer
  MirrorStats m_stats;
  long m_link_max = 0;      // S's filesystem link limit; 0: not asked yet
  fs::Creation m_creation;  // known: predict what mkdir makes
  enum class Prediction { unchecked, right, wrong } m_prediction = Prediction::unchecked;
};

void Walker::emit(std::string_view action, std::string_view path, std::string_view target) {
  if (!m_opt.plan) {
    return;
  }
  m_line.assign(action);
  m_line += ' ';
  m_line += path.empty() ? std::string_view(".") : path;
  if (!target.empty()) {
    m_line += " -> ";
    m_line += target;
  }
  m_opt.plan(m_line);
}

Result<std::vector<DirEntry>> Walker::list_sorted(int fd, const std::string& disp_root) {
  auto listed = m_fs.list_dir(fd);
  if (!listed) {
    return with_context(listed.error(), "read directory", join(disp_root, m_rel));
  }
  std::vector<DirEntry>& list = *listed;
  for (DirEntry& e : list) {
    if (e.type == FileType::unknown) {
      auto st = m_fs.lstat(fd, e.name);
      if (!st) {
        push_name(e.name);
        Error err = with_context(st.error(), "stat", join(disp_root, m_rel));
        return err;
      }
      e.type = st->type();
      e.ino = st->ino;
    }
  }
  std::sort(list.begin(), list.end(), by_name);
  return std::move(*listed);
}

// True when a mkdir in T's root gives what m_creation says: no setgid bit
// (the group would be the root's) and no default ACL (it, not the umask,
// would decide the mode). Below the root, directories this walk creates have
// neither until their metadata is set, after their own subdirectories.
Result<bool> Walker::plain_root(const Level& root) {
  if ((root.t_stat.mode & S_ISGID) != 0) {
    return false;
  }
  auto x = m_fs.get_xattrs(root.t.fd(), "");
  if (!x) {
    return with_context(x.error(), "read xattrs of", m_dst_disp);
  }
  for (const auto& kv : *x) {
    if (kv.first == "system.posix_acl_default") {
      return false;
    }
  }
  return true;
}

// The first directory this walk creates is stat'ed once: a filesystem that
// maps owners (NFS root squash) or modes gives no prediction to trust.
Status Walker::check_prediction(const Level& dir) {
  auto st = m_fs.lstat(dir.t.fd(), "");
  if (!st) {
    return with_context(st.error(), "stat", dst_path(rel_of(dir)));
  }
  bool right = st->uid == m_creation.uid && st->gid == m_creation.gid &&
               (st->mode & 07777) == (creation_mode(dir.s_stat) & ~m_creation.umask);
  m_prediction = right ? Prediction::right : Prediction::wrong;
  return ok();
}

// The writes a finished directory needs: what differs from what T's
// directory is known to have (its stat, or what its mkdir gave); times
// whenever this walk changed its entries. Everything when nothing is known.
fs::MetaParts Walker::parts_needed(const Level& dir) const {
  fs::Stat predicted;
  const fs::Stat* cur = nullptr;
  if (dir.t_known) {
    cur = &dir.t_stat;
  } else if (dir.tstate == TState::created && dir.plain && m_prediction == Prediction::right) {
    predicted.uid = m_creation.uid;
    predicted.gid = m_creation.gid;
    predicted.mode = creation_mode(dir.s_stat) & ~m_creation.umask;
    cur = &predicted;
  }
  if (cur == nullptr) {
    return fs::MetaParts::all;
  }
  const fs::Stat& s = dir.s_stat;
  fs::MetaParts parts = fs::MetaParts::none;
  if (cur->uid != s.uid || cur->gid != s.gid) {
    parts = parts | fs::MetaParts::owner;
    if ((s.mode & (S_ISUID | S_ISGID)) != 0) {
      parts = parts | fs::MetaParts::mode;  // a chown may clear those bits
    }
  }
  if ((cur->mode & 07777) != (s.mode & 07777)) {
    parts = parts | fs::MetaParts::mode;
  }
  if (dir.tstate == TState::created || dir.modified || cur->mtime.tv_sec != s.mtime.tv_sec ||
      cur->mtime.tv_nsec != s.mtime.tv_nsec) {
    parts = parts | fs::MetaParts::times;
  }
  return parts;
}

Result<MirrorStats> Walker::run() {
  Level root;
  root.tstate = TState::existing;
  auto s = fs::open_dir(m_fs, fs::k_cwd, m_src_root);
  if (!s) {
    return with_context(s.error(), "open directory", m_src_disp);
  }
  root.s = std::move(*s);
  auto sst = m_fs.lstat(root.s.fd(), "");
  if (!sst) {
    return with_context(sst.error(), "stat", m_src_disp);
  }
  root.s_stat = *sst;
  if (m_opt.target_root == MirrorOptions::TargetRoot::absent) {
    if (!m_dry) {
      return plain_error("'" + m_dst_disp + "' is absent: only a dry run can plan into it");
    }
    root.tstate = TState::created;
    TRY(walk(root));
    TRY(finish_meta(root, fs::k_cwd, m_src_root, fs::k_cwd, m_dst_root));
    return m_stats;
  }
  auto t = fs::open_dir(m_fs, fs::k_cwd, m_dst_root);
  if (!t) {
    return with_context(t.error(), "open directory", m_dst_disp);
  }
  root.t = std::move(*t);
  auto tst = m_fs.lstat(root.t.fd(), "");
  if (!tst) {
    return with_context(tst.error(), "stat", m_dst_disp);
  }
  root.t_stat = *tst;
  if (root.s_stat.dev != root.t_stat.dev) {
    // Equal inode numbers would mean nothing, and no link could be made.
    return sys_error(EXDEV, "mirror", m_src_disp, "to '" + m_dst_disp + "'");
  }
  root.t_known = true;
  if (!m_dry) {
    m_creation = m_fs.creation();
    if (m_creation.known) {
      TRY_ASSIGN(root.plain, plain_root(root));
    }
  }
  if (m_part != Part::whole) {
    // A fresh build's directory: nothing in T to list or compare.
    root.tstate = TState::created;
    if (m_part == Part::subtree) {
      ++m_stats.dirs_created;
    }
  }
  TRY(walk(root));
  TRY(finish_meta(root, fs::k_cwd, m_src_root, fs::k_cwd, m_dst_root));
  return m_stats;
}

// Processes the entries of one directory pair, in name order. On entry and
// on return m_rel is the directory's relative path.
Status Walker::walk(Level& dir) {
  if (!m_all) {
    TRY(m_sel->enter_dir(m_fs, dir.s.fd(), m_rel));
  }
  TRY_ASSIGN(std::vector<DirEntry> s_list, list_sorted(dir.s.fd(), m_src_disp));
  std::vector<DirEntry> t_list;
  if (dir.tstate == TState::existing) {
    TRY_ASSIGN(t_list, list_sorted(dir.t.fd(), m_dst_disp));
  }
  m_tfds.push_back(dir.t.valid() ? dir.t.fd() : -1);
  size_t i = 0;
  size_t j = 0;
  const size_t base = m_rel.size();
  while (i < s_list.size() || j < t_list.size()) {
    const DirEntry* s = nullptr;
    const DirEntry* t = nullptr;
    if (j >= t_list.size() || (i < s_list.size() && s_list[i].name < t_list[j].name)) {
      s = &s_list[i++];
    } else if (i >= s_list.size() || t_list[j].name < s_list[i].name) {
      t = &t_list[j++];
    } else {
      s = &s_list[i++];
      t = &t_list[j++];
    }
    push_name(s ? s->name : t->name);
    TRY(entry(dir, s, t));
    m_rel.resize(base);
  }
  m_tfds.pop_back();
  if (!m_all) {
    m_sel->leave_dir();
  }
  return ok();
}

// One name of a directory: `s` the S entry, `t` the T entry (either may be
// null). m_rel is the entry's relative path.
Status Walker::entry(Level& dir, const DirEntry* s, const DirEntry* t) {
  bool selected = s && (m_all || m_sel->included(m_rel, s->type == FileType::directory));
  if (selected && m_prebuilt && dir.depth == 0 && s->type == FileType::directory &&
      std::binary_search(m_prebuilt->begin(), m_prebuilt->end(), s->name)) {
    // Built by a mirror_fresh worker (counted there); named here in walk order.
    emit("mkdir", m_rel);
    emit("meta", m_rel);
    return ok();
  }
  if (selected) {
    if (t) {
      if (s->type == FileType::directory && t->type == FileType::directory) {
        return descend(dir, *s, TState::existing);
      }
      if (s->type == t->type && s->ino == t->ino) {
        ++m_stats.unchanged;
        progress_done();
        dir.content = true;
        return ok();
      }
      if (s->type == FileType::regular && t->type == FileType::regular) {
        // S/p is stat'ed once: the same Stat answers the EMLINK-copy
        // question, the byte count and an EMLINK fallback's metadata.
        auto sst = m_fs.lstat(dir.s.fd(), s->name);
        if (!sst) {
          return with_context(sst.error(), "stat", src_path(m_rel));
        }
        TRY_ASSIGN(bool copy, is_emlink_copy(dir, *s, *sst));
        if (copy) {
          ++m_stats.emlink_copies_kept;
          progress_done();
          dir.content = true;
          return ok();
        }
        TRY(archive(dir));
        return link_entry(dir, *s, AddKind::replaces_displaced, &*sst);
      }
      // Changed or type changed: the old entry goes first, then the new one.
      TRY(archive(dir));
    }
    // The new entry takes the place of the one just displaced, if any.
    AddKind kind = t ? AddKind::replaces_displaced : AddKind::fresh;
    if (s->type == FileType::directory) {
      return descend(dir, *s, TState::pending, kind);
    }
    return link_entry(dir, *s, kind);
  }
  if (!t) {
    return ok();
  }
  // Nothing in T is ever deleted by name: a leftover `.rotator-partial.*`
  // copy of a crashed EMLINK fallback goes to the sink like any other entry
  // (a user's own file may carry such a name).
  if (!m_all && m_sel->protects(m_rel, t->type == FileType::directory)) {
    ++m_stats.protected_kept;
    dir.kept = true;
    return ok();
  }
  return archive_unselected(dir, *t);
}

// S/p and T/p are regular files, different inodes. True when T/p is the
// copy an earlier run made because S/p is at the filesystem's link limit
// (copy_emlink), and still equal to it: S/p has link_max() links (so no link
// could replace the copy) and size, mtime, mode, owner and group match.
// `sst` is S/p's lstat (the caller's, which it reuses for linking); this
// costs an lstat of T/p only when S/p is at the limit. The link limit is
// asked once per walk.
Result<bool> Walker::is_emlink_copy(Level& dir, const DirEntry& s, const fs::Stat& sst) {
  if (m_link_max == 0) {
    auto limit = m_fs.link_max(dir.s.fd());
    if (!limit) {
      return with_context(limit.error(), "query the link limit of", src_path(m_rel));
    }
    m_link_max = *limit;
  }
  if (static_cast<long>(sst.nlink) < m_link_max) {
    return false;
  }
  auto tst = m_fs.lstat(dir.t.fd(), s.name);
  if (!tst) {
    return with_context(tst.error(), "stat", dst_path(m_rel));
  }
  return tst->type() == FileType::regular && tst->size == sst.size && !metadata_differs(sst, *tst);
}

Status Walker::descend(Level& dir, const DirEntry& s, TState tstate, AddKind kind) {
  Level child;
  child.add_kind = kind;
  child.parent = &dir;
  child.name = s.name;
  child.rel_len = m_rel.size();
  child.depth = dir.depth + 1;
  child.tstate = tstate;
  auto sd = fs::open_dir(m_fs, dir.s.fd(), s.name);
  if (!sd) {
    return with_context(sd.error(), "open directory", src_path(m_rel));
  }
  child.s = std::move(*sd);
  auto sst = m_fs.lstat(child.s.fd(), "");
  if (!sst) {
    return with_context(sst.error(), "stat", src_path(m_rel));
  }
  child.s_stat = *sst;
  if (tstate == TState::existing) {
    auto td = fs::open_dir(m_fs, dir.t.fd(), s.name);
    if (!td) {
      return with_context(td.error(), "open directory", dst_path(m_rel));
    }
    child.t = std::move(*td);
    auto tst = m_fs.lstat(child.t.fd(), "");
    if (!tst) {
      return with_context(tst.error(), "stat", dst_path(m_rel));
    }
    child.t_stat = *tst;
    child.t_known = true;
  }
  TRY(walk(child));
  // The descriptors stay open for finish_child: xattrs are read through them.
  return finish_child(dir, child);
}

// After a child directory's contents are done: create it if it must exist
// and is still missing, set its metadata, or prune it.
Status Walker::finish_child(Level& dir, Level& child) {
  if (m_opt.prune_empty == PruneEmpty::yes && !child.content && !child.kept && !m_all &&
      m_sel->keeps_empty_dir(std::string(rel_of(child)))) {
    child.kept = true;  // rsync -m keeps a protected directory and its ancestors
  }
  dir.content = dir.content || child.content;
  dir.kept = dir.kept || child.kept;
  dir.archived_below = dir.archived_below || child.archived_below;
  bool prune = m_opt.prune_empty == PruneEmpty::yes && !child.content && !child.kept;
  if (child.tstate == TState::pending) {
    if (prune) {
      return ok();
    }
    TRY(materialize(child));
  } else if (child.tstate == TState::existing && prune) {
    return remove_pruned(dir, child);
  }
  return finish_meta(child, dir.s.fd(), child.name, dir.t.valid() ? dir.t.fd() : -1, child.name);
}

Status Walker::finish_meta(Level& dir, int s_parent, const std::string& s_name, int t_parent,
                           const std::string& t_name) {
  std::string_view rel = rel_of(dir);
  bool need =
      dir.tstate == TState::created || dir.modified || metadata_differs(dir.s_stat, dir.t_stat);
  // Read through the held descriptors (flistxattr: no path walk); the
  // writes go by name (the Fs journals them so).
  auto sx = dir.s.valid() ? m_fs.get_xattrs(dir.s.fd(), "") : m_fs.get_xattrs(s_parent, s_name);
  if (!sx) {
    return with_context(sx.error(), "read xattrs of", src_path(rel));
  }
  std::vector<std::pair<std::string, std::string>> missing;
  if (!sx->empty()) {
    std::vector<std::pair<std::string, std::string>> tx;
    if (!(m_dry && dir.tstate == TState::created)) {
      auto got =
          dir.t.valid() ? m_fs.get_xattrs(dir.t.fd(), "") : m_fs.get_xattrs(t_parent, t_name);
      if (!got) {
        return with_context(got.error(), "read xattrs of", dst_path(rel));
      }
      tx = std::move(*got);
    }
    for (auto& kv : *sx) {
      if (std::find(tx.begin(), tx.end(), kv) == tx.end()) {
        missing.push_back(kv);
      }
    }
  }
  if (!need && missing.empty()) {
    return ok();
  }
  if (!m_dry) {
    for (auto& [key, value] : missing) {
      auto st = m_fs.set_xattr(t_parent, t_name, key, value);
      if (!st) {
        return with_context(st.error(), "set xattr " + key + " on", dst_path(rel));
      }
    }
    if (need) {
      fs::Metadata meta = fs::metadata_of(dir.s_stat);
      meta.parts = parts_needed(dir);
      auto st = m_fs.set_metadata(t_parent, t_name, meta);
      if (!st) {
        return with_context(st.error(), "set attributes of", dst_path(rel));
      }
    }
  }
  emit("meta", rel);
  ++m_stats.dirs_meta_set;
  return ok();
}

// Creates T's directory for `dir` (and its pending ancestors) with mode 0700;
// its metadata is set once it is filled (finish_meta).
Status Walker::materialize(Level& dir) {
  if (dir.tstate != TState::pending) {
    return ok();
  }
  TRY(materialize(*dir.parent));
  std::string_view rel = rel_of(dir);
  if (!m_dry) {
    Level& parent = *dir.parent;
    if (m_opt.before_add) {
      std::string r(rel);
      TRY(m_opt.before_add(AddInfo{r, FileType::directory, dir.add_kind}));
    }
    auto made = m_fs.mkdir(parent.t.fd(), dir.name, creation_mode(dir.s_stat));
    if (!made) {
      return with_context(made.error(), "create directory", dst_path(rel));
    }
    auto td = fs::open_dir(m_fs, parent.t.fd(), dir.name);
    if (!td) {
      return with_context(td.error(), "open directory", dst_path(rel));
    }
    dir.t = std::move(*td);
    dir.plain = parent.plain && m_creation.known;
    if (dir.plain && m_prediction == Prediction::unchecked) {
      TRY(check_prediction(dir));
    }
    if (dir.depth < m_tfds.size()) {
      m_tfds[dir.depth] = dir.t.fd();
    }
  }
  dir.tstate = TState::created;
  dir.parent->modified = true;
  ++m_stats.dirs_created;
  emit("mkdir", rel);
  return ok();
}

// `s_stat`: S/p's lstat when the caller has one (then no second is made).
Status Walker::link_entry(Level& dir, const DirEntry& s, AddKind kind, const fs::Stat* s_stat) {
  TRY(materialize(dir));
  dir.content = true;
  dir.modified = true;
  if (!m_dry) {
    if (m_opt.before_add) {
      TRY(m_opt.before_add(AddInfo{m_rel, s.type, kind, dir.s.fd(), s.name}));
    }
    auto st = m_fs.link(dir.s.fd(), s.name, dir.t.fd(), s.name);
    if (!st) {
      if (st.error().sys_errno == EMLINK && s.type == FileType::regular) {
        return copy_emlink(dir, s, s_stat);
      }
      return with_context(st.error(), "link", src_path(m_rel), "to '" + dst_path(m_rel) + "'");
    }
  }
  if (m_opt.count_bytes == CountBytes::yes &&
      (s.type == FileType::regular || s.type == FileType::symlink)) {
    if (s_stat != nullptr) {
      add_linked_bytes(s_stat->size);
    } else {
      auto st = m_fs.lstat(dir.s.fd(), s.name);
      if (!st) {
        return with_context(st.error(), "stat", src_path(m_rel));
      }
      add_linked_bytes(st->size);
    }
  }
  ++m_stats.linked;
  progress_done();
  emit("link", m_rel);
  return ok();
}

// The inode is at its link limit: copy the data through a temporary name.
// `s_stat`: S/p's lstat when the caller has one; else it is made here.
Status Walker::copy_emlink(Level& dir, const DirEntry& s, const fs::Stat* s_stat) {
  std::string tmp = std::string(k_partial_prefix) + std::to_string(s.ino);
  size_t slash = m_rel.rfind('/');
  std::string tmp_disp =
      dst_path(slash == std::string::npos ? tmp : m_rel.substr(0, slash + 1) + tmp);
  if (m_opt.before_add) {
    std::string r = slash == std::string::npos ? tmp : m_rel.substr(0, slash + 1) + tmp;
    TRY(m_opt.before_add(AddInfo{r, FileType::regular, AddKind::fresh}));
  }
  auto copied = m_fs.copy_data(dir.s.fd(), s.name, dir.t.fd(), tmp);
  for (int n = 1; !copied && copied.error().sys_errno == EEXIST && n < 1000; ++n) {
    // That name is taken (a leftover of a crashed run, or a user's file that
    // the walk has not reached yet): never remove it, use another name.
    tmp = std::string(k_partial_prefix) + std::to_string(s.ino) + "." + std::to_string(n);
    tmp_disp = dst_path(slash == std::string::npos ? tmp : m_rel.substr(0, slash + 1) + tmp);
    if (m_opt.before_add) {
      std::string r = slash == std::string::npos ? tmp : m_rel.substr(0, slash + 1) + tmp;
      TRY(m_opt.before_add(AddInfo{r, FileType::regular, AddKind::fresh}));
    }
    copied = m_fs.copy_data(dir.s.fd(), s.name, dir.t.fd(), tmp);
  }
  if (!copied) {
    return with_context(copied.error(), "copy", src_path(m_rel), "to '" + tmp_disp + "'");
  }
  fs::Stat st;
  if (s_stat != nullptr) {
    st = *s_stat;
  } else {
    auto got = m_fs.lstat(dir.s.fd(), s.name);
    if (!got) {
      return with_context(got.error(), "stat", src_path(m_rel));
    }
    st = *got;
  }
  auto xattrs = m_fs.get_xattrs(dir.s.fd(), s.name);
  if (!xattrs) {
    return with_context(xattrs.error(), "read xattrs of", src_path(m_rel));
  }
  for (auto& [key, value] : *xattrs) {
    auto set = m_fs.set_xattr(dir.t.fd(), tmp, key, value);
    if (!set) {
      return with_context(set.error(), "set xattr " + key + " on", tmp_disp);
    }
  }
  auto meta = m_fs.set_metadata(dir.t.fd(), tmp, fs::metadata_of(st));
  if (!meta) {
    return with_context(meta.error(), "set attributes of", tmp_disp);
  }
  auto moved = m_fs.rename(dir.t.fd(), tmp, dir.t.fd(), s.name, fs::RenameMode::no_replace);
  if (!moved) {
    return with_context(moved.error(), "rename", tmp_disp, "to '" + dst_path(m_rel) + "'");
  }
  if (m_opt.count_bytes == CountBytes::yes) {
    add_linked_bytes(st.size);
  }
  ++m_stats.copied_emlink;
  progress_done();
  emit("copy", m_rel);
  return ok();
}

// Sends T's entry at m_rel to the sink (one rename).
Status Walker::archive(Level& dir) {
  if (!m_opt.sink) {
    return plain_error("'" + dst_path(m_rel) + "' would be displaced but no sink is configured");
  }
  if (!m_dry) {
    TRY(m_opt.sink->take(m_fs, std::span<const int>(m_tfds.data(), dir.depth + 1), m_rel,
                         dst_path(m_rel), Collision::next_folder, t_stats_of(dir)));
  }
  ++m_stats.archived;
  progress_archived();
  dir.modified = true;
  dir.archived_below = true;
  emit("archive", m_rel, m_opt.sink->display(m_rel));
  return ok();
}

// A T entry that is not selected (deleted or excluded in S) and not
// protected itself. A directory moves whole unless something below it is
// protected; then it stays and only its unprotected entries move.
Status Walker::archive_unselected(Level& dir, const DirEntry& t) {
  if (t.type == FileType::directory && !m_all) {
    TRY_ASSIGN(bool any, has_protected(dir.t.fd(), t.name));
    if (any) {
      return descend_protected(dir, t);
    }
  }
  return archive(dir);
}

// Entering a T directory that is being deleted: rsync's receiver reads its
// per-directory files there (delete_dir_contents) before it tests the
// entries. The guard leaves it on every path out.
class EnteredDir {
 public:
  explicit EnteredDir(filter::Selector* sel) : m_sel(sel) {}
  EnteredDir(const EnteredDir&) = delete;
  EnteredDir& operator=(const EnteredDir&) = delete;
  ~EnteredDir() {
    if (m_sel != nullptr) {
      m_sel->leave_dir();
    }
  }

 private:
  filter::Selector* m_sel;
};

// True when the selector protects some entry below T's directory `name`
// (m_rel is that directory's path), which is being deleted: perishable rules
// do not count there. Read-only.
Result<bool> Walker::has_protected(int parent_fd, const std::string& name) {
  auto td = fs::open_dir(m_fs, parent_fd, name);
  if (!td) {
    return with_context(td.error(), "open directory", dst_path(m_rel));
  }
  TRY(m_sel->enter_deleted_dir(m_fs, td->fd(), m_rel));
  EnteredDir entered(m_sel);
  TRY_ASSIGN(std::vector<DirEntry> list, list_sorted(td->fd(), m_dst_disp));
  const size_t base = m_rel.size();
  for (const DirEntry& e : list) {
    push_name(e.name);
    bool is_dir = e.type == FileType::directory;
    bool found = m_sel->protects(m_rel, is_dir, filter::InsideDeletedDir::yes);
    if (!found && is_dir) {
      auto below = has_protected(td->fd(), e.name);
      if (!below) {
        m_rel.resize(base);
        return below.error();
      }
      found = *below;
    }
    m_rel.resize(base);
    if (found) {
      return true;
    }
  }
  return false;
}

// T-only (or no longer selected) directory holding protected entries: keep
// it, move the rest. It is being deleted, so perishable rules do not count.
Status Walker::descend_protected(Level& dir, const DirEntry& t) {
  Level child;
  child.parent = &dir;
  child.name = t.name;
  child.rel_len = m_rel.size();
  child.depth = dir.depth + 1;
  child.tstate = TState::existing;
  auto td = fs::open_dir(m_fs, dir.t.fd(), t.name);
  if (!td) {
    return with_context(td.error(), "open directory", dst_path(m_rel));
  }
  child.t = std::move(*td);
  TRY(m_sel->enter_deleted_dir(m_fs, child.t.fd(), m_rel));
  EnteredDir entered(m_sel);
  TRY_ASSIGN(std::vector<DirEntry> list, list_sorted(child.t.fd(), m_dst_disp));
  m_tfds.push_back(child.t.fd());
  const size_t base = m_rel.size();
  for (const DirEntry& e : list) {
    push_name(e.name);
    if (m_sel->protects(m_rel, e.type == FileType::directory, filter::InsideDeletedDir::yes)) {
      ++m_stats.protected_kept;
    } else if (Status st = archive_unselected(child, e); !st) {
      m_tfds.pop_back();
      m_rel.resize(base);
      return st;
    }
    m_rel.resize(base);
  }
  m_tfds.pop_back();
  dir.kept = true;
  dir.archived_below = dir.archived_below || child.archived_below;
  return ok();
}

// An existing T directory that PruneEmpty removes: it is empty now.
Status Walker::remove_pruned(Level& dir, Level& child) {
  std::string_view rel = rel_of(child);
  if (!child.archived_below && m_opt.sink) {
    if (m_dry) {
      ++m_stats.archived;
      progress_archived();
      dir.modified = true;
      dir.archived_below = true;
      emit("archive", rel, m_opt.sink->display(std::string(rel)));
      return ok();
    }
    m_rel.resize(child.rel_len);
    TRY_ASSIGN(Taken taken,
               m_opt.sink->take(m_fs, std::span<const int>(m_tfds.data(), dir.depth + 1), m_rel,
                                dst_path(rel), Collision::report, t_stats_of(dir)));
    if (taken == Taken::moved) {
      ++m_stats.archived;
      progress_archived();
      dir.modified = true;
      dir.archived_below = true;
      emit("archive", rel, m_opt.sink->display(m_rel));
      return ok();
    }
  }
  if (!m_dry) {
    auto st = m_fs.rmdir(dir.t.fd(), child.name);
    if (!st) {
      return with_context(st.error(), "remove directory", dst_path(rel));
    }
  }
  ++m_stats.pruned_removed;
  dir.modified = true;
  emit("remove", rel);
  return ok();
}

}  // namespace

Result<MirrorStats> mirror(fs::Fs& fs, const std::string& src_root, const std::string& dst_root,
                           const MirrorOptions& opt) {
  Walker walker(fs, src_root, dst_root, opt);
  return walker.run();
}

Result<MirrorStats> mirror_fresh(fs::Fs& fs, const std::string& src_root,
                                 const std::string& dst_root, const MirrorOptions& opt) {
  bool simple = opt.selector == nullptr && opt.sink == nullptr && !opt.before_add &&
                opt.dry_run == DryRun::no && opt.prune_empty == PruneEmpty::no &&
                opt.target_root == MirrorOptions::TargetRoot::existing;
  if (!simple || !fs.concurrent_safe()) {
    return mirror(fs, src_root, dst_root, opt);
  }
  const std::string sd = opt.src_display.empty() ? src_root : opt.src_display;
  const std::string dd = opt.dst_display.empty() ? dst_root : opt.dst_display;
  std::vector<std::string> dirs;
  {
    auto src = fs::open_dir(fs, fs::k_cwd, src_root);
    if (!src) {
      return with_context(src.error(), "open directory", sd);
    }
    auto entries = fs.list_dir(src->fd());
    if (!entries) {
      return with_context(entries.error(), "read directory", sd);
    }
    for (const auto& e : *entries) {
      fs::FileType t = e.type;
      if (t == fs::FileType::unknown) {
        auto st = fs.lstat(src->fd(), e.name);
        if (!st) {
          return with_context(st.error(), "stat", sd + "/" + e.name);
        }
        t = st->type();
      }
      if (t == fs::FileType::directory) {
        dirs.push_back(e.name);
      }
    }
  }
  std::sort(dirs.begin(), dirs.end());
  {
    auto dst = fs::open_dir(fs, fs::k_cwd, dst_root);
    if (!dst) {
      return with_context(dst.error(), "open directory", dd);
    }
    for (const auto& d : dirs) {
      auto made = fs.mkdir(dst->fd(), d, 0700);
      if (!made) {
        return with_context(made.error(), "create directory", dd + "/" + d);
      }
    }
  }
  std::atomic<size_t> next{0};
  std::mutex mu;
  Status first_error;
  MirrorStats total;
  auto worker = [&] {
    for (size_t i; (i = next.fetch_add(1)) < dirs.size();) {
      MirrorOptions sub = opt;
      sub.plan = nullptr;  // parallel: only the top level reports plan lines
      sub.src_display = sd + "/" + dirs[i];
      sub.dst_display = dd + "/" + dirs[i];
      const std::string s_sub = src_root + "/" + dirs[i];
      const std::string t_sub = dst_root + "/" + dirs[i];
      Walker walker(fs, s_sub, t_sub, sub, Part::subtree);
      auto r = walker.run();
      std::lock_guard<std::mutex> lock(mu);
      if (!r) {
        if (first_error) {
          first_error = r.error();
        }
        next = dirs.size();
        continue;
      }
      total.linked += r->linked;
      total.unchanged += r->unchanged;
      total.dirs_created += r->dirs_created;
      total.dirs_meta_set += r->dirs_meta_set;
      total.copied_emlink += r->copied_emlink;
      total.linked_bytes += r->linked_bytes;
      total.emlink_copies_kept += r->emlink_copies_kept;
    }
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < k_mirror_threads; ++t) {
    threads.emplace_back(worker);
  }
  for (auto& t : threads) {
    t.join();
  }
  TRY(first_error);
  // The root level: its non-directories, then the root's metadata. The
  // prebuilt subtrees are neither listed nor entered again.
  Walker top(fs, src_root, dst_root, opt, Part::top, &dirs);
  TRY_ASSIGN(MirrorStats last, top.run());
  last.linked += total.linked;
  last.unchanged += total.unchanged;
  last.dirs_created += total.dirs_created;
  last.dirs_meta_set += total.dirs_meta_set;
  last.linked_bytes += total.linked_bytes;
  last.emlink_copies_kept += total.emlink_copies_kept;
  last.copied_emlink += total.copied_emlink;
  return last;
}

}  // namespace rotator::engine
