// Path handling for the layer unpacker: lexical cleaning of tar entry paths
// and resolution of directories "in root" (symlinks are followed as if the
// root directory were `/`, so nothing resolves outside it). Private to
// solver-core.
//
// Thread safety: free functions; the openat2 availability probe is cached in
// an atomic.
#ifndef KILN_SOLVER_SRC_UNPACK_RESOLVE_H_
#define KILN_SOLVER_SRC_UNPACK_RESOLVE_H_

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "kiln/llb/status.h"
#include "snapshot_fs.h"

namespace kiln::solver::internal {

// Splits a tar path into clean components: a leading `/` and `.` or empty
// components are dropped, `..` removes the previous component. Returns
// nullopt when `..` would climb above the root. The root itself is {}.
std::optional<std::vector<std::string>> CleanPath(const std::string& path);

// Joins components with '/' ("" for none).
std::string JoinPath(const std::vector<std::string>& components, size_t count);
inline std::string JoinPath(const std::vector<std::string>& components) {
  return JoinPath(components, components.size());
}

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
