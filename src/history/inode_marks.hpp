// A small per-inode mark for `rotator du`: how many links of an inode were
// seen so far and in which place, at 4 bytes per inode instead of a hash
// map node (~50 bytes), so that du stays within a few MB at 1M inodes.
//
// Inode numbers of ext4, btrfs and tmpfs are small dense integers: the marks
// of inodes below k_dense_limit live in pages of k_page marks indexed by
// the inode number, allocated on first use (a tree of a million files
// touches a few thousand pages). At most k_max_pages pages (8 MB) are made;
// inodes past the limit or on a page that cannot be made, marks whose
// fields do not fit 16 bits, and devices past the fourth go to a hash map
// (correct, just bigger).
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

namespace rotator::history {

class InodeMarks {
 public:
  struct Mark {
    uint32_t links = 0;  // links seen so far (k_done: counted, never again)
    uint32_t place = 0;  // 1 + the index of the place it was last seen in; 0: never
  };
  static constexpr uint32_t k_done = UINT32_MAX;
  static constexpr size_t k_page = 512;
  static constexpr size_t k_max_pages = 4096;
  static constexpr ino_t k_dense_limit = ino_t(1) << 26;

  Mark get(dev_t dev, ino_t ino) const;
  void set(dev_t dev, ino_t ino, Mark m);

  size_t pages() const { return m_pages; }
  size_t spilled() const { return m_map.size(); }  // marks in the hash map

 private:
  struct Key {
    dev_t dev;
    ino_t ino;
    bool operator==(const Key&) const = default;
  };
  struct KeyHash {
    size_t operator()(const Key& k) const { return std::hash<ino_t>()(k.ino) * 31 + k.dev; }
  };
  struct Dev {
    dev_t dev = 0;
    std::vector<std::unique_ptr<uint32_t[]>> pages;
  };
  const uint32_t* find_slot(dev_t dev, ino_t ino) const;
  uint32_t* make_slot(dev_t dev, ino_t ino);

  std::vector<Dev> m_devs;
  size_t m_pages = 0;
  std::unordered_map<Key, Mark, KeyHash> m_map;
};

}  // namespace rotator::history
