// Root's executor and solver: apart from state_root.cc so that commands that
// only use the stores do not need the solver linked.
#include "state_root.h"

namespace kiln::cli {

Result<solver::Executor*> Root::Executor() {
  if (!executor_) {
    KILN_ASSIGN_OR_RETURN(
        executor_, solver::RuncExecutor::Create(
                       {.state_dir = dir_ + "/executor", .runtime = ""}));
  }
  return executor_.get();
}

Result<solver::Solver*> Root::Solver() {
  if (!solver_) {
    KILN_ASSIGN_OR_RETURN(solver::ImageStore * images, Images());
    KILN_ASSIGN_OR_RETURN(solver::Snapshotter * snapshots, Snapshots());
    KILN_ASSIGN_OR_RETURN(solver::RegistryClient * registry, Registry());
    solver::Executor* executor = nullptr;
    if (auto e = Executor(); e.ok()) {
      executor = *e;
    } else {
      executor_error_ = e.status().message();
    }
    KILN_ASSIGN_OR_RETURN(solver_,
                          solver::Solver::Open({.root = dir_,
                                                .images = images,
                                                .registry = registry,
                                                .snapshots = snapshots,
                                                .executor = executor}));
  }
  return solver_.get();
}

}  // namespace kiln::cli
