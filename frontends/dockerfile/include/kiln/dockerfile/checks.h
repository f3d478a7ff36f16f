// Build checks (lint rules) of the Dockerfile frontend, with BuildKit's rule
// names, descriptions, messages and docs URLs (frontend/dockerfile/linter,
// reference dockerfile.md §8), and their configuration: the `# check=`
// directive and build-arg:BUILDKIT_DOCKERFILE_CHECK
// (`skip=<Rule,…>|all;error=<bool>;experimental=<Rule,…>|all`).
//
// Rules implemented: StageNameCasing, FromAsCasing, NoEmptyContinuation,
// ConsistentInstructionCasing, DuplicateStageName, ReservedStageName,
// JSONArgsRecommended, MaintainerDeprecated, UndefinedArgInFrom,
// WorkdirRelativePath, UndefinedVar, MultipleInstructionsDisallowed,
// LegacyKeyValueFormat, SecretsUsedInArgOrEnv, InvalidDefaultArgInFrom,
// RedundantTargetPlatform, FromPlatformFlagConstDisallowed,
// ExposeProtoCasing, ExposeInvalidFormat, InvalidBaseImagePlatform (from
// CheckInputs::base_image) and the experimental
// InvalidDefinitionDescription and CopyIgnoredFile (CheckInputs::excludes).
//
// Differences from upstream, which lints while converting: every stage is
// checked (not only those the target needs), and a stage whose base image
// is unknown (CheckInputs::base_image absent or returning nullopt) gets no
// UndefinedVar or InvalidBaseImagePlatform warnings rather than false ones.
//
// Thread-safety: pure functions over values, safe to call concurrently;
// CheckInputs::base_image is called on the calling thread only.
#ifndef KILN_DOCKERFILE_CHECKS_H_
#define KILN_DOCKERFILE_CHECKS_H_

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kiln/dockerfile/instructions.h"
#include "kiln/dockerfile/parser.h"
#include "kiln/llb/platform.h"
#include "kiln/llb/status.h"

namespace kiln::dockerfile {

// A rule's fixed facts (upstream's LinterRule).
struct CheckRule {
  std::string_view name;         // "StageNameCasing"
  std::string_view description;  // "Stage names should be lowercase"
  std::string_view url;  // https://docs.docker.com/go/dockerfile/rule/<kebab>/
  bool experimental = false;  // runs only when enabled by experimental=
};

// Every implemented rule, in upstream's declaration order.
const std::vector<CheckRule>& CheckRules();

// One finding.
struct CheckWarning {
  std::string rule;         // the rule name
  std::string description;  // the rule's description
  std::string url;          // the rule's docs URL
  std::string message;      // e.g. "Stage name 'Build' should be lowercase"
  SourceRange range;        // the instruction (file:line:column)
};

// Upstream's LintFormatShort: "<Rule>: <message> (line N)" (no "(line N)"
// when the line is 0).
std::string ShortMessage(const CheckWarning& warning);

struct CheckConfig {
  std::vector<std::string> skip;  // rule names
  bool skip_all = false;
  bool error = false;  // warnings fail the build
  std::vector<std::string> experimental;
  bool experimental_all = false;
};

// Parses a check value (upstream's ParseLintOptions): `;`-separated
// `key=value` with keys skip, error (Go's strconv.ParseBool) and
// experimental; blanks around keys, values and rule names are trimmed; an
// empty value is the default config. InvalidArgument, unlocated:
// `invalid check option "<part>"` for a part without `=` or an unknown key,
// `failed to parse check option "error=x": ...` for a bad bool.
Result<CheckConfig> ParseCheckConfig(std::string_view value);

// The config of a build: build-arg:BUILDKIT_DOCKERFILE_CHECK when given,
// else the `# check=` directive, else the default. A malformed directive
// fails with the parse error located at the directive's line of `filename`;
// a malformed build arg with "build-arg:BUILDKIT_DOCKERFILE_CHECK: " before
// the message.
Result<CheckConfig> CheckConfigFor(
    const Directives& directives,
    const std::map<std::string, std::string>& build_args,
    std::string_view filename);

// What a check needs of an external base image.
struct BaseImageInfo {
  std::vector<std::string> env;  // its config's Env ("KEY=value")
  llb::Platform platform;        // its config's platform; empty os = unknown
};

// Looks up the base image `ref` (as written in FROM after expansion, e.g.
// "alpine:3.20") for `platform` (the stage's --platform, else the target
// platform); nullopt when unknown.
using BaseImageLookup = std::function<std::optional<BaseImageInfo>(
    std::string_view ref, const llb::Platform& platform)>;

struct CheckInputs {
  std::map<std::string, std::string> build_args;
  llb::Platform target_platform;  // empty os = HostPlatform()
  llb::Platform build_platform;   // empty os = HostPlatform()
  BaseImageLookup base_image;     // may be null (see the file comment)
  // The build context's .dockerignore patterns (as ParseDockerignore
  // returns them), for CopyIgnoredFile.
  std::vector<std::string> excludes;
};

// Runs every enabled rule over a parsed Dockerfile (`parsed` and the
// `instructions` made from it). Warnings come sorted by source line (stable).
std::vector<CheckWarning> RunChecks(const ParseResult& parsed,
                                    const ParsedDockerfile& instructions,
                                    const CheckConfig& config,
                                    const CheckInputs& inputs);

// The error of a build with error=true and `warnings` (non-empty):
// InvalidArgument "lint violation found for rules: A, B" (rules in order of
// first appearance) with the first warning's range attached.
Status CheckError(const std::vector<CheckWarning>& warnings);

}  // namespace kiln::dockerfile

#endif  // KILN_DOCKERFILE_CHECKS_H_
