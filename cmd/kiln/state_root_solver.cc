// Root's executor and solver: apart from state_root.cc so that commands that
// only use the stores do not need the solver linked.
#include <algorithm>
#include <cstdlib>
#include <string>
#include <thread>

#include "gc_config.h"
#include "state_root.h"

namespace kiln::cli {
namespace {

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? std::string() : std::string(v);
}

}  // namespace

Result<solver::Executor*> Root::Executor() {
  std::lock_guard lock(mu_);
  if (!executor_) {
    std::string runtime = Env("KILN_RUNTIME");
    if (runtime.empty()) {
      KILN_ASSIGN_OR_RETURN(WorkerSettings worker,
                            LoadWorkerSettings(config_path_));
      runtime = worker.binary;
    }
    KILN_ASSIGN_OR_RETURN(
        executor_, solver::RuncExecutor::Create(
                       {.state_dir = dir_ + "/executor", .runtime = runtime}));
  }
  return executor_.get();
}

Result<int> Root::Parallelism() const {
  int parallelism = parallelism_;
  if (std::string p = Env("KILN_PARALLELISM"); parallelism == 0 && !p.empty()) {
    char* end = nullptr;
    long n = std::strtol(p.c_str(), &end, 10);
    if (*end != '\0' || n < 1 || n > 1024) {
      return InvalidArgumentError("KILN_PARALLELISM=\"" + p +
                                  "\": expected a number from 1 to 1024");
    }
    parallelism = static_cast<int>(n);
  }
  KILN_ASSIGN_OR_RETURN(WorkerSettings worker,
                        LoadWorkerSettings(config_path_));
  if (parallelism == 0) parallelism = worker.max_parallelism;
  if (parallelism == 0) {
    parallelism =
        std::max(2, static_cast<int>(std::thread::hardware_concurrency()));
  }
  return parallelism;
}

Result<solver::Solver*> Root::Solver() {
  std::lock_guard lock(mu_);
  if (!solver_) {
    KILN_ASSIGN_OR_RETURN(solver::ImageStore * images, Images());
    KILN_ASSIGN_OR_RETURN(solver::Snapshotter * snapshots, Snapshots());
    KILN_ASSIGN_OR_RETURN(solver::RegistryClient * registry, Registry());
    // A bad [worker.oci] binary / max-parallelism is the config's error, not
    // a missing runtime.
    KILN_ASSIGN_OR_RETURN(int parallelism, Parallelism());
    solver::Executor* executor = nullptr;
    if (auto e = Executor(); e.ok()) {
      executor = *e;
    } else {
      executor_error_ = e.status().message();
    }
    // Automatic GC as kiln.toml's [worker.oci] says (buildkitd's defaults).
    KILN_ASSIGN_OR_RETURN(gc_policies_, LoadGcPolicies(config_path_, dir_));
    KILN_ASSIGN_OR_RETURN(solver_,
                          solver::Solver::Open({.root = dir_,
                                                .images = images,
                                                .registry = registry,
                                                .snapshots = snapshots,
                                                .executor = executor,
                                                .parallelism = parallelism,
                                                .gc_policies = gc_policies_}));
  }
  return solver_.get();
}

}  // namespace kiln::cli
