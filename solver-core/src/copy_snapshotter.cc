// The copy snapshotter: each snapshot directory holds a full tree; Prepare
// copies the parent's tree, and every snapshot is presented as a bind mount.
// Works without root or overlayfs, like containerd's native snapshotter.
#include <sys/stat.h>

#include <cerrno>

#include "snapshot_base.h"

namespace kiln::solver::internal {
namespace {

class CopySnapshotter : public SnapshotterBase {
 public:
  CopySnapshotter(std::string root, UniqueFd lock, SnapshotMetadata metadata)
      : SnapshotterBase(std::move(root), std::move(lock), std::move(metadata)) {
  }

 protected:
  Status FillNew(int64_t id, const std::string* parent_fs) override {
    std::string fs = FsDir(SnapshotDir(id));
    if (mkdir(fs.c_str(), 0755) != 0)
      return ErrnoStatus("creating " + fs, errno);
    if (parent_fs == nullptr) return Status::Ok();
    return CopyTree(*parent_fs, fs);
  }

  std::vector<Mount> MountsFor(const std::vector<int64_t>& chain,
                               bool writable) const override {
    return {Mount{"bind",
                  FsDir(SnapshotDir(chain[0])),
                  {"rbind", writable ? "rw" : "ro"}}};
  }
};

}  // namespace

std::unique_ptr<Snapshotter> NewCopySnapshotter(std::string root, UniqueFd lock,
                                                SnapshotMetadata metadata) {
  return std::make_unique<CopySnapshotter>(std::move(root), std::move(lock),
                                           std::move(metadata));
}

}  // namespace kiln::solver::internal
