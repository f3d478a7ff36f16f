// Serve: the main loop of a frontend program. A frontend's main is
//
//   int main() { return kiln::sdk::Serve(MyBuild); }
//
// Serve connects to the engine over stdin (stdin and stdout being the same
// socket, as the kiln gateway runs frontends), pings it, reads the options
// from the environment (options.h), runs `build` once, and delivers its
// result or its error with Return. Errors keep their code and message, and
// their source ranges travel as located error details (gateway.md §5).
//
// Returns the process exit code: 0 after a successful Return of a result, 1
// when the build failed (its error was returned to the engine) or the
// connection failed (message on stderr). After connecting, stdout is
// redirected to stderr so that stray prints cannot corrupt the connection.
//
// Not implemented yet: upstream BuildKit's two pipes (stdin != stdout); Serve
// then fails with a message on stderr.
#ifndef KILN_SDK_SERVE_H_
#define KILN_SDK_SERVE_H_

#include <functional>

#include "kiln/llb/status.h"
#include "kiln/sdk/client.h"
#include "kiln/sdk/options.h"

namespace kiln::sdk {

using BuildFunction =
    std::function<Result<BuildResult>(Client&, const FrontendOptions&)>;

int Serve(const BuildFunction& build);

namespace internal {
// Serve's logic on an explicit connection `fd` (owned from here on) and
// environment `envp`; for tests. Does not touch stdout or signals.
int ServeOnFd(int fd, char** envp, const BuildFunction& build);
}  // namespace internal

}  // namespace kiln::sdk

#endif  // KILN_SDK_SERVE_H_
