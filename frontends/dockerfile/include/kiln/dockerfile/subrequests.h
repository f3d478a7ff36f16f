// The Dockerfile frontend's subrequests (opt `requestid`, reference
// frontend-images.md §7): the results BuildKit's frontend/subrequests
// packages produce, as exporter metadata of a result without refs.
//
//   frontend.subrequests.describe  result.json (the list below), result.txt,
//                                  version "1.0.0"
//   frontend.lint (1.0.0)          result.json {"warnings": [...],
//                                  "sources": [...]}, result.txt,
//                                  result.statuscode ("1" with warnings,
//                                  else "0"), version
//   frontend.targets (1.0.0)       result.json {"targets": [...],
//                                  "sources": [...]}, result.txt, version
//   frontend.outline (1.0.0)       result.json {"name", "description",
//                                  "args", "secrets", "ssh", "sources"},
//                                  result.txt, version
//
// Not implemented: frontend.convertllb; the outline's cache mounts.
//
// Thread-safety: pure functions, safe to call concurrently.
#ifndef KILN_DOCKERFILE_SUBREQUESTS_H_
#define KILN_DOCKERFILE_SUBREQUESTS_H_

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "kiln/dockerfile/checks.h"
#include "kiln/dockerfile/instructions.h"
#include "kiln/dockerfile/parser.h"
#include "kiln/sdk/client.h"

namespace kiln::dockerfile {

inline constexpr std::string_view kRequestDescribe =
    "frontend.subrequests.describe";
inline constexpr std::string_view kRequestLint = "frontend.lint";
inline constexpr std::string_view kRequestTargets = "frontend.targets";
inline constexpr std::string_view kRequestOutline = "frontend.outline";

// The subrequests implemented, in describe's order.
const std::vector<std::string>& SubrequestNames();

// frontend.subrequests.describe's result.
sdk::BuildResult DescribeResult();

// frontend.lint's result for `warnings` of `dockerfile` (the file's text,
// sent back as the lint result's only source, named `filename`).
sdk::BuildResult LintResult(const std::vector<CheckWarning>& warnings,
                            std::string_view filename,
                            std::string_view dockerfile);

// frontend.targets' result: one target per stage (name, description from
// the `# name text` comment, base, platform, location), the last stage the
// default.
sdk::BuildResult TargetsResult(const ParsedDockerfile& instructions,
                               std::string_view dockerfile);

// frontend.outline's result for stage `target` (empty = the last stage):
// the build args (name, value after `build_args`, description from the
// `# NAME text` comment, location) the target and the stages it needs
// refer to — directly or through another arg's default — and their secret
// and ssh mounts (id, required), each sorted by line. `escape` is the
// Dockerfile's escape character. Errors: NotFound for an unknown target;
// InvalidArgument for a Dockerfile without stages.
Result<sdk::BuildResult> OutlineResult(
    const ParsedDockerfile& instructions, std::string_view dockerfile,
    const std::string& target,
    const std::map<std::string, std::string>& build_args, char escape);

}  // namespace kiln::dockerfile

#endif  // KILN_DOCKERFILE_SUBREQUESTS_H_
