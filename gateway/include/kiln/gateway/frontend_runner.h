// FrontendRunner: runs a frontend — an OCI image whose entrypoint speaks the
// LLBBridge gRPC API over its stdin/stdout — for one build, and returns what
// it returned (reference gateway.md §6, frontend-images.md).
//
// Frontend names:
//   gateway.v0     opts["source"] names the image (required).
//   dockerfile.v0  an alias: the image FrontendPolicy::dockerfile names,
//                  from the embedded store only (unless the policy's
//                  dockerfile_installed is false); the opts are passed on
//                  unchanged. A top-level gateway.v0 with source=dockerfile.v0
//                  (and no context:dockerfile.v0 opt) means the same, as in
//                  BuildKit ≥ 0.30.
//   anything else  InvalidArgument "invalid frontend: NAME".
// With RunnerOptions::exec_path set, the top-level request (not nested ones)
// runs that host binary instead of an image (`kiln build --frontend-exec`,
// for developing frontends and for bootstrapping the frontend images): fd 0
// and fd 1 are the socket, stderr is piped to the progress log, the env is
// the host PATH plus the variables of step 4, SIGPIPE is reset to default;
// outcome rules and idle timeout as for images; IMAGE in errors is the path.
//
// Running an image:
//  0. A named context opt `context:<source in familiar form, without
//     :latest>` (with `::<platform>` tried first) whose value is
//     docker-image://REF replaces the image by REF (BuildKit's override);
//     other context kinds are Unimplemented there.
//  1. The reference goes through the frontend policy (frontend_policy.h);
//     each decision is reported as a progress vertex
//     "[frontend] resolve REF → REF2 (policy …)" with the notes as its log.
//  2. The image is resolved for the engine's own platform (the frontend runs
//     here, whatever the build's target platform) with
//     ImageSource::ResolveImageConfig (the embedded store only when the
//     policy says installed), the pin checked, and the
//     image loaded as a `docker-image://name@digest` source through the
//     solver, so it is unpacked once and cached like any image.
//  3. The image labels are checked: opt frontend.caps (comma list, "+suffix"
//     ignored) plus moby.buildkit.frontend.inputs when inputs are given must
//     all be in label moby.buildkit.frontend.caps, else Unimplemented.
//  4. The entrypoint (image Entrypoint, "/run" when none; Cmd ignored) runs
//     in the executor with cwd = image WorkingDir (default "/"), user root,
//     env = image Env + BUILDKIT_FRONTEND_OPT_<n>="key=value" per opt,
//     BUILDKIT_SESSION_ID, BUILDKIT_WORKERS, BUILDKIT_EXPORTEDPRODUCT=kiln;
//     a read-only root filesystem (a throw-away overlay of the image, so that
//     mount points can be made); network none (kiln's sandbox network is an
//     isolated namespace with loopback only; the image label
//     moby.buildkit.frontend.network.none is honoured trivially);
//     /run/config/buildkit/metadata/frontend.bin (mode 0400) = the image's
//     LLB Definition, read-only. stdin and stdout are one end of a
//     socketpair whose other end serves a BridgeServer for this run (runc
//     relays them to the container as two pipes; the SDK copes); stderr
//     goes to the progress log of the frontend's vertex "[frontend]
//     NAME@DIGEST" (started, log lines, completed with the error if any).
//     The rootfs snapshot and metadata dir are removed after the run.
//  5. Outcome: an error given through Return wins; otherwise a non-zero exit
//     fails the build even after a successful Return ("frontend IMAGE
//     exited with code N" + stderr tail); exit 0 without Return → "frontend
//     IMAGE returned no result (exited without calling Return)". A crash is
//     a non-zero exit. A protocol error (garbage on stdout) ends the
//     connection: the build fails with the exit status and stderr tail.
//  6. A frontend that has returned its result but has not exited after 10 s
//     (or idle_timeout, if shorter) with no RPC in progress is killed:
//     DeadlineExceeded "frontend IMAGE returned its result but did not exit
//     within N s and was killed".
//     A hang: when the frontend has no RPC in progress and has made no call
//     for `idle_timeout`, it is killed and the build fails with
//     DeadlineExceeded "frontend IMAGE made no request for N s and was
//     killed" + stderr tail. Cancellation (`stop`) kills it too: Cancelled.
//  In errors, IMAGE is the resolved "name@sha256:…". Errors returned by
//  the frontend itself (Return) are passed on unchanged.
//
// Nested solves (SolveRequest.Frontend inside a frontend) run through the
// same runner, depth-limited (`max_depth`, FailedPrecondition beyond it) and
// at most 8 at once per calling frontend (ResourceExhausted beyond);
// the nested result's refs become refs of the calling frontend.
//
// Thread safety: Run may be called concurrently; each run has its own
// BridgeServer, socket and container. Options' pointers are borrowed and
// must outlive the runner.
#ifndef KILN_GATEWAY_FRONTEND_RUNNER_H_
#define KILN_GATEWAY_FRONTEND_RUNNER_H_

#include <chrono>
#include <map>
#include <stop_token>
#include <string>
#include <vector>

#include "kiln/gateway/bridge_server.h"
#include "kiln/gateway/frontend_policy.h"
#include "kiln/llb/status.h"
#include "kiln/solver/executor.h"
#include "kiln/solver/image_source.h"
#include "kiln/solver/snapshotter.h"
#include "kiln/solver/solver.h"
#include "solver/pb/ops.pb.h"

namespace kiln::gateway {

struct FrontendRequest {
  std::string frontend;                     // "gateway.v0", "dockerfile.v0"
  std::map<std::string, std::string> opts;  // passed as BUILDKIT_FRONTEND_OPT_*
  std::map<std::string, pb::Definition> inputs;  // Inputs RPC
};

// FrontendOutput (what a run returns) is declared in bridge_server.h, which
// nested solves share.

struct FrontendRunnerOptions {
  solver::Solver* solver = nullptr;          // required
  solver::Snapshotter* snapshots = nullptr;  // required
  solver::ImageSource* images = nullptr;     // required for images
  solver::Executor* executor = nullptr;      // required for images
  FrontendPolicy policy = FrontendPolicy::Default();
  // Host binary run for the top-level request instead of an image.
  std::string exec_path;
  // Where per-run files (metadata mounts) are made; created if missing.
  // Required for images (absolute; the CLI uses $KILN_ROOT/frontends): a
  // shared default such as /tmp could be prepared by another user.
  std::string state_dir;
  std::chrono::milliseconds idle_timeout{std::chrono::minutes(5)};
  int max_depth = 4;
  std::string session_id;  // BUILDKIT_SESSION_ID
};

class FrontendRunner {
 public:
  explicit FrontendRunner(FrontendRunnerOptions options);

  // Runs `request` against `base` (locals, secrets, progress, platform) and
  // returns its result. Errors: see the file comment; Cancelled when `stop`
  // is requested (the frontend is killed).
  Result<FrontendOutput> Run(const FrontendRequest& request,
                             const solver::SolveRequest& base,
                             std::stop_token stop);

 private:
  // Run at nesting level `depth` (0: top level).
  Result<FrontendOutput> RunAt(const FrontendRequest& request,
                               const solver::SolveRequest& base,
                               std::stop_token stop, int depth);

  FrontendRunnerOptions options_;
};

}  // namespace kiln::gateway

#endif  // KILN_GATEWAY_FRONTEND_RUNNER_H_
