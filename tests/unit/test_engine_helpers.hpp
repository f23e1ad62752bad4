// Shared fixtures for the engine tests (test_engine_*.cpp).
//
// Layout of a scenario inside a TestContext: clone/ (S), backup/ (T) and
// holding/ (parent of the sink folders). Tests observe with libc and
// testutil, independently of the code under test.
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "engine/mirror.hpp"
#include "engine/sink.hpp"
#include "filter/selector.hpp"
#include "fs/posix_fs.hpp"
#include "testutil.hpp"

namespace rotator::test {

// Excludes exact relative paths (and so their subtrees), protects exact ones.
class SetSelector final : public filter::Selector {
 public:
  SetSelector(std::set<std::string> excluded, std::set<std::string> protected_paths)
      : m_excluded(std::move(excluded)), m_protected(std::move(protected_paths)) {}
  Status enter_dir(fs::Fs&, int, const std::string& rel) override {
    m_entered.push_back(rel);
    return ok();
  }
  void leave_dir() override { m_entered.pop_back(); }
  bool included(const std::string& rel, bool) override { return !m_excluded.count(rel); }
  bool protects(const std::string& rel, bool) override { return m_protected.count(rel) > 0; }
  size_t depth() const { return m_entered.size(); }

 private:
  std::set<std::string> m_excluded;
  std::set<std::string> m_protected;
  std::vector<std::string> m_entered;
};

inline void set_mtime(const std::string& path, long sec) {
  timespec ts[2] = {{sec, 0}, {sec, 0}};
  ::utimensat(AT_FDCWD, path.c_str(), ts, AT_SYMLINK_NOFOLLOW);
}

// Gives every entry under `root` (not the root) the mtime `sec`, children first.
inline void set_tree_mtimes(const std::string& root, long sec) {
  std::vector<std::string> paths;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(root, ec);
       it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    paths.push_back(it->path().string());
  }
  for (auto it = paths.rbegin(); it != paths.rend(); ++it) {
    set_mtime(*it, sec);
  }
}

// Replaces a file the way rsync does: new inode, then rename over.
inline void rewrite_file(const std::string& path, const std::string& content) {
  write_file(path + ".tmp~", content);
  std::filesystem::rename(path + ".tmp~", path);
}

// rel path -> inode for every entry (directories included) under `root`.
inline std::map<std::string, ino_t> all_inodes(const std::string& root) {
  std::map<std::string, ino_t> out;
  std::error_code ec;
  if (!std::filesystem::exists(root, ec)) {
    return out;
  }
  for (auto it = std::filesystem::recursive_directory_iterator(root, ec);
       it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    std::string p = it->path().string();
    out[p.substr(root.size() + 1)] = inode_of(p);
  }
  return out;
}

// "rel type" per entry: compares trees regardless of inodes and times.
inline std::vector<std::string> names_and_types(const std::string& root) {
  std::vector<std::string> out;
  for (const std::string& line : list_tree(root, WithInodes::no)) {
    size_t first = line.find(' ');
    size_t second = line.find(' ', first + 1);
    out.push_back(line.substr(0, second));
  }
  return out;
}

// Every non-directory of T has the inode of the same path in S.
inline std::vector<std::string> not_linked_to_source(const std::string& s, const std::string& t) {
  std::vector<std::string> bad;
  auto src = inodes_under(s);
  for (auto& [rel, ino] : inodes_under(t)) {
    auto it = src.find(rel);
    if (it == src.end() || it->second != ino) {
      bad.push_back(rel);
    }
  }
  return bad;
}

