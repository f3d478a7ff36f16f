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

// A BaseImageLookup through the engine's image resolver (cached per ref
// and platform); nullopt for named contexts and images that do not resolve.
BaseImageLookup BaseImageFor(sdk::Client& client,
                             const sdk::FrontendOptions& opts) {
  using Cache = std::map<std::string, std::optional<BaseImageInfo>>;
  auto cache = std::make_shared<Cache>();
  return [&client, &opts, cache](
             std::string_view ref,
             const llb::Platform& platform) -> std::optional<BaseImageInfo> {
    std::string key = std::string(ref) + " " + llb::FormatPlatform(platform);
    if (auto hit = cache->find(key); hit != cache->end()) return hit->second;
    std::optional<BaseImageInfo>& info = (*cache)[key];
    if (opts.NamedContext(std::string(ref))) return info;
    Result<llb::ImageReference> parsed = llb::ParseImageReference(ref);
    if (!parsed.ok()) return info;
    Result<sdk::ImageConfig> resolved =
        client.ResolveImageConfig(parsed->String(), platform);
    if (!resolved.ok()) return info;
    Json config = Json::parse(resolved->config, nullptr, false);
    if (config.is_discarded() || !config.is_object()) return info;
    info.emplace();
    auto text = [&](const char* field) {
      auto it = config.find(field);
      return it != config.end() && it->is_string() ? it->get<std::string>()
                                                   : std::string();
    };
    info->platform.os = text("os");
    info->platform.architecture = text("architecture");
    info->platform.variant = text("variant");
    auto cfg = config.find("config");
    if (cfg == config.end() || !cfg->is_object()) return info;
    auto list = cfg->find("Env");
    if (list == cfg->end() || !list->is_array()) return info;
    for (const Json& e : *list) {
      if (e.is_string()) info->env.push_back(e.get<std::string>());
    }
    return info;
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
  inputs.base_image = BaseImageFor(client, opts);
  inputs.excludes = dockerfile.excludes;
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
