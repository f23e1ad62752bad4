#include "engine/sink.hpp"

#include <sys/stat.h>

#include <cerrno>

namespace rotator::engine {

namespace {

// Splits "a/b/c" into {"a", "b", "c"} (views into `path`).
std::vector<std::string_view> split_path(const std::string& path) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  for (;;) {
    size_t slash = path.find('/', start);
    if (slash == std::string::npos) {
      parts.emplace_back(path.data() + start, path.size() - start);
      return parts;
    }
    parts.emplace_back(path.data() + start, slash - start);
    start = slash + 1;
  }
}

}  // namespace

TreeSink::TreeSink(int parent_fd, std::string folder_name, std::string display_parent)
    : m_parent_fd(parent_fd),
      m_base(std::move(folder_name)),
      m_display_parent(std::move(display_parent)) {}

std::string TreeSink::folder() const {
  return m_index == 0 ? m_base : m_base + "." + std::to_string(m_index);
}

std::string TreeSink::display_folder() const {
  return m_display_parent.empty() ? folder() : m_display_parent + "/" + folder();
}

std::string TreeSink::display(const std::string& rel_path) const {
  return display_folder() + "/" + rel_path;
}

// Whether a mkdir in the sink's parent gives what fs::Creation says: no
// setgid bit, no default ACL there. Only a prediction: when either cannot be
// read, nothing is predicted (every metadata write is made).
void TreeSink::learn_parent(fs::Fs& fs) {
  m_parent_known = true;
  m_creation = fs.creation();
  if (!m_creation.known || m_parent_fd == fs::k_cwd) {
    return;
  }
  auto st = fs.lstat(m_parent_fd, "");
  if (!st || (st->mode & S_ISGID) != 0) {
    return;
  }
  auto x = fs.get_xattrs(m_parent_fd, "");
  if (!x) {
    return;
  }
  for (const auto& kv : *x) {
    if (kv.first == "system.posix_acl_default") {
      return;
    }
  }
  m_parent_plain = true;
}

// Returns the open descriptor of `parent`/`name`, creating it when missing
// (with the permission bits of `meta_fd`'s directory and the owner's rwx,
// then that directory's attributes: `meta` is its stat when the caller has
// one); -1 when `name` exists as a non-directory (a collision).
Result<int> TreeSink::ensure_dir(fs::Fs& fs, int parent, const std::string& name, int meta_fd,
                                 const fs::Stat* meta, bool& plain,
                                 const std::string& display_path) {
  const mode_t mode = meta != nullptr ? (meta->mode & 0777) | 0700 : 0700;
  auto made = fs.mkdir(parent, name, mode);
  if (!made && made.error().sys_errno != EEXIST) {
    return with_context(made.error(), "create directory", display_path);
  }
  auto opened = fs.open_dir(parent, name);
  if (!opened) {
    int e = opened.error().sys_errno;
    if (e == ENOTDIR || e == ELOOP) {
      return -1;
    }
    return with_context(opened.error(), "open directory", display_path);
  }
  const int fd = *opened;
  if (!made) {
    plain = false;  // not made by this sink: its mode is not known
  } else {
    ++m_stats.dirs_created;
    if (Status set = set_made_dir(fs, parent, name, fd, meta_fd, meta, mode, plain, display_path);
        !set) {
      fs.close(fd);
      return set.error();
    }
  }
  return fd;  // the caller's chain owns it from here
}

// Gives the directory `parent`/`name` (open as `fd`), just made with `mode`,
// the attributes of `meta_fd`'s directory: only what mkdir did not already
// give when that can be predicted (see the class comment).
Status TreeSink::set_made_dir(fs::Fs& fs, int parent, const std::string& name, int fd, int meta_fd,
                              const fs::Stat* meta, mode_t mode, bool& plain,
                              const std::string& display_path) {
  fs::Stat st;
  if (meta != nullptr) {
    st = *meta;
  } else {
    auto got = fs.lstat(meta_fd, "");
    if (!got) {
      return with_context(got.error(), "stat", display_path);
    }
    st = *got;
  }
  fs::Metadata md = fs::metadata_of(st);
  if (meta != nullptr && !m_parent_known) {
    learn_parent(fs);
  }
  if (meta != nullptr && plain && m_parent_plain) {
    const mode_t made_mode = mode & ~m_creation.umask;
    if (m_prediction == Prediction::unchecked) {
      // A filesystem that maps owners (NFS root squash) or modes gives no
      // prediction to trust: the first directory made is stat'ed once.
      auto got = fs.lstat(fd, "");
      if (!got) {
        return with_context(got.error(), "stat", display_path);
      }
      bool right = got->uid == m_creation.uid && got->gid == m_creation.gid &&
                   (got->mode & 07777) == made_mode;
      m_prediction = right ? Prediction::right : Prediction::wrong;
    }
    if (m_prediction == Prediction::right) {
      md.parts = fs::MetaParts::times;
      if (st.uid != m_creation.uid || st.gid != m_creation.gid) {
        md.parts = md.parts | fs::MetaParts::owner;
        if ((st.mode & (S_ISUID | S_ISGID)) != 0) {
          md.parts = md.parts | fs::MetaParts::mode;  // a chown may clear those bits
        }
      }
      if ((st.mode & 07777) != made_mode) {
        md.parts = md.parts | fs::MetaParts::mode;
      }
    }
  }
  auto set = fs.set_metadata(parent, name, md);
  if (!set) {
    return with_context(set.error(), "set attributes of", display_path);
  }
  // Its subdirectories inherit its group (and setgid bit) if it has one.
  plain = plain && meta != nullptr && (st.mode & S_ISGID) == 0;
  return ok();
}

