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

// refs.platforms: {"Platforms":[{"ID":"linux/amd64","Platform":{…}}]}.
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
  if (result.refs.empty()) {
    PlatformOutput one;
    one.snapshot = result.ref ? result.ref->snapshot : "";
    one.platform = result.ref ? result.ref->platform : fallback;
    one.image_config = ConfigOf(result, "");
    out.push_back(std::move(one));
    return out;
  }
  auto listed_text = result.metadata.find("refs.platforms");
  if (listed_text == result.metadata.end()) {
    if (result.refs.size() > 1) {
      return InvalidArgumentError(
          "the frontend returned " + std::to_string(result.refs.size()) +
          " refs without refs.platforms (the platform of each ref)");
    }
    const auto& [id, ref] = *result.refs.begin();
    out.push_back(PlatformOutput{.snapshot = ref.snapshot,
                                 .platform = ref.platform,
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
                                 .attestations = {}});
  }
  return out;
}

}  // namespace kiln::cli
