#include "kiln/sdk/image_config.h"

#include <nlohmann/json.hpp>

namespace kiln::sdk {
namespace {

// Ordered: a base config keeps its key order (the exported bytes follow it).
using Json = nlohmann::ordered_json;

Result<Json> ParseObject(std::string_view text) {
  Json j = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return InvalidArgumentError("invalid base image config json");
  }
  return j;
}

// Go's encoding/json escapes <, > and & and keeps invalid UTF-8 as
// replacement characters; configs here only need to survive a round trip.
std::string Dump(const Json& j) {
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

}  // namespace

std::string EmptyImageConfig(const llb::Platform& platform) {
  Json image = Json::object();
  image["architecture"] = platform.architecture;
  image["os"] = platform.os;
  if (!platform.variant.empty()) image["variant"] = platform.variant;
  image["config"] = Json::object();
  image["config"]["Env"] = Json::array(
      {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"});
  image["config"]["WorkingDir"] = "/";
  return Dump(image);
}

Result<std::string> BaseImageConfig(std::string_view config_json,
                                    const llb::Platform& platform) {
  KILN_ASSIGN_OR_RETURN(Json image, ParseObject(config_json));
  if (!image.contains("config") || !image["config"].is_object()) {
    image["config"] = Json::object();
  }
  if (!image.contains("architecture")) {
    image["architecture"] = platform.architecture;
  }
  if (!image.contains("os")) image["os"] = platform.os;
  return Dump(image);
}

Result<llb::State> ApplyImageConfig(llb::State state,
                                    std::string_view config_json) {
  KILN_ASSIGN_OR_RETURN(Json image, ParseObject(config_json));
  auto cfg_it = image.find("config");
  if (cfg_it == image.end() || !cfg_it->is_object()) return state;
  const Json& cfg = *cfg_it;
  if (auto env = cfg.find("Env"); env != cfg.end() && env->is_array()) {
    for (const Json& e : *env) {
      if (!e.is_string()) continue;
      const std::string& kv = e.get_ref<const std::string&>();
      size_t eq = kv.find('=');
      state = eq == std::string::npos
                  ? state.AddEnv(kv, "")
                  : state.AddEnv(kv.substr(0, eq), kv.substr(eq + 1));
    }
  }
  auto non_empty = [&cfg](const char* key) -> const std::string* {
    auto it = cfg.find(key);
    if (it == cfg.end() || !it->is_string()) return nullptr;
    const std::string& v = it->get_ref<const std::string&>();
    return v.empty() ? nullptr : &v;
  };
  if (const std::string* wd = non_empty("WorkingDir")) state = state.Dir(*wd);
  if (const std::string* user = non_empty("User")) state = state.User(*user);
  return state;
}

}  // namespace kiln::sdk
