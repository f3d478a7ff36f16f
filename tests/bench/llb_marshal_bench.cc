// Marshal + digest of large LLB graphs. Reports the time per op
// ("time_per_op") besides the time per whole graph.
#include <benchmark/benchmark.h>

#include <string>

#include "kiln/llb/exec.h"
#include "kiln/llb/file.h"
#include "kiln/llb/source.h"
#include "kiln/llb/state.h"

namespace kiln::llb {
namespace {

constexpr int kOps = 10'000;

// A chain: image → 10,000 execs, each on the previous root filesystem.
State ExecChain(int n) {
  State s = Image("docker.io/library/busybox:latest").AddEnv("PATH", "/bin");
  for (int i = 0; i < n; ++i) {
    s = s.Run({.args = {"/bin/sh", "-c", "echo " + std::to_string(i) + " >> /log"}});
  }
  return s;
}

// Wide: 10,000 independent file ops on scratch, merged by one op.
State WideMerge(int n) {
  std::vector<State> parts;
  parts.reserve(n);
  for (int i = 0; i < n; ++i) {
    parts.push_back(Scratch().File(Mkfile("/f" + std::to_string(i), 0644, std::to_string(i))));
  }
  return Merge(parts);
}

void Report(benchmark::State& state, int ops) {
  state.counters["ops"] = ops;
  // Seconds per op, printed with an SI prefix (e.g. "5.8us" = 5,800 ns/op).
  state.counters["time_per_op"] = benchmark::Counter(
      ops, benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}

void BM_MarshalChain(benchmark::State& state) {
  State graph = ExecChain(kOps);
  MarshalOptions options;
  options.platform = Platform{"linux", "amd64", "", "", {}};
  for (auto _ : state) {
    auto def = graph.Marshal(options);
    if (!def.ok()) state.SkipWithError(def.status().ToString().c_str());
    benchmark::DoNotOptimize(def);
  }
  Report(state, kOps + 2);
}
BENCHMARK(BM_MarshalChain)->Unit(benchmark::kMillisecond);

void BM_MarshalWide(benchmark::State& state) {
  State graph = WideMerge(kOps);
  for (auto _ : state) {
    auto def = graph.Marshal();
    if (!def.ok()) state.SkipWithError(def.status().ToString().c_str());
    benchmark::DoNotOptimize(def);
  }
  Report(state, kOps + 2);
}
BENCHMARK(BM_MarshalWide)->Unit(benchmark::kMillisecond);

// Same chain in gogo field order, to show the protobuf-go ordering costs
// little.
void BM_MarshalChainFieldOrder(benchmark::State& state) {
  State graph = ExecChain(kOps);
  MarshalOptions options;
  options.encoding = OpEncoding::kFieldNumber;
  for (auto _ : state) {
    auto def = graph.Marshal(options);
    benchmark::DoNotOptimize(def);
  }
  Report(state, kOps + 2);
}
BENCHMARK(BM_MarshalChainFieldOrder)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace kiln::llb

BENCHMARK_MAIN();
