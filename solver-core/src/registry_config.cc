#include "kiln/solver/registry_config.h"

#include <toml++/toml.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

namespace kiln::solver {
namespace {

std::string Where(const std::string& path, const toml::source_region& src) {
  return path + ":" + std::to_string(src.begin.line) + ":" +
         std::to_string(src.begin.column);
}

Status BadValue(const std::string& path, const toml::node& node,
                std::string_view host, std::string_view key,
                std::string_view want) {
  return InvalidArgumentError(Where(path, node.source()) + ": registry \"" +
                              std::string(host) + "\": " + std::string(key) +
                              " must be " + std::string(want));
}

Result<std::vector<std::string>> StringArray(const std::string& path,
                                             const toml::node& node,
                                             std::string_view host,
                                             std::string_view key) {
  const toml::array* array = node.as_array();
  if (array == nullptr)
    return BadValue(path, node, host, key, "an array of strings");
  std::vector<std::string> out;
  for (const toml::node& item : *array) {
    std::optional<std::string> s = item.value<std::string>();
    if (!s || !item.is_string())
      return BadValue(path, item, host, key, "an array of strings");
    out.push_back(*s);
  }
  return out;
}

// A mirror is "host[:port][/path]": no scheme (its transport comes from its
// own [registry."host"] entry), a non-empty host.
Status CheckMirror(const std::string& path, const toml::node& node,
                   std::string_view host, const std::string& mirror) {
  auto bad = [&](std::string_view why) {
    return InvalidArgumentError(Where(path, node.source()) + ": registry \"" +
                                std::string(host) + "\": mirror \"" + mirror +
                                "\": " + std::string(why));
  };
  if (mirror.find("://") != std::string::npos) {
    return bad(
        "must be host[:port][/path] without a scheme (set http = true in the "
        "mirror's "
        "own [registry] table for plain http)");
  }
  if (mirror.empty() || mirror.front() == '/') return bad("has no host");
  if (mirror.find_first_of(" \t?#@") != std::string::npos)
    return bad("is not host[:port][/path]");
  return Status::Ok();
}

Result<RegistryHostConfig> ParseHost(const std::string& path,
                                     std::string_view host,
                                     const toml::table& table) {
  RegistryHostConfig out;
  for (const auto& [key_node, value] : table) {
    const std::string_view key = key_node.str();
    if (key == "mirrors") {
      KILN_ASSIGN_OR_RETURN(out.mirrors, StringArray(path, value, host, key));
      for (const std::string& mirror : out.mirrors) {
        KILN_RETURN_IF_ERROR(CheckMirror(path, value, host, mirror));
      }
    } else if (key == "http" || key == "insecure") {
      if (!value.is_boolean())
        return BadValue(path, value, host, key, "true or false");
      (key == "http" ? out.http : out.insecure) = *value.value<bool>();
    } else if (key == "ca") {
      KILN_ASSIGN_OR_RETURN(out.ca_files, StringArray(path, value, host, key));
    } else if (key == "keypair" || key == "tlsconfigdir") {
      return InvalidArgumentError(
          Where(path, key_node.source()) + ": registry \"" + std::string(host) +
          "\": " + std::string(key) + " is not supported by kiln yet");
    } else {
      return InvalidArgumentError(Where(path, key_node.source()) +
                                  ": registry \"" + std::string(host) +
                                  "\": unknown key \"" + std::string(key) +
                                  "\" (known: mirrors, http, insecure, ca)");
    }
  }
  return out;
}

}  // namespace

const RegistryHostConfig& RegistryConfig::Host(std::string_view host) const {
  static const RegistryHostConfig kDefaults;
  auto it = hosts.find(std::string(host));
  return it == hosts.end() ? kDefaults : it->second;
}

std::string DefaultDockerConfigPath() {
  if (const char* dir = std::getenv("DOCKER_CONFIG");
      dir != nullptr && *dir != '\0') {
    return std::string(dir) + "/config.json";
  }
  if (const char* home = std::getenv("HOME");
      home != nullptr && *home != '\0') {
    return std::string(home) + "/.docker/config.json";
  }
  return "";
}

Result<RegistryConfig> LoadRegistryConfig(const std::string& toml_path) {
  std::ifstream in(toml_path, std::ios::binary);
  if (!in) {
    const int err = errno;
    std::string message =
        "registry config " + toml_path + ": " + std::strerror(err);
    if (err == ENOENT) return NotFoundError(std::move(message));
    if (err == EACCES) return PermissionDeniedError(std::move(message));
    return InvalidArgumentError(std::move(message));
  }
  std::ostringstream text;
  text << in.rdbuf();

  toml::parse_result parsed = toml::parse(text.str(), toml_path);
  if (!parsed) {
    const toml::parse_error& error = parsed.error();
    return InvalidArgumentError(Where(toml_path, error.source()) + ": " +
                                std::string(error.description()));
  }
  RegistryConfig config;
  const toml::node* registries = parsed.table().get("registry");
  if (registries == nullptr) return config;
  const toml::table* hosts = registries->as_table();
  if (hosts == nullptr) {
    return InvalidArgumentError(
        Where(toml_path, registries->source()) +
        ": registry must be a table of [registry.\"host\"] tables");
  }
  for (const auto& [host_key, value] : *hosts) {
    const std::string host(host_key.str());
    const toml::table* table = value.as_table();
    if (table == nullptr) {
      return InvalidArgumentError(Where(toml_path, host_key.source()) +
                                  ": registry \"" + host +
                                  "\" must be a table");
    }
    if (host.empty() || host.find('/') != std::string::npos ||
        host.find("://") != std::string::npos) {
      return InvalidArgumentError(Where(toml_path, host_key.source()) +
                                  ": registry \"" + host +
                                  "\": the key must be host[:port]");
    }
    KILN_ASSIGN_OR_RETURN(config.hosts[host],
                          ParseHost(toml_path, host, *table));
  }
  return config;
}

}  // namespace kiln::solver
