// The overlay snapshotter: each snapshot directory holds only its own
// changes (fs = the overlay upper dir, work = its work dir); a chain is
// presented as one overlay mount with the ancestors as lower dirs.
#include <sys/stat.h>

#include <cerrno>

#include "snapshot_base.h"

namespace kiln::solver::internal {
namespace {

std::string JoinLowers(const std::vector<std::string>& dirs, size_t from) {
  std::string out;
  for (size_t i = from; i < dirs.size(); ++i) {
    if (!out.empty()) out += ':';
    out += dirs[i];
  }
  return out;
}

class OverlaySnapshotter : public SnapshotterBase {
 public:
  OverlaySnapshotter(std::string root, UniqueFd lock, SnapshotMetadata metadata)
      : SnapshotterBase(std::move(root), std::move(lock), std::move(metadata)) {
  }

 protected:
  Status FillNew(const std::string& snapshot_dir,
                 const std::string* /*parent_fs*/) override {
    for (const char* sub : {"/fs", "/work"}) {
      std::string dir = snapshot_dir + sub;
      if (mkdir(dir.c_str(), 0755) != 0)
        return ErrnoStatus("creating " + dir, errno);
    }
    return Status::Ok();
  }

  std::vector<Mount> MountsFor(const std::string& snapshot_dir,
                               const std::vector<std::string>& chain,
                               bool writable) const override {
    if (chain.size() == 1) {
      return {Mount{"bind", chain[0], {"rbind", writable ? "rw" : "ro"}}};
    }
    if (!writable) {
      // Two or more lower dirs and no upper: a read-only overlay.
      return {
          Mount{"overlay", "overlay", {"lowerdir=" + JoinLowers(chain, 0)}}};
    }
    return {Mount{"overlay",
                  "overlay",
                  {"lowerdir=" + JoinLowers(chain, 1), "upperdir=" + chain[0],
                   "workdir=" + snapshot_dir + "/work"}}};
  }
};

}  // namespace

std::unique_ptr<Snapshotter> NewOverlaySnapshotter(std::string root,
                                                   UniqueFd lock,
                                                   SnapshotMetadata metadata) {
  return std::make_unique<OverlaySnapshotter>(std::move(root), std::move(lock),
                                              std::move(metadata));
}

}  // namespace kiln::solver::internal
