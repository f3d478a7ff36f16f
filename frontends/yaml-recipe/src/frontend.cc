// The frontend's Build: loading the recipe, `# syntax=` forwarding,
// conversion per platform and the result (see kiln/recipe/frontend.h).
#include "kiln/recipe/frontend.h"

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "convert_internal.h"
#include "kiln/llb/source.h"
#include "kiln/recipe/convert.h"
#include "kiln/recipe/recipe.h"

namespace kiln::recipe {
namespace {

using internal::Json;

// Solves local `name` following only `paths`.
Result<sdk::Ref> SolveLocal(sdk::Client& client,
                            const sdk::FrontendOptions& opts,
                            const std::string& name,
                            std::vector<std::string> paths,
                            const std::string& display) {
  llb::LocalOptions lo;
  lo.session_id = opts.session_id;
  lo.follow_paths = std::move(paths);
  lo.shared_key_hint = name;
  lo.differ = llb::LocalDiffer::kNone;
  lo.op.custom_name = display;
  KILN_ASSIGN_OR_RETURN(pb::Definition def, llb::Local(name, lo).Marshal());
  return client.Solve(def, /*evaluate=*/true);
}

// The file's bytes; nullopt when `ref` is empty or lacks it.
Result<std::optional<std::string>> ReadOptional(sdk::Client& client,
                                                const sdk::Ref& ref,
                                                const std::string& path) {
  if (ref.id.empty()) return std::optional<std::string>();
  Result<std::string> data = client.ReadFile(ref, path);
  if (data.ok()) return std::optional<std::string>(std::move(*data));
  if (data.status().code() == StatusCode::kNotFound) {
    return std::optional<std::string>();
  }
  return data.status();
}

// .dockerignore patterns: comments and blank lines dropped, each pattern
// trimmed and cleaned, a leading "/" removed, "!" kept.
std::vector<std::string> ParseIgnore(const std::string& text) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    std::string line =
        text.substr(pos, nl == std::string::npos ? nl : nl - pos);
    pos = nl == std::string::npos ? text.size() : nl + 1;
    size_t b = line.find_first_not_of(" \t\r");
    if (b == std::string::npos || line[b] == '#') continue;
    size_t e = line.find_last_not_of(" \t\r");
    bool negate = line[b] == '!';
    std::string_view body(line);
    body = body.substr(b + (negate ? 1 : 0), e + 1 - b - (negate ? 1 : 0));
    std::string clean = internal::PathClean(body);
    std::string_view rel(clean);
    while (!rel.empty() && rel.front() == '/') rel.remove_prefix(1);
    std::string pattern = negate ? "!" : "";
    pattern.append(rel.empty() ? std::string_view(".") : rel);
    out.push_back(std::move(pattern));
  }
  return out;
}

Result<llb::ResolveMode> ResolveModeOf(const std::string& mode) {
  if (mode.empty() || mode == "default") return llb::ResolveMode::kDefault;
  if (mode == "pull") return llb::ResolveMode::kForcePull;
  if (mode == "local") return llb::ResolveMode::kPreferLocal;
  return InvalidArgumentError("invalid image-resolve-mode " + mode);
}

Result<std::string> ApplyLabels(
    const std::string& config,
    const std::map<std::string, std::string>& labels) {
  if (labels.empty()) return config;
  Json image = Json::parse(config, nullptr, false);
  if (image.is_discarded() || !image.is_object()) {
    return InternalError("converter returned an invalid image config");
  }
  Json& cfg = image["config"];
  if (!cfg["Labels"].is_object()) cfg["Labels"] = Json::object();
  for (const auto& [k, v] : labels) cfg["Labels"][k] = v;
  return image.dump(-1, ' ', false, Json::error_handler_t::replace);
}

Json PlatformJson(const llb::Platform& p) {
  Json j = {{"architecture", p.architecture}, {"os", p.os}};
  if (!p.variant.empty()) j["variant"] = p.variant;
  return j;
}

}  // namespace

