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
//
// Not implemented: frontend.outline and frontend.convertllb.
//
// Thread-safety: pure functions, safe to call concurrently.
#ifndef KILN_DOCKERFILE_SUBREQUESTS_H_
#define KILN_DOCKERFILE_SUBREQUESTS_H_

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

}  // namespace kiln::dockerfile

#endif  // KILN_DOCKERFILE_SUBREQUESTS_H_
