// Solver::DiskUsage and Solver::Prune (gc.h).
#include <string>
#include <vector>

#include "solver_impl.h"

namespace kiln::solver::internal {

Result<std::vector<UsageRecord>> SolverImpl::DiskUsage(
    const std::vector<std::string>& /*filters*/) {
  return UnimplementedError("disk usage records are not implemented yet");
}

Result<std::vector<UsageRecord>> SolverImpl::Prune(
    const PruneOptions& /*options*/) {
  return UnimplementedError("pruning the cache is not implemented yet");
}

}  // namespace kiln::solver::internal
