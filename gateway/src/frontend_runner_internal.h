// Private pieces of FrontendRunner (frontend_runner.h), one concept per file:
//   frontend_image.cc    policy, resolution, pin, load and caps of an image
//   frontend_process.cc  one frontend process (container or host binary)
//                        against its BridgeServer: transport, stderr log,
//                        idle watchdog, outcome rules
//   frontend_runner.cc   frontend names, nested solves, the run itself
#ifndef KILN_GATEWAY_FRONTEND_RUNNER_INTERNAL_H_
#define KILN_GATEWAY_FRONTEND_RUNNER_INTERNAL_H_

#include <chrono>
#include <map>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

#include "kiln/gateway/bridge_server.h"
#include "kiln/gateway/frontend_runner.h"
#include "kiln/llb/digest.h"
#include "kiln/llb/status.h"
#include "kiln/solver/oci.h"
#include "kiln/solver/progress.h"
#include "solver/pb/ops.pb.h"

namespace kiln::gateway::internal {

// A frontend image ready to run.
struct FrontendImage {
  std::string name;      // what errors call it: normalized ref@digest
  std::string snapshot;  // committed snapshot of its layers ("" = none)
  solver::oci::ImageConfig config;
  pb::Definition definition;  // the one-source-op LLB it was loaded with
};

// Policy → resolve → pin → load → caps (frontend_runner.h steps 1-3).
// `caps_wanted` are the caps the request needs; `installed_only` resolves
// from the embedded store only, whatever the policy decided (dockerfile.v0).
// The image is resolved and loaded for the engine's own platform, not the
// build's target (a frontend runs here). Errors name the image.
Result<FrontendImage> PrepareFrontendImage(
    const FrontendRunnerOptions& options, const std::string& ref,
    const std::vector<std::string>& caps_wanted, bool installed_only,
    const solver::SolveRequest& base, std::stop_token stop);

// The caps a request needs: opt frontend.caps (suffixes cut) plus
// moby.buildkit.frontend.inputs when it has inputs.
std::vector<std::string> WantedCaps(const FrontendRequest& request);

// Reports a one-shot progress vertex (started and completed, `logs` as
// stderr log lines, `error` when non-empty). No-op without a sink.
void ReportVertex(solver::ProgressSink* sink, const std::string& name,
                  const std::vector<std::string>& logs,
                  const std::string& error);

// How to start the frontend process.
struct ProcessSpec {
  std::string display;  // "frontend NAME" in errors
  std::vector<std::string> args;
  std::vector<std::string> env;  // the full environment of the process
  // Container mode (executor != nullptr): the rootfs mounts and the rest.
  solver::Executor* executor = nullptr;
  std::vector<solver::Mount> rootfs;
  std::string cwd = "/";
  std::vector<solver::ExecMount> mounts;
  std::chrono::milliseconds idle_timeout{0};
  solver::ProgressSink* progress = nullptr;
  std::string vertex_name;  // "[frontend] NAME"
};

// Runs the process against `bridge` (served on a fresh socketpair) to its
// end and applies the outcome rules; the returned output's definitions are
// filled from the bridge.
Result<FrontendOutput> RunFrontendProcess(const ProcessSpec& spec,
                                          BridgeServer& bridge,
                                          std::stop_token stop);

// The contract environment (frontend_runner.h step 4) after `base_env`.
std::vector<std::string> FrontendEnv(
    const std::vector<std::string>& base_env,
    const std::map<std::string, std::string>& opts,
    const std::string& session_id, const llb::Platform& platform);

}  // namespace kiln::gateway::internal

#endif  // KILN_GATEWAY_FRONTEND_RUNNER_INTERNAL_H_