Result<sdk::BuildResult> Build(sdk::Client& client,
                               const sdk::FrontendOptions& opts) {
  KILN_ASSIGN_OR_RETURN(sdk::Capabilities caps, client.Ping());
  std::map<std::string, pb::Definition> inputs;
  if (caps.HasFrontendCap("frontend.inputs")) {
    KILN_ASSIGN_OR_RETURN(inputs, client.Inputs());
  }
  std::string filename =
      opts.opts.contains("filename") ? opts.filename : kDefaultFilename;
  // Forwarded by the Dockerfile frontend (`# syntax=kiln/yaml-recipe:1` in a
  // file it read as its default "Dockerfile"): that file is the recipe.
  const bool dockerfile_fallback =
      !opts.opts.contains("filename") && opts.cmdline.has_value();
  std::vector<std::string> follow = {filename};
  if (dockerfile_fallback) follow.push_back("Dockerfile");
  sdk::Ref ref;
  if (auto input = inputs.find(opts.dockerfile_key); input != inputs.end()) {
    KILN_ASSIGN_OR_RETURN(ref, client.Solve(input->second, true));
  } else {
    KILN_ASSIGN_OR_RETURN(
        ref, SolveLocal(client, opts, opts.dockerfile_key, follow,
                        "[internal] load recipe from " + filename));
  }
  KILN_ASSIGN_OR_RETURN(std::optional<std::string> text,
                        ReadOptional(client, ref, filename));
  if (!text && dockerfile_fallback) {
    KILN_ASSIGN_OR_RETURN(text, ReadOptional(client, ref, "Dockerfile"));
    if (text) filename = "Dockerfile";
  }
  if (!text) {
    return NotFoundError("failed to read recipe: open " + filename +
                         ": no such file or directory");
  }

  SyntaxDecision decision = DecideSyntax(opts, *text, FrontendVersion());
  if (decision.forward) {
    std::map<std::string, std::string> forwarded = opts.opts;
    forwarded["cmdline"] = decision.cmdline;
    forwarded["source"] = decision.source;
    Result<sdk::BuildResult> nested =
        client.SolveFrontend("gateway.v0", forwarded, inputs);
    if (!nested.ok()) {
      return nested.status().WithContext("forwarding to syntax image " +
                                         decision.source);
    }
    return nested;
  }

  std::vector<std::string> excludes;
  if (!inputs.contains(opts.context_key)) {
    KILN_ASSIGN_OR_RETURN(
        sdk::Ref ignore_ref,
        SolveLocal(client, opts, opts.context_key, {".dockerignore"},
                   "[internal] load .dockerignore"));
    KILN_ASSIGN_OR_RETURN(std::optional<std::string> ignore,
                          ReadOptional(client, ignore_ref, ".dockerignore"));
    if (ignore) excludes = ParseIgnore(*ignore);
  }
  KILN_ASSIGN_OR_RETURN(llb::ResolveMode resolve_mode,
                        ResolveModeOf(opts.image_resolve_mode));

  std::vector<llb::Platform> platforms = opts.platforms;
  if (platforms.empty()) platforms.push_back(llb::Platform());
  sdk::BuildResult out;
  Json listed = Json::array();
  for (const llb::Platform& platform : platforms) {
    LoadOptions lo;
    lo.filename = filename;
    lo.build_args = opts.build_args;
    lo.target_platform = platform;
    // BUILDPLATFORM: the engine's native platform from the gateway's Ping.
    if (!client.WorkerPlatforms().empty()) {
      lo.build_platform = client.WorkerPlatforms().front();
    }
    KILN_ASSIGN_OR_RETURN(Recipe recipe, LoadRecipe(*text, lo));
    ConvertOptions co;
    co.target = opts.target;
    co.target_platform = platform;
    co.context_name = opts.context_key;
    co.excludes = excludes;
    co.filename = filename;
    co.no_cache = opts.no_cache_all || !opts.no_cache_stages.empty();
    co.image_resolve_mode = resolve_mode;
    co.resolve_image = [&client](std::string_view name,
                                 const llb::Platform& p) -> Result<ImageMeta> {
      KILN_ASSIGN_OR_RETURN(sdk::ImageConfig resolved,
                            client.ResolveImageConfig(std::string(name), p));
      return ImageMeta{
          .ref = resolved.ref.empty() ? std::string(name) : resolved.ref,
          .digest = resolved.digest,
          .config = resolved.config};
    };
    KILN_ASSIGN_OR_RETURN(ConvertResult converted, Convert(recipe, co));
    KILN_ASSIGN_OR_RETURN(std::string config,
                          ApplyLabels(converted.image_config, opts.labels));
    KILN_ASSIGN_OR_RETURN(sdk::Ref solved, client.Solve(converted.definition));
    std::string suffix;
    if (opts.multi_platform) {
      llb::Platform p = platform.os.empty() ? llb::HostPlatform() : platform;
      std::string id = llb::FormatPlatform(p);
      out.refs[id] = solved;
      suffix = "/" + id;
      listed.push_back({{"ID", id}, {"Platform", PlatformJson(p)}});
    } else {
      out.ref = solved;
    }
    out.metadata["containerimage.config" + suffix] = config;
    if (!converted.base_image_config.empty()) {
      out.metadata["containerimage.base.config" + suffix] =
          converted.base_image_config;
    }
    if (!opts.multi_platform) break;
  }
  if (opts.multi_platform) {
    out.metadata["refs.platforms"] = Json{{"Platforms", listed}}.dump();
  }
  return out;
}

}  // namespace kiln::recipe
