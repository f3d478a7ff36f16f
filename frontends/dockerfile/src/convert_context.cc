// Named contexts (upstream dockerui's NamedContext, reference
// frontend-images.md §6): docker-image://, local: and input: values.
#include <optional>
#include <string>
#include <utility>

#include "convert_internal.h"
#include "kiln/llb/reference.h"
#include "kiln/llb/source.h"

namespace kiln::dockerfile::convert {
namespace {

constexpr std::string_view kImagePrefix = "docker-image://";
constexpr std::string_view kLocalPrefix = "local:";
constexpr std::string_view kInputPrefix = "input:";

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
    if (raw_config != nullptr) raw_config->clear();
    return std::make_pair(it->second.WithPlatform(p), EmptyImage(p));
  }
  return UnimplementedError("named context " + ref + "=" + value +
                            " is not supported (only docker-image://, "
                            "local: and input: values are)");
}

}  // namespace kiln::dockerfile::convert
