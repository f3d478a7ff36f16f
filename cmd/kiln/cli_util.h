// Helpers shared by kiln's subcommands: printing usage and turning a Status
// into "kiln CMD: message" on stderr with exit code 1.
#ifndef KILN_CMD_KILN_CLI_UTIL_H_
#define KILN_CMD_KILN_CLI_UTIL_H_

#include <cstdio>
#include <string>
#include <string_view>

#include "commands.h"
#include "kiln/llb/platform.h"
#include "kiln/llb/status.h"

namespace kiln::cli {

inline int PrintUsage(std::string_view usage) {
  std::fwrite(usage.data(), 1, usage.size(), stdout);
  return kExitOk;
}

// Prints a command-line error and the command's usage; returns kExitUsage.
inline int UsageError(std::string_view usage, const std::string& error) {
  std::fprintf(stderr, "%s\n\n%.*s", error.c_str(),
               static_cast<int>(usage.size()), usage.data());
  return kExitUsage;
}

inline int Fail(const std::string& context, const Status& status) {
  std::fprintf(stderr, "%s: %s\n", context.c_str(), status.ToString().c_str());
  return kExitFailure;
}

// A whole file. NotFound / PermissionDenied / Internal naming the path and
// the system's reason.
Result<std::string> ReadFile(const std::string& path);
// ReadFile, or all of stdin for "-".
Result<std::string> ReadFileOrStdin(const std::string& path);

class Flags;
// The --platform flag, or this machine's platform.
Result<llb::Platform> PlatformFlag(const Flags& flags);

}  // namespace kiln::cli

// Evaluates a Result-returning `expr`; on error prints it with `context` and
// returns kExitFailure from the calling command.
#define KILN_CLI_ASSIGN(lhs, expr, context) \
  KILN_CLI_ASSIGN_IMPL_(KILN_CONCAT_(cli_result_, __LINE__), lhs, expr, context)
#define KILN_CLI_ASSIGN_IMPL_(tmp, lhs, expr, context)              \
  auto tmp = (expr);                                                \
  if (!tmp.ok()) return ::kiln::cli::Fail((context), tmp.status()); \
  lhs = std::move(*tmp)

#define KILN_CLI_CHECK(expr, context)                                        \
  do {                                                                       \
    ::kiln::Status cli_status_ = (expr);                                     \
    if (!cli_status_.ok()) return ::kiln::cli::Fail((context), cli_status_); \
  } while (false)

#endif  // KILN_CMD_KILN_CLI_UTIL_H_
