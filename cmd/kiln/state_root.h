// The state directory of the embedded engine ($KILN_ROOT) and the stores in
// it, opened on first use so that commands touch only what they need.
#ifndef KILN_CMD_KILN_STATE_ROOT_H_
#define KILN_CMD_KILN_STATE_ROOT_H_

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "kiln/llb/status.h"
#include "kiln/solver/content_store.h"
#include "kiln/solver/executor.h"
#include "kiln/solver/image_store.h"
#include "kiln/solver/registry.h"
#include "kiln/solver/snapshotter.h"
#include "kiln/solver/solver.h"

namespace kiln::cli {

// $KILN_ROOT if set; else /var/lib/kiln for root, else
// $XDG_DATA_HOME/kiln (default ~/.local/share/kiln), like BuildKit's
// rootless default.
std::string DefaultRootDir();

// The operator config file: $KILN_CONFIG if set (it must exist), else
// /etc/kiln/kiln.toml when that exists, else empty (built-in defaults).
std::string ConfigPath();

// One per process (the CLI invocation, or kilnd). Owns the stores it
// opens. Thread-safe: the accessors open lazily under a lock, and what they
// return is thread-safe itself (the stores, the Solver).
class Root {
 public:
  // `config_path` is the operator config (kiln.toml; "" = built-in
  // defaults): registry settings and the frontend policy come from it.
  explicit Root(std::string dir, std::string config_path = ConfigPath())
      : dir_(std::move(dir)), config_path_(std::move(config_path)) {}

  const std::string& dir() const { return dir_; }
  const std::string& config_path() const { return config_path_; }
  // Vertices run at once (SolverOptions::parallelism); 0 = the
  // KILN_PARALLELISM environment variable, else the solver's default. Call
  // before Solver().
  void set_parallelism(int parallelism) { parallelism_ = parallelism; }
  // Ops run at once: set_parallelism's, else $KILN_PARALLELISM, else the
  // config's [worker.oci] max-parallelism, else the CPUs (at least 2).
  // InvalidArgument for a bad environment or config value.
  Result<int> Parallelism() const;
  // The automatic GC policies the Solver runs with (kiln.toml's
  // [worker.oci] GC settings, gc_config.h); set by Solver().
  const std::vector<solver::PruneOptions>& gc_policies() const {
    return gc_policies_;
  }
  Result<solver::ContentStore*> Content();
  Result<solver::ImageStore*> Images();
  // Registry settings from config_path() (buildkitd.toml's [registry]
  // tables).
  Result<solver::RegistryClient*> Registry();
  // The snapshotter under snapshots/ (overlay when possible, else copy).
  Result<solver::Snapshotter*> Snapshots();
  // A RuncExecutor with its state under executor/. FailedPrecondition when
  // no OCI runtime is found or we are not root.
  Result<solver::Executor*> Executor();
  // The Solver over the stores above (its state under solver/). Without an
  // executor (Executor() failed) it still opens: exec ops then fail with
  // executor_error(). Defined in state_root_solver.cc.
  Result<solver::Solver*> Solver();
  // Why Solver() runs without an executor; empty when it has one.
  std::string executor_error() const;
  // <dir>/frontends, where frontend runs keep per-run state. The first call
  // removes what a killed predecessor left there (this process holds the
  // root: the snapshotter's lock); later calls return the path.
  Result<std::string> FrontendStateDir();

 private:
  // Callers hold mu_ (recursive: Solver() opens the stores it needs).
  mutable std::recursive_mutex mu_;
  std::string dir_;
  std::string config_path_;
  int parallelism_ = 0;
  std::vector<solver::PruneOptions> gc_policies_;
  bool frontend_state_clean_ = false;
  std::unique_ptr<solver::ContentStore> content_;
  std::unique_ptr<solver::ImageStore> images_;
  std::unique_ptr<solver::RegistryClient> registry_;
  std::unique_ptr<solver::Snapshotter> snapshots_;
  std::unique_ptr<solver::Executor> executor_;
  std::string executor_error_;
  std::unique_ptr<solver::Solver> solver_;  // last: uses the ones above
};

}  // namespace kiln::cli

#endif  // KILN_CMD_KILN_STATE_ROOT_H_
