#include "cache_usage.h"
#include "gc_config.h"
#include "state_root.h"

namespace kiln::cli {
namespace {

class RootCacheUsage : public CacheUsage {
 public:
  explicit RootCacheUsage(Root& root) : root_(root) {}
  Result<std::vector<solver::UsageRecord>> DiskUsage(
      const std::vector<std::string>& filters) override {
    KILN_ASSIGN_OR_RETURN(solver::Solver * solver, root_.Solver());
    return solver->DiskUsage(filters);
  }
  Result<std::vector<solver::UsageRecord>> Prune(
      const solver::PruneOptions& options) override {
    KILN_ASSIGN_OR_RETURN(solver::Solver * solver, root_.Solver());
    return solver->Prune(options);
  }
  int64_t DiskBytes() override { return DiskBytesOf(root_.dir()); }

 private:
  Root& root_;
};

}  // namespace

std::unique_ptr<CacheUsage> LocalCacheUsage(Root& root) {
  return std::make_unique<RootCacheUsage>(root);
}

}  // namespace kiln::cli
