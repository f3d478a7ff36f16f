// The bookkeeping every snapshotter shares (records, locking, persistence,
// parent checks), with hooks for what differs between overlay and copy: how
// a new snapshot's directory is filled, and how a chain is mounted.
// Private to solver-core.
//
// Thread safety: as Snapshotter (every public method locks mu_; directory
// filling and syncing run outside the lock).
#ifndef KILN_SOLVER_SRC_SNAPSHOT_BASE_H_
#define KILN_SOLVER_SRC_SNAPSHOT_BASE_H_

#include <cstdint>
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
  // Both kinds keep a snapshot's own tree in snapshots/<id>/fs.
  Result<std::string> OwnDir(const std::string& name) override;

 protected:
  // `lock` is the flock()ed root/lock file, held for the object's lifetime.
  SnapshotterBase(std::string root, UniqueFd lock, SnapshotMetadata metadata);

  // Creates the contents of SnapshotDir(id) (which exists, empty) for a new
  // active snapshot; `parent_fs` is the parent's tree, or null. May also
  // create LinkPath(id), which removal takes care of.
  virtual Status FillNew(int64_t id, const std::string* parent_fs) = 0;

  // Mounts for a chain of snapshot ids, the snapshot's own first (for a
  // view: the parent's first), then its ancestors nearest first. `writable`
  // only for an active snapshot (chain[0]).
  virtual std::vector<Mount> MountsFor(const std::vector<int64_t>& chain,
                                       bool writable) const = 0;

  // root/snapshots/<id>.
  std::string SnapshotDir(int64_t id) const;
  static std::string FsDir(const std::string& snapshot_dir) {
    return snapshot_dir + "/fs";
  }
  // root/l/<ShortLinkName(id)>: a short name for the tree of snapshot `id`
  // (a symlink, when the snapshotter makes one).
  std::string LinkPath(int64_t id) const;

 private:
  Result<std::string> Create(const std::string& key, const std::string& parent,
                             SnapshotKind kind);
  Status CheckNewLocked(const std::string& key,
                        const std::string& parent) const;
  Status SaveLocked();
  std::vector<int64_t> ChainLocked(const std::string& from) const;
  // Removes SnapshotDir(id) and LinkPath(id).
  Status RemoveSnapshotFiles(int64_t id) const;

  const std::string root_;
  const UniqueFd lock_;
  std::mutex mu_;
  SnapshotMetadata metadata_;  // guarded by mu_ (kind is immutable)
};

// Where the overlay snapshotter keeps short symlinks to its trees
// (root/l/<name> -> ../snapshots/<id>/fs): its lowerdir= options name those,
// so a chain of 128 layers under a root such as /var/lib/kiln/snapshots
// stays inside the one page of mount(2) data.
inline constexpr const char* kLinkDir = "l";
// The id in base 36 ("1", "a", "10", …): at most 4 characters below 1.6M.
std::string ShortLinkName(int64_t id);
// "../snapshots/<id>/fs", the target of the link for `id`.
std::string ShortLinkTarget(int64_t id);

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
// otherwise; sockets are skipped. When not root, sources we own but cannot
// read (mode 0000 files, directories without u+r or u+x, as /etc/shadow in
// some images) get the missing owner bits for as long as they are copied,
// then their mode back (the copies get the original modes); such calls run
// one at a time in the process, so none sees a mode another lent.
Status CopyTree(const std::string& src, const std::string& dst);

// Mounts a two-lower overlay in a temp dir under `root`, unmounts it and
// removes the dir. FailedPrecondition naming the reason when overlay is
// unusable (not root, no overlayfs, an upper-incapable filesystem).
Status ProbeOverlay(const std::string& root);

}  // namespace kiln::solver::internal

#endif  // KILN_SOLVER_SRC_SNAPSHOT_BASE_H_
