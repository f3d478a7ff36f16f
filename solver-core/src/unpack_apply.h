// Applies tar entries, one at a time, to a destination directory with the
// semantics documented in kiln/solver/layer_unpack.h. ApplyLayer drives it
// with the entries of a LayerStream. Private to solver-core.
//
// Thread safety: one LayerApplier per layer and thread.
#ifndef KILN_SOLVER_SRC_UNPACK_APPLY_H_
#define KILN_SOLVER_SRC_UNPACK_APPLY_H_

#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "fs_util.h"
#include "kiln/solver/layer_unpack.h"
#include "unpack_resolve.h"
#include "unpack_stream.h"

namespace kiln::solver::internal {

// "/proc/self/fd/<dir_fd>/<base>": names `base` in a directory fd for the
// l*xattr calls, which have no *at form (the last component is not
// followed).
inline std::string ProcPath(int dir_fd, const std::string& base) {
  return "/proc/self/fd/" + std::to_string(dir_fd) + "/" + base;
}

// A path component that is missing, or not a directory: nothing there.
inline bool IsAbsence(const Status& s) {
  return s.code() == StatusCode::kNotFound ||
         s.code() == StatusCode::kFailedPrecondition;
}

// The header fields of one entry that the node writers need.
struct EntryMeta {
  std::string name;  // as in the archive, for messages
  mode_t mode = 0;   // permission bits incl. setuid/setgid/sticky
  uid_t uid = 0;
  gid_t gid = 0;
  timespec atime{};
  timespec mtime{};
  dev_t rdev = 0;
};

class LayerApplier {
 public:
  // `root_fd` is dest_dir opened as a directory (borrowed); `stats` is
  // updated as entries land.
  LayerApplier(int root_fd, const ApplyOptions& options, bool privileged,
               UnpackStats* stats);

  // Applies the stream's current entry (reading its data).
  Status Apply(LayerStream& stream, archive_entry* entry);

  // Sets modes and times of the directories the layer listed or created,
  // now that their contents are final.
  Status Finish();

 private:
  struct DirMeta {
    std::vector<std::string> path;
    bool set_mode = false;
    mode_t mode = 0;
    bool set_times = false;
    timespec atime{};
    timespec mtime{};
  };

  Status ApplyWhiteout(const std::vector<std::string>& dir,
                       const std::string& base, const EntryMeta& meta);
  Status MakeOpaqueInPlace(const std::vector<std::string>& dir);
  Status PruneUnpacked(int dir_fd, const std::string& rel);
  Status ApplyNode(LayerStream& stream, archive_entry* entry,
                   const std::vector<std::string>& path, const EntryMeta& meta);
  Status WriteRegular(LayerStream& stream, int parent, const std::string& base,
                      const EntryMeta& meta, archive_entry* entry);
  Status WriteHardlink(int parent, const std::string& base,
                       const std::string& target);
  Status WriteDirectory(int parent, const std::string& base,
                        const std::vector<std::string>& path,
                        const EntryMeta& meta, archive_entry* entry);
  Status WriteOther(int parent, const std::string& base, mode_t type,
                    const EntryMeta& meta, archive_entry* entry,
                    const char* symlink_target);
  Status SetXattrs(int fd, int parent, const std::string& base,
                   archive_entry* entry);
  Status MkdirMissing(int parent_fd, const std::string& name,
                      const std::string& rel);
  // Whether the nearest lower dir that has `rel` as a directory exists
  // (kOverlay), with its stat in `out`. Resolves `rel`'s parents in each
  // lower dir's root; the last component is not followed.
  Result<bool> FindLowerDir(const std::string& rel, struct stat* out);
  void DeferDir(const std::vector<std::string>& path, bool set_mode,
                mode_t mode, const timespec& atime, const timespec& mtime,
                bool set_times);
  ResolveOptions Resolve(bool create) const;

  int root_fd_;
  const ApplyOptions& options_;
  bool privileged_;
  UnpackStats* stats_;
  MkdirFn mkdir_fn_;
  // Clean paths this layer put in place, with every parent of each; an
  // opaque directory keeps only these (kApplyInPlace).
  std::set<std::string> unpacked_;
  // options_.lower_dirs opened as directories, on first use.
  std::vector<UniqueFd> lower_fds_;
  bool lowers_opened_ = false;
  // Directories whose mode and times are set last, in first-seen order.
  std::vector<DirMeta> dirs_;
  std::map<std::string, size_t> dir_index_;
};

}  // namespace kiln::solver::internal

#endif  // KILN_SOLVER_SRC_UNPACK_APPLY_H_
