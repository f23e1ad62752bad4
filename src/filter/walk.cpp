#include "filter/walk.hpp"

#include <algorithm>

namespace rotator::filter {

namespace {

// Walks the open directory `fd` (relative path `rel`, "" for the root),
// appending to `out`. Sets `keep` when something below must keep this
// directory under -m (a non-directory, or a protected directory).
Status walk_dir(fs::Fs& fs, int fd, const std::string& rel, Selector& selector,
                PruneEmpty prune, std::vector<std::string>& out, bool& keep) {
  TRY_ASSIGN(auto entries, fs.list_dir(fd));
  std::sort(entries.begin(), entries.end(),
            [](const fs::DirEntry& a, const fs::DirEntry& b) { return a.name < b.name; });
  for (const auto& entry : entries) {
    fs::FileType type = entry.type;
    if (type == fs::FileType::unknown) {
      TRY_ASSIGN(auto st, fs.lstat(fd, entry.name));
      type = st.type();
    }
    const bool is_dir = type == fs::FileType::directory;
    std::string path = rel.empty() ? entry.name : rel + "/" + entry.name;
    if (!selector.included(path, is_dir)) {
      continue;
    }
    if (!is_dir) {
      out.push_back(path);
      keep = true;
      continue;
    }
    bool self_protected = prune == PruneEmpty::yes && selector.protects(path, true);
    std::size_t mark = out.size();
    out.push_back(path + "/");
    TRY_ASSIGN(auto sub, fs::open_dir(fs, fd, entry.name));
    TRY(selector.enter_dir(fs, sub.fd(), path));
    bool sub_keep = false;
    Status st = walk_dir(fs, sub.fd(), path, selector, prune, out, sub_keep);
    selector.leave_dir();
    TRY(st);
    if (prune == PruneEmpty::yes && !sub_keep && !self_protected) {
      out.resize(mark);
    } else {
      keep = true;
    }
  }
  return ok();
}

}  // namespace

Result<std::vector<std::string>> select_paths(fs::Fs& fs, const std::string& src_root,
                                              Selector& selector, PruneEmpty prune) {
  TRY_ASSIGN(auto root, fs::open_dir(fs, fs::k_cwd, src_root));
  TRY(selector.enter_dir(fs, root.fd(), ""));
  std::vector<std::string> out;
  bool keep = false;
  Status st = walk_dir(fs, root.fd(), "", selector, prune, out, keep);
  selector.leave_dir();
  TRY(st);
  return out;
}

}  // namespace rotator::filter
