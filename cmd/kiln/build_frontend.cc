#include "build_frontend.h"

#include <stdlib.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <utility>

#include "build_epoch.h"
#include "frontend_pins.h"
#include "kiln/gateway/frontend_policy.h"
#include "kiln/gateway/frontend_runner.h"
#include "kiln/solver/image_source.h"
#include "provenance.h"
#include "random_id.h"

namespace kiln::cli {
void PrintWarnings(const std::vector<gateway::Warning>& warnings) {
  if (warnings.empty()) return;
  std::fprintf(stderr, "%zu warning%s found:\n", warnings.size(),
               warnings.size() == 1 ? "" : "s");
  for (const gateway::Warning& w : warnings) {
    // "Dockerfile:3: StageNameCasing: ..." when the warning is located.
    std::string where;
    if (!w.ranges.empty() && w.ranges.front().line > 0) {
      where = (w.filename.empty() ? std::string("<unknown>") : w.filename) +
              ":" + std::to_string(w.ranges.front().line) + ": ";
    }
    std::fprintf(stderr, " - %s%s\n", where.c_str(), w.short_text.c_str());
    for (const std::string& d : w.detail) {
      std::fprintf(stderr, "   %s\n", d.c_str());
    }
    if (!w.url.empty())
      std::fprintf(stderr, "   More info: %s\n", w.url.c_str());
  }
}

Result<BuildOutput> BuildWithFrontend(Root& root, const FrontendBuild& build,
                                      const solver::SolveRequest& request,
                                      std::stop_token stop) {
  KILN_ASSIGN_OR_RETURN(solver::Solver * solver, root.Solver());
  KILN_ASSIGN_OR_RETURN(solver::ImageStore * images, root.Images());
  KILN_ASSIGN_OR_RETURN(solver::Snapshotter * snapshots, root.Snapshots());
  KILN_ASSIGN_OR_RETURN(solver::RegistryClient * registry, root.Registry());
  solver::Executor* executor = nullptr;
  if (auto e = root.Executor(); e.ok()) {
    executor = *e;
  } else if (build.exec_path.empty()) {
    return e.status().WithContext("frontend images run in containers");
  }
  KILN_ASSIGN_OR_RETURN(gateway::FrontendPolicy policy,
                        LoadOperatorPolicy(root.dir(), root.config_path()));
  KILN_ASSIGN_OR_RETURN(std::string state_dir, root.FrontendStateDir());
  // Asked for with --attest type=provenance: the sources the solves resolve
  // become its materials.
  KILN_ASSIGN_OR_RETURN(std::optional<ProvenanceRequest> provenance,
                        ParseProvenanceOpt(build.opts));
  solver::SourceRecorder sources;
  solver::SolveRequest solve = request;
  if (provenance) solve.resolved_sources = &sources;
  solver::ImageSource image_source(images, registry, snapshots,
                                   {.oci_layouts = build.oci_layouts});
  gateway::FrontendRunner runner(
      {.solver = solver,
       .snapshots = snapshots,
       .images = &image_source,
       .executor = executor,
       .policy = std::move(policy),
       .exec_path = build.exec_path,
       .state_dir = state_dir,
       .session_id = build.session_id.empty() ? RandomId() : build.session_id});
  gateway::FrontendRequest frontend{
      .frontend = build.frontend, .opts = build.opts, .inputs = build.inputs};
  const auto started = std::chrono::system_clock::now();
  KILN_ASSIGN_OR_RETURN(gateway::FrontendOutput out,
                        runner.Run(frontend, solve, stop));
  const auto finished = std::chrono::system_clock::now();
  BuildOutput output;
  output.warnings = std::move(out.warnings);
  output.metadata = out.result.metadata;
  KILN_ASSIGN_OR_RETURN(output.platforms,
                        PlatformOutputs(out.result, request.platform));
  if (provenance) {
    // One predicate per platform, as BuildKit attests each platform's image.
    const std::string invocation_id =
        build.session_id.empty() ? RandomId() : build.session_id;
    const std::vector<solver::ResolvedSource> resolved = sources.Sources();
    std::vector<llb::Platform> targets;
    for (const PlatformOutput& p : output.platforms) {
      targets.push_back(p.platform);
    }
    for (PlatformOutput& p : output.platforms) {
      ProvenanceBuild what{
          .frontend = build.frontend,
          .opts = build.opts,
          .locals = {},
          .build_platform = llb::HostPlatform(),
          .sources = SourcesForPlatform(resolved, p.platform, targets),
          .invocation_id = invocation_id,
          .started_ns = UnixNanos(started),
          .finished_ns = UnixNanos(finished),
          .build_config_json = ""};
      KILN_RETURN_IF_ERROR(AddBuildConfig(*provenance, out, p.platform, &what));
      p.attestations.push_back(ProvenanceAttestation(*provenance, what));
    }
  }
  return output;
}

Result<BuildOutput> SolveGraph(Root& root, const solver::Graph& graph,
                               const solver::SolveRequest& request,
                               std::stop_token stop) {
  KILN_ASSIGN_OR_RETURN(solver::Solver * solver, root.Solver());
  KILN_ASSIGN_OR_RETURN(solver::SolveResult solved,
                        solver->Solve(graph, request, stop));
  BuildOutput output;
  output.platforms.push_back(PlatformOutput{.snapshot = solved.snapshot,
                                            .platform = solved.platform,
                                            .image_config = "",
                                            .created_by = solved.created_by,
                                            .attestations = {}});
  return output;
}

Result<std::map<std::string, std::string>> ExportBuildOutput(
    Root& root, const solver::ExportRequest& request,
    const BuildOutput& output) {
  KILN_ASSIGN_OR_RETURN(solver::Solver * solver, root.Solver());
  KILN_ASSIGN_OR_RETURN(solver::ContentStore * content, root.Content());
  KILN_ASSIGN_OR_RETURN(solver::ImageStore * images, root.Images());
  KILN_ASSIGN_OR_RETURN(solver::RegistryClient * registry, root.Registry());
  KILN_ASSIGN_OR_RETURN(solver::Snapshotter * snapshots, root.Snapshots());
  // Another build's GC or a prune must not remove the result while it is
  // exported (a partial export would look complete).
  std::vector<std::shared_ptr<void>> holds;
  std::vector<solver::ExportSource> sources;
  for (const PlatformOutput& p : output.platforms) {
    if (!p.snapshot.empty()) {
      KILN_ASSIGN_OR_RETURN(std::shared_ptr<void> hold,
                            solver->Hold(p.snapshot));
      holds.push_back(std::move(hold));
    }
    sources.push_back(solver::ExportSource{
        .snapshot = p.snapshot,
        .platform = p.platform,
        .image_config = p.image_config,
        .created_by = p.created_by,
        .attestations = p.attestations,
        .id = p.id,
        .base_image_config = FrontendBaseConfig(output.metadata, p.platform)});
    sources.back().inline_cache = p.inline_cache;
  }
  std::error_code ec;
  std::string tmp = root.dir() + "/tmp";
  std::filesystem::create_directories(tmp, ec);
  std::string work = tmp + "/export-XXXXXX";
  if (ec || mkdtemp(work.data()) == nullptr) {
    return InternalError("creating a work directory under " + tmp + " failed");
  }
  solver::ExportEnv env{.snapshots = snapshots,
                        .content = content,
                        .images = images,
                        .registry = registry,
                        .layers = &solver->layers(),
                        .work_dir = work};
  std::vector<llb::Platform> platforms;
  for (const PlatformOutput& p : output.platforms) {
    platforms.push_back(p.platform);
  }
  auto effective = WithFrontendEpoch(request, output.metadata, platforms);
  if (!effective.ok()) {
    std::filesystem::remove_all(work, ec);
    return effective.status();
  }
  auto response = solver::ExportPlatforms(*effective, sources, env);
  std::filesystem::remove_all(work, ec);
  return response;
}

}  // namespace kiln::cli
