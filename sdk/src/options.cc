#include "kiln/sdk/options.h"

#include <string_view>
#include <utility>

namespace kiln::sdk {
namespace {

constexpr std::string_view kOptPrefix = "BUILDKIT_FRONTEND_OPT_";

std::vector<std::string> SplitComma(std::string_view s) {
  std::vector<std::string> parts;
  while (!s.empty()) {
    size_t comma = s.find(',');
    std::string_view part = s.substr(0, comma);
    while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
    while (!part.empty() && part.back() == ' ') part.remove_suffix(1);
    if (!part.empty()) parts.emplace_back(part);
    if (comma == std::string_view::npos) break;
    s.remove_prefix(comma + 1);
  }
  return parts;
}

// Go's strconv.ParseBool, which upstream frontends use for bool opts.
Result<bool> ParseBool(const std::string& key, const std::string& value) {
  for (const char* t : {"1", "t", "T", "TRUE", "true", "True"}) {
    if (value == t) return true;
  }
  for (const char* f : {"0", "f", "F", "FALSE", "false", "False"}) {
    if (value == f) return false;
  }
  return InvalidArgumentError("frontend option " + key + ": invalid bool \"" +
                              value + "\"");
}

// Strips `prefix` from `key` into `rest`; false when `key` lacks it.
bool CutPrefix(const std::string& key, std::string_view prefix,
               std::string* rest) {
  if (key.size() <= prefix.size() ||
      key.compare(0, prefix.size(), prefix) != 0) {
    return false;
  }
  *rest = key.substr(prefix.size());
  return true;
}

Status ApplyOpt(const std::string& key, const std::string& value,
                FrontendOptions* o) {
  std::string name;
  if (CutPrefix(key, "build-arg:", &name)) {
    o->build_args[name] = value;
  } else if (CutPrefix(key, "label:", &name)) {
    o->labels[name] = value;
  } else if (CutPrefix(key, "context:", &name)) {
    o->named_contexts[name] = value;
  } else if (key == "target") {
    o->target = value;
  } else if (key == "platform") {
    for (const std::string& spec : SplitComma(value)) {
      Result<llb::Platform> p = llb::ParsePlatform(spec);
      if (!p.ok()) return p.status().WithContext("frontend option platform");
      o->platforms.push_back(std::move(p).value());
    }
  } else if (key == "no-cache") {
    o->no_cache_stages = SplitComma(value);
    o->no_cache_all = o->no_cache_stages.empty();
  } else if (key == "filename") {
    o->filename = value;
  } else if (key == "dockerfilekey") {
    o->dockerfile_key = value;
  } else if (key == "contextkey") {
    o->context_key = value;
  } else if (key == "image-resolve-mode") {
    o->image_resolve_mode = value;
  } else if (key == "requestid") {
    o->request_id = value;
  } else if (key == "cmdline") {
    o->cmdline = value;
  } else if (key == "source") {
    o->source = value;
  } else if (key == "frontend.caps") {
    o->frontend_caps = SplitComma(value);
  }
  return Status::Ok();
}

// multi-platform beats build-arg:BUILDKIT_MULTI_PLATFORM; both default to
// "more than one platform", and false with several platforms is an error.
Status ResolveMultiPlatform(FrontendOptions* o) {
  o->multi_platform = o->platforms.size() > 1;
  std::string key = "multi-platform";
  auto it = o->opts.find(key);
  if (it == o->opts.end() || it->second.empty()) {
    key = "build-arg:BUILDKIT_MULTI_PLATFORM";
    it = o->opts.find(key);
  }
  if (it == o->opts.end() || it->second.empty()) return Status::Ok();
  KILN_ASSIGN_OR_RETURN(bool multi, ParseBool(key, it->second));
  if (!multi && o->platforms.size() > 1) {
    return InvalidArgumentError("frontend option " + key +
                                "=false: several target platforms need a "
                                "multi-platform result");
  }
  o->multi_platform = multi;
  return Status::Ok();
}

}  // namespace

std::optional<std::string> FrontendOptions::NamedContext(
    const std::string& name,
    const std::optional<llb::Platform>& platform) const {
  if (platform) {
    auto it = named_contexts.find(name + "::" + llb::FormatPlatform(*platform));
    if (it != named_contexts.end()) return it->second;
  }
  auto it = named_contexts.find(name);
  if (it == named_contexts.end()) return std::nullopt;
  return it->second;
}

Result<FrontendOptions> OptionsFromEnv(char** envp) {
  FrontendOptions o;
  for (char** e = envp; e != nullptr && *e != nullptr; ++e) {
    std::string_view var(*e);
    size_t eq = var.find('=');
    if (eq == std::string_view::npos) continue;
    std::string_view name = var.substr(0, eq);
    std::string_view value = var.substr(eq + 1);
    if (name == "BUILDKIT_SESSION_ID") {
      o.session_id = value;
    } else if (name == "BUILDKIT_EXPORTEDPRODUCT") {
      o.exported_product = value;
    } else if (name.substr(0, kOptPrefix.size()) == kOptPrefix) {
      size_t split = value.find('=');
      if (split == std::string_view::npos) {
        return InvalidArgumentError("frontend option " + std::string(name) +
                                    ": want key=value, got \"" +
                                    std::string(value) + "\"");
      }
      o.opts[std::string(value.substr(0, split))] =
          std::string(value.substr(split + 1));
    }
  }
  for (const auto& [key, value] : o.opts) {
    KILN_RETURN_IF_ERROR(ApplyOpt(key, value, &o));
  }
  KILN_RETURN_IF_ERROR(ResolveMultiPlatform(&o));
  return o;
}

}  // namespace kiln::sdk
