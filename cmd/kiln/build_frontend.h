// Running a build with the engine of a Root, shared by `kiln build` (the
// embedded engine) and kilnd: a frontend through the gateway's
// FrontendRunner, or an LLB graph directly, then the exporters.
#ifndef KILN_CMD_KILN_BUILD_FRONTEND_H_
#define KILN_CMD_KILN_BUILD_FRONTEND_H_

#include <map>
#include <stop_token>
#include <string>
#include <vector>

#include "kiln/gateway/bridge_server.h"
#include "kiln/llb/platform.h"
#include "kiln/llb/status.h"
#include "kiln/solver/exporter.h"
#include "kiln/solver/graph.h"
#include "kiln/solver/solver.h"
#include "solver/pb/ops.pb.h"
#include "state_root.h"

namespace kiln::cli {

// One platform's result.
struct PlatformOutput {
  std::string snapshot;  // "" = empty filesystem
  llb::Platform platform;
  std::string image_config;  // containerimage.config[/<id>] from a frontend
  std::map<std::string, std::string> created_by;
  // Attached by the oci and image exporters (exporter.h); filled by the
  // caller before ExportBuildOutput (e.g. provenance).
  std::vector<solver::Attestation> attestations;
  std::string id;  // the refs.platforms ID, or "" (ExportSource::id)
  // --export-cache type=inline: the cache config the image exporters embed
  // (build_cache_run.h PrepareInlineCache); "" = none.
  std::string inline_cache;
};

// What a build produced, for the exporters.
struct BuildOutput {
  // One entry per platform, in the frontend's refs.platforms order; one for a
  // single-platform build (a frontend's single ref or an LLB solve).
  std::vector<PlatformOutput> platforms;
  // The frontend's exporter metadata (e.g. result.txt of a --call).
  std::map<std::string, std::string> metadata;
  // The frontend's warnings (build checks), for the caller to show.
  std::vector<gateway::Warning> warnings;
};

// A frontend run: `kiln build --frontend` or a SolveRequest's Frontend.
struct FrontendBuild {
  std::string frontend;                          // gateway.v0, dockerfile.v0
  std::map<std::string, std::string> opts;       // frontend attrs
  std::map<std::string, pb::Definition> inputs;  // frontend inputs
  std::string exec_path;  // --frontend-exec: a host binary instead
  std::map<std::string, std::string> oci_layouts;  // for image resolution
  std::string session_id;  // BUILDKIT_SESSION_ID; "" = a random one
};

// Runs `build` against `request` (progress, locals, secrets, ...). A result
// with several refs becomes one PlatformOutput per refs.platforms entry.
// Errors: the runner's (policy, resolution, the frontend's own error);
// InvalidArgument for several refs without a (matching) refs.platforms.
// Thread-safe (concurrent builds share the Root).
Result<BuildOutput> BuildWithFrontend(Root& root, const FrontendBuild& build,
                                      const solver::SolveRequest& request,
                                      std::stop_token stop);

// Solves `graph` (an LLB Definition without a frontend). Thread-safe.
Result<BuildOutput> SolveGraph(Root& root, const solver::Graph& graph,
                               const solver::SolveRequest& request,
                               std::stop_token stop);

// The per-platform outputs of a frontend's result, in refs.platforms order
// (exptypes.Platforms JSON: {"Platforms":[{"ID":…,"Platform":{…}}]}), with
// each platform's containerimage.config/<ID> (else containerimage.config).
// A single ref (or none: the empty filesystem of `fallback`) gives one.
// InvalidArgument for several refs without refs.platforms, bad JSON, or an
// ID with no ref.
Result<std::vector<PlatformOutput>> PlatformOutputs(
    const gateway::FinalResult& result, const llb::Platform& fallback);

// Runs one exporter on `output`, all its platforms (exporter.h's
// ExportPlatforms; a scratch directory under <root>/tmp is made and removed
// around it) and returns its response keys. Thread-safe.
Result<std::map<std::string, std::string>> ExportBuildOutput(
    Root& root, const solver::ExportRequest& request,
    const BuildOutput& output);

// "N warnings found:" and one block per warning (file:line when located),
// as `docker build` prints build-check warnings, on stderr.
void PrintWarnings(const std::vector<gateway::Warning>& warnings);

}  // namespace kiln::cli

#endif  // KILN_CMD_KILN_BUILD_FRONTEND_H_
