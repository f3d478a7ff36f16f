// Loading the [frontend] table of the operator config (frontend_policy.h).
// The only file of the gateway that includes toml++ (heavy to compile).
#include <toml++/toml.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

#include "kiln/gateway/frontend_policy.h"
#include "kiln/llb/digest.h"
#include "kiln/llb/reference.h"

namespace kiln::gateway {
namespace {

// `text` with every `from` replaced by `to` (built by appending: GCC 12
// warns falsely about std::string::replace here).
std::string ReplaceAll(std::string_view text, std::string_view from,
                       std::string_view to) {
  std::string out;
  for (size_t i = 0; i < text.size();) {
    if (text.substr(i).starts_with(from)) {
      out.append(to);
      i += from.size();
    } else {
      out.push_back(text[i++]);
    }
  }
  return out;
}

class Loader {
 public:
  explicit Loader(std::string_view source) : source_(source) {}

  Status Error(const toml::node& node, const std::string& what) const {
    return InvalidArgumentError(std::string(source_) + ":" +
                                std::to_string(node.source().begin.line) + ":" +
                                std::to_string(node.source().begin.column) +
                                ": frontend policy: " + what);
  }

  Result<std::string> String(const toml::node& node,
                             const std::string& key) const {
    if (!node.is_string()) return Error(node, key + " must be a string");
    return *node.value<std::string>();
  }

  Result<std::vector<std::string>> Patterns(const toml::node& node,
                                            const std::string& key) const {
    const toml::array* array = node.as_array();
    if (array == nullptr) {
      return Error(node, key + " must be an array of patterns");
    }
    std::vector<std::string> out;
    for (const toml::node& item : *array) {
      KILN_ASSIGN_OR_RETURN(std::string p, String(item, key + " entry"));
      KILN_RETURN_IF_ERROR(CheckPattern(item, key, p));
      out.push_back(std::move(p));
    }
    return out;
  }

  Status CheckPattern(const toml::node& node, const std::string& key,
                      const std::string& pattern) const {
    if (pattern.empty()) return Error(node, key + ": empty pattern");
    for (char c : pattern) {
      if (std::isspace(static_cast<unsigned char>(c))) {
        return Error(node,
                     key + ": pattern \"" + pattern + "\" contains whitespace");
      }
    }
    return Status::Ok();
  }

  Status Remaps(const toml::node& node, FrontendPolicy& policy) const {
    const toml::array* array = node.as_array();
    if (array == nullptr) {
      return Error(node,
                   "remap must be an array of tables ([[frontend.remap]])");
    }
    std::vector<FrontendRemap> remaps;
    for (const toml::node& item : *array) {
      const toml::table* table = item.as_table();
      if (table == nullptr) return Error(item, "remap entries must be tables");
      FrontendRemap remap;
      bool has_from = false, has_to = false;
      for (const auto& [k, v] : *table) {
        std::string key(k.str());
        if (key == "from") {
          KILN_ASSIGN_OR_RETURN(remap.from, String(v, "remap.from"));
          KILN_RETURN_IF_ERROR(CheckPattern(v, "remap.from", remap.from));
          has_from = true;
        } else if (key == "to") {
          KILN_ASSIGN_OR_RETURN(remap.to, String(v, "remap.to"));
          has_to = true;
          // The template must give a valid reference for a sample tag.
          std::string sample = ReplaceAll(
              ReplaceAll(ReplaceAll(remap.to, "{tag}", "1"), "{major}", "1"),
              "{repo}", "example.com/repo");
          if (!llb::ParseImageReference(sample).ok()) {
            return Error(v, "remap.to \"" + remap.to +
                                "\" does not make an image reference");
          }
        } else if (key == "installed") {
          if (!v.is_boolean())
            return Error(v, "remap.installed must be a bool");
          remap.installed = *v.value<bool>();
        } else {
          return Error(v, "unknown key \"" + key +
                              "\" in a remap (from, to, installed)");
        }
      }
      if (!has_from || !has_to) {
        return Error(item, "a remap needs both from and to");
      }
      remaps.push_back(std::move(remap));
    }
    // Operator rules first, then the defaults (appended by the caller).
    policy.remaps.insert(policy.remaps.begin(), remaps.begin(), remaps.end());
    return Status::Ok();
  }

