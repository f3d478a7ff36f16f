// The bookkeeping every snapshotter shares (records, locking, persistence,
// parent checks), with hooks for what differs between overlay and copy: how
// a new snapshot's directory is filled, and how a chain is mounted.
// Private to solver-core.
//
// Thread safety: as Snapshotter (every public method locks mu_; directory
// filling and syncing run outside the lock).
#ifndef KILN_SOLVER_SRC_SNAPSHOT_BASE_H_
#define KILN_SOLVER_SRC_SNAPSHOT_BASE_H_

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "fs_util.h"
#include "kiln/solver/snapshotter.h"
#include "snapshot_metadata.h"

namespace kiln::solver::internal {

class SnapshotterBase : public Snapshotter {
 public:
  SnapshotterKind kind() const override { return metadata_.kind; }

  Result<std::string> Prepare(const std::string& key,
                              const std::string& parent) override;
  Result<std::vector<Mount>> View(const std::string& key,
                                  const std::string& parent) override;
  Result<std::vector<Mount>> Mounts(const std::string& name) override;
  Status Commit(const std::string& name, const std::string& key) override;
  Result<SnapshotInfo> Stat(const std::string& name) override;
  Status Remove(const std::string& name) override;
  Result<std::vector<SnapshotInfo>> List() override;

 protected:
  // `lock` is the flock()ed root/lock file, held for the object's lifetime.
  SnapshotterBase(std::string root, UniqueFd lock, SnapshotMetadata metadata);

  // Creates the contents of `snapshot_dir` (which exists, empty) for a new
  // active snapshot; `parent_fs` is the parent's tree, or null.
  virtual Status FillNew(const std::string& snapshot_dir,
                         const std::string* parent_fs) = 0;

  // Mounts for a chain of trees, the snapshot's own first (for a view: the
  // parent's first), then its ancestors nearest first. `writable` only for
  // an active snapshot, whose directory is `snapshot_dir`.
  virtual std::vector<Mount> MountsFor(const std::string& snapshot_dir,
                                       const std::vector<std::string>& chain,
                                       bool writable) const = 0;

  std::string SnapshotDir(int64_t id) const;
  static std::string FsDir(const std::string& snapshot_dir) {
    return snapshot_dir + "/fs";
  }

 private:
  Result<std::string> Create(const std::string& key, const std::string& parent,
                             SnapshotKind kind);
  Status CheckNewLocked(const std::string& key,
                        const std::string& parent) const;
  Status SaveLocked();
  std::vector<std::string> ChainLocked(const std::string& from) const;

  const std::string root_;
  const UniqueFd lock_;
  std::mutex mu_;
  SnapshotMetadata metadata_;  // guarded by mu_ (kind is immutable)
};

// Factories used by OpenSnapshotter; `root` exists and is locked.
std::unique_ptr<Snapshotter> NewOverlaySnapshotter(std::string root,
                                                   UniqueFd lock,
                                                   SnapshotMetadata metadata);
std::unique_ptr<Snapshotter> NewCopySnapshotter(std::string root, UniqueFd lock,
                                                SnapshotMetadata metadata);

// Copies the tree `src` into the existing empty directory `dst`, preserving
// types, modes, owners (when root), times, xattrs and hardlinks within the
// tree. File data is cloned (FICLONE) where the filesystem can, else copied
// with copy_file_range. Device nodes are recreated when root, skipped
// otherwise; sockets are skipped.
Status CopyTree(const std::string& src, const std::string& dst);

// Mounts a two-lower overlay in a temp dir under `root`, unmounts it and
// removes the dir. FailedPrecondition naming the reason when overlay is
// unusable (not root, no overlayfs, an upper-incapable filesystem).
Status ProbeOverlay(const std::string& root);

}  // namespace kiln::solver::internal

#endif  // KILN_SOLVER_SRC_SNAPSHOT_BASE_H_
