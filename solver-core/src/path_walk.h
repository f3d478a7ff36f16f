// Resolving a path inside a root directory by lstat and readlink, one
// component at a time, as if the root were "/": ".." stops at the root and
// absolute link targets restart at it, so no symlink leads out. For walks
// over trees nobody changes meanwhile (a build context, a checksummed tree);
// where the tree may change under us, use unpack_resolve.h's fd-based
// resolution instead. Private to solver-core.
//
// Thread safety: pure functions over the file system.
#ifndef KILN_SOLVER_SRC_PATH_WALK_H_
#define KILN_SOLVER_SRC_PATH_WALK_H_

#include <functional>
#include <string>
#include <vector>

#include "kiln/llb/status.h"

namespace kiln::solver::internal {

// A symlink met and followed during WalkInRoot.
struct InRootLink {
  std::string rel;  // root-relative path of the link itself
  // Where resolution goes on from it: what is resolved so far (the link's
  // target applied) joined with the components still to walk, cleaned;
  // empty when that is the root or nothing is left.
  std::string rest;
};

struct InRootWalk {
  std::vector<std::string> resolved;  // the components resolved
  bool missing = false;         // stopped at a component that does not exist
  bool too_many_links = false;  // stopped after kMaxInRootLinks links
};

inline constexpr int kMaxInRootLinks = 40;

// Resolves `components` (e.g. from CleanPath or SplitPath) inside `root`.
// The last component's link is followed only with `follow_final`; every
// followed link is reported to `on_link` (if set). Stops early, with a flag,
// at a missing component (ENOENT, ENOTDIR) or after too many links.
// Errors: other lstat/readlink failures, naming the path.
Result<InRootWalk> WalkInRoot(
    const std::string& root, const std::vector<std::string>& components,
    bool follow_final,
    const std::function<void(const InRootLink&)>& on_link = {});

}  // namespace kiln::solver::internal

#endif  // KILN_SOLVER_SRC_PATH_WALK_H_
