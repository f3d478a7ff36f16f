#include "solver_fixture.h"

#include <sys/mount.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "kiln/llb/definition.h"
#include "kiln/llb/source.h"
#include "kiln/solver/graph.h"
#include "registry_fixture.h"
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
  if (geteuid() != 0) KILN_SKIP_UNLESS_REQUIRED("the solver tests need root");
  if (!HaveProgram("runc")) KILN_SKIP_UNLESS_REQUIRED("runc is not installed");
  if (access("/bin/busybox", X_OK) != 0) {
    KILN_SKIP_UNLESS_REQUIRED("busybox-static is not installed");
  }
  root_ = MakeTempDir("kiln-solver");
  auto content = ContentStore::Open(root_ + "/content");
  ASSERT_TRUE(content.ok()) << content.status().ToString();
  content_ = std::move(*content);
  auto images = ImageStore::Open(root_ + "/images", content_.get());
  ASSERT_TRUE(images.ok()) << images.status().ToString();
  images_ = std::move(*images);
  if (!import_busybox_) {
    ASSERT_NO_FATAL_FAILURE(OpenEngine());
    return;
  }
  auto layout = MakeBusyboxLayout(root_ + "/layout", "latest");
  ASSERT_TRUE(layout.ok()) << layout.status().ToString();
  auto desc = ImportLayout(*layout, content_.get());
  ASSERT_TRUE(desc.ok()) << desc.status().ToString();
  desc->annotations.clear();
  ASSERT_TRUE(images_->Put("docker.io/library/busybox:latest", *desc).ok());
  ASSERT_NO_FATAL_FAILURE(OpenEngine());
}

void SolverTest::OpenEngine() {
  auto snaps = OpenSnapshotter(root_ + "/snapshots", SnapshotterKind::kAuto);
  ASSERT_TRUE(snaps.ok()) << snaps.status().ToString();
  snapshots_ = std::move(*snaps);
  auto executor = RuncExecutor::Create({root_ + "/executor", ""});
  ASSERT_TRUE(executor.ok()) << executor.status().ToString();
  executor_ = std::move(*executor);
  SolverOptions options;
  options.root = root_;
  options.images = images_.get();
  options.snapshots = snapshots_.get();
  options.executor = executor_.get();
  options.registry = registry_;
  auto solver = Solver::Open(options);
  ASSERT_TRUE(solver.ok()) << solver.status().ToString();
  solver_ = std::move(*solver);
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
