#include "build_frontend.h"

#include <cstdio>
#include <filesystem>
#include <random>
#include <utility>

#include "frontend_pins.h"
#include "kiln/gateway/frontend_policy.h"
#include "kiln/gateway/frontend_runner.h"
#include "kiln/solver/image_source.h"

namespace kiln::cli {
namespace {

std::string RandomSessionId() {
  std::mt19937_64 rng{std::random_device{}()};
  static constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::string id;
  for (int i = 0; i < 25; ++i) id.push_back(kAlphabet[rng() % 36]);
  return id;
}

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

}  // namespace

Result<BuildOutput> BuildWithFrontend(Root& root, const BuildFlags& flags,
                                      const solver::SolveRequest& request,
                                      std::stop_token stop) {
  KILN_ASSIGN_OR_RETURN(solver::Solver * solver, root.Solver());
  KILN_ASSIGN_OR_RETURN(solver::ImageStore * images, root.Images());
  KILN_ASSIGN_OR_RETURN(solver::Snapshotter * snapshots, root.Snapshots());
  KILN_ASSIGN_OR_RETURN(solver::RegistryClient * registry, root.Registry());
  solver::Executor* executor = nullptr;
  if (auto e = root.Executor(); e.ok()) {
    executor = *e;
  } else if (flags.frontend_exec.empty()) {
    return e.status().WithContext("frontend images run in containers");
  }
  KILN_ASSIGN_OR_RETURN(gateway::FrontendPolicy policy,
                        LoadOperatorPolicy(root.dir()));
  // Per-run metadata dirs a killed predecessor left: this process holds the
  // root (the snapshotter's lock), so whatever is there is stale.
  const std::string state_dir = root.dir() + "/frontends";
  std::error_code ec;
  std::filesystem::remove_all(state_dir, ec);
  if (ec) {
    return InternalError("removing stale frontend state " + state_dir + ": " +
                         ec.message());
  }
  solver::ImageSource image_source(images, registry, snapshots,
                                   {.oci_layouts = flags.oci_layouts});
  gateway::FrontendRunner runner({.solver = solver,
                                  .snapshots = snapshots,
                                  .images = &image_source,
                                  .executor = executor,
                                  .policy = std::move(policy),
                                  .exec_path = flags.frontend_exec,
                                  .state_dir = state_dir,
                                  .session_id = RandomSessionId()});
  gateway::FrontendRequest frontend{
      .frontend = flags.frontend, .opts = flags.opts, .inputs = {}};
  KILN_ASSIGN_OR_RETURN(gateway::FrontendOutput out,
                        runner.Run(frontend, request, stop));
  PrintWarnings(out.warnings);
  const gateway::FinalResult& result = out.result;
  BuildOutput build;
  build.metadata = result.metadata;
  std::string config_key = "containerimage.config";
  if (!result.refs.empty()) {
    if (result.refs.size() > 1) {
      return UnimplementedError(
          "the frontend returned " + std::to_string(result.refs.size()) +
          " platform results; exporting multi-platform results is not "
          "supported yet");
    }
    const auto& [key, ref] = *result.refs.begin();
    build.snapshot = ref.snapshot;
    build.platform = ref.platform;
    config_key += "/" + key;
  } else if (result.ref) {
    build.snapshot = result.ref->snapshot;
    build.platform = result.ref->platform;
  } else {
    build.platform = request.platform;
  }
  auto config = result.metadata.find(config_key);
  if (config == result.metadata.end()) {
    config = result.metadata.find("containerimage.config");
  }
  if (config != result.metadata.end()) build.image_config = config->second;
  return build;
}

}  // namespace kiln::cli
