// PlatformOutputs: a frontend's result split per platform, as BuildKit's
// exporters read it (exptypes.ParsePlatforms).
#include <nlohmann/json.hpp>

#include "build_frontend.h"

namespace kiln::cli {
namespace {

using Json = nlohmann::json;

struct Listed {
  std::string id;
  llb::Platform platform;
};

// `p` from the (untrusted) frontend checked as ParsePlatform checks a flag:
// os, architecture and variant components of [A-Za-z0-9_.-]+ (no '/', no
// NUL, none empty but the variant), a known os; normalized. An empty
// platform stays empty (the caller's default applies).
Result<llb::Platform> Checked(const llb::Platform& p, const std::string& what) {
  if (p.os.empty() && p.architecture.empty() && p.variant.empty()) return p;
  std::string spec = p.os;
  spec.append("/").append(p.architecture);
  if (!p.variant.empty()) spec.append("/").append(p.variant);
  auto has_slash = [](const std::string& c) {
    return c.find('/') != std::string::npos;
  };
  auto invalid = [&] {
    return InvalidArgumentError(what + ": invalid platform {os \"" + p.os +
                                "\", architecture \"" + p.architecture +
                                "\", variant \"" + p.variant + "\"}");
  };
  if (p.os.empty() || p.architecture.empty() || has_slash(p.os) ||
      has_slash(p.architecture) || has_slash(p.variant)) {
    return invalid();
  }
  if (p.os_version.find('\0') != std::string::npos ||
      p.os_version.find('/') != std::string::npos) {
    return InvalidArgumentError(what + ": invalid os.version");
  }
  auto parsed = llb::ParsePlatform(spec);
  if (!parsed.ok()) return parsed.status().WithContext(what);
  // "os/arch" with an unknown os parses as arch/variant of the host's os.
  if (parsed->os != llb::NormalizePlatform(p).os) return invalid();
  parsed->os_version = p.os_version;
  parsed->os_features = p.os_features;
  return *parsed;
}

// refs.platforms: {"Platforms":[{"ID":"linux/amd64","Platform":{…}}]}; IDs
// unique, platforms Checked.
Result<std::vector<Listed>> ParseListed(const std::string& text) {
  Json j = Json::parse(text, nullptr, false);
  const char* bad =
      "refs.platforms: not {\"Platforms\":[{\"ID\",\"Platform\"}]}";
  if (j.is_discarded() || !j.is_object()) return InvalidArgumentError(bad);
  auto list = j.find("Platforms");
  if (list == j.end() || list->is_null()) return std::vector<Listed>{};
  if (!list->is_array()) return InvalidArgumentError(bad);
  std::vector<Listed> out;
  for (const Json& e : *list) {
    if (!e.is_object() || !e.contains("ID") || !e["ID"].is_string())
      return InvalidArgumentError(bad);
    Listed l{.id = e["ID"].get<std::string>(), .platform = {}};
    const Json p = e.value("Platform", Json::object());
    auto text = [&p](const char* key) {
      auto it = p.find(key);
      return it != p.end() && it->is_string() ? it->get<std::string>()
                                              : std::string();
    };
    if (p.is_object()) {
      l.platform.os = text("os");
      l.platform.architecture = text("architecture");
      l.platform.variant = text("variant");
      l.platform.os_version = text("os.version");
    }
    if (l.platform.os.empty() || l.platform.architecture.empty()) {
      auto parsed = llb::ParsePlatform(l.id);
      if (!parsed.ok())
        return parsed.status().WithContext("refs.platforms: " + l.id);
      l.platform = *parsed;
    }
    std::string what = "refs.platforms: " + l.id;
    if (l.id.empty() || l.id.find('\0') != std::string::npos || l.id == "." ||
        l.id == "..") {
      return InvalidArgumentError(
          "refs.platforms: ID \"" + l.id +
          "\" cannot name a platform (nor its platform-split directory)");
    }
    KILN_ASSIGN_OR_RETURN(l.platform, Checked(l.platform, what));
    for (const Listed& before : out) {
      if (before.id == l.id)
        return InvalidArgumentError("refs.platforms: " + l.id +
                                    " listed twice");
    }
    out.push_back(std::move(l));
  }
  return out;
}

std::string ConfigOf(const gateway::FinalResult& result,
                     const std::string& id) {
  auto it = result.metadata.find("containerimage.config/" + id);
  if (it == result.metadata.end() || id.empty())
    it = result.metadata.find("containerimage.config");
  return it == result.metadata.end() ? std::string() : it->second;
}

}  // namespace

Result<std::vector<PlatformOutput>> PlatformOutputs(
    const gateway::FinalResult& result, const llb::Platform& fallback) {
  std::vector<PlatformOutput> out;
  auto listed_text = result.metadata.find("refs.platforms");
  if (result.refs.empty()) {
    PlatformOutput one;
    one.snapshot = result.ref ? result.ref->snapshot : "";
    KILN_ASSIGN_OR_RETURN(
        one.platform,
        Checked(result.ref ? result.ref->platform : fallback, "result ref"));
    one.image_config = ConfigOf(result, "");
    if (listed_text != result.metadata.end()) {
      // As BuildKit: one listed platform names the ref's platform and its
      // containerimage.config/<ID> comes first.
      KILN_ASSIGN_OR_RETURN(std::vector<Listed> listed,
                            ParseListed(listed_text->second));
      if (listed.size() > 1) {
        return InvalidArgumentError("refs.platforms lists " +
                                    std::to_string(listed.size()) +
                                    " platforms for a single ref");
      }
      if (listed.size() == 1) {
        one.platform = listed[0].platform;
        one.id = listed[0].id;
        one.image_config = ConfigOf(result, listed[0].id);
      }
    }
    out.push_back(std::move(one));
    return out;
  }
  if (listed_text == result.metadata.end()) {
    if (result.refs.size() > 1) {
      return InvalidArgumentError(
          "the frontend returned " + std::to_string(result.refs.size()) +
          " refs without refs.platforms (the platform of each ref)");
    }
    const auto& [id, ref] = *result.refs.begin();
    KILN_ASSIGN_OR_RETURN(llb::Platform platform,
                          Checked(ref.platform, "ref " + id));
    out.push_back(PlatformOutput{.snapshot = ref.snapshot,
                                 .platform = std::move(platform),
                                 .image_config = ConfigOf(result, id),
                                 .created_by = {},
                                 .attestations = {}});
    return out;
  }
  KILN_ASSIGN_OR_RETURN(std::vector<Listed> listed,
                        ParseListed(listed_text->second));
  if (listed.size() != result.refs.size()) {
    return InvalidArgumentError(
        "refs.platforms lists " + std::to_string(listed.size()) +
        " platforms for " + std::to_string(result.refs.size()) + " refs");
  }
  for (const Listed& l : listed) {
    auto ref = result.refs.find(l.id);
    if (ref == result.refs.end()) {
      return InvalidArgumentError("refs.platforms: no ref for " + l.id);
    }
    out.push_back(PlatformOutput{.snapshot = ref->second.snapshot,
                                 .platform = l.platform,
                                 .image_config = ConfigOf(result, l.id),
                                 .created_by = {},
                                 .attestations = {},
                                 .id = l.id});
  }
  return out;
}

}  // namespace kiln::cli
