// Running the git CLI for the git source (git_source.h): never through a
// shell, with a clean environment, its output collected, cancellable.
//
// Environment: only PATH (the caller's, or a default), HOME (an empty
// directory the caller names, so no ~/.gitconfig or ~/.ssh is read),
// LC_ALL=C (stable messages to classify), GIT_TERMINAL_PROMPT=0,
// GIT_CONFIG_NOSYSTEM=1, GIT_CONFIG_GLOBAL=/dev/null, an ssh command in
// batch mode, plus the entries the caller adds (auth config through
// GIT_CONFIG_COUNT, SSH_AUTH_SOCK). Secrets therefore never appear on a
// command line. git runs in its own process group with stdin from
// /dev/null; cancelling kills the whole group.
//
// Thread safety: free functions, safe to call concurrently.
#ifndef KILN_SOLVER_SRC_GIT_PROCESS_H_
#define KILN_SOLVER_SRC_GIT_PROCESS_H_

#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "kiln/llb/status.h"

namespace kiln::solver::internal {

struct GitCommand {
  std::vector<std::string> args;  // after "git"
  std::string home;               // HOME for git: an empty directory
  std::vector<std::string> env;   // extra "NAME=value" entries
};

struct GitOutput {
  int exit_code = -1;  // 128 + signal when killed
  std::string out;     // stdout
  std::string err;     // stderr (its last 64 KiB)
};

// Runs git and waits. Any exit code is a successful result. Errors:
// Internal when git cannot be started, Cancelled when `stop` is requested
// (git is killed first).
Result<GitOutput> RunGitProcess(const GitCommand& command,
                                std::stop_token stop);

// RunGitProcess, and a non-zero exit becomes GitFailure(what, output).
// Returns stdout.
Result<std::string> RunGit(std::string_view what, const GitCommand& command,
                           std::stop_token stop);

// RunGit for commands whose output does not matter.
Status RunGitStatus(std::string_view what, const GitCommand& command,
                    std::stop_token stop);

// The error for a failed git command: "<what>: <last lines of stderr>",
// NotFound when git says a repository, ref or object does not exist,
// Unauthenticated for authentication failures, Unavailable for network
// failures, Unknown otherwise.
Status GitFailure(std::string_view what, const GitOutput& output);

}  // namespace kiln::solver::internal

#endif  // KILN_SOLVER_SRC_GIT_PROCESS_H_
