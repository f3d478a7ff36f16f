// kiln build: solves an LLB Definition, or runs a frontend, with the
// embedded engine and exports the result, like `buildctl build`.
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <optional>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "build_flags.h"
#include "build_frontend.h"
#include "cli_util.h"
#include "commands.h"
#include "kiln/llb/definition.h"
#include "kiln/solver/exporter.h"
#include "kiln/solver/graph.h"
#include "kiln/solver/secret_providers.h"
#include "kiln/solver/solver.h"
#include "progress_printer.h"
#include "state_root.h"

namespace kiln::cli {
namespace {

// "error: [file:line:col: ]message" on stderr (a frontend's located error,
// e.g. a Dockerfile line); returns kExitFailure.
int Error(const Status& status) {
  std::string where;
  if (!status.ranges().empty()) {
    const SourceRange& r = status.ranges().front();
    where.append(r.file).append(":").append(std::to_string(r.line));
    if (r.column > 0) where.append(":").append(std::to_string(r.column));
    where.append(": ");
  }
  std::fprintf(stderr, "error: %s%s\n", where.c_str(),
               status.message().c_str());
  return kExitFailure;
}

int Usage(const std::string& error) {
  return UsageError(BuildUsage(), "kiln build: " + error);
}

Result<std::string> ReadDefinition(const std::string& path) {
  if (path != "-") return ReadFile(path);
  std::string bytes;
  char buf[65536];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, stdin)) > 0) bytes.append(buf, n);
  if (std::ferror(stdin)) return InternalError("reading stdin failed");
  return bytes;
}

// While alive, SIGINT and SIGTERM request `stop` instead of killing the
// process, so that running execs are killed and nothing half-done remains.
// Construct it before any other thread starts (they inherit the mask).
class InterruptToStop {
 public:
  explicit InterruptToStop(std::stop_source stop) {
    sigemptyset(&set_);
    sigaddset(&set_, SIGINT);
    sigaddset(&set_, SIGTERM);
    sigaddset(&set_, SIGUSR1);  // our own wake-up to end the thread
    pthread_sigmask(SIG_BLOCK, &set_, &old_);
    thread_ = std::thread([this, stop]() mutable {
      for (;;) {
        int sig = 0;
        if (sigwait(&set_, &sig) != 0 || sig == SIGUSR1) return;
        if (!stop.stop_requested()) {
          std::fputs("\ncancelling the build…\n", stderr);
        }
        stop.request_stop();
      }
    });
  }
  ~InterruptToStop() {
    pthread_kill(thread_.native_handle(), SIGUSR1);
    thread_.join();
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }

 private:
  sigset_t set_, old_;
  std::thread thread_;
};

struct Providers {
  solver::MapSecretProvider secrets;
  solver::MapSshProvider ssh;
};

// Fills `providers` from the flags. Returns an exit code, or -1 to go on.
int LoadProviders(const BuildFlags& flags, Providers& providers) {
  for (const std::string& spec : flags.secrets) {
    auto source = solver::ParseSecretSpec(spec);
    if (!source.ok()) return Usage("--secret: " + source.status().message());
    if (Status s = providers.secrets.Add(*std::move(source)); !s.ok()) {
      return Usage("--secret: " + s.message());
    }
  }
  for (const std::string& spec : flags.ssh) {
    auto source = solver::ParseSshSpec(spec);
    if (!source.ok()) return Usage("--ssh: " + source.status().message());
    if (Status s = providers.ssh.Add(*source); !s.ok()) {
      return Error(s.WithContext("--ssh " + spec));
    }
  }
  return -1;
}

// The exporter's response keys worth showing (the descriptor is a base64
// blob of what the digest already says).
void PrintResponse(const solver::ExportRequest& request,
                   const std::map<std::string, std::string>& response) {
  std::fprintf(stderr, "exported type=%s\n", request.type.c_str());
  for (const auto& [key, value] : response) {
    if (key == "containerimage.descriptor") continue;
    std::fprintf(stderr, "  %s: %s\n", key.c_str(), value.c_str());
  }
}

