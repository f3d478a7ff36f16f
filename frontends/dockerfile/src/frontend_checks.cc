// Build checks and subrequests in the frontend (see frontend_checks.h).
#include "frontend_checks.h"

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "kiln/dockerfile/checks.h"
#include "kiln/dockerfile/subrequests.h"
#include "kiln/llb/reference.h"

namespace kiln::dockerfile::internal {
namespace {

using Json = nlohmann::json;

// An ImageEnvLookup through the engine's image resolver (cached per ref);
// nullopt for named contexts and images that do not resolve.
ImageEnvLookup ImageEnvFor(sdk::Client& client,
                           const sdk::FrontendOptions& opts,
                           const llb::Platform& platform) {
  auto cache = std::make_shared<
      std::map<std::string, std::optional<std::vector<std::string>>>>();
  return [&client, &opts, platform, cache](
             std::string_view ref) -> std::optional<std::vector<std::string>> {
    std::string key(ref);
    if (auto hit = cache->find(key); hit != cache->end()) return hit->second;
    std::optional<std::vector<std::string>>& env = (*cache)[key];
    if (opts.NamedContext(key)) return env;
    Result<llb::ImageReference> parsed = llb::ParseImageReference(ref);
    if (!parsed.ok()) return env;
    Result<sdk::ImageConfig> resolved =
        client.ResolveImageConfig(parsed->String(), platform);
    if (!resolved.ok()) return env;
    Json config = Json::parse(resolved->config, nullptr, false);
    if (config.is_discarded() || !config.is_object()) return env;
    env.emplace();
    auto cfg = config.find("config");
    if (cfg == config.end() || !cfg->is_object()) return env;
    auto list = cfg->find("Env");
    if (list == cfg->end() || !list->is_array()) return env;
    for (const Json& e : *list) {
      if (e.is_string()) env->push_back(e.get<std::string>());
    }
    return env;
  };
}

struct Lint {
  CheckConfig config;
  ParsedDockerfile instructions;
  std::vector<CheckWarning> warnings;
};

// Parses and lints the Dockerfile. The parse errors come back as they are.
Result<Lint> RunLint(sdk::Client& client, const sdk::FrontendOptions& opts,
                     const LoadedDockerfile& dockerfile) {
  Lint lint;
  KILN_ASSIGN_OR_RETURN(ParseResult parsed,
                        Parse(dockerfile.text, opts.filename));
  KILN_ASSIGN_OR_RETURN(
      lint.config,
      CheckConfigFor(parsed.directives, opts.build_args, opts.filename));
  KILN_ASSIGN_OR_RETURN(lint.instructions, ParseInstructions(parsed));
  CheckInputs inputs;
  inputs.build_args = opts.build_args;
  if (!opts.platforms.empty()) inputs.target_platform = opts.platforms.front();
  llb::Platform target = inputs.target_platform.os.empty()
                             ? llb::HostPlatform()
                             : inputs.target_platform;
  inputs.image_env = ImageEnvFor(client, opts, target);
  lint.warnings = RunChecks(parsed, lint.instructions, lint.config, inputs);
  return lint;
}

}  // namespace

Status ReportChecks(sdk::Client& client, const sdk::FrontendOptions& opts,
                    const LoadedDockerfile& dockerfile) {
  Result<ParseResult> parsed = Parse(dockerfile.text, opts.filename);
  if (!parsed.ok()) return Status::Ok();  // the converter reports it
  KILN_ASSIGN_OR_RETURN(
      CheckConfig config,
      CheckConfigFor(parsed->directives, opts.build_args, opts.filename));
  if (config.skip_all) return Status::Ok();
  Result<Lint> lint = RunLint(client, opts, dockerfile);
  if (!lint.ok()) return Status::Ok();  // instruction errors: the converter's
  for (const CheckWarning& w : lint->warnings) {
    sdk::Warning warning;
    warning.vertex_digest = dockerfile.vertex;
    warning.level = 1;
    warning.short_message = ShortMessage(w);
    warning.detail = {w.description};
    warning.url = w.url;
    warning.range = w.range;
    KILN_RETURN_IF_ERROR(client.Warn(warning));
  }
  if (lint->config.error && !lint->warnings.empty()) {
    return CheckError(lint->warnings);
  }
  return Status::Ok();
}

Result<sdk::BuildResult> HandleSubrequest(sdk::Client& client,
                                          const sdk::FrontendOptions& opts,
                                          const LoadedDockerfile& dockerfile) {
  const std::string& id = opts.request_id;
  if (id == kRequestDescribe) return DescribeResult();
  if (id == kRequestLint) {
    KILN_ASSIGN_OR_RETURN(Lint lint, RunLint(client, opts, dockerfile));
    return LintResult(lint.warnings, opts.filename, dockerfile.text);
  }
  if (id == kRequestTargets) {
    KILN_ASSIGN_OR_RETURN(ParseResult parsed,
                          Parse(dockerfile.text, opts.filename));
    KILN_ASSIGN_OR_RETURN(ParsedDockerfile instructions,
                          ParseInstructions(parsed));
    return TargetsResult(instructions, dockerfile.text);
  }
  if (id == kRequestOutline) {
    KILN_ASSIGN_OR_RETURN(ParseResult parsed,
                          Parse(dockerfile.text, opts.filename));
    KILN_ASSIGN_OR_RETURN(ParsedDockerfile instructions,
                          ParseInstructions(parsed));
    return OutlineResult(instructions, dockerfile.text, opts.target,
                         opts.build_args, parsed.directives.escape_token);
  }
  std::string known;
  for (const std::string& name : SubrequestNames()) {
    known += (known.empty() ? "" : ", ") + name;
  }
  return UnimplementedError("unsupported subrequest " + id +
                            ": kiln-dockerfile-frontend implements " + known);
}

}  // namespace kiln::dockerfile::internal
