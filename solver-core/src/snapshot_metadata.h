// The snapshotter's persistent records: one JSON file under the root,
// replaced atomically on every change. Private to solver-core.
//
//   {"version":1,"kind":"overlay","next_id":4,
//    "snapshots":[{"name":"sha256:…","id":1,"parent":"","kind":"committed"},…]}
//
// Thread safety: free functions on caller-owned values.
#ifndef KILN_SOLVER_SRC_SNAPSHOT_METADATA_H_
#define KILN_SOLVER_SRC_SNAPSHOT_METADATA_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "kiln/llb/status.h"
#include "kiln/solver/snapshotter.h"

namespace kiln::solver::internal {

struct SnapshotRecord {
  std::string name;
  int64_t id = 0;  // snapshots/<id>; 0 for views, which own no directory
  std::string parent;
  SnapshotKind kind = SnapshotKind::kActive;
  // Being prepared: reserves the name and pins the parent, but is neither
  // visible nor persisted.
  bool pending = false;
};

struct SnapshotMetadata {
  SnapshotterKind kind = SnapshotterKind::kCopy;
  int64_t next_id = 1;
  std::map<std::string, SnapshotRecord> snapshots;  // by name
};

// Reads `path`; nullopt when it does not exist. DataLoss when it cannot be
// parsed or is inconsistent (a parent that is not a committed record).
Result<std::optional<SnapshotMetadata>> LoadSnapshotMetadata(
    const std::string& path);

// Writes every non-pending record to `path` atomically (WriteFileAtomic).
Status SaveSnapshotMetadata(const std::string& path,
                            const SnapshotMetadata& metadata);

}  // namespace kiln::solver::internal

#endif  // KILN_SOLVER_SRC_SNAPSHOT_METADATA_H_
