// Serve: the main loop of a frontend program. A frontend's main is
//
//   int main() { return kiln::sdk::Serve(MyBuild); }
//
// Serve connects to the engine over stdin and stdout (one socket as both, as
// the kiln gateway runs frontends, or two pipes, as upstream BuildKit does:
// then two threads relay them to a private socketpair), pings it, reads the
// options from the environment (options.h), runs `build` once, and delivers its
// result or its error with Return. Errors keep their code and message, and
// their source ranges travel as located error details (gateway.md §5).
//
// Returns the process exit code: 0 after a successful Return of a result, 1
// when the build failed (its error was returned to the engine) or the
// connection failed (message on stderr). After connecting, stdout is
// redirected to stderr so that stray prints cannot corrupt the connection.
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

// One bidirectional fd talking through `in_fd` (read) and `out_fd` (write),
// for gRPC, which needs one. When `in_fd` is a socket and equals `out_fd`,
// returns `in_fd` itself. Otherwise (upstream's two pipes) dups both, starts
// two detached relay threads that own the dups and one end of a new
// socketpair, and returns the other end: bytes read from `in_fd` can be read
// from it, bytes written to it come out of `out_fd`. Each relay ends at EOF
// or an error of its source and passes EOF on; SIGPIPE is then ignored
// process-wide. Internal error when a syscall fails. Implemented in
// stdio_connection.cc.
Result<int> ConnectStdio(int in_fd, int out_fd);
}  // namespace internal

}  // namespace kiln::sdk

#endif  // KILN_SDK_SERVE_H_
