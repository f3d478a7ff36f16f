// The command line of `kiln build`, parsed into a value that the run part
// (build_cmd.cc) consumes. --secret, --ssh and --output specs are kept as
// given (non-empty): build_cmd.cc parses them with secret_providers.h's and
// exporter.h's parsers, and reports their errors as usage errors too.
#ifndef KILN_CMD_KILN_BUILD_FLAGS_H_
#define KILN_CMD_KILN_BUILD_FLAGS_H_

#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "kiln/llb/platform.h"

namespace kiln::cli {

struct BuildFlags {
  std::string llb;  // Definition file; "-" = stdin
  // --frontend NAME (gateway.v0, dockerfile.v0); "" = none. Set to
  // gateway.v0 by --frontend-exec when not given.
  std::string frontend;
  std::map<std::string, std::string> opts;         // --opt KEY=VALUE
  std::string frontend_exec;                       // --frontend-exec PATH
  std::map<std::string, std::string> locals;       // --local NAME=DIR
  std::map<std::string, std::string> oci_layouts;  // --oci-layout NAME=DIR
  std::vector<std::string> secrets;    // --secret id=…,src=…|env=…
  std::vector<std::string> ssh;        // --ssh default[=SOCKET|KEY[,KEY]]
  std::vector<std::string> outputs;    // --output type=…,…
  std::string progress = "auto";       // auto|plain|tty|rawjson|quiet
  std::set<std::string> entitlements;  // --allow
  std::optional<llb::Platform> platform;
  // --call check|outline|targets (buildx's spelling): runs the frontend's
  // subrequest (opt requestid=frontend.lint|outline|targets) instead of a
  // build; "" = build. Nothing is exported: the result's result.txt goes to
  // stdout.
  std::string call;
  bool help = false;  // -h/--help: print BuildUsage() and stop
};

// The parse result: the flags, or a usage error message (exit code 2).
struct BuildFlagsResult {
  BuildFlags flags;
  std::string error;  // empty on success
  bool ok() const { return error.empty(); }
};

BuildFlagsResult ParseBuildFlags(const std::vector<std::string>& args);

// `kiln build --help`.
std::string_view BuildUsage();

}  // namespace kiln::cli

#endif  // KILN_CMD_KILN_BUILD_FLAGS_H_
