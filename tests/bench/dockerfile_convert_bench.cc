// Dockerfile frontend: parse + convert of a generated 1,000-line Dockerfile
// (dockerfile_gen.h), in process (warm: parser tables and allocator hot)
// and as one fresh process per conversion (cold: what each build's frontend
// process pays, minus the gateway). Counter `time_per_line` is the time per
// Dockerfile line (SI prefix: "12us" = 12,000 ns/line).
#include <benchmark/benchmark.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "dockerfile_gen.h"
#include "kiln/dockerfile/convert.h"
#include "kiln/dockerfile/instructions.h"
#include "kiln/dockerfile/parser.h"

extern char** environ;

namespace kiln::bench {
namespace {

constexpr int kLines = 1000;

void PerLine(benchmark::State& state, int lines) {
  state.counters["lines"] = lines;
  state.counters["time_per_line"] =
      benchmark::Counter(lines, benchmark::Counter::kIsIterationInvariantRate |
                                    benchmark::Counter::kInvert);
}

void BM_ParseWarm(benchmark::State& state) {
  int lines = 0;
  std::string text = GenerateDockerfile(kLines, &lines);
  for (auto _ : state) {
    auto parsed = dockerfile::Parse(text, "Dockerfile");
    if (!parsed.ok()) {
      state.SkipWithError(parsed.status().ToString().c_str());
      break;
    }
    auto ins = dockerfile::ParseInstructions(*parsed);
    if (!ins.ok()) {
      state.SkipWithError(ins.status().ToString().c_str());
      break;
    }
    benchmark::DoNotOptimize(ins);
  }
  PerLine(state, lines);
}
BENCHMARK(BM_ParseWarm)->Unit(benchmark::kMillisecond);

void BM_ParseConvertWarm(benchmark::State& state) {
  int lines = 0;
  std::string text = GenerateDockerfile(kLines, &lines);
  dockerfile::ConvertOptions options = BenchConvertOptions();
  int ops = 0;
  for (auto _ : state) {
    auto r = dockerfile::Convert(text, options);
    if (!r.ok()) {
      state.SkipWithError(r.status().ToString().c_str());
      break;
    }
    ops = r->definition.def_size();
    benchmark::DoNotOptimize(r);
  }
  PerLine(state, lines);
  state.counters["llb_ops"] = ops;
}
BENCHMARK(BM_ParseConvertWarm)->Unit(benchmark::kMillisecond);

// Runs the helper once; false on a failed spawn or a non-zero exit.
bool Spawn(const std::string& arg) {
  std::string prog = KILN_CONVERT_ONCE;
  char* argv[] = {prog.data(), const_cast<char*>(arg.c_str()), nullptr};
  pid_t pid;
  if (posix_spawn(&pid, prog.c_str(), nullptr, nullptr, argv, environ) != 0)
    return false;
  int status = 0;
  if (waitpid(pid, &status, 0) != pid) return false;
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

void BM_ParseConvertColdProcess(benchmark::State& state) {
  int lines = 0;
  std::string text = GenerateDockerfile(kLines, &lines);
  std::string path = "/tmp/kiln-bench-dockerfile-" + std::to_string(getpid());
  std::ofstream(path, std::ios::binary) << text;
  for (auto _ : state) {
    if (!Spawn(path)) {
      state.SkipWithError("dockerfile_convert_once failed");
      break;
    }
  }
  std::remove(path.c_str());
  PerLine(state, lines);
}
BENCHMARK(BM_ParseConvertColdProcess)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// The same process started and exited without work: subtract it from
// BM_ParseConvertColdProcess for the cold conversion itself.
void BM_ProcessStartBaseline(benchmark::State& state) {
  for (auto _ : state) {
    if (!Spawn("--noop")) {
      state.SkipWithError("dockerfile_convert_once --noop failed");
      break;
    }
  }
}
BENCHMARK(BM_ProcessStartBaseline)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
}  // namespace kiln::bench

BENCHMARK_MAIN();
