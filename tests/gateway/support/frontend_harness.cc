#include "support/frontend_harness.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "kiln/gateway/serve_fd.h"

namespace kiln::gateway::testing {

InProcessRun RunFrontendInProcess(BuildEnv env,
                                  const std::vector<std::string>& opts,
                                  const sdk::BuildFunction& build) {
  InProcessRun run;
  BridgeServer bridge(std::move(env));
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    run.error =
        InternalError(std::string("socketpair: ") + std::strerror(errno));
    return run;
  }
  auto server = ServeOnFd(&bridge, sv[0]);
  if (!server.ok()) {
    close(sv[1]);
    run.error = server.status();
    return run;
  }
  std::vector<std::string> vars;
  for (size_t i = 0; i < opts.size(); ++i) {
    vars.push_back("BUILDKIT_FRONTEND_OPT_" + std::to_string(i) + "=" +
                   opts[i]);
  }
  std::vector<char*> envp;
  for (std::string& v : vars) envp.push_back(v.data());
  envp.push_back(nullptr);
  run.exit_code = sdk::internal::ServeOnFd(sv[1], envp.data(), build);
  (*server)->Shutdown();
  run.result = bridge.result();
  run.warnings = bridge.warnings();
  return run;
}

}  // namespace kiln::gateway::testing
