// Image config JSON of the recipe frontend, in the Dockerfile frontend's
// shape, and path helpers.
#include <string>
#include <vector>

#include "convert_internal.h"
#include "kiln/sdk/image_config.h"

namespace kiln::recipe::internal {
namespace {

Json StringArray(const std::vector<std::string>& v) {
  Json a = Json::array();
  for (const std::string& s : v) a.push_back(s);
  return a;
}

Json& ObjectField(Json& cfg, const char* key) {
  if (!cfg.contains(key) || !cfg[key].is_object()) cfg[key] = Json::object();
  return cfg[key];
}

}  // namespace

Json EmptyImage(const llb::Platform& platform) {
  return Json::parse(sdk::EmptyImageConfig(platform));
}

Result<Json> ParseImageConfig(const std::string& text,
                              const llb::Platform& platform) {
  KILN_ASSIGN_OR_RETURN(std::string base, sdk::BaseImageConfig(text, platform));
  return Json::parse(base);
}

void SetConfigEnv(Json& image, const std::string& key,
                  const std::string& value) {
  Json& cfg = image["config"];
  if (!cfg.contains("Env") || !cfg["Env"].is_array()) {
    cfg["Env"] = Json::array();
  }
  for (auto& e : cfg["Env"]) {
    if (!e.is_string()) continue;
    std::string kv = e.get<std::string>();
    if (kv.substr(0, kv.find('=')) == key) {
      e = key + "=" + value;
      return;
    }
  }
  cfg["Env"].push_back(key + "=" + value);
}

void AddHistory(Json& image, const std::string& created_by, bool empty_layer) {
  Json h = Json::object();
  h["created_by"] = created_by;
  h["comment"] = "kiln.yaml-recipe.v1";
  if (empty_layer) h["empty_layer"] = true;
  if (!image.contains("history") || !image["history"].is_array()) {
    image["history"] = Json::array();
  }
  image["history"].push_back(std::move(h));
}

void ApplyImageSection(const ImageSection& section, Json& image) {
  Json& cfg = image["config"];
  for (const auto& [k, v] : section.env) SetConfigEnv(image, k, v);
  if (!section.labels.empty()) {
    Json& labels = ObjectField(cfg, "Labels");
    for (const auto& [k, v] : section.labels) labels[k] = v;
  }
  if (!section.ports.empty()) {
    Json& ports = ObjectField(cfg, "ExposedPorts");
    for (const std::string& p : section.ports) ports[p] = Json::object();
  }
  if (!section.volumes.empty()) {
    Json& volumes = ObjectField(cfg, "Volumes");
    for (const std::string& v : section.volumes) volumes[v] = Json::object();
  }
  if (section.user) cfg["User"] = *section.user;
  if (section.workdir) {
    cfg["WorkingDir"] = PathClean(PathJoin("/", *section.workdir));
  }
  // As the Dockerfile frontend: a new ENTRYPOINT drops an inherited CMD
  // unless the recipe sets one too.
  if (section.entrypoint) {
    cfg["Entrypoint"] = StringArray(*section.entrypoint);
    if (!section.cmd) cfg.erase("Cmd");
  }
  if (section.cmd) {
    cfg["Cmd"] = StringArray(*section.cmd);
    cfg["ArgsEscaped"] = true;
  }
  bool any = section.entrypoint || section.cmd || section.user ||
             section.workdir || !section.env.empty() ||
             !section.labels.empty() || !section.ports.empty() ||
             !section.volumes.empty();
  if (any) AddHistory(image, "image section", true);
}

std::string PathJoin(std::string_view a, std::string_view b) {
  if (a.empty()) return PathClean(b);
  if (b.empty()) return PathClean(a);
  if (!b.empty() && b[0] == '/') return PathClean(b);
  return PathClean(std::string(a) + "/" + std::string(b));
}

}  // namespace kiln::recipe::internal
