// Scratch files: throwaway data of one run spooled out of RAM.
//
// The clone job streams rsync's itemized lines (protect_metadata) and the
// names it wrote and deleted (relink) into these, so that its memory stays
// O(1) in the number of files rsync lists; the steps read them back in
// bounded chunks.
#pragma once

#include <cstdio>
#include <string>
#include <string_view>

#include "util/result.hpp"

namespace rotator {

// A process-private scratch file: created unlinked (O_TMPFILE, else mkostemp
// and unlink at once) in $TMPDIR (default /tmp), so nothing is left by a
// crash and nothing enters the user's trees or the state directory (whose
// files are durable records; this is throwaway data of one run). It is not
// an Fs call: it touches no tree of the user. Written sequentially, then
// read back from the start (rewind) as often as needed. (The only direct system calls of the clone
// steps, marked lint-allow: the Fs seam is for the user's trees, which this
// file never is.)
class ScratchFile {
 public:
  ScratchFile() = default;
  ~ScratchFile();
  ScratchFile(ScratchFile&& o) noexcept;
  ScratchFile(const ScratchFile&) = delete;
  ScratchFile& operator=(const ScratchFile&) = delete;
  ScratchFile& operator=(ScratchFile&&) = delete;
  Status write(const void* data, size_t n);  // appends (creates the file first)
  Status rewind();                           // to the start, for reading
  Result<bool> read(void* data, size_t n);   // false at the end
  Result<bool> read_name(std::string& out);  // up to the next NUL; false at the end

 private:
  Status create();
  std::FILE* m_file = nullptr;
};

// A list of names (relative paths, or rsync's itemized lines; never
// containing NUL) in a ScratchFile, in the order added.
class PathSpool {
 public:
  Status add(std::string_view name);
  long size() const { return m_count; }
  Status rewind();
  Result<bool> next(std::string& out);  // false at the end

 private:
  ScratchFile m_file;
  long m_count = 0;
};

}  // namespace rotator
