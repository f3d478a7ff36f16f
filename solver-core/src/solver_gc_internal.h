// Garbage collection of the solver's cache (gc.h): the records it finds
// (solver_gc_scan.cc), filters (solver_gc_filter.cc), pruning
// (solver_gc_prune.cc) and the automatic policies (solver_gc.cc). Private to
// solver-core.
#ifndef KILN_SOLVER_SRC_SOLVER_GC_INTERNAL_H_
#define KILN_SOLVER_SRC_SOLVER_GC_INTERNAL_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "kiln/llb/digest.h"
#include "kiln/llb/status.h"
#include "kiln/solver/cache_index.h"
#include "kiln/solver/gc.h"
#include "kiln/solver/image_store.h"
#include "solver_internal.h"

namespace kiln::solver::internal {

class SolverImpl;

// What a usage record stands for, to remove it.
enum class GcKind {
  kSnapshot,    // name: the snapshot
  kCacheMount,  // name: the cache id
  kLocal,       // name: <locals>/<id>, a local source's synced trees
  kGit,         // name: <git>/git/<hex>, a git mirror
  kHttp,        // name: <http>/http/blobs/<hex>, a downloaded body
};

struct GcRecord {
  UsageRecord usage;
  GcKind kind = GcKind::kSnapshot;
  std::string name;
  // Snapshots: the parent snapshot; whether it may be removed at all (a
  // committed snapshot, recorded when it is an op output); its layer blob
  // when no image and no other snapshot needs it (removed with it).
  std::string parent;
  bool removable = false;
  std::optional<Digest> blob;
};

// Every record of the cache, sizes measured (each byte counted once).
Result<std::vector<GcRecord>> ScanGc(SolverImpl& solver);

// Every blob a named image references → the (first) image's name.
Result<std::map<Digest, std::string>> ImageBlobNames(ImageStore& images);

// Bytes on disk (st_blocks) under `path`, counting a hard-linked inode
// once across all calls with the same `seen` (nullptr: within this call).
// `shared` (if set) is set when an inode was already counted before.
// A missing path is 0 bytes.
int64_t DiskBytes(const std::string& path,
                  std::set<std::pair<uint64_t, uint64_t>>* seen = nullptr,
                  bool* shared = nullptr);

// Parsed filters (gc.h syntax): a conjunction of clauses.
class GcFilter {
 public:
  static Result<GcFilter> Parse(const std::vector<std::string>& filters);
  bool Matches(const UsageRecord& record, int64_t now_ns) const;

 private:
  struct Clause {
    std::string field;  // type, id, description, parents
    std::string op;     // ==, !=, ~=
    std::string value;
    std::shared_ptr<const std::regex> regex;  // for ~=
  };
  std::vector<Clause> clauses_;
  int64_t until_ns_ = 0;  // 0: no until filter
};

// Removes what `options` selects; the removed records.
Result<std::vector<UsageRecord>> RunPrune(SolverImpl& solver,
                                          const PruneOptions& options);

// Where GC moves directories before deleting them, and the list of layer
// blobs it is about to delete: both are finished by CleanGcLeftovers.
std::string GcTrashDir(const SolverDirs& dirs);
std::string GcPendingBlobsFile(const SolverDirs& dirs);
// At Open: deletes what a killed GC left (trash, pending blobs that no
// image or layer record needs).
Status CleanGcLeftovers(const SolverDirs& dirs, CacheIndex& index,
                        ImageStore& images);

// Free bytes of the file system holding `path`; -1 when unknown.
int64_t FreeBytes(const std::string& path);

// 25 characters of base-36, stable for (kind, name): a record's id.
std::string GcRecordId(GcKind kind, const std::string& name);

}  // namespace kiln::solver::internal

#endif  // KILN_SOLVER_SRC_SOLVER_GC_INTERNAL_H_
