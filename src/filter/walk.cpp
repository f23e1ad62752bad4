#include "filter/walk.hpp"

#include <algorithm>
#include <utility>

namespace rotator::filter {

namespace {

using Range = std::pair<std::size_t, std::size_t>;  // [first, last) in the output

// Walks the open directory `fd` (relative path `rel`, "" for the root),
// appending to `out`. Sets `has_file` when something that is not a directory
// is listed below. Under -m, every subdirectory without a non-directory below
// it is recorded in `empty` (its range holds only directories).
// `root` names the walk's root in errors.
Status walk_dir(fs::Fs& fs, int fd, const std::string& root, const std::string& rel,
                Selector& selector, PruneEmpty prune, std::vector<std::string>& out, bool& has_file,
                std::vector<Range>& empty) {
  auto shown = [&](const std::string& sub) { return sub.empty() ? root : root + "/" + sub; };
  TRY_ASSIGN_CONTEXT(auto entries, fs.list_dir(fd), "read directory", shown(rel));
  std::sort(entries.begin(), entries.end(),
            [](const fs::DirEntry& a, const fs::DirEntry& b) { return a.name < b.name; });
  for (const auto& entry : entries) {
    fs::FileType type = entry.type;
    if (type == fs::FileType::unknown) {
      TRY_ASSIGN_CONTEXT(auto st, fs.lstat(fd, entry.name), "stat",
                         shown(rel.empty() ? entry.name : rel + "/" + entry.name));
      type = st.type();
    }
    const bool is_dir = type == fs::FileType::directory;
    std::string path = rel.empty() ? entry.name : rel + "/" + entry.name;
    if (!selector.included(path, is_dir)) {
      continue;
    }
    if (!is_dir) {
      out.push_back(path);
      has_file = true;
      continue;
    }
    std::size_t mark = out.size();
    out.push_back(path + "/");
    TRY_ASSIGN_CONTEXT(auto sub, fs::open_dir(fs, fd, entry.name), "open directory", shown(path));
    TRY(selector.enter_dir(fs, sub.fd(), path));
    bool sub_has_file = false;
    Status st = walk_dir(fs, sub.fd(), root, path, selector, prune, out, sub_has_file, empty);
    selector.leave_dir();
    TRY(st);
    if (sub_has_file) {
      has_file = true;
    } else if (prune == PruneEmpty::yes) {
      empty.emplace_back(mark, out.size());
    }
  }
  return ok();
}

// rsync -m, run over the finished list (as rsync's receiver does, so only
// rules outside per-directory files can protect): drops the directories of
// each file-less subtree except those protected and their ancestors.
void prune_empty(Selector& selector, const std::vector<Range>& empty,
                 std::vector<std::string>& out) {
  std::vector<char> drop(out.size(), 0);
  // Ranges nest or are disjoint and were recorded children first; walking
  // them backwards, a range inside the last maximal one is already handled.
  Range outer{0, 0};
  for (auto it = empty.rbegin(); it != empty.rend(); ++it) {
    auto [first, last] = *it;
    if (outer.first < first && first < outer.second) {
      continue;
    }
    outer = *it;
    std::vector<std::string> kept;  // kept paths in this range, with '/'
    for (std::size_t j = last; j-- > first;) {
      const std::string& dir = out[j];
      bool keep = false;
      for (const auto& k : kept) {
        if (k.size() > dir.size() && k.compare(0, dir.size(), dir) == 0) {
          keep = true;
          break;
        }
      }
      if (!keep) {
        keep = selector.keeps_empty_dir(dir.substr(0, dir.size() - 1));
      }
      if (keep) {
        kept.push_back(dir);
      } else {
        drop[j] = 1;
      }
    }
  }
  std::size_t w = 0;
  for (std::size_t r = 0; r < out.size(); ++r) {
    if (drop[r] == 0) {
      if (w != r) {
        out[w] = std::move(out[r]);
      }
      ++w;
    }
  }
  out.resize(w);
}

}  // namespace

Result<std::vector<std::string>> select_paths(fs::Fs& fs, const std::string& src_root,
                                              Selector& selector, PruneEmpty prune) {
  TRY_ASSIGN_CONTEXT(auto root, fs::open_dir(fs, fs::k_cwd, src_root), "open directory", src_root);
  TRY(selector.enter_dir(fs, root.fd(), ""));
  std::vector<std::string> out;
  std::vector<Range> empty;
  bool has_file = false;
  Status st = walk_dir(fs, root.fd(), src_root, "", selector, prune, out, has_file, empty);
  selector.leave_dir();
  TRY(st);
  if (prune == PruneEmpty::yes) {
    prune_empty(selector, empty, out);
  }
  return out;
}

}  // namespace rotator::filter
