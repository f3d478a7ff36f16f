// The command line of `kiln build`, parsed into a value that the run part
// (build_cmd.cc, or the daemon client) consumes. --secret, --ssh and
// --output specs are kept as given (non-empty): build_cmd.cc parses them with
// secret_providers.h's and exporter.h's parsers, and reports their errors as
// usage errors too.
//
// Two spellings fill the same BuildFlags: buildctl's (--llb, --frontend,
// --opt, --local, --output) and docker buildx's shortcuts
// (`-f FILE -t NAME --build-arg K=V --target T ... CONTEXT`), which become
// the Dockerfile frontend with its opts and locals (build_shortcuts.cc).
#ifndef KILN_CMD_KILN_BUILD_FLAGS_H_
#define KILN_CMD_KILN_BUILD_FLAGS_H_

#include <cstdio>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "kiln/llb/platform.h"
#include "kiln/llb/status.h"

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
  // --export-cache/--cache-to and --import-cache/--cache-from specs
  // (checked with build_cache.h's parser), in order.
  std::vector<std::string> cache_exports;
  std::vector<std::string> cache_imports;
  // --call check|outline|targets (buildx's spelling): runs the frontend's
  // subrequest (opt requestid=frontend.lint|outline|targets) instead of a
  // build; "" = build. Nothing is exported: the result's result.txt goes to
  // stdout.
  std::string call;
  bool help = false;  // -h/--help: print BuildUsage() and stop
  // The docker-style CONTEXT was "-" or -f was "-": the Dockerfile comes
  // from stdin; ReadStdinDockerfile() puts it in a directory and sets the
  // "dockerfile" (and for CONTEXT "-", an empty "context") local.
  bool dockerfile_stdin = false;
  bool context_stdin = false;  // CONTEXT was "-"
};

// The parse result: the flags, or an error message and its exit code: 2
// for a usage error (the message names the flag), 1 for a CONTEXT
// directory that does not exist.
struct BuildFlagsResult {
  BuildFlags flags;
  std::string error;  // empty on success
  int exit_code = 2;  // meaningful when !ok()
  bool ok() const { return error.empty(); }
};

BuildFlagsResult ParseBuildFlags(const std::vector<std::string>& args);

// `kiln build --help`.
std::string_view BuildUsage();

// For flags.dockerfile_stdin: reads all of `in` (the Dockerfile) into
// <dir>/dockerfile/Dockerfile, with `dir` a new directory under `tmp_dir`,
// and points flags.locals["dockerfile"] there (and, for a CONTEXT of "-",
// locals["context"] at the empty <dir>/context). Returns `dir`, which the
// caller removes after the build; "" when flags.dockerfile_stdin is false.
// Errors: Internal when stdin cannot be read or the files not written.
Result<std::string> ReadStdinDockerfile(BuildFlags& flags, std::FILE* in,
                                        const std::string& tmp_dir);

}  // namespace kiln::cli

#endif  // KILN_CMD_KILN_BUILD_FLAGS_H_
