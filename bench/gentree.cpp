// gentree: deterministic synthetic "home directory" trees for bench/run.sh.
//
//   gentree gen   DIR FILES SEED            create DIR (must not exist) with FILES files
//   gentree churn DIR FILES SEED OUTPREFIX [PERMILLE]
//                                           apply one rsync-like churn to a tree made by
//                                           `gen DIR FILES SEED`, and write the lists
//                                           OUTPREFIX.changed / .deleted / .added
//                                           (paths relative to DIR, one per line);
//                                           PERMILLE (default 20) is the churn size
//
// Layout (a pure function of FILES and SEED, so `churn` recomputes it instead
// of walking the tree): FILES/12 directories (200k files -> 16 666 dirs), each
// directory's parent drawn from the earlier ones (a random recursive tree:
// depth 1..~20, most around 8-12), one file per directory first (so no
// directory is empty) and the rest in directories drawn with a skew (some
// directories are big, most are small). File sizes are uniform in 0..4096
// bytes (about 1 in 25 is empty), mtimes are fixed dates in 2024-2025.
//
// Churn, as an rsync run into the clone would leave it (PERMILLE = 20, the
// default): 1% of the files are replaced by a new inode (new content written
// to a temporary name, renamed over the old one, mtime = now), 0.5% are
// deleted, 0.5% new files are added in existing directories. The three sets
// are disjoint. Another PERMILLE scales all three (half changed, a quarter
// deleted, a quarter added; 0: no change at all).
//
// Only POSIX calls, C++17; builds with `g++ -O2 -o gentree gentree.cpp`.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

