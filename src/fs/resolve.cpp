#include "fs/resolve.hpp"

#include <algorithm>
#include <cerrno>
#include <deque>

namespace rotator::fs {

namespace {

constexpr int k_max_symlinks = 40;  // Linux's MAXSYMLINKS

void push_components(std::deque<std::string>& todo, const std::string& path) {
  std::deque<std::string> parts;
  size_t pos = 0;
  while (pos <= path.size()) {
    size_t end = path.find('/', pos);
    if (end == std::string::npos) {
      end = path.size();
    }
    if (end > pos) {
      parts.push_back(path.substr(pos, end - pos));
    }
    pos = end + 1;
  }
  todo.insert(todo.begin(), parts.begin(), parts.end());
}

std::string parent_of(const std::string& p) {  // "" stands for "/"
  size_t slash = p.rfind('/');
  return slash == std::string::npos ? std::string() : p.substr(0, slash);
}

}  // namespace

std::string ResolvedPath::full() const {
  std::string out = real == "/" ? "" : real;
  for (const auto& r : rest) {
    out += "/" + r;
  }
  return out.empty() ? "/" : out;
}

Result<ResolvedPath> resolve_path(Fs& fs, const std::string& path) {
  std::deque<std::string> todo;
  push_components(todo, path);
  std::string real;  // "" = "/"
  ResolvedPath out;
  int links = 0;
  while (!todo.empty()) {
    std::string comp = todo.front();
    todo.pop_front();
    if (comp == ".") {
      continue;
    }
    if (comp == "..") {
      real = parent_of(real);
      continue;
    }
    std::string candidate = real + "/" + comp;
    auto st = fs.lstat(k_cwd, candidate);
    if (!st) {
      int e = st.error().sys_errno;
      if (e != ENOENT && e != ENOTDIR) {
        return st.error();
      }
      // Nothing below exists: the rest is taken lexically.
      out.rest.push_back(comp);
      for (const auto& c : todo) {
        if (c == ".") {
          continue;
        }
        if (c == "..") {
          if (!out.rest.empty()) {
            out.rest.pop_back();
          } else {
            real = parent_of(real);
          }
          continue;
        }
        out.rest.push_back(c);
      }
      break;
    }
    if (st->type() == FileType::symlink) {
      if (++links > k_max_symlinks) {
        return sys_error(ELOOP, "resolve", path);
      }
      TRY_ASSIGN(std::string target, fs.readlink(k_cwd, candidate));
      if (!target.empty() && target[0] == '/') {
        real.clear();
      }
      push_components(todo, target);
      continue;
    }
    real = candidate;
  }
  out.real = real.empty() ? "/" : real;
  for (std::string p = real;; p = parent_of(p)) {
    TRY_ASSIGN(Stat st, fs.lstat(k_cwd, p.empty() ? "/" : p));
    out.chain.emplace_back(st.dev, st.ino);
    if (p.empty()) {
      break;
    }
  }
  return out;
}

bool resolved_within(const ResolvedPath& a, const ResolvedPath& b) {
  if (b.chain.empty() || a.chain.empty()) {
    return false;
  }
  if (b.rest.empty()) {
    return std::find(a.chain.begin(), a.chain.end(), b.chain.front()) != a.chain.end();
  }
  return a.chain.front() == b.chain.front() && a.rest.size() >= b.rest.size() &&
         std::equal(b.rest.begin(), b.rest.end(), a.rest.begin());
}

}  // namespace rotator::fs
