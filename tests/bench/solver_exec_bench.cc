// Per-exec overhead of kiln against a bare `runc run` of the same work.
//
//   BM_ExecBareRunc   `runc --root R run --bundle B <id>` of /bin/true in a
//                     bundle prepared once (a copy of busybox's rootfs and a
//                     `runc spec` config.json), fork/exec and wait;
//   BM_ExecKiln       a whole solve (parse, LoadDefinition, BuildGraph,
//                     Solve) of busybox + exec /bin/true with ignore_cache,
//                     so the exec runs every iteration; the counter
//                     "ratio_to_bare" is its time over BM_ExecBareRunc's
//                     (run the bare benchmark first: the default order);
//   BM_ExecKilnPhases the exec's steps done by hand through the public
//                     seams, timed separately (ms per iteration): snapshot
//                     Prepare + Mounts ("prepare_ms"), RuncExecutor::Run
//                     ("run_ms", of which the runtime's own start-to-exit
//                     is "runtime_ms"), Commit with its syncfs
//                     ("commit_ms") and a cache index Record
//                     ("record_ms"). What BM_ExecKiln spends beyond their
//                     sum is the scheduler, image source and cache keys.
#include <benchmark/benchmark.h>
#include <spawn.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "kiln/llb/exec.h"
#include "kiln/solver/cache_index.h"
#include "solver_bench_engine.h"
#include "support/test_util.h"

extern char** environ;

namespace kiln::solver::bench {
namespace {

using Clock = std::chrono::steady_clock;

double g_bare_seconds = 0;  // mean real time per BM_ExecBareRunc iteration

double Ms(Clock::duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

// The committed snapshot of busybox:latest (solving the image alone).
Result<std::string> BusyboxSnapshot() {
  static const std::string def = MarshalBytes(Busybox());
  KILN_ASSIGN_OR_RETURN(SolveResult r, BenchEngine::Get().SolveBytes(def, {}));
  return r.snapshot;
}

// A bundle with busybox's rootfs copied in and config.json running
// /bin/true; its path.
Result<std::string> MakeBundle() {
  KILN_ASSIGN_OR_RETURN(std::string snapshot, BusyboxSnapshot());
  Snapshotter& snaps = BenchEngine::Get().snapshots();
  KILN_ASSIGN_OR_RETURN(std::vector<Mount> mounts, snaps.Mounts(snapshot));
  if (mounts.size() != 1) return InternalError("busybox: not one mount");
  const std::string bundle = BenchEngine::Get().root() + "/bare-bundle";
  const std::string mnt = bundle + "-mnt";
  std::filesystem::create_directories(mnt);
  std::filesystem::create_directories(bundle);
  std::string options;
  for (const std::string& o : mounts[0].options) {
    if (o == "rbind" || o == "ro") continue;
    options += (options.empty() ? "" : ",") + o;
  }
  unsigned long flags = mounts[0].type == "bind" ? MS_BIND | MS_REC : 0;
  if (mount(mounts[0].source.c_str(), mnt.c_str(), mounts[0].type.c_str(),
            flags, options.c_str()) != 0) {
    return InternalError("mounting busybox: " + std::string(strerror(errno)));
  }
  testing::CommandResult cp =
      testing::RunCommand({"cp", "-a", mnt, bundle + "/rootfs"});
  umount2(mnt.c_str(), MNT_DETACH);
  if (cp.exit_code != 0) return InternalError("cp: " + cp.output);
  testing::CommandResult spec =
      testing::RunCommand({"runc", "spec", "--bundle", bundle});
  if (spec.exit_code != 0) return InternalError("runc spec: " + spec.output);
  try {
    nlohmann::json config =
        nlohmann::json::parse(testing::ReadFile(bundle + "/config.json"));
    config["process"]["args"] = {"/bin/true"};
    config["process"]["terminal"] = false;
    config["root"]["readonly"] = false;
    std::ofstream(bundle + "/config.json") << config.dump(2);
  } catch (const nlohmann::json::exception& e) {
    return InternalError(std::string("config.json: ") + e.what());
  }
  return bundle;
}

// Runs argv (stdin, stdout, stderr on /dev/null) and waits: its exit code.
int Spawn(const std::vector<std::string>& argv) {
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.data()));
  args.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  for (int fd = 0; fd < 3; ++fd) {
    posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", O_RDWR, 0);
  }
  pid_t pid = -1;
  int rc = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return -1;
  int status = 0;
  if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) return -1;
  return WEXITSTATUS(status);
}

