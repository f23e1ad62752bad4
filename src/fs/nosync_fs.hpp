// NoSyncFs: the Fs of `sync = none` (rotator.conf(5)).
//
// Forwards every call to its target except the two commit-point syncs:
// fsync_dir and sync_fs return success without calling the kernel. What
// stays: write_file and copy_data still fsync the data of the file they
// write (the state file, an EMLINK copy, a restored file), which costs
// one fsync per such file, not per tree.
//
// Consequence, stated in rotator.conf(5): the crash ordering is kept (a
// killed run still loses nothing and a rerun converges), but after a power
// cut the filesystem may replay a rename without the entries it depended
// on, so the last runs, not only the one in flight, may be lost or half
// there until the next run repairs what it can see.
#pragma once

#include "fs/fs.hpp"

namespace rotator::fs {

class NoSyncFs final : public FsWrapper {
 public:
  explicit NoSyncFs(Fs& target) : FsWrapper(target), m_concurrent(target.concurrent_safe()) {}
  Status fsync_dir(int) override { return ok(); }
  Status sync_fs(int) override { return ok(); }
  // Syncs are the only difference: parallel work stays as safe as on the target.
  bool concurrent_safe() const override { return m_concurrent; }

 private:
  bool m_concurrent;
};

}  // namespace rotator::fs
