// The state directory of the embedded engine ($KILN_ROOT) and the stores in
// it, opened on first use so that commands touch only what they need.
#ifndef KILN_CMD_KILN_STATE_ROOT_H_
#define KILN_CMD_KILN_STATE_ROOT_H_

#include <memory>
#include <string>

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

// Not thread-safe; one per CLI invocation. Owns the stores it opens.
class Root {
 public:
  explicit Root(std::string dir) : dir_(std::move(dir)) {}

  const std::string& dir() const { return dir_; }
  Result<solver::ContentStore*> Content();
  Result<solver::ImageStore*> Images();
  // Registry settings from ConfigPath() (buildkitd.toml's [registry] tables).
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
  const std::string& executor_error() const { return executor_error_; }

 private:
  std::string dir_;
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
