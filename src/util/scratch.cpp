#include "util/scratch.hpp"

#include <fcntl.h>  // lint-allow: O_TMPFILE for the process-private scratch file
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <utility>

namespace rotator {

ScratchFile::~ScratchFile() {
  if (m_file) {
    std::fclose(m_file);
  }
}

ScratchFile::ScratchFile(ScratchFile&& o) noexcept : m_file(std::exchange(o.m_file, nullptr)) {}

Status ScratchFile::create() {
  if (m_file) {
    return ok();
  }
  const char* env = std::getenv("TMPDIR");
  std::string dir = env && *env ? env : "/tmp";
  // Scratch in $TMPDIR, never a tree of the user (util/scratch.hpp).
  int fd = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);  // lint-allow: scratch
  if (fd < 0) {
    std::string templ = dir + "/rotator-scratch.XXXXXX";
    fd = ::mkostemp(templ.data(), O_CLOEXEC);
    if (fd < 0) {
      return sys_error(errno, "create a scratch file in", dir);
    }
    ::unlink(templ.c_str());  // lint-allow: our own mkostemp name, process-private from here on
  }
  m_file = ::fdopen(fd, "w+b");  // lint-allow: buffered I/O on the scratch descriptor
  if (!m_file) {
    int e = errno;
    ::close(fd);
    return sys_error(e, "create a scratch file in", dir);
  }
  return ok();
}

Status ScratchFile::write(const void* data, size_t n) {
  TRY(create());
  if (n > 0 && std::fwrite(data, 1, n, m_file) != n) {
    return sys_error(errno ? errno : EIO, "write", "a scratch file");
  }
  return ok();
}

Status ScratchFile::rewind() {
  if (m_file && (std::fflush(m_file) != 0 || std::fseek(m_file, 0, SEEK_SET) != 0)) {
    return sys_error(errno ? errno : EIO, "rewind", "a scratch file");
  }
  return ok();
}

Result<bool> ScratchFile::read(void* data, size_t n) {
  if (!m_file) {
    return false;
  }
  size_t got = std::fread(data, 1, n, m_file);
  if (got == n) {
    return true;
  }
  if (std::ferror(m_file)) {
    return sys_error(errno ? errno : EIO, "read", "a scratch file");
  }
  return false;  // the end (a partial record cannot be: we wrote whole ones)
}

Result<bool> ScratchFile::read_name(std::string& out) {
  out.clear();
  if (!m_file) {
    return false;
  }
  for (;;) {
    int c = std::getc(m_file);
    if (c == EOF) {
      if (std::ferror(m_file)) {
        return sys_error(errno ? errno : EIO, "read", "a scratch file");
      }
      return false;
    }
    if (c == 0) {
      return true;
    }
    out.push_back(static_cast<char>(c));
  }
}

Status PathSpool::add(std::string_view name) {
  TRY(m_file.write(name.data(), name.size()));
  char nul = 0;
  TRY(m_file.write(&nul, 1));
  ++m_count;
  return ok();
}

Status PathSpool::rewind() { return m_file.rewind(); }

Result<bool> PathSpool::next(std::string& out) { return m_file.read_name(out); }

}  // namespace rotator
