// FrontendRunner: from a frontend image reference to an image ready to run —
// policy, resolution, pin check, load through the solver (cached like any
// image) and the caps check (frontend_runner.h steps 1-3).
#include <algorithm>
#include <set>
#include <sstream>
#include <utility>

#include "frontend_runner_internal.h"
#include "kiln/llb/definition.h"
#include "kiln/llb/reference.h"
#include "kiln/llb/source.h"
#include "kiln/llb/state.h"
#include "kiln/solver/graph.h"

namespace kiln::gateway::internal {
namespace {

constexpr std::string_view kCapsLabel = "moby.buildkit.frontend.caps";
constexpr std::string_view kInputsCap = "moby.buildkit.frontend.inputs";

// "a,b+x, c" → {"a", "b", "c"}.
std::vector<std::string> SplitCaps(std::string_view list) {
  std::vector<std::string> caps;
  std::stringstream in{std::string(list)};
  std::string item;
  while (std::getline(in, item, ',')) {
    size_t plus = item.find('+');
    if (plus != std::string::npos) item.resize(plus);
    size_t b = item.find_first_not_of(" \t");
    size_t e = item.find_last_not_of(" \t");
    if (b == std::string::npos) continue;
    caps.push_back(item.substr(b, e - b + 1));
  }
  return caps;
}

std::string Join(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& s : items) out += (out.empty() ? "" : ", ") + s;
  return out;
}

}  // namespace

std::vector<std::string> WantedCaps(const FrontendRequest& request) {
  std::vector<std::string> caps;
  if (auto it = request.opts.find("frontend.caps"); it != request.opts.end()) {
    caps = SplitCaps(it->second);
  }
  if (!request.inputs.empty()) caps.emplace_back(kInputsCap);
  return caps;
}

void ReportVertex(solver::ProgressSink* sink, const std::string& name,
                  const std::vector<std::string>& logs,
                  const std::string& error) {
  if (sink == nullptr) return;
  solver::VertexProgress v;
  v.digest = Digest::FromBytes("kiln-frontend-vertex:" + name);
  v.name = name;
  v.started = solver::ProgressClock::now();
  sink->OnVertex(v);
  for (const std::string& line : logs) {
    sink->OnLog(solver::VertexLogEntry{.vertex = v.digest,
                                       .stream = 2,
                                       .data = line + "\n",
                                       .timestamp = *v.started});
  }
  v.completed = solver::ProgressClock::now();
  v.error = error;
  sink->OnVertex(v);
}

Result<FrontendImage> PrepareFrontendImage(
    const FrontendRunnerOptions& options, const std::string& ref,
    const std::vector<std::string>& caps_wanted, bool installed_only,
    const solver::SolveRequest& base, std::stop_token stop) {
  if (options.images == nullptr || options.executor == nullptr) {
    return FailedPreconditionError(
        "frontend image " + ref +
        ": this engine cannot run frontend images (no image source or "
        "executor)");
  }
  // 1. Policy.
  Result<PolicyDecision> decided = ApplyFrontendPolicy(options.policy, ref);
  if (!decided.ok()) {
    ReportVertex(base.progress, "[frontend] resolve " + ref, {},
                 decided.status().message());
    return decided.status();  // it names the image already
  }
  PolicyDecision decision = *decided;
  if (installed_only && !decision.installed_only) {
    decision.installed_only = true;
    decision.notes.push_back(decision.ref +
                             " must be installed: dockerfile.v0 never pulls "
                             "its frontend from a registry");
  }
  if (!decision.notes.empty() || decision.ref != decision.requested) {
    std::string name = "[frontend] resolve " + decision.requested;
    if (decision.ref != decision.requested) name += " → " + decision.ref;
    name += decision.installed_only ? " (policy, installed)" : " (policy)";
    ReportVertex(base.progress, name, decision.notes, "");
  }

  // 2. Resolve, pin, load.
  // The frontend runs on this machine: its image is for the host platform.
  const llb::Platform platform = llb::HostPlatform();
  Result<solver::ImageConfigResolution> resolved =
      options.images->ResolveImageConfig(decision.ref, platform,
                                         decision.installed_only
                                             ? solver::ResolveMode::kPreferLocal
                                             : solver::ResolveMode::kDefault);
  if (!resolved.ok()) {
    return resolved.status().WithContext(
        "resolving frontend image " + decision.ref +
        (decision.installed_only ? " (installed frontends only)" : ""));
  }
  KILN_RETURN_IF_ERROR(CheckFrontendPin(decision, resolved->digest.str()));
  KILN_ASSIGN_OR_RETURN(llb::ImageReference parsed,
                        llb::ParseImageReference(decision.ref));
  FrontendImage image;
  image.name = parsed.Name() + "@" + resolved->digest.str();
  Result<solver::oci::ImageConfig> config =
      solver::oci::ParseImageConfig(resolved->config);
  if (!config.ok()) {
    return config.status().WithContext("frontend image " + image.name);
  }
  image.config = std::move(*config);

  llb::ImageOptions image_options;
  image_options.record_type = "frontend";
  if (decision.installed_only) {
    image_options.resolve_mode = llb::ResolveMode::kPreferLocal;
  }
  image_options.op.platform = platform;
  llb::State state = llb::Image(image.name, image_options);
  llb::MarshalOptions marshal;
  marshal.platform = platform;
  KILN_ASSIGN_OR_RETURN(image.definition, state.Marshal(marshal));
  auto solved = [&]() -> Result<solver::SolveResult> {
    KILN_ASSIGN_OR_RETURN(llb::LoadedDefinition loaded,
                          llb::LoadDefinition(image.definition));
    KILN_ASSIGN_OR_RETURN(solver::Graph graph, solver::BuildGraph(loaded));
    return options.solver->Solve(graph, base, stop);
  }();
  if (!solved.ok()) {
    return solved.status().WithContext("loading frontend image " + image.name);
  }
  image.snapshot = solved->snapshot;

  // 3. Caps.
  std::set<std::string> offered;
  const auto& labels = image.config.config.labels;
  if (auto it = labels.find(std::string(kCapsLabel)); it != labels.end()) {
    for (std::string& c : SplitCaps(it->second)) offered.insert(std::move(c));
  }
  std::vector<std::string> missing;
  for (const std::string& c : caps_wanted) {
    if (!offered.contains(c) &&
        std::find(missing.begin(), missing.end(), c) == missing.end()) {
      missing.push_back(c);
    }
  }
  if (!missing.empty()) {
    return UnimplementedError(
        "frontend image " + image.name +
        " does not support the requested caps " + Join(missing) +
        " (its label " + std::string(kCapsLabel) + " offers: " +
        (offered.empty()
             ? std::string("none")
             : Join(std::vector<std::string>(offered.begin(), offered.end()))) +
        ")");
  }
  return image;
}

}  // namespace kiln::gateway::internal