// --call: the subrequest's result.txt on stdout; for check, exit code 1
// when result.statuscode says the checks warned.
int PrintCallResult(const std::string& call, const BuildOutput& output) {
  auto text = output.metadata.find("result.txt");
  if (text != output.metadata.end()) std::fputs(text->second.c_str(), stdout);
  std::fflush(stdout);
  auto code = output.metadata.find("result.statuscode");
  if (call == "check" && code != output.metadata.end() && code->second != "0") {
    return 1;
  }
  return 0;
}

int Export(Root& root, const std::vector<solver::ExportRequest>& outputs,
           const BuildOutput& result) {
  for (const solver::ExportRequest& request : outputs) {
    auto response = ExportBuildOutput(root, request, result);
    if (!response.ok()) {
      return Error(
          response.status().WithContext("exporting to " + request.type));
    }
    PrintResponse(request, *response);
  }
  return kExitOk;
}

}  // namespace

int RunBuild(Root& root, const std::vector<std::string>& args) {
  BuildFlagsResult parsed = ParseBuildFlags(args);
  if (!parsed.ok()) return Usage(parsed.error);
  const BuildFlags& flags = parsed.flags;
  if (flags.help) return PrintUsage(BuildUsage());

  std::vector<solver::ExportRequest> outputs;
  for (const std::string& spec : flags.outputs) {
    auto request = solver::ParseOutputSpec(spec);
    if (!request.ok()) return Usage("--output: " + request.status().message());
    outputs.push_back(*std::move(request));
  }
  Providers providers;
  if (int code = LoadProviders(flags, providers); code >= 0) return code;

  // An LLB Definition is read and checked before anything starts.
  std::optional<solver::Graph> graph;
  if (!flags.llb.empty()) {
    auto bytes = ReadDefinition(flags.llb);
    if (!bytes.ok()) return Error(bytes.status());
    const std::string source = flags.llb == "-" ? "stdin" : flags.llb;
    auto definition = llb::ParseDefinition(*bytes);
    if (!definition.ok()) return Error(definition.status().WithContext(source));
    auto loaded = llb::LoadDefinition(*definition);
    if (!loaded.ok()) return Error(loaded.status().WithContext(source));
    auto built = solver::BuildGraph(*loaded);
    if (!built.ok()) return Error(built.status().WithContext(source));
    graph = std::move(*built);
  }

  std::stop_source stop;
  InterruptToStop interrupts(stop);  // before the solver starts threads
  auto solver = root.Solver();
  if (!solver.ok()) return Error(solver.status());
  auto printer = MakeProgressPrinter(flags.progress, STDERR_FILENO);
  if (!printer.ok()) return Usage(printer.status().message());

  solver::SolveRequest request{
      .locals = flags.locals,
      .oci_layouts = flags.oci_layouts,
      .secrets = &providers.secrets,
      .ssh = &providers.ssh,
      .entitlements = flags.entitlements,
      .progress = printer->get(),
      .platform = flags.platform.value_or(llb::HostPlatform())};
  Result<BuildOutput> result =
      graph ? SolveGraph(root, *graph, request, stop.get_token())
            : BuildWithFrontend(root,
                                {.frontend = flags.frontend,
                                 .opts = flags.opts,
                                 .inputs = {},
                                 .exec_path = flags.frontend_exec,
                                 .oci_layouts = flags.oci_layouts,
                                 .session_id = ""},
                                request, stop.get_token());
  (*printer)->Finish();
  if (result.ok()) PrintWarnings(result->warnings);
  if (!result.ok()) {
    std::string logs = (*printer)->ErrorLogs();
    std::fputs(logs.c_str(), stderr);
    if (!root.executor_error().empty()) {
      std::fprintf(stderr, "note: execs were unavailable: %s\n",
                   root.executor_error().c_str());
    }
    return Error(result.status());
  }
  if (!flags.call.empty()) return PrintCallResult(flags.call, *result);
  return Export(root, outputs, *result);
}

}  // namespace kiln::cli
