// Graph building and cache-key computation for 10,000-op graphs. Reports the
// time per op ("time_per_op") besides the time per whole graph.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "kiln/llb/exec.h"
#include "kiln/llb/file.h"
#include "kiln/llb/source.h"
#include "kiln/llb/state.h"
#include "kiln/solver/cache_key.h"
#include "kiln/solver/graph.h"

namespace kiln::solver {
namespace {

constexpr int kOps = 10'000;

// A chain: image → 10,000 execs, each on the previous root filesystem.
pb::Definition Chain() {
  llb::State s = llb::Image("docker.io/library/busybox:latest");
  for (int i = 0; i < kOps; ++i) {
    s = s.Run({.args = {"/bin/sh", "-c",
                        "echo " + std::to_string(i) + " >> /log"}})
            .Root();
  }
  return s.Marshal().value();
}

// Wide: 10,000 independent file ops on scratch, merged by one op.
pb::Definition Wide() {
  std::vector<llb::State> parts;
  parts.reserve(kOps);
  for (int i = 0; i < kOps; ++i) {
    parts.push_back(llb::Scratch().File(
        llb::Mkfile("/f" + std::to_string(i), 0644, std::to_string(i))));
  }
  return llb::Merge(parts).Marshal().value();
}

Graph Load(const pb::Definition& def) {
  return BuildGraph(llb::LoadDefinition(def).value()).value();
}

void Report(benchmark::State& state, int ops) {
  state.counters["ops"] = ops;
  // Seconds per op, printed with an SI prefix (e.g. "1.2us" = 1,200 ns/op).
  state.counters["time_per_op"] =
      benchmark::Counter(ops, benchmark::Counter::kIsIterationInvariantRate |
                                  benchmark::Counter::kInvert);
}

void RunKeys(benchmark::State& state, const Graph& graph,
             const ContentChecksumFn& checksum) {
  for (auto _ : state) {
    auto keys = ComputeCacheKeys(graph, checksum);
    if (!keys.ok()) state.SkipWithError(keys.status().ToString().c_str());
    benchmark::DoNotOptimize(keys);
  }
  Report(state, graph.size());
}

void BM_CacheKeysChain(benchmark::State& state) {
  RunKeys(state, Load(Chain()), {});
}
BENCHMARK(BM_CacheKeysChain)->Unit(benchmark::kMillisecond);

void BM_CacheKeysWide(benchmark::State& state) {
  RunKeys(state, Load(Wide()), {});
}
BENCHMARK(BM_CacheKeysWide)->Unit(benchmark::kMillisecond);

// With a checksum callback answering for every input (a stand-in for the
// runtime's cached content checksums).
void BM_CacheKeysChainWithChecksums(benchmark::State& state) {
  const Digest sum = Digest::FromBytes("content");
  RunKeys(state, Load(Chain()),
          [&](const Vertex&, int) -> Result<Digest> { return sum; });
}
BENCHMARK(BM_CacheKeysChainWithChecksums)->Unit(benchmark::kMillisecond);

// BuildGraph alone, on a decoded definition.
void BM_BuildGraphChain(benchmark::State& state) {
  const llb::LoadedDefinition loaded = llb::LoadDefinition(Chain()).value();
  for (auto _ : state) {
    auto graph = BuildGraph(loaded);
    if (!graph.ok()) state.SkipWithError(graph.status().ToString().c_str());
    benchmark::DoNotOptimize(graph);
  }
  Report(state, static_cast<int>(loaded.ops.size()));
}
BENCHMARK(BM_BuildGraphChain)->Unit(benchmark::kMillisecond);

// LoadDefinition + BuildGraph: decoding, digesting and validating.
void BM_LoadAndBuildGraph(benchmark::State& state, pb::Definition (*make)()) {
  const pb::Definition def = make();
  for (auto _ : state) {
    auto loaded = llb::LoadDefinition(def);
    auto graph = BuildGraph(loaded.value());
    if (!graph.ok()) state.SkipWithError(graph.status().ToString().c_str());
    benchmark::DoNotOptimize(graph);
  }
  Report(state, def.def_size());
}
BENCHMARK_CAPTURE(BM_LoadAndBuildGraph, Chain, Chain)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_LoadAndBuildGraph, Wide, Wide)
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace kiln::solver

BENCHMARK_MAIN();
