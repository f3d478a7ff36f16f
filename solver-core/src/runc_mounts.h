// Mount handling for RuncExecutor: mounting snapshot mount specs onto the
// bundle's rootfs (MountStack) and the mount stubs the executor creates in a
// rootfs and removes after the run (MountStubs). Private to solver-core.
//
// Thread safety: objects are confined to one Run.
#ifndef KILN_SOLVER_SRC_RUNC_MOUNTS_H_
#define KILN_SOLVER_SRC_RUNC_MOUNTS_H_

#include <string>
#include <vector>

#include "fs_util.h"
#include "kiln/llb/status.h"
#include "kiln/solver/snapshotter.h"

namespace kiln::solver::internal {

// Filesystems mounted by Mount(), unmounted in reverse order by
// UnmountAll() or the destructor (umount2; MNT_DETACH when busy).
class MountStack {
 public:
  MountStack() = default;
  MountStack(const MountStack&) = delete;
  MountStack& operator=(const MountStack&) = delete;
  ~MountStack() { UnmountAll().IgnoreError(); }

  // mount(2)s `m` on the existing directory `target`: "bind" as MS_BIND
  // (MS_REC with "rbind"), then a read-only remount for "ro"; any other type
  // with its flag options (ro, nosuid, nodev, noexec, ...) as flags and the
  // rest comma-joined as data. Internal "mounting TYPE on TARGET: ..." on
  // failure (nothing is left mounted by a failed call).
  Status Mount(const solver::Mount& m, const std::string& target);
  // Unmounts everything; the first failure is returned, all are tried.
  Status UnmountAll();

 private:
  std::vector<std::string> targets_;
};

// Mountpoints created in a rootfs for a run, removed again afterwards.
class MountStubs {
 public:
  // `rootfs` must stay mounted until RemoveAll().
  static Result<MountStubs> Open(const std::string& rootfs);

  // Makes sure `path` (absolute, inside the rootfs) exists, creating it —
  // a directory, or an empty file when `file` — and its missing parents
  // (0755 directories), resolved inside the rootfs. Existing paths (of any
  // type, symlinks included) are left alone. A read-only rootfs (EROFS) is
  // not an error: nothing is created.
  Status Ensure(const std::string& path, bool file);

  // Removes, deepest first, each path Ensure() created that is still an
  // empty directory or an empty regular file. Best effort: errors other than
  // "not empty" are returned after trying all.
  Status RemoveAll();

  // Relative paths created so far, in creation order.
  const std::vector<std::string>& created() const { return created_; }

 private:
  explicit MountStubs(UniqueFd root) : root_(std::move(root)) {}
  UniqueFd root_;
  std::vector<std::string> created_;
};

}  // namespace kiln::solver::internal

#endif  // KILN_SOLVER_SRC_RUNC_MOUNTS_H_
