// The second half of SyncLocal: making a destination directory match a
// planned set of source entries (delete what is not planned, write what
// changed, then fix directory modes and mtimes). Private to solver-core.
//
// Thread safety: free functions; callers own `dest`.
#ifndef KILN_SOLVER_SRC_LOCAL_SOURCE_COPY_H_
#define KILN_SOLVER_SRC_LOCAL_SOURCE_COPY_H_

#include <sys/stat.h>

#include <map>
#include <string>

#include "content_checksum_cache.h"
#include "kiln/llb/status.h"
#include "kiln/solver/local_source.h"

namespace kiln::solver::internal {

struct SourceEntry {
  struct stat st {};
  std::string link_target;  // symlinks
};

// Source identities of regular files by relative path (the `hex` field is
// unused).
using SyncState = std::map<std::string, CachedFile>;

// Makes `dest` hold exactly `plan` (keyed by relative path, parents before
// children), copying regular files from `src`. With `previous`, a regular
// file is only kept when its source identity equals the recorded one;
// `next` receives the identities of the regular files now in `dest`.
// Errors as SyncLocal's.
Result<LocalSyncStats> ApplyPlan(const std::string& src,
                                 const std::string& dest,
                                 const std::map<std::string, SourceEntry>& plan,
                                 const SyncState* previous, SyncState& next);

}  // namespace kiln::solver::internal

#endif  // KILN_SOLVER_SRC_LOCAL_SOURCE_COPY_H_
