#include "history/inode_marks.hpp"

namespace rotator::history {

namespace {

// A dense slot: links in the low 16 bits (0xffff: k_done), place in the high
// 16 bits; k_spilled (place 0xffff, never a real one) sends to the map.
constexpr uint32_t k_spilled = UINT32_MAX;
constexpr size_t k_max_devs = 4;

bool fits(const InodeMarks::Mark& m) {
  return (m.links < 0xffff || m.links == InodeMarks::k_done) && m.place < 0xffff;
}

uint32_t pack(const InodeMarks::Mark& m) {
  return (m.place << 16) | (m.links == InodeMarks::k_done ? 0xffffu : m.links);
}

InodeMarks::Mark unpack(uint32_t v) {
  uint32_t links = v & 0xffffu;
  return {links == 0xffffu ? InodeMarks::k_done : links, v >> 16};
}

}  // namespace

const uint32_t* InodeMarks::find_slot(dev_t dev, ino_t ino) const {
  if (ino >= k_dense_limit) {
    return nullptr;
  }
  for (const auto& d : m_devs) {
    if (d.dev == dev) {
      size_t page = ino / k_page;
      if (page < d.pages.size() && d.pages[page]) {
        return &d.pages[page][ino % k_page];
      }
      return nullptr;
    }
  }
  return nullptr;
}

uint32_t* InodeMarks::make_slot(dev_t dev, ino_t ino) {
  if (ino >= k_dense_limit) {
    return nullptr;
  }
  Dev* d = nullptr;
  for (auto& x : m_devs) {
    if (x.dev == dev) {
      d = &x;
    }
  }
  if (!d) {
    if (m_devs.size() >= k_max_devs) {
      return nullptr;
    }
    m_devs.push_back(Dev{dev, {}});
    d = &m_devs.back();
  }
  size_t page = ino / k_page;
  if (page >= d->pages.size()) {
    if (m_pages >= k_max_pages) {
      return nullptr;
    }
    d->pages.resize(page + 1);
  }
  if (!d->pages[page]) {
    if (m_pages >= k_max_pages) {
      return nullptr;
    }
    d->pages[page] = std::make_unique<uint32_t[]>(k_page);  // zeroed: no mark
    ++m_pages;
  }
  return &d->pages[page][ino % k_page];
}

InodeMarks::Mark InodeMarks::get(dev_t dev, ino_t ino) const {
  const uint32_t* s = find_slot(dev, ino);
  if (s && *s != k_spilled) {
    return unpack(*s);
  }
  auto it = m_map.find(Key{dev, ino});
  return it == m_map.end() ? Mark{} : it->second;
}

void InodeMarks::set(dev_t dev, ino_t ino, Mark m) {
  // A mark in the map has its dense slot (when there is one) at k_spilled.
  uint32_t* s = make_slot(dev, ino);
  if (s && fits(m)) {
    if (*s == k_spilled) {
      m_map.erase(Key{dev, ino});
    }
    *s = pack(m);
    return;
  }
  if (s) {
    *s = k_spilled;
  }
  m_map[Key{dev, ino}] = m;
}

}  // namespace rotator::history
