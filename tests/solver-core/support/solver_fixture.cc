#include "solver_fixture.h"

#include <sys/mount.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "engine_setup.h"
#include "kiln/llb/definition.h"
#include "kiln/llb/source.h"
#include "kiln/solver/graph.h"
#include "test_util.h"

namespace kiln::solver::testing {

void RecordingSink::OnVertex(const VertexProgress& v) {
  std::lock_guard<std::mutex> lock(mu_);
  vertices_.push_back(v);
}

void RecordingSink::OnLog(const VertexLogEntry& log) {
  std::lock_guard<std::mutex> lock(mu_);
  logs_ += log.data;
}

std::vector<VertexProgress> RecordingSink::vertices() const {
  std::lock_guard<std::mutex> lock(mu_);
  return vertices_;
}

std::string RecordingSink::logs() const {
  std::lock_guard<std::mutex> lock(mu_);
  return logs_;
}

MountedSnapshot::MountedSnapshot(Snapshotter& snapshots,
                                 const std::string& name) {
  auto mounts = snapshots.Mounts(name);
  EXPECT_TRUE(mounts.ok()) << mounts.status().ToString();
  if (!mounts.ok() || mounts->empty()) return;
  const Mount& m = (*mounts)[0];
  if (m.type == "bind") {
    path_ = m.source;
    return;
  }
  mountpoint_ = MakeTempDir("kiln-test-mnt");
  std::string options;
  for (const std::string& o : m.options) {
    options += (options.empty() ? "" : ",") + o;
  }
  EXPECT_EQ(mount(m.source.c_str(), mountpoint_.c_str(), m.type.c_str(),
                  MS_RDONLY, options.c_str()),
            0)
      << "mounting " << name << ": " << strerror(errno);
  path_ = mountpoint_;
}

MountedSnapshot::~MountedSnapshot() {
  if (mountpoint_.empty()) return;
  umount2(mountpoint_.c_str(), MNT_DETACH);
  rmdir(mountpoint_.c_str());
}

void SolverTest::SetUp() {
  if (std::string missing = RuncRequirementsMissing(); !missing.empty()) {
    KILN_SKIP_UNLESS_REQUIRED("the solver tests: " + missing);
  }
  root_ = MakeTempDir("kiln-solver");
  auto stores = OpenStores(root_);
  ASSERT_TRUE(stores.ok()) << stores.status().ToString();
  content_ = std::move(stores->content);
  images_ = std::move(stores->images);
  if (import_busybox_) {
    Status imported = ImportBusybox(root_, *content_, *images_);
    ASSERT_TRUE(imported.ok()) << imported.ToString();
  }
  ASSERT_NO_FATAL_FAILURE(OpenEngine());
}

void SolverTest::OpenEngine() {
  auto engine = OpenTestEngine(root_, *images_, registry_);
  ASSERT_TRUE(engine.ok()) << engine.status().ToString();
  snapshots_ = std::move(engine->snapshots);
  executor_ = std::move(engine->executor);
  solver_ = std::move(engine->solver);
}

void SolverTest::CloseEngine() {
  solver_.reset();
  executor_.reset();
  snapshots_.reset();
}

void SolverTest::TearDown() {
  CloseEngine();
  images_.reset();
  content_.reset();
  if (!root_.empty()) RemoveTree(root_);
}

Result<SolveResult> SolverTest::SolveDefinition(const pb::Definition& def,
                                                const SolveRequest& request) {
  KILN_ASSIGN_OR_RETURN(llb::LoadedDefinition loaded, llb::LoadDefinition(def));
  KILN_ASSIGN_OR_RETURN(Graph graph, BuildGraph(loaded));
  return solver_->Solve(graph, request, std::stop_token());
}

Result<SolveResult> SolverTest::Solve(const llb::State& state,
                                      const SolveRequest& request) {
  KILN_ASSIGN_OR_RETURN(pb::Definition def, state.Marshal());
  return SolveDefinition(def, request);
}

std::map<std::string, std::string> SolverTest::Tree(const SolveResult& result) {
  if (result.snapshot.empty()) return {};
  MountedSnapshot mounted(*snapshots_, result.snapshot);
  return DumpTree(mounted.path());
}

std::string SolverTest::ReadResultFile(const SolveResult& result,
                                       const std::string& path) {
  if (result.snapshot.empty()) return "<empty result>";
  MountedSnapshot mounted(*snapshots_, result.snapshot);
  return ReadFile(mounted.path() + path);
}

llb::State SolverTest::Busybox() const { return llb::Image("busybox:latest"); }

}  // namespace kiln::solver::testing
