// Solver benchmarks on a real engine (root, runc, overlay snapshots).
//
// No-op rebuilds of a 10,000-file context (100 directories of 100 small
// files): busybox + COPY of the context to /app + an exec reading /app
// (`ls -R /app | wc -l > /count`). A first solve fills the cache outside
// the timed loop; each iteration is the whole second solve as `kiln build`
// does it (parse, LoadDefinition, BuildGraph, Solve) and must execute no op
// (stats.executed == 0, else the benchmark fails):
//   BM_NoopRebuild10kContext        the engine stays open (a daemon);
//   BM_NoopRebuild10kContextTouched the COPY reads only /src and one file
//                                   outside it is rewritten before each
//                                   iteration;
//   BM_NoopRebuild10kContextFresh   the engine is opened per iteration
//                                   (stores, snapshotter, runc executor,
//                                   Solver::Open), as each CLI process does.
// Exec overhead benchmarks are in solver_exec_bench.cc.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include "kiln/llb/exec.h"
#include "kiln/llb/file.h"
#include "kiln/llb/source.h"
#include "solver_bench_engine.h"

namespace kiln::solver::bench {
namespace {

// A context directory: <dir>/<sub>d<i>/f<j> for 100 × 100 files.
void MakeContext(const std::string& dir, const std::string& sub) {
  for (int d = 0; d < 100; ++d) {
    std::string base = dir + "/" + sub + "d" + std::to_string(d);
    std::filesystem::create_directories(base);
    for (int f = 0; f < 100; ++f) {
      WriteBenchFile(base + "/f" + std::to_string(f),
                     "file " + std::to_string(d * 100 + f) + "\n");
    }
  }
}

struct Scenario {
  std::string definition;
  SolveRequest request;
  std::string touched;  // rewritten before each iteration; "" = none
};

// busybox + COPY <copy_src> of local "context" to /app + an exec on /app.
Scenario MakeScenario(bool touched) {
  Scenario s;
  std::string ctx = MakeBenchDir("kiln-bench-ctx-");
  MakeContext(ctx, touched ? "src/" : "");
  if (touched) {
    s.touched = ctx + "/outside/touched.txt";
    WriteBenchFile(s.touched, "initial\n");
  }
  llb::State copied = Busybox().File(
      llb::Copy(llb::Local("context"), touched ? "/src" : "/", "/app",
                {.copy_dir_contents_only = true, .create_dest_path = true}));
  llb::State built =
      copied.Run({.args = {"/bin/sh", "-c", "ls -R /app | wc -l > /count"}})
          .Root();
  s.definition = MarshalBytes(built);
  s.request.locals["context"] = ctx;
  return s;
}

// Solves `s` once (filling the cache); false, with the error on `state`,
// when it fails.
bool Warm(benchmark::State& state, const Scenario& s) {
  Result<SolveResult> r =
      BenchEngine::Get().SolveBytes(s.definition, s.request);
  if (!r.ok()) {
    state.SkipWithError(("warm-up solve: " + r.status().ToString()).c_str());
    return false;
  }
  // Out of the checksummer's racy window (files changed within the last
  // moments are re-read), so that the timed solves see a settled tree.
  usleep(1'100'000);
  return true;
}

bool CheckNoop(benchmark::State& state, const Result<SolveResult>& r) {
  if (!r.ok()) {
    state.SkipWithError(("no-op solve: " + r.status().ToString()).c_str());
    return false;
  }
  if (r->stats.executed != 0) {
    state.SkipWithError(
        ("no-op solve executed " + std::to_string(r->stats.executed) + " ops")
            .c_str());
    return false;
  }
  state.counters["cached"] = r->stats.cached;
  return true;
}

void BM_NoopRebuild10kContext(benchmark::State& state) {
  static const Scenario s = MakeScenario(false);
  if (!Warm(state, s)) return;
  for (auto _ : state) {
    if (!CheckNoop(state,
                   BenchEngine::Get().SolveBytes(s.definition, s.request))) {
      break;
    }
  }
}
BENCHMARK(BM_NoopRebuild10kContext)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

void BM_NoopRebuild10kContextTouched(benchmark::State& state) {
  static const Scenario s = MakeScenario(true);
  if (!Warm(state, s)) return;
  int n = 0;
  for (auto _ : state) {
    state.PauseTiming();
    WriteBenchFile(s.touched, "changed " + std::to_string(++n) + "\n");
    state.ResumeTiming();
    if (!CheckNoop(state,
                   BenchEngine::Get().SolveBytes(s.definition, s.request))) {
      break;
    }
  }
}
BENCHMARK(BM_NoopRebuild10kContextTouched)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

void BM_NoopRebuild10kContextFresh(benchmark::State& state) {
  static const Scenario s = MakeScenario(false);
  if (!Warm(state, s)) return;
  BenchEngine& engine = BenchEngine::Get();
  for (auto _ : state) {
    engine.Close();
    Status opened = engine.Open();
    if (!opened.ok()) {
      state.SkipWithError(("opening: " + opened.ToString()).c_str());
      break;
    }
    if (!CheckNoop(state, engine.SolveBytes(s.definition, s.request))) break;
  }
}
BENCHMARK(BM_NoopRebuild10kContextFresh)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
}  // namespace kiln::solver::bench

int main(int argc, char** argv) {
  std::string missing = kiln::solver::bench::RequirementsMissing();
  if (!missing.empty()) {
    std::fprintf(stderr, "solver_bench: %s; not running\n", missing.c_str());
    return 1;
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
