// The overlay snapshotter: each snapshot directory holds only its own
// changes (fs = the overlay upper dir, work = its work dir); a chain is
// presented as one overlay mount with the ancestors as lower dirs, named by
// their short links under root/l.
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "snapshot_base.h"

namespace kiln::solver::internal {
namespace {

class OverlaySnapshotter : public SnapshotterBase {
 public:
  OverlaySnapshotter(std::string root, UniqueFd lock, SnapshotMetadata metadata)
      : SnapshotterBase(std::move(root), std::move(lock), std::move(metadata)) {
  }

 protected:
  Status FillNew(int64_t id, const std::string* /*parent_fs*/) override {
    std::string snapshot_dir = SnapshotDir(id);
    for (const char* sub : {"/fs", "/work"}) {
      std::string dir = snapshot_dir + sub;
      if (mkdir(dir.c_str(), 0755) != 0)
        return ErrnoStatus("creating " + dir, errno);
    }
    std::string link = LinkPath(id);
    unlink(link.c_str());  // a crashed run's, should one be left
    if (symlink(ShortLinkTarget(id).c_str(), link.c_str()) != 0)
      return ErrnoStatus("creating " + link, errno);
    return Status::Ok();
  }

  std::vector<Mount> MountsFor(const std::vector<int64_t>& chain,
                               bool writable) const override {
    std::string own = FsDir(SnapshotDir(chain[0]));
    if (chain.size() == 1) {
      return {Mount{"bind", own, {"rbind", writable ? "rw" : "ro"}}};
    }
    // Lower dirs by their short links: the whole option string must fit in
    // the page that mount(2) copies.
    std::string lowers;
    for (size_t i = writable ? 1 : 0; i < chain.size(); ++i) {
      if (!lowers.empty()) lowers += ':';
      lowers += LinkPath(chain[i]);
    }
    if (!writable) {
      // Two or more lower dirs and no upper: a read-only overlay.
      return {Mount{"overlay", "overlay", {"lowerdir=" + lowers}}};
    }
    return {Mount{"overlay",
                  "overlay",
                  {"lowerdir=" + lowers, "upperdir=" + own,
                   "workdir=" + SnapshotDir(chain[0]) + "/work"}}};
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
