#include "build_frontend.h"

#include <stdlib.h>

#include <cstdio>
#include <filesystem>
#include <utility>

#include "frontend_pins.h"
#include "kiln/gateway/frontend_policy.h"
#include "kiln/gateway/frontend_runner.h"
#include "kiln/solver/image_source.h"
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
  KILN_ASSIGN_OR_RETURN(gateway::FrontendOutput out,
                        runner.Run(frontend, request, stop));
  BuildOutput output;
  output.warnings = std::move(out.warnings);
  output.metadata = out.result.metadata;
  KILN_ASSIGN_OR_RETURN(output.platforms,
                        PlatformOutputs(out.result, request.platform));
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
    sources.push_back(solver::ExportSource{.snapshot = p.snapshot,
                                           .platform = p.platform,
                                           .image_config = p.image_config,
                                           .created_by = p.created_by,
                                           .attestations = p.attestations});
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
  auto response = solver::ExportPlatforms(request, sources, env);
  std::filesystem::remove_all(work, ec);
  return response;
}

}  // namespace kiln::cli
