// The Solver implementation (solver.h): shared state in SolverImpl
// (solver.cc), one solve's scheduling in SolveRun (solver_run.cc). Private
// to solver-core.
#ifndef KILN_SOLVER_SRC_SOLVER_IMPL_H_
#define KILN_SOLVER_SRC_SOLVER_IMPL_H_

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <stop_token>
#include <string>
#include <vector>

#include "kiln/solver/solver.h"
#include "solver_gc_guard.h"
#include "solver_internal.h"

namespace kiln::solver::internal {

// A vertex run in progress, shared by every solve that wants its key.
struct InFlight {
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  Status status;
  std::vector<OutputRef> outputs;
};

class SolverImpl final : public Solver {
 public:
  SolverImpl(SolverOptions options, SolverDirs dirs,
             std::unique_ptr<CacheIndex> index,
             std::unique_ptr<CacheMounts> cache_mounts);

  Result<SolveResult> Solve(const Graph& graph, const SolveRequest& request,
                            std::stop_token stop) override;
  LayerCache& layers() override { return *index_; }
  Result<std::vector<UsageRecord>> DiskUsage(
      const std::vector<std::string>& filters) override;
  Result<std::vector<UsageRecord>> Prune(const PruneOptions& options) override;
  Result<std::shared_ptr<void>> Hold(const std::string& snapshot) override;

  const SolverOptions& options() const { return options_; }
  const SolverDirs& dirs() const { return dirs_; }
  CacheIndex& index() { return *index_; }
  CacheMounts& cache_mounts() { return *cache_mounts_; }
  ContentChecksummer& local_checksums() { return local_checksums_; }

  // Bounds the vertices running at once across solves. AcquireSlot returns
  // false when `stop` was requested first (no slot taken).
  bool AcquireSlot(std::stop_token stop);
  void ReleaseSlot();

  // A synced copy of a local source under `base` ("<base>/tree-N", with its
  // sync state in "<base>/state-N") that no other solve uses until
  // ReleaseLocalTree: a solve reads a context that cannot change under it.
  std::string AcquireLocalTree(const std::string& base);
  void ReleaseLocalTree(const std::string& tree);

  // The recorded outputs of `key` when every snapshot still exists; a
  // record with a missing snapshot is forgotten. With `holds`, the outputs
  // are held for that solve (solver_gc_guard.h).
  std::optional<std::vector<OutputRef>> Lookup(const Digest& key,
                                               SolveHolds* holds = nullptr);

  // Garbage collection (solver_gc*.cc). HoldExisting holds `snapshot` for a
  // solve when it still exists (NotFound when it is gone). AfterSolve marks
  // what a solve used and runs the automatic GC policies when due.
  GcGuard& gc() { return gc_; }
  Status HoldExisting(SolveHolds& holds, const std::string& snapshot);
  void AfterSolve(SolveHolds& holds);
  // Moves local source state `base` to `trash` unless a solve uses it.
  // FailedPrecondition when in use.
  Status TrashLocalBase(const std::string& base, const std::string& trash);
  bool LocalBaseBusy(const std::string& base);

  // Registers a run of `key`: returns {entry, true} for the caller to run and
  // Finish(), or {entry, false} when another solve runs it (wait on entry).
  std::pair<std::shared_ptr<InFlight>, bool> BeginRun(const Digest& key);
  void FinishRun(const Digest& key, const std::shared_ptr<InFlight>& entry,
                 Status status, std::vector<OutputRef> outputs);

  void Describe(const std::string& snapshot, const std::string& created_by);
  std::string DescriptionOf(const std::string& snapshot);

 private:
  SolverOptions options_;
  SolverDirs dirs_;
  std::unique_ptr<CacheIndex> index_;
  std::unique_ptr<CacheMounts> cache_mounts_;
  ContentChecksummer local_checksums_;
  GcGuard gc_;

  std::mutex slots_mu_;
  std::condition_variable_any slots_cv_;
  int free_slots_ = 0;

  std::mutex mu_;
  std::map<std::string, std::set<int>> busy_trees_;  // base -> leased N
  std::map<Digest, std::shared_ptr<InFlight>> in_flight_;
  std::map<std::string, std::string> descriptions_;
};

// The outputs of `key` from env.request's imported caches
// (solver_cache_import.cc): the first cache with a record is materialized
// (missing layer blobs fetched, unpacked as chain-ID snapshots, held in
// `holds`, their blobs put in the LayerCache) and recorded in the index.
// nullopt on a miss, or when materializing failed: that is logged on the
// vertex and the caller runs the op (a broken cache never fails a build).
std::optional<std::vector<OutputRef>> ImportedHit(SolverImpl& solver,
                                                  const OpEnv& env,
                                                  const Digest& key,
                                                  SolveHolds& holds);

// Runs one solve on the shared state (solver_run.cc).
Result<SolveResult> RunSolve(SolverImpl& solver, const Graph& graph,
                             const SolveRequest& request, std::stop_token stop);

}  // namespace kiln::solver::internal

#endif  // KILN_SOLVER_SRC_SOLVER_IMPL_H_
