// The build-check rule table, the check configuration (`# check=`,
// BUILDKIT_DOCKERFILE_CHECK) and the warning/error texts
// (see kiln/dockerfile/checks.h).
#include <algorithm>
#include <string>
#include <vector>

#include "go_text.h"
#include "kiln/dockerfile/checks.h"

namespace kiln::dockerfile {
namespace {

constexpr char kCheckArg[] = "BUILDKIT_DOCKERFILE_CHECK";

std::string_view Trim(std::string_view s) { return gotext::TrimSpace(s); }

// Go's strconv.ParseBool.
std::optional<bool> ParseGoBool(std::string_view v) {
  for (std::string_view t : {"1", "t", "T", "TRUE", "true", "True"}) {
    if (v == t) return true;
  }
  for (std::string_view f : {"0", "f", "F", "FALSE", "false", "False"}) {
    if (v == f) return false;
  }
  return std::nullopt;
}

// A rule list value: "all" or comma-separated names, each trimmed.
void ParseRuleList(std::string_view v, std::vector<std::string>* rules,
                   bool* all) {
  v = Trim(v);
  if (v == "all") {
    *all = true;
    return;
  }
  rules->clear();
  size_t start = 0;
  while (true) {
    size_t comma = v.find(',', start);
    rules->emplace_back(Trim(v.substr(start, comma - start)));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
}

}  // namespace

const std::vector<CheckRule>& CheckRules() {
#define KILN_RULE_URL(kebab) \
  "https://docs.docker.com/go/dockerfile/rule/" kebab "/"
  static const std::vector<CheckRule> kRules = {
      {"StageNameCasing", "Stage names should be lowercase",
       KILN_RULE_URL("stage-name-casing")},
      {"FromAsCasing",
       "The 'as' keyword should match the case of the 'from' keyword",
       KILN_RULE_URL("from-as-casing")},
      {"NoEmptyContinuation",
       "Empty continuation lines will become errors in a future release",
       KILN_RULE_URL("no-empty-continuation")},
      {"ConsistentInstructionCasing",
       "All commands within the Dockerfile should use the same casing "
       "(either upper or lower)",
       KILN_RULE_URL("consistent-instruction-casing")},
      {"DuplicateStageName", "Stage names should be unique",
       KILN_RULE_URL("duplicate-stage-name")},
      {"ReservedStageName", "Reserved words should not be used as stage names",
       KILN_RULE_URL("reserved-stage-name")},
      {"JSONArgsRecommended",
       "JSON arguments recommended for ENTRYPOINT/CMD to prevent unintended "
       "behavior related to OS signals",
       KILN_RULE_URL("json-args-recommended")},
      {"MaintainerDeprecated",
       "The MAINTAINER instruction is deprecated, use a label instead to "
       "define an image author",
       KILN_RULE_URL("maintainer-deprecated")},
      {"UndefinedArgInFrom", "FROM command must use declared ARGs",
       KILN_RULE_URL("undefined-arg-in-from")},
      {"WorkdirRelativePath",
       "Relative workdir without an absolute workdir declared within the "
       "build can have unexpected results if the base image changes",
       KILN_RULE_URL("workdir-relative-path")},
      {"UndefinedVar", "Variables should be defined before their use",
       KILN_RULE_URL("undefined-var")},
      {"MultipleInstructionsDisallowed",
       "Multiple instructions of the same type should not be used in the "
       "same stage",
       KILN_RULE_URL("multiple-instructions-disallowed")},
      {"LegacyKeyValueFormat",
       "Legacy key/value format with whitespace separator should not be used",
       KILN_RULE_URL("legacy-key-value-format")},
      {"InvalidBaseImagePlatform",
       "Base image platform does not match expected target platform",
       KILN_RULE_URL("invalid-base-image-platform")},
      {"RedundantTargetPlatform",
       "Setting platform to predefined $TARGETPLATFORM in FROM is redundant "
       "as this is the default behavior",
       KILN_RULE_URL("redundant-target-platform")},
      {"SecretsUsedInArgOrEnv",
       "Sensitive data should not be used in the ARG or ENV commands",
       KILN_RULE_URL("secrets-used-in-arg-or-env")},
      {"InvalidDefaultArgInFrom",
       "Default value for global ARG results in an empty or invalid base "
       "image name",
       KILN_RULE_URL("invalid-default-arg-in-from")},
      {"FromPlatformFlagConstDisallowed",
       "FROM --platform flag should not use a constant value",
       KILN_RULE_URL("from-platform-flag-const-disallowed")},
      {"CopyIgnoredFile",
       "Attempting to Copy file that is excluded by .dockerignore",
       KILN_RULE_URL("copy-ignored-file"), true},
      {"InvalidDefinitionDescription",
       "Comment for build stage or argument should follow the format: `# "
       "<arg/stage name> <description>`. If this is not intended to be a "
       "description comment, add an empty line or comment between the "
       "instruction and the comment.",
       KILN_RULE_URL("invalid-definition-description"), true},
      {"ExposeProtoCasing",
       "Protocol in EXPOSE instruction should be lowercase",
       KILN_RULE_URL("expose-proto-casing")},
      {"ExposeInvalidFormat",
       "IP address and host-port mapping should not be used in EXPOSE "
       "instruction. This will become an error in a future release",
       KILN_RULE_URL("expose-invalid-format")},
  };
#undef KILN_RULE_URL
  return kRules;
}

std::string ShortMessage(const CheckWarning& warning) {
  std::string out = warning.rule + ": " + warning.message;
  if (warning.range.line > 0) {
    out += " (line " + std::to_string(warning.range.line) + ")";
  }
  return out;
}

Result<CheckConfig> ParseCheckConfig(std::string_view value) {
  CheckConfig config;
  value = Trim(value);
  if (value.empty()) return config;
  size_t start = 0;
  while (true) {
    size_t semi = value.find(';', start);
    std::string_view part = value.substr(start, semi - start);
    size_t eq = part.find('=');
    if (eq == std::string_view::npos) {
      return InvalidArgumentError("invalid check option " +
                                  gotext::Quote(part));
    }
    std::string_view key = Trim(part.substr(0, eq));
    std::string_view v = part.substr(eq + 1);
    if (key == "skip") {
      ParseRuleList(v, &config.skip, &config.skip_all);
    } else if (key == "experimental") {
      ParseRuleList(v, &config.experimental, &config.experimental_all);
    } else if (key == "error") {
      std::optional<bool> b = ParseGoBool(Trim(v));
      if (!b) {
        return InvalidArgumentError(
            "failed to parse check option " + gotext::Quote(part) +
            ": strconv.ParseBool: parsing " + gotext::Quote(Trim(v)) +
            ": invalid syntax");
      }
      config.error = *b;
    } else {
      return InvalidArgumentError("invalid check option " + gotext::Quote(key));
    }
    if (semi == std::string_view::npos) break;
    start = semi + 1;
  }
  return config;
}

Result<CheckConfig> CheckConfigFor(
    const Directives& directives,
    const std::map<std::string, std::string>& build_args,
    std::string_view filename) {
  if (auto arg = build_args.find(kCheckArg); arg != build_args.end()) {
    Result<CheckConfig> config = ParseCheckConfig(arg->second);
    if (!config.ok()) {
      return config.status().WithContext(std::string("build-arg:") + kCheckArg);
    }
    return config;
  }
  if (!directives.check) return CheckConfig();
  Result<CheckConfig> config = ParseCheckConfig(directives.check->value);
  if (!config.ok()) {
    const int line = directives.check->line;
    return config.status()
        .WithContext("check directive")
        .WithRange(SourceRange{.file = std::string(filename),
                               .line = line,
                               .column = 1,
                               .end_line = line});
  }
  return config;
}

Status CheckError(const std::vector<CheckWarning>& warnings) {
  std::vector<std::string> rules;
  for (const CheckWarning& w : warnings) {
    if (std::find(rules.begin(), rules.end(), w.rule) == rules.end()) {
      rules.push_back(w.rule);
    }
  }
  std::string joined;
  for (const std::string& r : rules) {
    if (!joined.empty()) joined += ", ";
    joined += r;
  }
  Status error =
      InvalidArgumentError("lint violation found for rules: " + joined);
  if (!warnings.empty()) error = error.WithRange(warnings.front().range);
  return error;
}

}  // namespace kiln::dockerfile
