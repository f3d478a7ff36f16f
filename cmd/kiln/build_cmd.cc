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

#include "build_cache_run.h"
#include "build_flags.h"
#include "build_frontend.h"
#include "build_report.h"
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

int Error(const Status& status) { return ReportError(status); }

int Usage(const std::string& error) {
  return UsageError(BuildUsage(), "kiln build: " + error);
}

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

int Export(Root& root, const std::vector<solver::ExportRequest>& outputs,
           const BuildOutput& result) {
  for (const solver::ExportRequest& request : outputs) {
    auto response = ExportBuildOutput(root, request, result);
    if (!response.ok()) {
      return Error(
          response.status().WithContext("exporting to " + request.type));
    }
    PrintExportResponse(request.type, *response);
  }
  return kExitOk;
}

// The cache exports, after the outputs; their progress as plain lines.
int ExportCache(Root& root, const std::vector<solver::CacheSpec>& exports,
                const solver::CacheRecorder& recorder,
                const BuildOutput& result) {
  for (const solver::CacheSpec& spec : exports) {
    if (spec.type == "inline") continue;  // written into the image
    std::fprintf(stderr, "exporting cache to %s\n",
                 solver::CacheSpecName(spec).c_str());
    std::vector<std::string> warnings;
    auto digests =
        ExportCaches(root, {spec}, recorder, result, nullptr, &warnings);
    if (!digests.ok()) return Error(digests.status());
    for (const std::string& w : warnings) {
      std::fprintf(stderr, "warning: %s\n", w.c_str());
    }
    if (!digests->empty() && !digests->front().empty()) {
      std::fprintf(stderr, "exported cache %s to %s\n",
                   digests->front().c_str(),
                   solver::CacheSpecName(spec).c_str());
    }
  }
  return kExitOk;
}

}  // namespace

int RunBuild(Root& root, const std::vector<std::string>& args) {
  PreparedBuild prepared;
  if (int rc = PrepareBuild(args, prepared); rc >= 0) return rc;
  BuildFlags& flags = prepared.flags;

  std::vector<solver::ExportRequest> outputs;
  for (const std::string& spec : flags.outputs) {
    auto request = solver::ParseOutputSpec(spec);
    if (!request.ok()) return Usage("--output: " + request.status().message());
    outputs.push_back(*std::move(request));
  }
  auto caches = ParseCacheSpecs(flags.cache_exports, flags.cache_imports);
  if (!caches.ok()) return Usage(caches.status().message());
  if (auto inline_ok = CheckInlineCache(caches->exports, outputs);
      !inline_ok.ok()) {
    return Usage(inline_ok.status().message());
  }
  Providers providers;
  if (int code = LoadProviders(flags, providers); code >= 0) return code;

  // An LLB Definition is read and checked before anything starts.
  std::optional<solver::Graph> graph;
  if (!flags.llb.empty()) {
    auto bytes = ReadFileOrStdin(flags.llb);
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

  // Imported caches are read before the build; a result is recorded for
  // the cache exports only when there are some.
  LoadedCaches imported =
      LoadCacheImports(root, caches->imports, printer->get());
  solver::CacheRecorder recorder;
  solver::SolveRequest request{
      .locals = flags.locals,
      .oci_layouts = flags.oci_layouts,
      .secrets = &providers.secrets,
      .ssh = &providers.ssh,
      .entitlements = flags.entitlements,
      .progress = printer->get(),
      .platform = flags.platform.value_or(llb::HostPlatform()),
      .cache_imports = imported.Pointers(),
      .cache_recorder = caches->exports.empty() ? nullptr : &recorder};
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
  for (const std::string& warning : imported.warnings) {
    std::fprintf(stderr, "warning: %s\n", warning.c_str());
  }
  if (result.ok()) PrintWarnings(result->warnings);
  if (!result.ok()) {
    std::string logs = (*printer)->ErrorLogs();
    std::fputs(logs.c_str(), stderr);
    if (!root.executor_error().empty()) {
      std::fprintf(stderr, "note: execs were unavailable: %s\n",
                   root.executor_error().c_str());
    }
    Error(result.status());
    // Like a shell's 128 + SIGINT, whichever signal asked for it.
    return stop.stop_requested() ? kExitCancelled : kExitFailure;
  }
  if (!flags.call.empty()) {
    return PrintCallResult(flags.call, result->metadata);
  }
  if (Status s =
          PrepareInlineCache(root, caches->exports, recorder, outputs, *result);
      !s.ok()) {
    return Error(s);
  }
  if (int rc = Export(root, outputs, *result); rc != kExitOk) return rc;
  return ExportCache(root, caches->exports, recorder, *result);
}

}  // namespace kiln::cli
