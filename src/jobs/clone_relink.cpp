#include "jobs/clone_relink.hpp"
#include "util/text.hpp"

#include <xxhash.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <unordered_map>
#include <utility>

#include <fmt/format.h>

#include "engine/mirror.hpp"
#include "history/walk.hpp"

namespace rotator::jobs {

namespace {

constexpr size_t k_chunk = 64 * 1024;

bool missing(const Error& e) { return e.sys_errno == ENOENT || e.sys_errno == ENOTDIR; }

long long mtime_ns(const fs::Stat& st) {
  return static_cast<long long>(st.mtime.tv_sec) * 1000000000LL + st.mtime.tv_nsec;
}

using SizeTime = std::pair<long long, long long>;  // (size, mtime in ns)

// A descriptor from open_read, closed on scope exit.
class ReadHandle {
 public:
  ReadHandle(fs::Fs& fs, int fd) : m_fs(fs), m_fd(fd) {}
  ReadHandle(const ReadHandle&) = delete;
  ReadHandle& operator=(const ReadHandle&) = delete;
  ~ReadHandle() { m_fs.close(m_fd); }
  int fd() const { return m_fd; }

 private:
  fs::Fs& m_fs;
  int m_fd;
};

// Reads until `size` bytes or the end of the file.
Result<size_t> read_full(fs::Fs& fs, int fd, char* buf, size_t size) {
  size_t got = 0;
  while (got < size) {
    TRY_ASSIGN(size_t n, fs.read_fd(fd, buf + got, size - got));
    if (n == 0) {
      break;
    }
    got += n;
  }
  return got;
}

struct NewFile {
  std::string rel;  // relative to the clone
  fs::Stat st;
};

struct Candidate {
  size_t root = 0;  // index into `previous`
  std::string rel;
  fs::Stat st;
};

struct Work {
  std::string dir;  // relative to the clone
  std::string name;
  std::string tmp;
  ino_t new_ino = 0;
  const Candidate* from = nullptr;
};

bool same_attributes(const fs::Stat& a, const fs::Stat& b) {
  return a.size == b.size && a.mode == b.mode && a.uid == b.uid && a.gid == b.gid &&
         a.mtime.tv_sec == b.mtime.tv_sec && a.mtime.tv_nsec == b.mtime.tv_nsec && a.dev == b.dev;
}

}  // namespace

Result<std::uint64_t> hash_file(fs::Fs& fs, int dir_fd, const std::string& name) {
  TRY_ASSIGN(int fd, fs.open_read(dir_fd, name));
  ReadHandle h(fs, fd);
  std::unique_ptr<XXH3_state_t, decltype(&XXH3_freeState)> state(XXH3_createState(),
                                                                 &XXH3_freeState);
  if (!state || XXH3_64bits_reset(state.get()) == XXH_ERROR) {
    return sys_error(ENOMEM, "hash", name);
  }
  std::vector<char> buf(k_chunk);
  for (;;) {
    auto n = fs.read_fd(h.fd(), buf.data(), buf.size());
    if (!n) {
      return with_context(n.error(), "read", name);
    }
    if (*n == 0) {
      break;
    }
    XXH3_64bits_update(state.get(), buf.data(), *n);
  }
  return static_cast<std::uint64_t>(XXH3_64bits_digest(state.get()));
}

Result<bool> same_content(fs::Fs& fs, int a_dir, const std::string& a_name, int b_dir,
                          const std::string& b_name) {
  TRY_ASSIGN(int afd, fs.open_read(a_dir, a_name));
  ReadHandle a(fs, afd);
  TRY_ASSIGN(int bfd, fs.open_read(b_dir, b_name));
  ReadHandle b(fs, bfd);
  std::vector<char> abuf(k_chunk), bbuf(k_chunk);
  for (;;) {
    auto an = read_full(fs, a.fd(), abuf.data(), abuf.size());
    if (!an) {
      return with_context(an.error(), "read", a_name);
    }
    auto bn = read_full(fs, b.fd(), bbuf.data(), bbuf.size());
    if (!bn) {
      return with_context(bn.error(), "read", b_name);
    }
    if (*an != *bn || std::memcmp(abuf.data(), bbuf.data(), *an) != 0) {
      return false;
    }
    if (*an == 0) {
      return true;
    }
  }
}

Result<RelinkStats> relink_files(fs::Fs& fs, const std::string& clone,
                                 const std::vector<std::string>& new_files,
                                 const std::vector<std::string>& previous,
                                 const RecordTemps& record,
                                 const std::function<void(std::string_view)>& plan) {
  RelinkStats stats;
  TRY_ASSIGN(fs::DirHandle root, fs::open_dir(fs, fs::k_cwd, clone));
  DirCache dirs(fs, root.fd());

  // 1. The new inodes: regular, link count 1, not empty.
  std::vector<NewFile> fresh;
  std::set<SizeTime> wanted;
  for (const auto& rel : new_files) {
    if (rel.empty() || rel.back() == '/') {
      continue;
    }
    auto [dir, name] = split_rel(rel);
    auto dfd = dirs.get(dir);
    if (!dfd) {
      if (missing(dfd.error())) {
        continue;
      }
      return with_context(dfd.error(), "open directory", clone + "/" + dir);
    }
    auto st = fs.lstat(*dfd, name);
    if (!st) {
      if (missing(st.error())) {
        continue;
      }
      return with_context(st.error(), "stat", clone + "/" + rel);
    }
    if (st->type() != fs::FileType::regular || st->nlink != 1 || st->size <= 0) {
      continue;
    }
    ++stats.examined;
    wanted.emplace(st->size, mtime_ns(*st));
    fresh.push_back(NewFile{rel, *st});
  }
  if (fresh.empty()) {
    return stats;
  }

  // 2. The candidates: files of the previous generation with the (size,
  // mtime) of a new file, one per inode.
  std::multimap<SizeTime, Candidate> candidates;
  std::set<std::pair<dev_t, ino_t>> seen;
  dev_t clone_dev = fresh.front().st.dev;
  for (size_t r = 0; r < previous.size(); ++r) {
    auto there = fs::exists(fs, fs::k_cwd, previous[r]);
    if (!there) {
      return with_context(there.error(), "stat", previous[r]);
    }
    if (!*there) {
      continue;
    }
    auto walked = history::walk_path(
        fs, previous[r], "",
        [&](const std::string& rel, const fs::DirEntry& e, int parent) -> Result<history::Descend> {
          if (e.type == fs::FileType::directory) {
            return history::Descend::yes;
          }
          if (e.type != fs::FileType::regular && e.type != fs::FileType::unknown) {
            return history::Descend::no;
          }
          auto st = fs.lstat(parent, e.name);
          if (!st) {
            return with_context(st.error(), "stat", rel);  // below_start names it
          }
          if (st->type() == fs::FileType::directory) {
            return history::Descend::yes;
          }
          if (st->type() != fs::FileType::regular || st->dev != clone_dev) {
            return history::Descend::no;
          }
          SizeTime key{st->size, mtime_ns(*st)};
          if (wanted.count(key) && seen.emplace(st->dev, st->ino).second) {
            candidates.emplace(key, Candidate{r, rel, *st});
          }
          return history::Descend::no;
        });
    if (!walked) {
      return history::below_start(std::move(walked.error()), previous[r]);
    }
  }
  if (candidates.empty()) {
    return stats;
  }
  wanted.clear();
  seen.clear();

  // 3. Per new file: attributes, xattrs, hash, bytes; then link in batches.
  std::vector<fs::DirHandle> roots(previous.size());
  auto open_root = [&](size_t r) -> Result<int> {
    if (!roots[r].valid()) {
      TRY_ASSIGN(roots[r], fs::open_dir(fs, fs::k_cwd, previous[r]));
    }
    return roots[r].fd();
  };
  std::unordered_map<ino_t, std::uint64_t> cand_hash;
  std::vector<Work> batch;
  std::set<std::string> taken;

  auto flush = [&]() -> Status {
    if (batch.empty()) {
      return ok();
    }
    std::vector<std::string> temps;
    temps.reserve(batch.size());
    for (const auto& w : batch) {
      temps.push_back(join_rel(w.dir, w.tmp));
    }
    TRY(record(temps));
    for (const auto& w : batch) {
      std::string rel = join_rel(w.dir, w.name);
      std::string disp = clone + "/" + rel;
      std::string tmp_disp = clone + "/" + join_rel(w.dir, w.tmp);
      std::string from_disp = previous[w.from->root] + "/" + w.from->rel;
      TRY_ASSIGN(int rfd, open_root(w.from->root));
      auto [cdir, cname] = split_rel(w.from->rel);
      auto cd = open_rel_dir(fs, rfd, cdir);
      if (!cd) {
        return with_context(cd.error(), "open directory", previous[w.from->root] + "/" + cdir);
      }
      TRY_ASSIGN(int dfd, dirs.get(w.dir));
      auto ln = fs.link(cd->fd(), cname, dfd, w.tmp);
      if (!ln) {
        if (ln.error().sys_errno == EMLINK) {
          continue;  // the older inode has all the links it may have
        }
        return with_context(ln.error(), "link", from_disp, "to '" + tmp_disp + "'");
      }
      // The name is still the new inode checked (nothing else runs in the
      // clone under the lock; this guards against a rename of the
      // previous generation's file meanwhile too).
      auto now_tmp = fs.lstat(dfd, w.tmp);
      if (!now_tmp) {
        return with_context(now_tmp.error(), "stat", tmp_disp);
      }
      auto now_name = fs.lstat(dfd, w.name);
      if (!now_name) {
        return with_context(now_name.error(), "stat", disp);
      }
      if (now_tmp->ino != w.from->st.ino || now_name->ino != w.new_ino) {
        auto un = fs.unlink(dfd, w.tmp);
        if (!un) {
          return with_context(un.error(), "remove", tmp_disp);
        }
        continue;
      }
      auto moved = fs.rename(dfd, w.tmp, dfd, w.name, fs::RenameMode::replace);
      if (!moved) {
        return with_context(moved.error(), "rename", tmp_disp, "to '" + disp + "'");
      }
      ++stats.linked;
      stats.bytes += w.from->st.size;
      if (plan) {
        plan(fmt::format("relink {} to {}", rel, from_disp));
      }
    }
    auto synced = fs.sync_fs(root.fd());
    if (!synced) {
      return with_context(synced.error(), "sync the filesystem of", clone);
    }
    TRY(record({}));
    batch.clear();
    taken.clear();
    return ok();
  };

  size_t batch_bytes = 0;
  for (const auto& nf : fresh) {
    auto range = candidates.equal_range(SizeTime{nf.st.size, mtime_ns(nf.st)});
    if (range.first == range.second) {
      continue;
    }
    auto [dir, name] = split_rel(nf.rel);
    std::string disp = clone + "/" + nf.rel;
    TRY_ASSIGN(int dfd, dirs.get(dir));
    std::optional<std::uint64_t> my_hash;
    std::optional<std::vector<std::pair<std::string, std::string>>> my_xattrs;
    const Candidate* match = nullptr;
    for (auto it = range.first; it != range.second && !match; ++it) {
      const Candidate& c = it->second;
      if (!same_attributes(nf.st, c.st)) {
        ++stats.differ;
        continue;
      }
      TRY_ASSIGN(int rfd, open_root(c.root));
      std::string cdisp = previous[c.root] + "/" + c.rel;
      auto [cdir, cname] = split_rel(c.rel);
      auto cd = open_rel_dir(fs, rfd, cdir);
      if (!cd) {
        if (missing(cd.error())) {
          continue;
        }
        return with_context(cd.error(), "open directory", previous[c.root] + "/" + cdir);
      }
      auto cst = fs.lstat(cd->fd(), cname);
      if (!cst) {
        if (missing(cst.error())) {
          continue;
        }
        return with_context(cst.error(), "stat", cdisp);
      }
      if (cst->ino != c.st.ino || cst->type() != fs::FileType::regular ||
          !same_attributes(nf.st, *cst)) {
        continue;
      }
      if (!my_xattrs) {
        auto x = fs.get_xattrs(dfd, name);
        if (!x) {
          return with_context(x.error(), "read xattrs of", disp);
        }
        my_xattrs = std::move(*x);
        std::sort(my_xattrs->begin(), my_xattrs->end());
      }
      auto cx = fs.get_xattrs(cd->fd(), cname);
      if (!cx) {
        return with_context(cx.error(), "read xattrs of", cdisp);
      }
      std::sort(cx->begin(), cx->end());
      if (*cx != *my_xattrs) {
        ++stats.differ;
        continue;
      }
      if (!my_hash) {
        auto h = hash_file(fs, dfd, name);
        if (!h) {
          return with_context(h.error(), "read", disp);
        }
        my_hash = *h;
      }
      auto ch = cand_hash.find(c.st.ino);
      if (ch == cand_hash.end()) {
        auto h = hash_file(fs, cd->fd(), cname);
        if (!h) {
          return with_context(h.error(), "read", cdisp);
        }
        ch = cand_hash.emplace(c.st.ino, *h).first;
      }
      if (ch->second != *my_hash) {
        ++stats.differ;
        continue;
      }
      auto same = same_content(fs, dfd, name, cd->fd(), cname);
      if (!same) {
        return with_context(same.error(), "compare", disp, "with '" + cdisp + "'");
      }
      if (!*same) {
        ++stats.differ;  // equal hashes, different bytes: never linked
        continue;
      }
      match = &c;
    }
    if (!match) {
      continue;
    }
    std::string base = std::string(engine::k_partial_prefix) + std::to_string(nf.st.ino);
    std::string tmp = base;
    for (int n = 1;; ++n) {
      if (!taken.count(join_rel(dir, tmp))) {
        TRY_ASSIGN(bool there, fs::exists(fs, dfd, tmp));
        if (!there) {
          break;
        }
      }
      tmp = base + "." + std::to_string(n);
    }
    taken.insert(join_rel(dir, tmp));
    batch_bytes += dir.size() + tmp.size() + 2;
    batch.push_back(Work{dir, name, tmp, nf.st.ino, match});
    if (batch.size() >= k_protect_batch || batch_bytes >= k_protect_batch_bytes) {
      TRY(flush());
      batch_bytes = 0;
    }
  }
  TRY(flush());
  return stats;
}

}  // namespace rotator::jobs
