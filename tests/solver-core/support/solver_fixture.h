// Base fixture of the solver integration tests: a complete embedded engine
// in a temporary $KILN_ROOT — content and image stores (with busybox:latest
// imported from shared/tools/make-busybox-oci.sh), the snapshotter (overlay
// when available), the runc executor and a Solver — removed after the
// test. Skips (or fails under KILN_REQUIRE_INTEGRATION) without root, runc
// or busybox-static.
#ifndef KILN_TESTS_SOLVER_CORE_SUPPORT_SOLVER_FIXTURE_H_
#define KILN_TESTS_SOLVER_CORE_SUPPORT_SOLVER_FIXTURE_H_

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "kiln/llb/state.h"
#include "kiln/solver/content_store.h"
#include "kiln/solver/executor.h"
#include "kiln/solver/image_store.h"
#include "kiln/solver/progress.h"
#include "kiln/solver/registry.h"
#include "kiln/solver/snapshotter.h"
#include "kiln/solver/solver.h"

namespace kiln::solver::testing {

// Records every progress event (thread-safe).
class RecordingSink : public ProgressSink {
 public:
  void OnVertex(const VertexProgress& v) override;
  void OnStatus(const VertexStatusEntry&) override {}
  void OnLog(const VertexLogEntry& log) override;
  void OnWarning(const VertexWarningEntry&) override {}

  std::vector<VertexProgress> vertices() const;
  std::string logs() const;

 private:
  mutable std::mutex mu_;
  std::vector<VertexProgress> vertices_;
  std::string logs_;
};

// A snapshot mounted read-only on a temporary directory for the test to
// read (or its own directory when it is a single tree).
class MountedSnapshot {
 public:
  MountedSnapshot(Snapshotter& snapshots, const std::string& name);
  ~MountedSnapshot();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::string mountpoint_;
};

class SolverTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // (Re)opens the snapshotter, executor and solver on root_ (after Close).
  void OpenEngine();
  void CloseEngine();

  // Marshals `state` and solves it.
  Result<SolveResult> Solve(const llb::State& state,
                            const SolveRequest& request = {});
  Result<SolveResult> SolveDefinition(const pb::Definition& def,
                                      const SolveRequest& request = {});

  // The files of a result (DumpTree format) and one file's content.
  std::map<std::string, std::string> Tree(const SolveResult& result);
  std::string ReadResultFile(const SolveResult& result,
                             const std::string& path);

  llb::State Busybox() const;

  // Hooks for derived fixtures. Set import_busybox_ = false before
  // SolverTest::SetUp() to start with empty stores (no busybox:latest);
  // registry_ (not owned, must outlive the engine) becomes
  // SolverOptions::registry at the next OpenEngine().
  bool import_busybox_ = true;
  RegistryClient* registry_ = nullptr;

  std::string root_;
  std::unique_ptr<ContentStore> content_;
  std::unique_ptr<ImageStore> images_;
  std::unique_ptr<Snapshotter> snapshots_;
  std::unique_ptr<Executor> executor_;
  std::unique_ptr<Solver> solver_;
};

}  // namespace kiln::solver::testing

#endif  // KILN_TESTS_SOLVER_CORE_SUPPORT_SOLVER_FIXTURE_H_