  // buildkitd.toml's [frontend."gateway.v0"] / [frontend."dockerfile.v0"].
  Status BuildkitdTable(const toml::node& node, const std::string& name,
                        FrontendPolicy& policy) const {
    const toml::table* table = node.as_table();
    if (table == nullptr) return Error(node, name + " must be a table");
    for (const auto& [k, v] : *table) {
      std::string key(k.str());
      if (key == "enabled") {
        if (!v.is_boolean()) return Error(v, name + ".enabled must be a bool");
        (name == "gateway.v0" ? policy.gateway_enabled
                              : policy.dockerfile_enabled) = *v.value<bool>();
      } else if (key == "allowedRepositories" && name == "gateway.v0") {
        KILN_ASSIGN_OR_RETURN(std::vector<std::string> repos,
                              Patterns(v, name + ".allowedRepositories"));
        for (std::string& repo : repos) {
          Result<llb::ImageReference> parsed = llb::ParseImageReference(repo);
          if (!parsed.ok() || !parsed->tag.empty() || !parsed->digest.empty()) {
            return Error(v, name + ".allowedRepositories: \"" + repo +
                                "\" is not a repository name without a tag");
          }
          policy.allow.push_back(parsed->Name());
        }
      } else {
        return Error(
            v, "unknown key \"" + key + "\" in [frontend.\"" + name +
                   "\"] (enabled" +
                   (name == "gateway.v0" ? ", allowedRepositories" : "") + ")");
      }
    }
    return Status::Ok();
  }

  Status Pins(const toml::node& node, FrontendPolicy& policy) const {
    const toml::table* table = node.as_table();
    if (table == nullptr) {
      return Error(node, "pin must be a table of \"reference\" = \"sha256:…\"");
    }
    for (const auto& [k, v] : *table) {
      std::string ref(k.str());
      Result<llb::ImageReference> parsed = llb::ParseImageReference(ref);
      if (!parsed.ok() || !parsed->digest.empty()) {
        return Error(v, "pin key \"" + ref +
                            "\" must be an image reference without a digest");
      }
      KILN_ASSIGN_OR_RETURN(std::string digest,
                            String(v, "pin \"" + ref + "\""));
      if (!Digest::Parse(digest).ok() || !digest.starts_with("sha256:")) {
        return Error(v, "pin \"" + ref + "\": \"" + digest +
                            "\" is not a sha256 digest");
      }
      policy.pins[llb::TagNameOnly(*parsed).String()] = digest;
    }
    return Status::Ok();
  }

 private:
  std::string_view source_;
};

}  // namespace

Result<FrontendPolicy> ParseFrontendPolicy(std::string_view text,
                                           std::string_view source_name) {
  toml::parse_result parsed = toml::parse(text, source_name);
  if (!parsed) {
    const toml::parse_error& error = parsed.error();
    return InvalidArgumentError(std::string(source_name) + ":" +
                                std::to_string(error.source().begin.line) +
                                ":" +
                                std::to_string(error.source().begin.column) +
                                ": " + std::string(error.description()));
  }
  FrontendPolicy policy = FrontendPolicy::Default();
  const toml::node* frontend = parsed.table().get("frontend");
  if (frontend == nullptr) return policy;
  Loader loader(source_name);
  const toml::table* table = frontend->as_table();
  if (table == nullptr)
    return loader.Error(*frontend, "frontend must be a table");
  bool defaults = true;
  for (const auto& [k, v] : *table) {
    std::string key(k.str());
    if (key == "dockerfile") {
      KILN_ASSIGN_OR_RETURN(policy.dockerfile, loader.String(v, key));
      if (!llb::ParseImageReference(policy.dockerfile).ok()) {
        return loader.Error(v, "dockerfile \"" + policy.dockerfile +
                                   "\" is not an image reference");
      }
    } else if (key == "allow") {
      KILN_ASSIGN_OR_RETURN(policy.allow, loader.Patterns(v, key));
    } else if (key == "deny") {
      KILN_ASSIGN_OR_RETURN(policy.deny, loader.Patterns(v, key));
    } else if (key == "default_remaps") {
      if (!v.is_boolean())
        return loader.Error(v, "default_remaps must be a bool");
      defaults = *v.value<bool>();
    } else if (key == "remap") {
      KILN_RETURN_IF_ERROR(loader.Remaps(v, policy));
    } else if (key == "pin") {
      KILN_RETURN_IF_ERROR(loader.Pins(v, policy));
    } else if (key == "dockerfile_installed") {
      if (!v.is_boolean()) {
        return loader.Error(v, "dockerfile_installed must be a bool");
      }
      policy.dockerfile_installed = *v.value<bool>();
    } else if (key == "gateway.v0" || key == "dockerfile.v0") {
      KILN_RETURN_IF_ERROR(loader.BuildkitdTable(v, key, policy));
    } else {
      return loader.Error(
          v, "unknown key \"" + key +
                 "\" (dockerfile, dockerfile_installed, allow, deny, "
                 "remap, pin, default_remaps)");
    }
  }
  if (!defaults) {
    // Drop the built-in rule(s) Default() appended after the operator's.
    size_t builtin = FrontendPolicy::Default().remaps.size();
    policy.remaps.resize(policy.remaps.size() - builtin);
  }
  return policy;
}

Result<FrontendPolicy> LoadFrontendPolicy(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    int err = errno;
    std::string message = "frontend policy " + path + ": " + std::strerror(err);
    if (err == ENOENT) return NotFoundError(std::move(message));
    return InvalidArgumentError(std::move(message));
  }
  std::ostringstream text;
  text << in.rdbuf();
  return ParseFrontendPolicy(text.str(), path);
}

}  // namespace kiln::gateway
