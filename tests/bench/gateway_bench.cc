// Gateway overhead: the time a fully cached build spends because it goes
// through a frontend, i.e. (build through the frontend) − (the same LLB
// solved directly by the Solver), measured in the same iteration so that
// both see the same machine load.
//
// The frontend is the test frontend (tests/gateway/test_frontend.cc, a static
// binary) in mode "ok": it checks its sandbox, then solves
// Scratch().File(Mkfile("/out.txt", 0644, MESSAGE)) and returns it. The
// direct solve builds that very Definition. Variants: the frontend as an
// image run by runc (what users get), and as a host process
// (--frontend-exec, no container).
//
// Upstream reference: BuildKit's gateway overhead for a cached build is
// about 0.1 s on this kind of machine (issue 5); reported as a ratio.
// Needs root, runc and busybox-static; exits with a message otherwise.
#include <benchmark/benchmark.h>
#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <string>

#include "kiln/gateway/frontend_runner.h"
#include "kiln/llb/file.h"
#include "kiln/llb/state.h"
#include "kiln/solver/graph.h"
#include "kiln/solver/image_import.h"
#include "kiln/solver/image_source.h"
#include "support/engine_setup.h"
#include "support/test_util.h"

namespace kiln {
namespace {

using Clock = std::chrono::steady_clock;
constexpr char kImage[] = "kiln-bench/frontend:1";
constexpr char kMessage[] = "cached through the gateway";
constexpr double kBuildkitOverheadMs = 100.0;

struct Env {
  solver::testing::TempDir root{"kiln-gateway-bench-"};
  solver::testing::TestStores stores;
  solver::testing::TestEngine engine;
  std::unique_ptr<solver::ImageSource> images;
  std::unique_ptr<gateway::FrontendRunner> image_runner;
  std::unique_ptr<gateway::FrontendRunner> exec_runner;
  std::optional<solver::Graph> graph;
};

void Die(const std::string& what, const Status& s) {
  std::fprintf(stderr, "gateway_bench: %s: %s\n", what.c_str(),
               s.ToString().c_str());
  std::exit(1);
}

Env& GetEnv() {
  static Env* env = [] {
    auto* e = new Env;
    auto stores = solver::testing::OpenStores(e->root.path());
    if (!stores.ok()) Die("stores", stores.status());
    e->stores = std::move(*stores);
    auto engine =
        solver::testing::OpenTestEngine(e->root.path(), *e->stores.images);
    if (!engine.ok()) Die("engine", engine.status());
    e->engine = std::move(*engine);

    // The frontend image: the static test frontend at /bin/frontend.
    std::string rootfs = e->root.path() + "/fe-rootfs";
    std::filesystem::create_directories(rootfs + "/bin");
    std::filesystem::copy_file(KILN_TEST_FRONTEND, rootfs + "/bin/frontend");
    chmod((rootfs + "/bin/frontend").c_str(), 0755);
    solver::ImportOptions import;
    import.source = rootfs;
    import.name = kImage;
    import.source_date_epoch = 0;
    import.config_json = R"({"architecture":"amd64","os":"linux","config":{)"
                         R"("Entrypoint":["/bin/frontend"],"Labels":{)"
                         R"("moby.buildkit.frontend.network.none":"true"}}})";
    if (auto d = solver::ImportImage(*e->stores.images, import); !d.ok()) {
      Die("importing the frontend image", d.status());
    }
    e->images = std::make_unique<solver::ImageSource>(
        e->stores.images.get(), nullptr, e->engine.snapshots.get());
    gateway::FrontendRunnerOptions o;
    o.solver = e->engine.solver.get();
    o.snapshots = e->engine.snapshots.get();
    o.images = e->images.get();
    o.executor = e->engine.executor.get();
    o.state_dir = e->root.path() + "/frontends";
    e->image_runner = std::make_unique<gateway::FrontendRunner>(o);
    o.exec_path = KILN_TEST_FRONTEND;
    e->exec_runner = std::make_unique<gateway::FrontendRunner>(o);

    auto def =
        llb::Scratch().File(llb::Mkfile("/out.txt", 0644, kMessage)).Marshal();
    if (!def.ok()) Die("marshal", def.status());
    auto loaded = llb::LoadDefinition(*def);
    if (!loaded.ok()) Die("load", loaded.status());
    auto graph = solver::BuildGraph(*loaded);
    if (!graph.ok()) Die("graph", graph.status());
    e->graph = std::move(*graph);
    return e;
  }();
  return *env;
}

double Ms(Clock::duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

void Overhead(benchmark::State& state, bool in_container) {
  Env& env = GetEnv();
  gateway::FrontendRunner& runner =
      in_container ? *env.image_runner : *env.exec_runner;
  gateway::FrontendRequest request;
  request.frontend = "gateway.v0";
  // The host is no sandbox: nocheck skips the frontend's sandbox checks.
  request.opts =
      in_container
          ? std::map<std::string, std::string>{{"mode", "ok"},
                                               {"message", kMessage},
                                               {"source", kImage}}
          : std::map<std::string, std::string>{
                {"mode", "ok"}, {"message", kMessage}, {"nocheck", "1"}};
  solver::SolveRequest base;
  // Warm up: the image unpack and both results are cached from here on.
  if (auto r = runner.Run(request, base, {}); !r.ok()) {
    Die("frontend run", r.status());
  }
  double direct_ms = 0, frontend_ms = 0;
  for (auto _ : state) {
    Clock::time_point t0 = Clock::now();
    auto direct = env.engine.solver->Solve(*env.graph, base, {});
    Clock::time_point t1 = Clock::now();
    auto through = runner.Run(request, base, {});
    Clock::time_point t2 = Clock::now();
    if (!direct.ok()) Die("direct solve", direct.status());
    if (!through.ok()) Die("frontend run", through.status());
    if (direct->stats.executed != 0) {
      state.SkipWithError("the direct solve was not cached");
      return;
    }
    direct_ms += Ms(t1 - t0);
    frontend_ms += Ms(t2 - t1);
    state.SetIterationTime(
        std::chrono::duration<double>((t2 - t1) - (t1 - t0)).count());
  }
  double n = static_cast<double>(state.iterations());
  state.counters["direct_ms"] = direct_ms / n;
  state.counters["frontend_ms"] = frontend_ms / n;
  state.counters["overhead_ms"] = (frontend_ms - direct_ms) / n;
  state.counters["vs_buildkit_0.1s"] =
      (frontend_ms - direct_ms) / n / kBuildkitOverheadMs;
}

void BM_GatewayOverheadFrontendImage(benchmark::State& state) {
  Overhead(state, true);
}
void BM_GatewayOverheadHostProcess(benchmark::State& state) {
  Overhead(state, false);
}
BENCHMARK(BM_GatewayOverheadFrontendImage)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond)
    ->Iterations(20);
BENCHMARK(BM_GatewayOverheadHostProcess)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond)
    ->Iterations(20);

}  // namespace
}  // namespace kiln

int main(int argc, char** argv) {
  std::string missing = kiln::solver::testing::RuncRequirementsMissing();
  if (!missing.empty()) {
    std::fprintf(stderr, "gateway_bench: skipped: %s\n", missing.c_str());
    return 0;
  }
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
