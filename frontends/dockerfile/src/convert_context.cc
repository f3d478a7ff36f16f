// Named contexts (upstream dockerui's NamedContext, reference
// frontend-images.md §6): docker-image://, git, http(s), oci-layout://,
// local: and input: values.
#include <optional>
#include <string>
#include <utility>

#include "convert_internal.h"
#include "kiln/llb/digest.h"
#include "kiln/llb/reference.h"
#include "kiln/llb/source.h"

namespace kiln::dockerfile::convert {
namespace {

constexpr std::string_view kImagePrefix = "docker-image://";
constexpr std::string_view kLocalPrefix = "local:";
constexpr std::string_view kInputPrefix = "input:";
constexpr std::string_view kOciLayoutPrefix = "oci-layout://";

}  // namespace

std::optional<std::string> FindNamedContext(
    const std::map<std::string, std::string>& contexts,
    const std::string& ref) {
  if (contexts.empty()) return std::nullopt;
  Result<llb::ImageReference> parsed = llb::ParseImageReference(ref);
  if (parsed.ok()) {
    std::string key = parsed->FamiliarString();
    if (key.ends_with(":latest")) key.resize(key.size() - 7);
    auto it = contexts.find(key);
    if (it != contexts.end()) return it->second;
  }
  auto it = contexts.find(ref);
  if (it != contexts.end()) return it->second;
  return std::nullopt;
}

Result<std::pair<llb::State, Json>> Converter::NamedContext(
    const std::string& ref, const std::string& value, const llb::Platform& p,
    const std::string& name, std::string* raw_config) {
  if (value.starts_with(kImagePrefix)) {
    std::string image = value.substr(kImagePrefix.size());
    if (image == "scratch") {
      if (raw_config != nullptr) raw_config->clear();
      return std::make_pair(llb::Scratch().WithPlatform(p), EmptyImage(p));
    }
    if (FindNamedContext(options->named_contexts, image)) {
      // A context naming another context: resolve the image itself, as
      // upstream does (no second lookup).
      ConvertOptions plain = *options;
      plain.named_contexts.clear();
      Converter inner = *this;
      inner.options = &plain;
      return inner.ImageState(image, p, name, raw_config);
    }
    return ImageState(image, p, name, raw_config);
  }
  if (value.starts_with(kLocalPrefix)) {
    std::string local = value.substr(kLocalPrefix.size());
    llb::LocalOptions lo;
    lo.shared_key_hint = local;
    if (auto ex = options->local_excludes.find(local);
        ex != options->local_excludes.end()) {
      lo.exclude_patterns = ex->second;
    }
    lo.op.custom_name = "[context " + ref + "] load from client";
    lo.op.ignore_cache = options->no_cache;
    if (raw_config != nullptr) raw_config->clear();
    return std::make_pair(llb::Local(local, lo).WithPlatform(p), EmptyImage(p));
  }
  if (value.starts_with(kInputPrefix)) {
    std::string input = value.substr(kInputPrefix.size());
    auto it = options->inputs.find(input);
    if (it == options->inputs.end()) {
      return NotFoundError("named context " + ref + "=" + value +
                           ": no frontend input " + input);
    }
    Json image = EmptyImage(p);
    std::string config;
    if (auto cfg = options->input_configs.find(input);
        cfg != options->input_configs.end() && !cfg->second.empty()) {
      Result<Json> parsed = ParseImageConfig(cfg->second, p);
      if (!parsed.ok()) {
        return parsed.status().WithContext("named context " + ref + "=" +
                                           value + ": input-metadata");
      }
      image = std::move(*parsed);
      config = cfg->second;
    }
    if (raw_config != nullptr) *raw_config = config;
    return std::make_pair(it->second.WithPlatform(p), std::move(image));
  }
  if (IsGitUrl(value)) {
    // Upstream's DetectGitContext: named git contexts keep .git unless the
    // query says otherwise.
    Result<GitRef> git = ParseGitRef(value);
    if (!git.ok()) {
      return git.status().WithContext("named context " + ref + "=" + value);
    }
    llb::GitOptions go;
    go.keep_git_dir = git->keep_git_dir.value_or(true);
    go.checksum = git->checksum;
    go.skip_submodules = git->skip_submodules;
    go.mtime = git->mtime;
    go.op.custom_name = "[internal] load git source " + value;
    go.op.ignore_cache = options->no_cache;
    if (raw_config != nullptr) raw_config->clear();
    return std::make_pair(llb::Git(git->remote, git->ref, go).WithPlatform(p),
                          EmptyImage(p));
  }
  if (IsHttpUrl(value)) {
    llb::HttpOptions ho;
    ho.filename = "context";
    ho.op.custom_name = "[context " + ref + "] " + value;
    ho.op.ignore_cache = options->no_cache;
    if (raw_config != nullptr) raw_config->clear();
    return std::make_pair(llb::Http(value, ho).WithPlatform(p), EmptyImage(p));
  }
  if (value.starts_with(kOciLayoutPrefix)) {
    // oci-layout://<store>@sha256:<digest>: the source names the context's
    // own (normalized) name pinned to the digest; the store id is
    // <store>. The SDK cannot resolve an OCI layout's config, so the image
    // config is empty.
    std::string spec = value.substr(kOciLayoutPrefix.size());
    size_t at = spec.find('@');
    if (at == std::string::npos || at == 0) {
      return InvalidArgumentError("named context " + ref + "=" + value +
                                  ": oci-layout reference has no " +
                                  (at == 0 ? "name" : "digest"));
    }
    std::string store = spec.substr(0, at);
    Result<Digest> digest = Digest::Parse(spec.substr(at + 1));
    if (!digest.ok()) {
      return digest.status().WithContext("named context " + ref + "=" + value);
    }
    Result<llb::ImageReference> named = llb::ParseImageReference(ref);
    if (!named.ok()) {
      return named.status().WithContext("named context " + ref + "=" + value);
    }
    named->digest = digest->str();
    llb::OciLayoutOptions oo;
    oo.store_id = store;
    oo.op.platform = p;
    oo.op.custom_name = name.empty() ? "" : name + named->String();
    oo.op.ignore_cache = options->no_cache;
    if (raw_config != nullptr) raw_config->clear();
    return std::make_pair(llb::OciLayout(named->String(), oo), EmptyImage(p));
  }
  return UnimplementedError("named context " + ref + "=" + value +
                            " is not supported");
}

}  // namespace kiln::dockerfile::convert