struct Rng {  // splitmix64: tiny, fast, identical everywhere
  uint64_t s;
  explicit Rng(uint64_t seed) : s(seed) {}
  uint64_t next() {
    uint64_t z = (s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  uint64_t below(uint64_t n) { return n ? next() % n : 0; }
};

const char* const k_dir_words[] = {
    "Documents", "src",     "photos",  ".config", ".cache",  "projects", "music",   "notes",
    "lib",       "include", "build",   "old",     "archive", "2024",     "drafts",  "assets",
    "test",      "data",    "scripts", "share",   "misc",    "Mail",     "backup",  "work"};
const char* const k_file_words[] = {"report", "index",  "main",   "IMG",  "notes", "config",
                                    "readme", "track",  "letter", "util", "draft", "invoice",
                                    "log",    "module", "page",   "list"};
const char* const k_exts[] = {".txt", ".jpg", ".c", ".h", ".py", ".json", ".md", "", ".pdf", ".o"};

template <class T, size_t N>
constexpr size_t count_of(T (&)[N]) { return N; }

struct Layout {
  std::vector<std::string> dirs;   // relative paths; dirs[0] = "" (the root)
  std::vector<uint32_t> file_dir;  // directory index of each file
  std::vector<std::string> files;  // relative paths
  std::vector<uint16_t> sizes;
};

std::string join(const std::string& dir, const std::string& name) {
  return dir.empty() ? name : dir + "/" + name;
}

std::string file_name(Rng& r, uint64_t id) {
  return std::string(k_file_words[r.below(count_of(k_file_words))]) + "_" + std::to_string(id) +
         k_exts[r.below(count_of(k_exts))];
}

uint16_t file_size(Rng& r) {
  uint64_t x = r.below(100);
  if (x < 4) return 0;
  return static_cast<uint16_t>(r.below(4097));
}

Layout make_layout(uint64_t nfiles, uint64_t seed) {
  Layout L;
  Rng r(seed);
  uint64_t ndirs = nfiles / 12;
  if (ndirs < 1) ndirs = 1;
  L.dirs.reserve(ndirs);
  L.dirs.push_back("");
  for (uint64_t i = 1; i < ndirs; ++i) {
    // Parent: uniform over earlier dirs, but 1 in 8 picks among the first 24
    // (wide top levels, like a home directory).
    uint64_t p = r.below(8) == 0 ? r.below(i < 24 ? i : 24) : r.below(i);
    std::string name = std::string(k_dir_words[r.below(count_of(k_dir_words))]) + "-" + std::to_string(i);
    L.dirs.push_back(join(L.dirs[p], name));
  }
  L.files.reserve(nfiles);
  L.file_dir.reserve(nfiles);
  L.sizes.reserve(nfiles);
  for (uint64_t f = 0; f < nfiles; ++f) {
    uint64_t d;
    if (f < ndirs) {
      d = f;
    } else {
      // Skew: the square of a uniform variable favours low indices.
      uint64_t u = r.below(ndirs);
      d = (u * r.below(ndirs)) / ndirs;
    }
    L.file_dir.push_back(static_cast<uint32_t>(d));
    L.files.push_back(join(L.dirs[d], file_name(r, f)));
    L.sizes.push_back(file_size(r));
  }
  return L;
}

std::vector<char> g_buf;

void die(const char* what, const std::string& path) {
  std::fprintf(stderr, "gentree: %s '%s': %s\n", what, path.c_str(), std::strerror(errno));
  std::exit(1);
}

// Writes a new file at `path` (relative to dirfd) with `size` bytes from the
// buffer at an offset derived from `salt`; mtime = `mtime` unless 0.
void write_file(int dirfd, const std::string& path, size_t size, uint64_t salt, time_t mtime) {
  int fd = openat(dirfd, path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) die("create", path);
  if (size > 0) {
    size_t off = salt % (g_buf.size() - 4096);
    if (write(fd, g_buf.data() + off, size) != static_cast<ssize_t>(size)) die("write", path);
  }
  if (mtime) {
    struct timespec ts[2] = {{mtime, 0}, {mtime, 0}};
    if (futimens(fd, ts) != 0) die("futimens", path);
  }
  close(fd);
}

time_t old_mtime(Rng& r) {  // somewhere in 2024-2025
  return static_cast<time_t>(1704067200 + r.below(2 * 365 * 86400));
}

int gen(const std::string& root, uint64_t nfiles, uint64_t seed) {
  Layout L = make_layout(nfiles, seed);
  if (mkdir(root.c_str(), 0755) != 0) die("mkdir", root);
  int rfd = open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (rfd < 0) die("open", root);
  for (size_t i = 1; i < L.dirs.size(); ++i) {
    if (mkdirat(rfd, L.dirs[i].c_str(), 0755) != 0) die("mkdir", L.dirs[i]);
  }
  // Contents and mtimes depend only on the file's index. (Creating the
  // inode is the cost, all of it system time; threads did not help on ext4.)
  for (size_t f = 0; f < L.files.size(); ++f) {
    Rng fr(seed ^ (0x5eedULL + f * 0x100000001B3ULL));
    write_file(rfd, L.files[f], L.sizes[f], fr.next(), old_mtime(fr));
  }
  Rng r(seed ^ 0x5eedULL);
  // Directory times last (creating entries changed them).
  for (size_t i = L.dirs.size(); i-- > 0;) {
    struct timespec ts[2] = {{old_mtime(r), 0}, {old_mtime(r), 0}};
    const char* p = L.dirs[i].empty() ? "." : L.dirs[i].c_str();
    if (utimensat(rfd, p, ts, AT_SYMLINK_NOFOLLOW) != 0) die("utimensat", L.dirs[i]);
  }
  close(rfd);
  std::printf("%zu files in %zu directories\n", L.files.size(), L.dirs.size());
  return 0;
}

int churn(const std::string& root, uint64_t nfiles, uint64_t seed, const std::string& out,
          uint64_t permille) {
  Layout L = make_layout(nfiles, seed);
  int rfd = open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (rfd < 0) die("open", root);
  Rng r(seed ^ 0xc4a2ULL);
  uint64_t nchange = nfiles * permille / 2000, ndelete = nfiles * permille / 4000,
           nadd = nfiles * permille / 4000;
  if (nchange + ndelete > nfiles) die("churn larger than the tree", root);
  std::vector<char> picked(nfiles, 0);  // 0 none, 1 changed, 2 deleted
  auto pick = [&](char what, uint64_t n) {
    for (uint64_t k = 0; k < n;) {
      uint64_t f = r.below(nfiles);
      if (picked[f] == 0) {
        picked[f] = what;
        ++k;
      }
    }
  };
  pick(1, nchange);
  pick(2, ndelete);
  FILE* fc = std::fopen((out + ".changed").c_str(), "w");
  FILE* fd = std::fopen((out + ".deleted").c_str(), "w");
  FILE* fa = std::fopen((out + ".added").c_str(), "w");
  if (!fc || !fd || !fa) die("open lists", out);
  for (uint64_t f = 0; f < nfiles; ++f) {
    const std::string& p = L.files[f];
    if (picked[f] == 1) {
      // rsync's way: a temporary file in the same directory, renamed over.
      std::string dir = L.dirs[L.file_dir[f]];
      std::string tmp = join(dir, ".churn.tmp");
      write_file(rfd, tmp, static_cast<size_t>(file_size(r)), r.next(), 0);
      if (renameat(rfd, tmp.c_str(), rfd, p.c_str()) != 0) die("rename", p);
      std::fprintf(fc, "%s\n", p.c_str());
    } else if (picked[f] == 2) {
      if (unlinkat(rfd, p.c_str(), 0) != 0) die("unlink", p);
      std::fprintf(fd, "%s\n", p.c_str());
    }
  }
  for (uint64_t k = 0; k < nadd; ++k) {
    std::string p = join(L.dirs[r.below(L.dirs.size())], "new-" + file_name(r, nfiles + k));
    write_file(rfd, p, file_size(r), r.next(), 0);
    std::fprintf(fa, "%s\n", p.c_str());
  }
  std::fclose(fc);
  std::fclose(fd);
  std::fclose(fa);
  close(rfd);
  std::printf("churn: %llu changed (new inode), %llu deleted, %llu added\n",
              static_cast<unsigned long long>(nchange), static_cast<unsigned long long>(ndelete),
              static_cast<unsigned long long>(nadd));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 5) {
    std::fprintf(stderr, "usage: gentree gen DIR FILES SEED | gentree churn DIR FILES SEED OUTPREFIX [PERMILLE]\n");
    return 2;
  }
  std::string cmd = argv[1], dir = argv[2];
  uint64_t nfiles = std::strtoull(argv[3], nullptr, 10);
  uint64_t seed = std::strtoull(argv[4], nullptr, 10);
  if (nfiles < 1) {
    std::fprintf(stderr, "gentree: FILES must be positive\n");
    return 2;
  }
  g_buf.resize(1 << 20);
  Rng b(seed * 31 + 7);
  for (char& c : g_buf) c = static_cast<char>(' ' + b.below(95));
  if (cmd == "gen") return gen(dir, nfiles, seed);
  if (cmd == "churn" && (argc == 6 || argc == 7)) {
    return churn(dir, nfiles, seed, argv[5], argc == 7 ? std::strtoull(argv[6], nullptr, 10) : 20);
  }
  std::fprintf(stderr, "gentree: bad arguments\n");
  return 2;
}
