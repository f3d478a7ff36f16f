// kiln debug: dump-llb (dump_llb.cc), and workers and info, which describe
// the embedded engine as `buildctl debug workers` / `buildctl debug info`
// describe a buildkitd.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "cli_util.h"
#include "commands.h"
#include "flags.h"
#include "kiln/llb/platform.h"
#include "random_id.h"
#include "state_root.h"

namespace kiln::cli {
namespace {

constexpr std::string_view kDebugUsage = R"(Usage: kiln debug COMMAND [ARGS...]

Tools for looking inside kiln and its inputs.

Commands:
  dump-llb    Print the ops of an LLB Definition read from stdin or a file
  workers     Show the embedded engine's worker (platforms, executor,
              snapshotter, parallelism), like buildctl debug workers
  info        Show kiln's version, state root and config file, like
              buildctl debug info

Run 'kiln debug COMMAND --help' for more about a command.
)";

constexpr std::string_view kWorkersUsage =
    R"(Usage: kiln debug workers [-v|--verbose]

Lists the embedded engine's worker as `buildctl debug workers` lists
buildkitd's: its ID and platforms; with --verbose also its labels (executor,
OCI runtime, snapshotter, hostname, network) and parallelism. Opens the state
root (it must not be in use by a running build).
)";

constexpr std::string_view kInfoUsage = R"(Usage: kiln debug info

Prints kiln's version, the state root and the operator config file in use,
like `buildctl debug info`.
)";

// The worker ID: random, kept in <root>/workerid like buildkitd's.
std::string WorkerId(const std::string& root) {
  const std::string path = root + "/workerid";
  std::string id;
  if (std::ifstream(path) >> id && !id.empty()) return id;
  id = RandomId();
  std::error_code ec;
  std::filesystem::create_directories(root, ec);
  std::ofstream(path) << id << "\n";
  return id;
}

std::string Hostname() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0) return "";
  return buf;
}

int RunWorkers(Root& root, const std::vector<std::string>& args) {
  Flags parser;
  parser.Bool("verbose", 'v');
  if (!parser.Parse(args)) {
    return UsageError(kWorkersUsage, "kiln debug workers: " + parser.error());
  }
  if (parser.help()) return PrintUsage(kWorkersUsage);
  if (!parser.positional().empty()) {
    return UsageError(kWorkersUsage,
                      "kiln debug workers: unexpected argument \"" +
                          parser.positional()[0] + "\"");
  }
  // The snapshotter first: it locks the root, so that opening the executor
  // (which cleans up after a dead engine) cannot touch a running build.
  KILN_CLI_ASSIGN(solver::Snapshotter * snapshots, root.Snapshots(),
                  "kiln debug workers");
  std::string executor = "none", runtime;
  if (auto e = root.Executor(); e.ok()) {
    executor = "oci";
    runtime = static_cast<solver::RuncExecutor*>(*e)->runtime();
  } else {
    runtime = "(unavailable: " + e.status().message() + ")";
  }
  const std::string id = WorkerId(root.dir());
  const std::string platforms = llb::FormatPlatform(llb::HostPlatform());
  if (!parser.Has("verbose")) {
    std::printf("%-32s %s\n", "ID", "PLATFORMS");
    std::printf("%-32s %s\n", id.c_str(), platforms.c_str());
    return kExitOk;
  }
  std::string snapshotter(solver::SnapshotterKindName(snapshots->kind()));
  if (snapshotter == "overlay") snapshotter = "overlayfs";
  std::printf("ID:\t\t%s\n", id.c_str());
  std::printf("Platforms:\t%s\n", platforms.c_str());
  std::printf("BuildKit:\tkiln %s\n", kKilnVersion.data());
  std::printf("Labels:\n");
  const std::pair<const char*, std::string> labels[] = {
      {"org.mobyproject.buildkit.worker.executor", executor},
      {"org.mobyproject.buildkit.worker.hostname", Hostname()},
      {"org.mobyproject.buildkit.worker.network", "none,host"},
      {"org.mobyproject.buildkit.worker.oci.process-mode", "sandbox"},
      {"org.mobyproject.buildkit.worker.snapshotter", snapshotter},
      {"dev.kiln.worker.runtime", runtime},
      {"dev.kiln.worker.root", root.dir()}};
  for (const auto& [key, value] : labels) {
    std::printf("\t%s:\t%s\n", key, value.c_str());
  }
  KILN_CLI_ASSIGN(int parallelism, root.Parallelism(), "kiln debug workers");
  std::printf("Parallelism:\t%d\n", parallelism);
  return kExitOk;
}

int RunInfo(Root& root, const std::vector<std::string>& args) {
  Flags parser;
  if (!parser.Parse(args)) {
    return UsageError(kInfoUsage, "kiln debug info: " + parser.error());
  }
  if (parser.help()) return PrintUsage(kInfoUsage);
  if (!parser.positional().empty()) {
    return UsageError(kInfoUsage, "kiln debug info: unexpected argument \"" +
                                      parser.positional()[0] + "\"");
  }
  std::string config = ConfigPath();
  std::printf("BuildKit:\tkiln %s\n", kKilnVersion.data());
  std::printf("Root:\t\t%s\n", root.dir().c_str());
  std::printf("Config:\t\t%s\n",
              config.empty() ? "(none: built-in defaults)" : config.c_str());
  std::printf("Platform:\t%s\n",
              llb::FormatPlatform(llb::HostPlatform()).c_str());
  return kExitOk;
}

}  // namespace

int RunDebug(Root& root, const std::vector<std::string>& args) {
  if (args.empty())
    return UsageError(kDebugUsage, "kiln debug: missing COMMAND");
  if (args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    return PrintUsage(kDebugUsage);
  }
  std::vector<std::string> rest(args.begin() + 1, args.end());
  if (args[0] == "dump-llb") return RunDumpLlb(rest);
  if (args[0] == "workers") return RunWorkers(root, rest);
  if (args[0] == "info") return RunInfo(root, rest);
  return UsageError(kDebugUsage, "kiln debug: unknown command " + args[0]);
}

}  // namespace kiln::cli
