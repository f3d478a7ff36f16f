// Shared setup of the solver benchmarks (solver_bench.cc,
// solver_exec_bench.cc): a complete embedded engine in a temporary
// $KILN_ROOT, as `kiln build` opens it — content and image stores (with
// busybox:latest imported from shared/tools/make-busybox-oci.sh), the
// snapshotter (overlay when available), the runc executor and a Solver.
//
// Needs root, runc and busybox-static: RequirementsMissing() says which is
// missing, and main() exits with that message before any benchmark runs.
//
// Ownership: BenchEngine::Get() is a process-wide singleton, created on first
// use and never destroyed before exit (its temporary root, like every
// MakeBenchDir() directory, is removed by an atexit handler). Not thread-safe:
// benchmarks run one at a time.
#ifndef KILN_TESTS_BENCH_SOLVER_BENCH_ENGINE_H_
#define KILN_TESTS_BENCH_SOLVER_BENCH_ENGINE_H_

#include <memory>
#include <string>

#include "kiln/llb/state.h"
#include "kiln/llb/status.h"
#include "kiln/solver/content_store.h"
#include "kiln/solver/executor.h"
#include "kiln/solver/image_store.h"
#include "kiln/solver/snapshotter.h"
#include "kiln/solver/solver.h"

namespace kiln::solver::bench {

// "" when the benchmarks can run, else why not ("needs root", …).
std::string RequirementsMissing();

class BenchEngine {
 public:
  // The engine, opened; aborts with a message when setup fails.
  static BenchEngine& Get();

  // Opens (Open) or closes (Close) everything a CLI process opens: the
  // content and image stores, the snapshotter, the runc executor (which
  // cleans its state dir) and the Solver.
  Status Open();
  void Close();

  // What `kiln build` does with a Definition received as bytes: parse,
  // llb::LoadDefinition, BuildGraph, Solve.
  Result<SolveResult> SolveBytes(const std::string& definition,
                                 const SolveRequest& request);

  const std::string& root() const { return root_; }
  Snapshotter& snapshots() { return *snapshots_; }
  Executor& executor() { return *executor_; }
  RuncExecutor& runc() { return *executor_; }

 private:
  BenchEngine() = default;
  Status Setup();

  std::string root_;
  std::unique_ptr<ContentStore> content_;
  std::unique_ptr<ImageStore> images_;
  std::unique_ptr<Snapshotter> snapshots_;
  std::unique_ptr<RuncExecutor> executor_;
  std::unique_ptr<Solver> solver_;
};

// Marshals `state` into Definition bytes (aborts on error: states are fixed).
std::string MarshalBytes(const llb::State& state);

// busybox:latest as imported by BenchEngine.
llb::State Busybox();

// A fresh temporary directory, removed at exit (aborts when mkdtemp fails).
std::string MakeBenchDir(const std::string& prefix);

// Writes `content` to `path`, replacing it (aborts on failure).
void WriteBenchFile(const std::string& path, const std::string& content);

}  // namespace kiln::solver::bench

#endif  // KILN_TESTS_BENCH_SOLVER_BENCH_ENGINE_H_
