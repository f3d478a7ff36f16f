#include "kiln/sdk/serve.h"

#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <exception>
#include <string>

extern char** environ;

namespace kiln::sdk {
namespace {

void Report(const Status& status) {
  std::fprintf(stderr, "kiln frontend: %s\n", status.ToString().c_str());
}

// Runs `build`, turning an escaped exception into an Internal error.
Result<BuildResult> RunBuild(const BuildFunction& build, Client& client,
                             const FrontendOptions& options) {
  try {
    return build(client, options);
  } catch (const std::exception& e) {
    return InternalError(std::string("frontend build threw: ") + e.what());
  } catch (...) {
    return InternalError("frontend build threw a non-standard exception");
  }
}

// Returns `error` to the engine and reports it locally; always exit code 1.
int Fail(Client& client, const Status& error) {
  Report(error);
  Status sent = client.Return(error);
  if (!sent.ok()) Report(sent);
  return 1;
}

}  // namespace

namespace internal {

int ServeOnFd(int fd, char** envp, const BuildFunction& build) {
  Result<std::unique_ptr<Client>> client = Client::FromFd(fd);
  if (!client.ok()) {
    Report(client.status());
    return 1;
  }
  Result<Capabilities> caps = (*client)->Ping();
  if (!caps.ok()) {
    Report(caps.status().WithContext("connecting to the engine"));
    return 1;
  }
  Result<FrontendOptions> options = OptionsFromEnv(envp);
  if (!options.ok()) return Fail(**client, options.status());
  Result<BuildResult> result = RunBuild(build, **client, *options);
  if (!result.ok()) return Fail(**client, result.status());
  Status sent = (*client)->Return(*result);
  if (!sent.ok()) {
    Report(sent);
    return 1;
  }
  return 0;
}

}  // namespace internal

int Serve(const BuildFunction& build) {
  // Writes to a closed connection must fail with EPIPE, not kill us.
  signal(SIGPIPE, SIG_IGN);
  Result<int> fd = internal::ConnectStdio(0, 1);
  if (!fd.ok()) {
    Report(fd.status());
    return 1;
  }
  // fd 1 carries the connection: keep stray prints off it.
  if (dup2(2, 1) < 0) {
    Report(InternalError("redirecting stdout to stderr failed"));
    return 1;
  }
  return internal::ServeOnFd(*fd, environ, build);
}

}  // namespace kiln::sdk
