// Engine setup shared by the solver integration tests (SolverTest, the runc
// executor tests) and the solver benchmarks: what needs checking before a
// real runc engine can run, a busybox root filesystem, the content and image
// stores, busybox:latest imported into them, and the snapshotter, runc
// executor and Solver opened over a root directory.
//
// Plain functions: trouble is a Status (or a reason string), never a gtest
// assertion, so a benchmark main() can use them too. Results are owned by the
// caller. Not thread-safe on one root directory.
#ifndef KILN_TESTS_SOLVER_CORE_SUPPORT_ENGINE_SETUP_H_
#define KILN_TESTS_SOLVER_CORE_SUPPORT_ENGINE_SETUP_H_

#include <functional>
#include <memory>
#include <string>

#include "kiln/llb/status.h"
#include "kiln/solver/content_store.h"
#include "kiln/solver/executor.h"
#include "kiln/solver/image_store.h"
#include "kiln/solver/registry.h"
#include "kiln/solver/snapshotter.h"
#include "kiln/solver/solver.h"

namespace kiln::solver::testing {

// "" when a real runc engine can run here (root, runc in PATH and
// /bin/busybox from busybox-static), else what is missing.
std::string RuncRequirementsMissing();

// Fills the directory `root` with a busybox root filesystem: /bin/busybox
// (copied from the host) and its applets as symlinks, /tmp (mode 1777),
// /root, /home/builder, and /etc/passwd and /etc/group with root, builder
// (1000:1000) and group extra (2000) holding builder. A failed step is an
// InternalError with its output.
Status MakeBusyboxRootfs(const std::string& root);

// Commits a MakeBusyboxRootfs() tree as snapshot `name` (no parent) of
// `snapshots`, first running `extra` (when given) on the tree's directory to
// add to it. Errors say which step failed.
Status CommitBusyboxSnapshot(
    Snapshotter& snapshots, const std::string& name,
    const std::function<void(const std::string& dir)>& extra = nullptr);

// A content store at <root>/content and an image store over it at
// <root>/images.
struct TestStores {
  std::unique_ptr<ContentStore> content;
  std::unique_ptr<ImageStore> images;
};
Result<TestStores> OpenStores(const std::string& root);

// Imports the image of MakeBusyboxLayout(<root>/layout, "latest") into the
// stores as docker.io/library/busybox:latest.
Status ImportBusybox(const std::string& root, ContentStore& content,
                     ImageStore& images);

// The snapshotter (<root>/snapshots, overlay when available), the runc
// executor (<root>/executor) and a Solver on `root` over `images` (borrowed,
// must outlive the engine), as `kiln build` opens them; `registry` (may be
// null, not owned) becomes SolverOptions::registry. Members are declared so
// that destruction closes the Solver first.
struct TestEngine {
  std::unique_ptr<Snapshotter> snapshots;
  std::unique_ptr<RuncExecutor> executor;
  std::unique_ptr<Solver> solver;
};
Result<TestEngine> OpenTestEngine(const std::string& root, ImageStore& images,
                                  RegistryClient* registry = nullptr);

}  // namespace kiln::solver::testing

#endif  // KILN_TESTS_SOLVER_CORE_SUPPORT_ENGINE_SETUP_H_
