// Runs a frontend's build function in process against a real BridgeServer
// over a socketpair — the same gRPC path a frontend process uses, without a
// container — for frontend tests (Dockerfile, YAML recipe, SDK examples).
#ifndef KILN_TESTS_GATEWAY_SUPPORT_FRONTEND_HARNESS_H_
#define KILN_TESTS_GATEWAY_SUPPORT_FRONTEND_HARNESS_H_

#include <optional>
#include <string>
#include <vector>

#include "kiln/gateway/bridge_server.h"
#include "kiln/sdk/serve.h"

namespace kiln::gateway::testing {

struct InProcessRun {
  int exit_code = -1;                 // sdk::Serve's exit code
  std::optional<FinalResult> result;  // what the frontend returned
  std::vector<Warning> warnings;      // its Warn calls
  Status error;  // non-OK when the harness itself could not serve
};

// Serves `env` on one end of a socketpair and runs `build` through
// sdk::internal::ServeOnFd on the other, with `opts` ("key=value" each) as
// the frontend's BUILDKIT_FRONTEND_OPT_* environment.
InProcessRun RunFrontendInProcess(BuildEnv env,
                                  const std::vector<std::string>& opts,
                                  const sdk::BuildFunction& build);

}  // namespace kiln::gateway::testing

#endif  // KILN_TESTS_GATEWAY_SUPPORT_FRONTEND_HARNESS_H_