void BM_ExecBareRunc(benchmark::State& state) {
  static const Result<std::string> bundle = MakeBundle();
  if (!bundle.ok()) {
    state.SkipWithError(("bundle: " + bundle.status().ToString()).c_str());
    return;
  }
  const std::string runtime_root = BenchEngine::Get().root() + "/bare-runc";
  int n = 0;
  auto start = Clock::now();
  for (auto _ : state) {
    std::string id =
        "kiln-bench-" + std::to_string(getpid()) + "-" + std::to_string(n++);
    int code =
        Spawn({"runc", "--root", runtime_root, "run", "--bundle", *bundle, id});
    if (code != 0) {
      state.SkipWithError(("runc run exited " + std::to_string(code)).c_str());
      break;
    }
  }
  if (n > 0) {
    g_bare_seconds =
        std::chrono::duration<double>(Clock::now() - start).count() / n;
  }
}
BENCHMARK(BM_ExecBareRunc)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_ExecKiln(benchmark::State& state) {
  static const std::string def = MarshalBytes(
      Busybox()
          .Run({.args = {"/bin/true"}, .op = {.ignore_cache = true}})
          .Root());
  int n = 0;
  auto start = Clock::now();
  for (auto _ : state) {
    Result<SolveResult> r = BenchEngine::Get().SolveBytes(def, {});
    if (!r.ok() || r->stats.executed != 1) {
      state.SkipWithError(r.ok() ? "the exec did not run"
                                 : r.status().ToString().c_str());
      break;
    }
    ++n;
  }
  if (n > 0 && g_bare_seconds > 0) {
    double kiln =
        std::chrono::duration<double>(Clock::now() - start).count() / n;
    state.counters["ratio_to_bare"] = kiln / g_bare_seconds;
  }
}
BENCHMARK(BM_ExecKiln)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_ExecKilnPhases(benchmark::State& state) {
  BenchEngine& engine = BenchEngine::Get();
  Result<std::string> base = BusyboxSnapshot();
  Result<std::unique_ptr<CacheIndex>> index =
      CacheIndex::Open(engine.root() + "/bench-phases/cache.db");
  if (!base.ok() || !index.ok()) {
    state.SkipWithError("setup: busybox snapshot or index");
    return;
  }
  Snapshotter& snaps = engine.snapshots();
  double prepare = 0, run = 0, runtime = 0, commit = 0, record = 0;
  int n = 0;
  static int serial = 0;  // unique across the runs of this function
  for (auto _ : state) {
    ++serial;
    std::string key = "bench-work-" + std::to_string(serial);
    std::string name = "bench-out-" + std::to_string(serial);
    auto t0 = Clock::now();
    Result<std::string> dir = snaps.Prepare(key, *base);
    Result<std::vector<Mount>> mounts =
        dir.ok() ? snaps.Mounts(key) : Result<std::vector<Mount>>(dir.status());
    auto t1 = Clock::now();
    if (!mounts.ok()) {
      state.SkipWithError(mounts.status().ToString().c_str());
      break;
    }
    ExecSpec spec;
    spec.rootfs = *mounts;
    spec.args = {"/bin/true"};
    Result<ExecResult> ran = engine.executor().Run(spec, std::stop_token());
    auto t2 = Clock::now();
    if (!ran.ok() || ran->exit_code != 0) {
      state.SkipWithError("exec failed");
      break;
    }
    Status committed = snaps.Commit(name, key);
    auto t3 = Clock::now();
    Status recorded =
        (*index)->Record(Digest::FromBytes(name), {name}, "bench exec");
    auto t4 = Clock::now();
    if (!committed.ok() || !recorded.ok()) {
      Status failed = committed.ok() ? recorded : committed;
      state.SkipWithError(failed.ToString().c_str());
      break;
    }
    prepare += Ms(t1 - t0);
    run += Ms(t2 - t1);
    runtime += std::chrono::duration<double, std::milli>(ran->duration).count();
    commit += Ms(t3 - t2);
    record += Ms(t4 - t3);
    ++n;
  }
  if (n == 0) return;
  state.counters["prepare_ms"] = prepare / n;
  state.counters["run_ms"] = run / n;
  state.counters["runtime_ms"] = runtime / n;
  state.counters["commit_ms"] = commit / n;
  state.counters["record_ms"] = record / n;
}
BENCHMARK(BM_ExecKilnPhases)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace kiln::solver::bench
