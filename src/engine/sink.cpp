#include "engine/sink.hpp"

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

// Returns the open descriptor of `parent`/`name`, creating it (mode 0700, then
// the attributes of `meta_fd`) when missing; -1 when `name` exists as a
// non-directory (a collision).
Result<int> TreeSink::ensure_dir(fs::Fs& fs, int parent, const std::string& name, int meta_fd,
                                 const std::string& display_path) {
  auto made = fs.mkdir(parent, name, 0700);
  if (made) {
    ++m_stats.dirs_created;
    auto st = fs.lstat(meta_fd, "");
    if (!st) {
      return with_context(st.error(), "stat", display_path);
    }
    auto set = fs.set_metadata(parent, name, fs::metadata_of(*st));
    if (!set) {
      return with_context(set.error(), "set attributes of", display_path);
    }
  } else if (made.error().sys_errno != EEXIST) {
    return with_context(made.error(), "create directory", display_path);
  }
  auto fd = fs.open_dir(parent, name);
  if (!fd) {
    int e = fd.error().sys_errno;
    if (e == ENOTDIR || e == ELOOP) {
      return -1;
    }
    return with_context(fd.error(), "open directory", display_path);
  }
  return *fd;
}

Result<Taken> TreeSink::open_parents(fs::Fs& fs, std::span<const int> t_dirs,
                                     const std::vector<std::string_view>& parts) {
  if (m_chain.empty()) {
    std::string name = folder();
    TRY_ASSIGN(int fd, ensure_dir(fs, m_parent_fd, name, t_dirs[0], display_folder()));
    if (fd < 0) {
      return Taken::occupied;
    }
    m_chain.emplace_back(name, fs::DirHandle(fs, fd));
  }
  // m_chain[i] (i >= 1) is the sink directory for component parts[i - 1].
  size_t keep = 1;
  while (keep < m_chain.size() && keep < parts.size() && m_chain[keep].first == parts[keep - 1]) {
    ++keep;
  }
  m_chain.resize(keep);
  for (size_t i = keep; i < parts.size(); ++i) {
    std::string name(parts[i - 1]);
    std::string shown = display_folder();
    for (size_t j = 0; j < i; ++j) {
      shown += "/";
      shown += parts[j];
    }
    TRY_ASSIGN(int fd, ensure_dir(fs, m_chain[i - 1].second.fd(), name, t_dirs[i], shown));
    if (fd < 0) {
      return Taken::occupied;
    }
    m_chain.emplace_back(std::move(name), fs::DirHandle(fs, fd));
  }
  return Taken::moved;
}

Result<Taken> TreeSink::take(fs::Fs& fs, std::span<const int> t_dirs, const std::string& rel_path,
                             std::string_view from_display, Collision on_collision) {
  std::vector<std::string_view> parts = split_path(rel_path);
  if (parts.size() != t_dirs.size()) {
    return plain_error("internal error: sink take of '" + rel_path +
                       "' with a wrong directory chain");
  }
  std::string name(parts.back());
  // Bounded: each collision moves to a new folder, and a folder that did not
  // exist cannot collide.
  for (int attempt = 0; attempt < 10000; ++attempt) {
    TRY_ASSIGN(Taken parents, open_parents(fs, t_dirs, parts));
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
    ++m_index;
    ++m_stats.folder_switches;
  }
  return plain_error("cannot find a free sink folder for '" + rel_path + "' under '" +
                     m_display_parent + "'");
}

}  // namespace rotator::engine
