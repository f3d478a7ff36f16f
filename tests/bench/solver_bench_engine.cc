#include "solver_bench_engine.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <stop_token>
#include <string>
#include <utility>
#include <vector>

#include "kiln/llb/definition.h"
#include "kiln/llb/source.h"
#include "kiln/solver/graph.h"
#include "support/engine_setup.h"
#include "support/test_util.h"

namespace kiln::solver::bench {
namespace {

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "solver_bench: %s\n", what.c_str());
  std::exit(1);
}

// Every MakeBenchDir() directory, removed at exit.
std::vector<std::string>& DirsToRemove() {
  static auto* dirs = new std::vector<std::string>();
  return *dirs;
}

void RemoveDirs() {
  for (const std::string& dir : DirsToRemove()) testing::RemoveTree(dir);
}

}  // namespace

std::string RequirementsMissing() { return testing::RuncRequirementsMissing(); }

BenchEngine& BenchEngine::Get() {
  static BenchEngine* engine = [] {
    auto* e = new BenchEngine();
    Status s = e->Setup();
    if (!s.ok()) Die("setting up the engine: " + s.ToString());
    return e;
  }();
  return *engine;
}

Status BenchEngine::Setup() {
  root_ = MakeBenchDir("kiln-solver-bench-");
  {
    KILN_ASSIGN_OR_RETURN(testing::TestStores stores,
                          testing::OpenStores(root_));
    KILN_RETURN_IF_ERROR(
        testing::ImportBusybox(root_, *stores.content, *stores.images));
  }
  return Open();
}

Status BenchEngine::Open() {
  KILN_ASSIGN_OR_RETURN(testing::TestStores stores, testing::OpenStores(root_));
  content_ = std::move(stores.content);
  images_ = std::move(stores.images);
  KILN_ASSIGN_OR_RETURN(testing::TestEngine engine,
                        testing::OpenTestEngine(root_, *images_));
  snapshots_ = std::move(engine.snapshots);
  executor_ = std::move(engine.executor);
  solver_ = std::move(engine.solver);
  return Status::Ok();
}

void BenchEngine::Close() {
  solver_.reset();
  executor_.reset();
  snapshots_.reset();
  images_.reset();
  content_.reset();
}

Result<SolveResult> BenchEngine::SolveBytes(const std::string& definition,
                                            const SolveRequest& request) {
  pb::Definition def;
  if (!def.ParseFromString(definition)) {
    return InvalidArgumentError("bench: unparsable definition");
  }
  KILN_ASSIGN_OR_RETURN(llb::LoadedDefinition loaded, llb::LoadDefinition(def));
  KILN_ASSIGN_OR_RETURN(Graph graph, BuildGraph(loaded));
  return solver_->Solve(graph, request, std::stop_token());
}

std::string MarshalBytes(const llb::State& state) {
  Result<pb::Definition> def = state.Marshal();
  if (!def.ok()) Die("marshaling: " + def.status().ToString());
  return def->SerializeAsString();
}

llb::State Busybox() { return llb::Image("busybox:latest"); }

std::string MakeBenchDir(const std::string& prefix) {
  std::string dir = testing::MakeTempDir(prefix);
  if (dir.empty()) Die("cannot create a temporary directory");
  if (DirsToRemove().empty()) std::atexit(RemoveDirs);
  DirsToRemove().push_back(dir);
  return dir;
}

void WriteBenchFile(const std::string& path, const std::string& content) {
  std::filesystem::create_directories(
      std::filesystem::path(path).parent_path());
  FILE* out = std::fopen(path.c_str(), "w");
  if (out == nullptr ||
      std::fwrite(content.data(), 1, content.size(), out) != content.size() ||
      std::fclose(out) != 0) {
    Die("writing " + path);
  }
}

}  // namespace kiln::solver::bench