inline std::vector<std::string> dir_names(const std::string& path) {
  std::vector<std::string> out;
  std::error_code ec;
  for (auto& e : std::filesystem::directory_iterator(path, ec)) {
    out.push_back(e.path().filename().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

struct Paths {
  std::string clone, backup, holding;
  explicit Paths(const TestContext& ctx)
      : clone(ctx.path("clone")), backup(ctx.path("backup")), holding(ctx.path("holding")) {}
  std::string sink(const std::string& folder = "D") const { return holding + "/" + folder; }
};

inline engine::MirrorOptions display_options() {
  engine::MirrorOptions opt;
  opt.src_display = "clone";
  opt.dst_display = "backup";
  return opt;
}

// Runs mirror(clone -> backup) with a TreeSink "holding/<folder>".
struct MirrorRun {
  Result<engine::MirrorStats> result = plain_error("not run");
  std::vector<std::string> plan;
  std::vector<std::string> folders;
  long sink_dirs_created = 0;
};

inline MirrorRun run_mirror(fs::Fs& fs, const Paths& p, engine::MirrorOptions opt,
                            const std::string& folder = "D") {
  MirrorRun run;
  fs::PosixFs real;
  auto holding = fs::open_dir(real, fs::k_cwd, p.holding);
  if (!holding) {
    run.result = holding.error();
    return run;
  }
  engine::TreeSink sink(holding->fd(), folder, "holding");
  opt.sink = &sink;
  opt.plan = [&run](std::string_view line) { run.plan.emplace_back(line); };
  run.result = engine::mirror(fs, p.clone, p.backup, opt);
  run.folders = sink.folders_used();
  run.sink_dirs_created = sink.stats().dirs_created;
  return run;
}

// The change scenario used by the error and crash tests:
//   old S: a.txt b.txt keep.txt sym->a.txt d1/{x,y}.txt d1/sub/z.txt
//          gone/{g1.txt,gsub/g2.txt} t1 (file) t2/in.txt ex/e1.txt empty/
//   T = mirror of old S (built with the engine, no sink);
//          willempty/w.txt olddir/a.txt
//   T = mirror of old S (built with the engine, no sink), plus T-only
//       local.conf and olddir/keep.me, both protected by scenario_selector();
//   new S: a.txt and d1/y.txt rewritten (new inodes), b.txt, gone/, olddir/
//          and willempty/w.txt deleted, t1 now a directory (t1/new.txt), t2
//          now a file, sym retargeted, new.txt, newdir/n1.txt and
//          d1/sub/new2.txt added, ex/ excluded (use scenario_selector()).
//   With PruneEmpty::yes, empty/ (nothing below it) moves to the sink whole
//   and willempty/ is removed with rmdir after w.txt went to the sink.
// All mtimes are fixed so two scenarios compare equal apart from inodes.
inline void build_scenario(const Paths& p) {
  make_dir(p.holding);
  make_dir(p.backup);
  write_file(p.clone + "/a.txt", "a1");
  write_file(p.clone + "/b.txt", "b1");
  write_file(p.clone + "/keep.txt", "k");
  make_symlink("a.txt", p.clone + "/sym");
  write_file(p.clone + "/d1/x.txt", "x");
  write_file(p.clone + "/d1/y.txt", "y1");
  write_file(p.clone + "/d1/sub/z.txt", "z");
  write_file(p.clone + "/gone/g1.txt", "g1");
  write_file(p.clone + "/gone/gsub/g2.txt", "g2");
  write_file(p.clone + "/t1", "file t1");
  write_file(p.clone + "/t2/in.txt", "in");
  write_file(p.clone + "/ex/e1.txt", "e1");
  make_dir(p.clone + "/empty");
  write_file(p.clone + "/willempty/w.txt", "w");
  write_file(p.clone + "/olddir/a.txt", "old a");
  ::chmod((p.clone + "/d1").c_str(), 0750);
  set_tree_mtimes(p.clone, 1000000000);
  fs::PosixFs real;
  auto first = engine::mirror(real, p.clone, p.backup, engine::MirrorOptions{});
  if (!first) {
    throw std::runtime_error(first.error().message());
  }
  write_file(p.backup + "/local.conf", "only in T, protected");
  write_file(p.backup + "/olddir/keep.me", "only in T, protected");
  set_mtime(p.backup + "/local.conf", 1000000000);
  set_mtime(p.backup + "/olddir/keep.me", 1000000000);
  rewrite_file(p.clone + "/a.txt", "a2");
  rewrite_file(p.clone + "/d1/y.txt", "y2");
  std::filesystem::remove(p.clone + "/b.txt");
  std::filesystem::remove_all(p.clone + "/gone");
  std::filesystem::remove_all(p.clone + "/olddir");
  std::filesystem::remove(p.clone + "/willempty/w.txt");
  std::filesystem::remove(p.clone + "/t1");
  write_file(p.clone + "/t1/new.txt", "t1 new");
  std::filesystem::remove_all(p.clone + "/t2");
  write_file(p.clone + "/t2", "file t2");
  std::filesystem::remove(p.clone + "/sym");
  make_symlink("keep.txt", p.clone + "/sym");
  write_file(p.clone + "/new.txt", "new");
  write_file(p.clone + "/newdir/n1.txt", "n1");
  write_file(p.clone + "/d1/sub/new2.txt", "new2");
  ::chmod((p.clone + "/d1/sub").c_str(), 0705);
  set_tree_mtimes(p.clone, 1100000000);
}

inline SetSelector scenario_selector() {
  return SetSelector({"ex"}, {"local.conf", "olddir/keep.me"});
}

// The sink entries the scenario displaces (rel path and type), as an
// uninterrupted run leaves them in holding/D.
// With PruneEmpty::yes the existing empty/ directory is pruned and moves too.
inline std::vector<std::string> scenario_displaced(
    rotator::PruneEmpty prune = rotator::PruneEmpty::no) {
  std::vector<std::string> out = {"a.txt file",    "b.txt file",
                                  "d1 dir",        "d1/y.txt file",
                                  "ex dir",        "ex/e1.txt file",
                                  "gone dir",      "gone/g1.txt file",
                                  "gone/gsub dir", "gone/gsub/g2.txt file",
                                  "sym link",      "t1 file",
                                  "t2 dir",        "t2/in.txt file",
                                  "olddir dir",    "olddir/a.txt file",
                                  "willempty dir", "willempty/w.txt file"};
  std::sort(out.begin(), out.end());
  if (prune == rotator::PruneEmpty::yes) {
    out.push_back("empty dir");
    std::sort(out.begin(), out.end());
  }
  return out;
}

// Every inode of old T (non-directories: the data) is in T or under holding/
// (any folder). Holds at every instant, also right after a failed or crashed
// run. Returns the lost paths, joined.
inline std::string inventory_problems(const Paths& p, const std::map<std::string, ino_t>& old_t) {
  std::set<ino_t> present;
  for (auto& [rel, ino] : all_inodes(p.backup)) {
    present.insert(ino);
  }
  for (auto& [rel, ino] : all_inodes(p.holding)) {
    present.insert(ino);
  }
  std::string lost;
  for (auto& [rel, ino] : old_t) {
    struct stat st {};
    bool dir_in_t = ::lstat((p.backup + "/" + rel).c_str(), &st) == 0 && S_ISDIR(st.st_mode);
    bool dir_in_sink = ::lstat((p.sink() + "/" + rel).c_str(), &st) == 0 && S_ISDIR(st.st_mode);
    if (dir_in_t || dir_in_sink) {
      continue;  // directories hold no data; an emptied pruned one may be removed
    }
    if (!present.count(ino)) {
      lost += lost.empty() ? rel : ", " + rel;
    }
  }
  return lost;
}

// A listing where the kept T-only directory olddir/ shows no mtime: the run
// moves olddir/a.txt out of it, which sets its mtime to the time of the run,
// and nothing in S says what it should be.
inline std::vector<std::string> comparable(std::vector<std::string> listing) {
  for (std::string& line : listing) {
    if (line.rfind("olddir dir ", 0) == 0) {
      line = "olddir dir";
    }
  }
  return listing;
}

// Checks after a (possibly interrupted and rerun) scenario: returns a list of
// problems, empty when (a) every inode of old T is in T or the sink (with
// PruneEmpty::yes, directories are exempt: an emptied pruned directory whose
// sink path exists is removed, it holds no data), (b) T equals the reference
// listing, its root has S's mode and mtime, every non-directory is linked to
// S's, and the protected T-only files are still there, (c) the sink holds
// exactly the displaced set, same inodes, in folder D only.
inline std::string scenario_problems(const Paths& p, const std::map<std::string, ino_t>& old_t,
                                     const std::vector<std::string>& reference_t,
                                     rotator::PruneEmpty prune = rotator::PruneEmpty::no) {
  std::vector<std::string> problems;
  auto final_t = all_inodes(p.backup);
  auto sink = all_inodes(p.sink());
  std::set<ino_t> present;
  for (auto& [rel, ino] : final_t) {
    present.insert(ino);
  }
  for (auto& [rel, ino] : sink) {
    present.insert(ino);
  }
  for (auto& [rel, ino] : old_t) {
    struct stat st {};
    if (prune == rotator::PruneEmpty::yes && ::stat((p.clone + "/" + rel).c_str(), &st) == 0 &&
        S_ISDIR(st.st_mode)) {
      continue;
    }
    if (!present.count(ino)) {
      problems.push_back("lost old T entry " + rel);
    }
  }
  if (comparable(list_tree(p.backup, WithInodes::no)) != comparable(reference_t)) {
    problems.push_back("final T differs from the uninterrupted run");
  }
  for (const std::string& rel : not_linked_to_source(p.clone, p.backup)) {
    if (rel != "local.conf" && rel != "olddir/keep.me") {
      problems.push_back("T/" + rel + " is not S's inode");
    }
  }
  if (read_file(p.backup + "/local.conf") != "only in T, protected" ||
      read_file(p.backup + "/olddir/keep.me") != "only in T, protected") {
    problems.push_back("a protected entry left T");
  }
  struct stat sroot {
  }, troot{};
  ::stat(p.clone.c_str(), &sroot);
  ::stat(p.backup.c_str(), &troot);
  if (sroot.st_mode != troot.st_mode || sroot.st_mtim.tv_sec != troot.st_mtim.tv_sec ||
      sroot.st_mtim.tv_nsec != troot.st_mtim.tv_nsec) {
    problems.push_back("T's root does not have S's root metadata");
  }
  if (names_and_types(p.sink()) != scenario_displaced(prune)) {
    problems.push_back("sink does not hold exactly the displaced set");
  }
  for (auto& [rel, ino] : inodes_under(p.sink())) {
    auto it = old_t.find(rel);
    if (it == old_t.end() || it->second != ino) {
      problems.push_back("sink entry " + rel + " is not old T's inode");
    }
  }
  if (dir_names(p.holding) != std::vector<std::string>{"D"}) {
    problems.push_back("holding has other folders than D");
  }
  std::string joined;
  for (const std::string& problem : problems) {
    joined += joined.empty() ? problem : "; " + problem;
  }
  return joined;
}

}  // namespace rotator::test