Result<Taken> TreeSink::open_parents(fs::Fs& fs, std::span<const int> t_dirs,
                                     std::span<const fs::Stat* const> t_stats,
                                     const std::vector<std::string_view>& parts) {
  auto stat_of = [&](size_t i) -> const fs::Stat* {
    return i < t_stats.size() ? t_stats[i] : nullptr;
  };
  if (m_chain.empty()) {
    std::string name = folder();
    bool plain = true;
    TRY_ASSIGN(int fd,
               ensure_dir(fs, m_parent_fd, name, t_dirs[0], stat_of(0), plain, display_folder()));
    if (fd < 0) {
      return Taken::occupied;
    }
    m_chain.emplace_back(name, fs::DirHandle(fs, fd));
    m_plain.assign(1, plain);
  }
  // m_chain[i] (i >= 1) is the sink directory for component parts[i - 1].
  size_t keep = 1;
  while (keep < m_chain.size() && keep < parts.size() && m_chain[keep].first == parts[keep - 1]) {
    ++keep;
  }
  m_chain.resize(keep);
  m_plain.resize(keep);
  for (size_t i = keep; i < parts.size(); ++i) {
    std::string name(parts[i - 1]);
    std::string shown = display_folder();
    for (size_t j = 0; j < i; ++j) {
      shown += "/";
      shown += parts[j];
    }
    bool plain = m_plain[i - 1];
    TRY_ASSIGN(int fd, ensure_dir(fs, m_chain[i - 1].second.fd(), name, t_dirs[i], stat_of(i),
                                  plain, shown));
    if (fd < 0) {
      return Taken::occupied;
    }
    m_chain.emplace_back(std::move(name), fs::DirHandle(fs, fd));
    m_plain.push_back(plain);
  }
  return Taken::moved;
}

Result<Taken> TreeSink::take(fs::Fs& fs, std::span<const int> t_dirs, const std::string& rel_path,
                             std::string_view from_display, Collision on_collision,
                             std::span<const fs::Stat* const> t_stats) {
  std::vector<std::string_view> parts = split_path(rel_path);
  if (parts.size() != t_dirs.size()) {
    return plain_error("internal error: sink take of '" + rel_path +
                       "' with a wrong directory chain");
  }
  std::string name(parts.back());
  // Bounded: each collision moves to a new folder, and a folder that did not
  // exist cannot collide.
  for (int attempt = 0; attempt < 10000; ++attempt) {
    TRY_ASSIGN(Taken parents, open_parents(fs, t_dirs, t_stats, parts));
    if (parents == Taken::moved) {
      auto moved = fs.rename(t_dirs.back(), name, m_chain.back().second.fd(), name,
                             fs::RenameMode::no_replace);
      if (moved) {
        ++m_stats.taken;
        std::string f = folder();
        if (m_used.empty() || m_used.back() != f) {
          m_used.push_back(std::move(f));
        }
        return Taken::moved;
      }
      if (moved.error().sys_errno != EEXIST) {
        return with_context(moved.error(), "move", std::string(from_display),
                            "to '" + display(rel_path) + "'");
      }
    }
    if (on_collision == Collision::report) {
      return Taken::occupied;
    }
    m_chain.clear();
    m_plain.clear();
    ++m_index;
    ++m_stats.folder_switches;
  }
  return plain_error("cannot find a free sink folder for '" + rel_path + "' under '" +
                     m_display_parent + "'");
}

}  // namespace rotator::engine
