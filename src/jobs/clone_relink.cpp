#include "jobs/clone_relink.hpp"
#include "util/text.hpp"

#include <xxhash.h>

#include <algorithm>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
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

// A new inode of the current chunk: its path and the stat fields matched.
struct NewFile {
  std::string rel;  // relative to the clone
  long long size = 0;
  long long mtime = 0;  // ns
  ino_t ino = 0;
  dev_t dev = 0;
  mode_t mode = 0;
  uid_t uid = 0;
  gid_t gid = 0;
  std::optional<std::uint64_t> hash;
  bool matched = false;
  SizeTime key() const { return {size, mtime}; }
};

// A file of the previous generation that may hold a new file's data.
struct Candidate {
  std::uint32_t root = 0;  // index into `previous`
  long long size = 0;
  long long mtime = 0;
  std::uint64_t ino = 0;
  std::uint64_t dev = 0;
  std::uint32_t mode = 0;
  std::uint32_t uid = 0;
  std::uint32_t gid = 0;
  std::string rel;  // relative to the root
};

// The fixed part of a Candidate as the scratch file holds it (then the
// name and a NUL).
struct CandidateHead {
  std::uint32_t root, mode, uid, gid;
  long long size, mtime;
  std::uint64_t ino, dev;
};

Candidate candidate_of(std::uint32_t root, std::string rel, const fs::Stat& st) {
  return Candidate{root,
                   st.size,
                   mtime_ns(st),
                   static_cast<std::uint64_t>(st.ino),
                   static_cast<std::uint64_t>(st.dev),
                   static_cast<std::uint32_t>(st.mode),
                   static_cast<std::uint32_t>(st.uid),
                   static_cast<std::uint32_t>(st.gid),
                   std::move(rel)};
}

struct Work {
  std::string dir;  // relative to the clone
  std::string name;
  std::string tmp;
  ino_t new_ino = 0;
  std::uint32_t from_root = 0;
  std::string from_rel;
  std::uint64_t from_ino = 0;
  long long from_size = 0;
};

