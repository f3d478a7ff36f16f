// Directory resolution "in root" for the layer unpacker: symlinks are
// followed as if the root directory were `/`, so nothing resolves outside
// it. (Lexical cleaning of entry paths is in path_util.h.) Private to
// solver-core.
//
// Thread safety: free functions; the openat2 availability probe is cached in
// an atomic.
#ifndef KILN_SOLVER_SRC_UNPACK_RESOLVE_H_
#define KILN_SOLVER_SRC_UNPACK_RESOLVE_H_

#include <functional>
#include <string>
#include <vector>

#include "fs_util.h"
#include "kiln/llb/status.h"

namespace kiln::solver::internal {

// Creates the missing directory `name` in `parent_fd`; `rel_path` is its
// resolved path relative to the root. Must succeed or return the error;
// EEXIST races are handled by the caller.
using MkdirFn = std::function<Status(int parent_fd, const std::string& name,
                                     const std::string& rel_path)>;

struct ResolveOptions {
  // Create missing directories with `mkdir` (nullptr: missing is NotFound).
  const MkdirFn* mkdir = nullptr;
  // Skip openat2 and resolve component by component.
  bool portable = false;
};

// Opens the directory `components` under `root_fd` as an O_PATH fd, with
// symlinks resolved in root: absolute targets restart at root_fd, `..` stops
// at it. Tries openat2(RESOLVE_IN_ROOT) first (Linux 5.6+); when that is
// unavailable, or a directory must be created, resolves each component with
// openat(O_PATH | O_NOFOLLOW), reading symlinks itself.
// Errors: NotFound for a missing component (without `mkdir`);
// FailedPrecondition for a non-directory component or a symlink loop.
Result<UniqueFd> OpenDirInRoot(int root_fd,
                               const std::vector<std::string>& components,
                               const ResolveOptions& options);

}  // namespace kiln::solver::internal

#endif  // KILN_SOLVER_SRC_UNPACK_RESOLVE_H_
