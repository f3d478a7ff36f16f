// The frontend's Build: caps, Dockerfile loading, `# syntax=` forwarding,
// conversion per platform and the result (see kiln/dockerfile/frontend.h).
#include "kiln/dockerfile/frontend.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "frontend_checks.h"
#include "frontend_load.h"
#include "kiln/dockerfile/convert.h"
#include "kiln/llb/platform.h"

namespace kiln::dockerfile {
namespace {

using OrderedJson = nlohmann::ordered_json;

constexpr char kForwardSuffix[] = "+forward";

// Step 1: every requested cap must be ours. A missing "+forward" cap is
// returned in `deferred` (it only fails a build that is not forwarded).
Status CheckCaps(const sdk::FrontendOptions& opts, Status* deferred) {
  const std::vector<std::string>& caps = FrontendCaps();
  for (std::string cap : opts.frontend_caps) {
    bool forward = cap.ends_with(kForwardSuffix);
    if (forward) cap.resize(cap.size() - sizeof(kForwardSuffix) + 1);
    if (cap.empty() || std::find(caps.begin(), caps.end(), cap) != caps.end()) {
      continue;
    }
    Status missing = UnimplementedError(
        "frontend capability " + cap + " is not supported by " +
        "kiln-dockerfile-frontend " + std::string(FrontendVersion()));
    if (!forward) return missing;
    if (deferred->ok()) *deferred = missing;
  }
  return Status::Ok();
}

Result<sdk::BuildResult> Forward(
    sdk::Client& client, const sdk::FrontendOptions& opts,
    const SyntaxDecision& decision,
    const std::map<std::string, pb::Definition>& inputs) {
  std::map<std::string, std::string> forwarded = opts.opts;
  forwarded["cmdline"] = decision.cmdline;
  forwarded["source"] = decision.source;
  Result<sdk::BuildResult> result =
      client.SolveFrontend("gateway.v0", forwarded, inputs);
  if (result.ok()) return result;
  if (decision.from_build_arg) {
    return result.status().WithContext(
        "failed with build-arg:BUILDKIT_SYNTAX = " + decision.cmdline);
  }
  // An error of the forwarded build that names its own place in the file
  // ("Dockerfile:3:1: ...") is the user's error there; any other failure
  // (resolving or running the syntax image) is located at the directive.
  const std::string& message = result.status().message();
  if (message.starts_with(opts.filename + ":") &&
      message.size() > opts.filename.size() + 1 &&
      std::isdigit(
          static_cast<unsigned char>(message[opts.filename.size() + 1]))) {
    return result.status();
  }
  return result.status().WithRange(SourceRange{.file = opts.filename,
                                               .line = decision.line,
                                               .column = 1,
                                               .end_line = decision.line});
}

// The named contexts that apply to `platform`: "name::<platform>" beats
// "name"; keys are the names.
std::map<std::string, std::string> ContextsFor(const sdk::FrontendOptions& opts,
                                               const llb::Platform& platform) {
  std::map<std::string, std::string> out;
  for (const auto& [key, value] : opts.named_contexts) {
    size_t sep = key.find("::");
    std::string name = key.substr(0, sep);
    if (std::optional<std::string> v = opts.NamedContext(name, platform)) {
      out[name] = *v;
    }
  }
  return out;
}

// Adds the label:* opts to the image config's Labels.
Result<std::string> ApplyLabels(
    const std::string& config,
    const std::map<std::string, std::string>& labels) {
  if (labels.empty()) return config;
  OrderedJson image = OrderedJson::parse(config, nullptr, false);
  if (image.is_discarded() || !image.is_object()) {
    return InternalError("converter returned an invalid image config");
  }
  OrderedJson& cfg = image["config"];
  if (!cfg.is_object()) cfg = OrderedJson::object();
  if (!cfg["Labels"].is_object()) cfg["Labels"] = OrderedJson::object();
  for (const auto& [k, v] : labels) cfg["Labels"][k] = v;
  return image.dump();
}

Result<llb::ResolveMode> ResolveModeOf(const std::string& mode) {
  if (mode.empty() || mode == "default") return llb::ResolveMode::kDefault;
  if (mode == "pull") return llb::ResolveMode::kForcePull;
  if (mode == "local") return llb::ResolveMode::kPreferLocal;
  return InvalidArgumentError("invalid image-resolve-mode " + mode);
}

OrderedJson PlatformJson(const llb::Platform& p) {
  OrderedJson j = {{"architecture", p.architecture}, {"os", p.os}};
  if (!p.os_version.empty()) j["os.version"] = p.os_version;
  if (!p.variant.empty()) j["variant"] = p.variant;
  return j;
}

}  // namespace

Result<sdk::BuildResult> Build(sdk::Client& client,
                               const sdk::FrontendOptions& opts) {
  Status deferred;
  KILN_RETURN_IF_ERROR(CheckCaps(opts, &deferred));
  KILN_ASSIGN_OR_RETURN(sdk::Capabilities caps, client.Ping());
  std::map<std::string, pb::Definition> inputs;
  if (caps.HasFrontendCap("frontend.inputs")) {
    KILN_ASSIGN_OR_RETURN(inputs, client.Inputs());
  }
  // A remote context (opt <contextkey> = URL) replaces the local context
  // and, unless opt dockerfilekey or a Dockerfile input says otherwise,
  // holds the Dockerfile.
  KILN_ASSIGN_OR_RETURN(std::optional<internal::RemoteContext> remote,
                        internal::DetectRemoteContext(client, opts));
  sdk::FrontendOptions effective = opts;
  std::map<std::string, pb::Definition> load_inputs = inputs;
  if (remote) {
    KILN_ASSIGN_OR_RETURN(load_inputs[opts.context_key],
                          remote->context.Marshal());
    if (!opts.opts.contains("dockerfilekey") &&
        !inputs.contains(opts.dockerfile_key)) {
      KILN_ASSIGN_OR_RETURN(load_inputs[opts.dockerfile_key],
                            remote->dockerfile.Marshal());
      if (!remote->filename.empty()) effective.filename = remote->filename;
    }
  }
  KILN_ASSIGN_OR_RETURN(
      internal::LoadedDockerfile dockerfile,
      internal::LoadDockerfile(client, effective, load_inputs));

  SyntaxDecision decision =
      DecideSyntax(opts, dockerfile.text, FrontendVersion());
  if (decision.forward) return Forward(client, opts, decision, inputs);
  KILN_RETURN_IF_ERROR(deferred);

  if (!opts.request_id.empty()) {
    return internal::HandleSubrequest(client, effective, dockerfile);
  }
  // Inputs as states: "<contextkey>" replaces the local context, all are
  // `input:NAME` named contexts (Convert).
  std::map<std::string, llb::State> input_states;
  for (const auto& [name, def] : inputs) {
    KILN_ASSIGN_OR_RETURN(input_states[name], llb::State::FromDefinition(def));
  }
  if (remote) input_states[opts.context_key] = remote->context;
  // contextsubdir scopes a remote or input context, as upstream (a local
  // context is left whole).
  if (auto sub = opts.opts.find("contextsubdir");
      sub != opts.opts.end() && !sub->second.empty()) {
    if (auto ctx = input_states.find(opts.context_key);
        ctx != input_states.end()) {
      ctx->second = internal::ScopeToSubdir(ctx->second, sub->second);
    }
  }
  KILN_ASSIGN_OR_RETURN(auto input_configs, internal::InputConfigs(opts));
  KILN_ASSIGN_OR_RETURN(llb::ResolveMode resolve_mode,
                        ResolveModeOf(opts.image_resolve_mode));
  KILN_RETURN_IF_ERROR(internal::ReportChecks(client, effective, dockerfile));

  std::vector<llb::Platform> platforms = opts.platforms;
  if (platforms.empty()) platforms.push_back(llb::Platform());
  sdk::BuildResult out;
  OrderedJson listed = OrderedJson::array();
  // .dockerignore patterns of local: named contexts, by local name.
  std::map<std::string, std::vector<std::string>> local_excludes;
  for (const llb::Platform& platform : platforms) {
    ConvertOptions co;
    co.build_args = opts.build_args;
    co.target = opts.target;
    co.target_platform = platform;
    // BUILDPLATFORM: the engine's native platform, as the gateway's Ping
    // reports it (the frontend's own host only when it reports none).
    if (!client.WorkerPlatforms().empty()) {
      co.build_platform = client.WorkerPlatforms().front();
    }
    co.context_name = opts.context_key;
    co.excludes = dockerfile.excludes;
    co.filename = effective.filename;
    co.named_contexts =
        ContextsFor(opts, platform.os.empty() ? llb::HostPlatform() : platform);
    for (const auto& [name, value] : co.named_contexts) {
      if (!value.starts_with("local:")) continue;
      std::string local = value.substr(6);
      if (!local_excludes.contains(local)) {
        KILN_ASSIGN_OR_RETURN(local_excludes[local],
                              internal::LoadLocalExcludes(client, opts, local));
      }
    }
    co.local_excludes = local_excludes;
    co.inputs = input_states;
    co.input_configs = input_configs;
    co.no_cache = opts.no_cache_all || !opts.no_cache_stages.empty();
    KILN_ASSIGN_OR_RETURN(co.run, ParseRunOpts(opts.opts));
    co.image_resolve_mode = resolve_mode;
    co.resolve_image = [&client](std::string_view ref,
                                 const llb::Platform& p) -> Result<ImageMeta> {
      KILN_ASSIGN_OR_RETURN(sdk::ImageConfig resolved,
                            client.ResolveImageConfig(std::string(ref), p));
      return ImageMeta{
          .ref = resolved.ref.empty() ? std::string(ref) : resolved.ref,
          .digest = resolved.digest,
          .config = resolved.config};
    };
    KILN_ASSIGN_OR_RETURN(ConvertResult converted,
                          Convert(dockerfile.text, co));
    KILN_ASSIGN_OR_RETURN(std::string config,
                          ApplyLabels(converted.image_config, opts.labels));
    KILN_ASSIGN_OR_RETURN(sdk::Ref ref, client.Solve(converted.definition));
    std::string suffix;  // "/<platform id>" for a RefMap
    if (opts.multi_platform) {
      llb::Platform p = platform.os.empty() ? llb::HostPlatform() : platform;
      std::string id = llb::FormatPlatform(p);
      out.refs[id] = ref;
      suffix = "/" + id;
      listed.push_back({{"ID", id}, {"Platform", PlatformJson(p)}});
    } else {
      out.ref = ref;
    }
    out.metadata["containerimage.config" + suffix] = config;
    if (!converted.base_image_config.empty()) {
      out.metadata["containerimage.base.config" + suffix] =
          converted.base_image_config;
    }
    if (auto epoch = opts.build_args.find("SOURCE_DATE_EPOCH");
        epoch != opts.build_args.end() && !epoch->second.empty()) {
      out.metadata["source.date.epoch" + suffix] = epoch->second;
    }
    if (!opts.multi_platform) break;  // one platform at most (options.h)
  }
  if (opts.multi_platform) {
    out.metadata["refs.platforms"] = OrderedJson{{"Platforms", listed}}.dump();
  }
  return out;
}

}  // namespace kiln::dockerfile