bool same_attributes(const NewFile& a, const Candidate& b) {
  return a.size == b.size && a.mode == b.mode && a.uid == b.uid && a.gid == b.gid &&
         a.mtime == b.mtime && static_cast<std::uint64_t>(a.dev) == b.dev;
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

Result<RelinkStats> relink_spooled(fs::Fs& fs, const std::string& clone, PathSpool& written,
                                   PathSpool& deleted, const std::vector<std::string>& previous,
                                   const RecordTemps& record,
                                   const std::function<void(std::string_view)>& plan,
                                   size_t chunk) {
  RelinkStats stats;
  chunk = std::max<size_t>(chunk, 1);
  TRY_ASSIGN(fs::DirHandle root, fs::open_dir(fs, fs::k_cwd, clone));
  DirCache dirs(fs, root.fd());

  // The previous roots that exist, opened once.
  std::vector<fs::DirHandle> roots(previous.size());
  for (size_t r = 0; r < previous.size(); ++r) {
    auto there = fs::exists(fs, fs::k_cwd, previous[r]);
    if (!there) {
      return with_context(there.error(), "stat", previous[r]);
    }
    if (*there) {
      TRY_ASSIGN(roots[r], fs::open_dir(fs, fs::k_cwd, previous[r]));
    }
  }

  // 1. The candidates at the deleted paths (a rename: OLD is still there in
  // the previous generation): one lstat per deleted path and root, into a
  // scratch file of compact records.
  // Each previous root's directories, kept open along the current path
  // (the candidates come in rsync's order: a directory's files together).
  std::vector<DirCache> root_dirs;
  root_dirs.reserve(roots.size());
  size_t levels =
      roots.empty() ? 0 : std::min(DirCache::k_max_depth, k_relink_history_levels / roots.size());
  for (const auto& h : roots) {
    root_dirs.emplace_back(fs, h.valid() ? h.fd() : -1, levels);
  }
  ScratchFile at_deleted;
  long deleted_candidates = 0;
  {
    TRY(deleted.rewind());
    std::string rel;
    for (;;) {
      TRY_ASSIGN(bool more, deleted.next(rel));
      if (!more) {
        break;
      }
      if (rel.empty() || rel.back() == '/') {
        continue;
      }
      for (size_t r = 0; r < roots.size(); ++r) {
        if (!roots[r].valid()) {
          continue;
        }
        TRY_ASSIGN(auto st, root_dirs[r].lstat(previous[r], rel));
        if (!st) {
          continue;
        }
        if (st->type() != fs::FileType::regular || st->size <= 0) {
          continue;
        }
        Candidate c = candidate_of(static_cast<std::uint32_t>(r), {}, *st);
        CandidateHead head{c.root, c.mode, c.uid, c.gid, c.size, c.mtime, c.ino, c.dev};
        TRY(at_deleted.write(&head, sizeof head));
        TRY(at_deleted.write(rel.c_str(), rel.size() + 1));
        ++deleted_candidates;
      }
    }
  }

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
      std::string from_disp = previous[w.from_root] + "/" + w.from_rel;
      auto [cdir, cname] = split_rel(w.from_rel);
      auto cd = root_dirs[w.from_root].get(cdir);
      if (!cd) {
        return with_context(cd.error(), "open directory", previous[w.from_root] + "/" + cdir);
      }
      TRY_ASSIGN(int dfd, dirs.get(w.dir));
      auto ln = fs.link(*cd, cname, dfd, w.tmp);
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
      if (static_cast<std::uint64_t>(now_tmp->ino) != w.from_ino || now_name->ino != w.new_ino) {
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
      stats.bytes += w.from_size;
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

  std::vector<NewFile> fresh;  // the chunk, sorted by (size, mtime)
  long unmatched = 0;
  std::set<std::pair<std::uint64_t, std::uint64_t>> seen;  // candidate inodes tried
  auto by_key = [](const NewFile& a, const SizeTime& k) { return a.key() < k; };

  // Tries candidate `c` against every unmatched new file of the chunk with
  // its (size, mtime); queues the matches.
  auto try_candidate = [&](const Candidate& c) -> Status {
    SizeTime key{c.size, c.mtime};
    auto first = std::lower_bound(fresh.begin(), fresh.end(), key, by_key);
    auto last = first;
    bool open_one = false;
    for (; last != fresh.end() && last->key() == key; ++last) {
      open_one = open_one || !last->matched;
    }
    if (!open_one) {
      return ok();
    }
    if (seen.size() >= 4 * chunk) {
      seen.clear();  // bounded; forgetting only costs a repeated check
    }
    if (!seen.emplace(c.dev, c.ino).second) {
      return ok();
    }
    std::string cdisp = previous[c.root] + "/" + c.rel;
    auto [cdir, cname] = split_rel(c.rel);
    int cd = -1;  // the candidate's directory (root_dirs[c.root]); -1: not yet
    std::optional<std::vector<std::pair<std::string, std::string>>> cx;
    std::optional<std::uint64_t> ch;
    for (auto nf = first; nf != last; ++nf) {
      if (nf->matched) {
        continue;
      }
      if (!same_attributes(*nf, c)) {
        ++stats.differ;
        continue;
      }
      if (cd < 0) {
        auto opened = root_dirs[c.root].get(cdir);
        if (!opened) {
          if (missing(opened.error())) {
            return ok();
          }
          return with_context(opened.error(), "open directory", previous[c.root] + "/" + cdir);
        }
        auto cst = fs.lstat(*opened, cname);
        if (!cst) {
          if (missing(cst.error())) {
            return ok();
          }
          return with_context(cst.error(), "stat", cdisp);
        }
        if (static_cast<std::uint64_t>(cst->ino) != c.ino || cst->type() != fs::FileType::regular ||
            !same_attributes(*nf, candidate_of(c.root, {}, *cst))) {
          return ok();
        }
        cd = *opened;
      }
      auto [dir, name] = split_rel(nf->rel);
      std::string disp = clone + "/" + nf->rel;
      TRY_ASSIGN(int dfd, dirs.get(dir));
      auto mine = fs.get_xattrs(dfd, name);
      if (!mine) {
        return with_context(mine.error(), "read xattrs of", disp);
      }
      std::sort(mine->begin(), mine->end());
      if (!cx) {
        auto x = fs.get_xattrs(cd, cname);
        if (!x) {
          return with_context(x.error(), "read xattrs of", cdisp);
        }
        cx = std::move(*x);
        std::sort(cx->begin(), cx->end());
      }
      if (*cx != *mine) {
        ++stats.differ;
        continue;
      }
      if (!nf->hash) {
        auto h = hash_file(fs, dfd, name);
        if (!h) {
          return with_context(h.error(), "read", disp);
        }
        nf->hash = *h;
      }
      if (!ch) {
        auto h = hash_file(fs, cd, cname);
        if (!h) {
          return with_context(h.error(), "read", cdisp);
        }
        ch = *h;
      }
      if (*ch != *nf->hash) {
        ++stats.differ;
        continue;
      }
      auto same = same_content(fs, dfd, name, cd, cname);
      if (!same) {
        return with_context(same.error(), "compare", disp, "with '" + cdisp + "'");
      }
      if (!*same) {
        ++stats.differ;  // equal hashes, different bytes: never linked
        continue;
      }
      nf->matched = true;
      --unmatched;
      std::string base = std::string(engine::k_partial_prefix) + std::to_string(nf->ino);
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
      batch.push_back(Work{dir, name, tmp, nf->ino, c.root, c.rel, c.ino, c.size});
      if (batch.size() >= k_protect_batch || batch_bytes >= k_protect_batch_bytes) {
        TRY(flush());
        batch_bytes = 0;
        // flush() used root_dirs[c.root] too; its last link was this
        // candidate's, so `cd` is still its directory, but open and check
        // it again rather than rely on that.
        cd = -1;
      }
    }
    return ok();
  };

  TRY(written.rewind());
  std::string rel;
  bool more = true;
  while (more) {
    // 2. A chunk of at most `chunk` new inodes: regular, link count 1, not empty.
    fresh.clear();
    seen.clear();
    while (fresh.size() < chunk) {
      TRY_ASSIGN(more, written.next(rel));
      if (!more) {
        break;
      }
      if (rel.empty() || rel.back() == '/') {
        continue;
      }
      TRY_ASSIGN(auto st, dirs.lstat(clone, rel));
      if (!st) {
        continue;
      }
      if (st->type() != fs::FileType::regular || st->nlink != 1 || st->size <= 0) {
        continue;
      }
      ++stats.examined;
      fresh.push_back(NewFile{rel, st->size, mtime_ns(*st), st->ino, st->dev, st->mode, st->uid,
                              st->gid, std::nullopt, false});
    }
    if (fresh.empty()) {
      continue;
    }
    std::stable_sort(fresh.begin(), fresh.end(),
                     [](const NewFile& a, const NewFile& b) { return a.key() < b.key(); });
    unmatched = static_cast<long>(fresh.size());
    std::uint64_t clone_dev = fresh.front().dev;

    // 3. The candidates at the deleted paths.
    if (deleted_candidates > 0) {
      TRY(at_deleted.rewind());
      while (unmatched > 0) {
        CandidateHead head{};
        TRY_ASSIGN(bool got, at_deleted.read(&head, sizeof head));
        if (!got) {
          break;
        }
        Candidate c{head.root, head.size, head.mtime, head.ino, head.dev,
                    head.mode, head.uid,  head.gid,   {}};
        TRY_ASSIGN(bool named, at_deleted.read_name(c.rel));
        if (!named) {
          break;
        }
        if (c.dev == clone_dev) {
          TRY(try_candidate(c));
        }
      }
    }

    // 4. New files still unmatched (copies, or renames the deleted paths
    // do not explain): one walk of each previous root.
    for (size_t r = 0; r < previous.size() && unmatched > 0; ++r) {
      if (!roots[r].valid()) {
        continue;
      }
      std::optional<Error> inner;
      auto walked = history::walk_path(
          fs, previous[r], "",
          [&](const std::string& crel, const fs::DirEntry& e,
              int parent) -> Result<history::Descend> {
            if (e.type == fs::FileType::directory) {
              return history::Descend::yes;
            }
            if (e.type != fs::FileType::regular && e.type != fs::FileType::unknown) {
              return history::Descend::no;
            }
            auto st = fs.lstat(parent, e.name);
            if (!st) {
              return with_context(st.error(), "stat", crel);  // below_start names it
            }
            if (st->type() == fs::FileType::directory) {
              return history::Descend::yes;
            }
            if (st->type() != fs::FileType::regular ||
                static_cast<std::uint64_t>(st->dev) != clone_dev || st->size <= 0) {
              return history::Descend::no;
            }
            auto tried = try_candidate(candidate_of(static_cast<std::uint32_t>(r), crel, *st));
            if (!tried) {
              inner = tried.error();
              return tried.error();
            }
            return history::Descend::no;
          });
      if (!walked) {
        if (inner) {
          return *inner;
        }
        return history::below_start(std::move(walked.error()), previous[r]);
      }
    }
    TRY(flush());
    batch_bytes = 0;
  }
  TRY(flush());
  return stats;
}

Result<RelinkStats> relink_files(fs::Fs& fs, const std::string& clone,
                                 const std::vector<std::string>& new_files,
                                 const std::vector<std::string>& previous,
                                 const RecordTemps& record,
                                 const std::function<void(std::string_view)>& plan,
                                 const std::vector<std::string>& deleted, size_t chunk) {
  PathSpool w, d;
  for (const auto& f : new_files) {
    TRY(w.add(f));
  }
  for (const auto& f : deleted) {
    TRY(d.add(f));
  }
  return relink_spooled(fs, clone, w, d, previous, record, plan, chunk);
}

}  // namespace rotator::jobs
