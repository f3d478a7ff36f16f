// The only file of kilnd that includes toml++ (heavy to compile).
#include "kilnd/daemon_config.h"

#include <toml++/toml.h>

#include <cctype>
#include <charconv>
#include <fstream>
#include <sstream>

namespace kiln::kilnd {
namespace {

class Loader {
 public:
  explicit Loader(std::string_view source) : source_(source) {}

  Status Error(const toml::node& node, const std::string& what) const {
    return InvalidArgumentError(
        std::string(source_) + ":" + std::to_string(node.source().begin.line) +
        ":" + std::to_string(node.source().begin.column) + ": " + what);
  }

  Result<std::string> String(const toml::node& node,
                             const std::string& key) const {
    if (!node.is_string()) return Error(node, key + " must be a string");
    return *node.value<std::string>();
  }

  Result<std::vector<std::string>> Strings(const toml::node& node,
                                           const std::string& key) const {
    const toml::array* array = node.as_array();
    if (array == nullptr) {
      return Error(node, key + " must be an array of strings");
    }
    std::vector<std::string> out;
    for (const toml::node& item : *array) {
      KILN_ASSIGN_OR_RETURN(std::string s, String(item, key + " entry"));
      out.push_back(std::move(s));
    }
    return out;
  }

  Result<int64_t> Integer(const toml::node& node, const std::string& key,
                          int64_t min, int64_t max) const {
    if (!node.is_integer()) return Error(node, key + " must be an integer");
    int64_t v = *node.value<int64_t>();
    if (v < min || v > max) {
      return Error(node, key + " must be from " + std::to_string(min) + " to " +
                             std::to_string(max));
    }
    return v;
  }

  Status Tls(const toml::table& table, DaemonConfig& config) const {
    for (const auto& [k, v] : table) {
      std::string key(k.str());
      std::string* field = key == "cert"  ? &config.tls.cert
                           : key == "key" ? &config.tls.key
                           : key == "ca"  ? &config.tls.ca
                                          : nullptr;
      if (field == nullptr) {
        return Error(v,
                     "unknown key grpc.tls." + key + " (known: cert, key, ca)");
      }
      KILN_ASSIGN_OR_RETURN(*field, String(v, "grpc.tls." + key));
    }
    return Status::Ok();
  }

  Status Grpc(const toml::table& table, DaemonConfig& config) const {
    for (const auto& [k, v] : table) {
      std::string key(k.str());
      if (key == "address") {
        KILN_ASSIGN_OR_RETURN(config.addresses, Strings(v, "grpc.address"));
        for (const std::string& a : config.addresses) {
          if (auto parsed = control::ParseAddress(a); !parsed.ok()) {
            return Error(v, parsed.status().message());
          }
        }
      } else if (key == "uid") {
        KILN_ASSIGN_OR_RETURN(int64_t uid, Integer(v, "grpc.uid", 0, 1 << 30));
        config.socket_uid = static_cast<uid_t>(uid);
      } else if (key == "gid") {
        KILN_ASSIGN_OR_RETURN(int64_t gid, Integer(v, "grpc.gid", 0, 1 << 30));
        config.socket_gid = static_cast<gid_t>(gid);
      } else if (key == "shutdown-grace") {
        if (v.is_integer()) {
          KILN_ASSIGN_OR_RETURN(int64_t s,
                                Integer(v, "grpc.shutdown-grace", 0, 86400));
          config.shutdown_grace = std::chrono::seconds(s);
        } else {
          KILN_ASSIGN_OR_RETURN(std::string text,
                                String(v, "grpc.shutdown-grace"));
          auto d = ParseDuration(text);
          if (!d.ok()) {
            return Error(v, "grpc.shutdown-grace: " + d.status().message());
          }
          config.shutdown_grace = *d;
        }
      } else if (key == "tls") {
        const toml::table* tls = v.as_table();
        if (tls == nullptr) return Error(v, "grpc.tls must be a table");
        KILN_RETURN_IF_ERROR(Tls(*tls, config));
      } else {
        return Error(v, "unknown key grpc." + key +
                            " (known: address, uid, gid, shutdown-grace, tls)");
      }
    }
    return Status::Ok();
  }

 private:
  std::string_view source_;
};

}  // namespace

bool IsKnownEntitlement(std::string_view name) {
  return name == "network.host" || name == "security.insecure";
}

Result<std::chrono::milliseconds> ParseDuration(std::string_view text) {
  auto bad = [&] {
    return InvalidArgumentError("duration \"" + std::string(text) +
                                "\": expected e.g. 30s, 1m30s, 500ms or a "
                                "number of seconds");
  };
  if (text.empty()) return bad();
  std::chrono::milliseconds total{0};
  size_t i = 0;
  bool bare = true;
  while (i < text.size()) {
    int64_t n = 0;
    auto [end, ec] =
        std::from_chars(text.data() + i, text.data() + text.size(), n);
    if (ec != std::errc() || n < 0) return bad();
    i = static_cast<size_t>(end - text.data());
    std::string unit;
    while (i < text.size() &&
           std::isalpha(static_cast<unsigned char>(text[i]))) {
      unit.push_back(text[i++]);
    }
    if (unit.empty()) {
      if (!bare || i != text.size()) return bad();
      return std::chrono::milliseconds(std::chrono::seconds(n));
    }
    bare = false;
    if (unit == "ms") {
      total += std::chrono::milliseconds(n);
    } else if (unit == "s") {
      total += std::chrono::seconds(n);
    } else if (unit == "m") {
      total += std::chrono::minutes(n);
    } else if (unit == "h") {
      total += std::chrono::hours(n);
    } else {
      return bad();
    }
  }
  return total;
}

Status ApplyDaemonConfig(std::string_view text, std::string_view source,
                         DaemonConfig& config) {
  toml::parse_result parsed = toml::parse(text, source);
  if (!parsed) {
    const toml::parse_error& error = parsed.error();
    return InvalidArgumentError(
        std::string(source) + ":" + std::to_string(error.source().begin.line) +
        ":" + std::to_string(error.source().begin.column) + ": " +
        std::string(error.description()));
  }
  Loader loader(source);
  const toml::table& top = parsed.table();
  if (const toml::node* root = top.get("root")) {
    KILN_ASSIGN_OR_RETURN(config.root, loader.String(*root, "root"));
  }
  if (const toml::node* ent = top.get("insecure-entitlements")) {
    KILN_ASSIGN_OR_RETURN(std::vector<std::string> names,
                          loader.Strings(*ent, "insecure-entitlements"));
    for (const std::string& name : names) {
      if (!IsKnownEntitlement(name)) {
        return loader.Error(*ent,
                            "insecure-entitlements: unknown "
                            "entitlement \"" +
                                name +
                                "\" (known: network.host, "
                                "security.insecure)");
      }
      config.insecure_entitlements.insert(name);
    }
  }
  if (const toml::node* grpc = top.get("grpc")) {
    const toml::table* table = grpc->as_table();
    if (table == nullptr) return loader.Error(*grpc, "grpc must be a table");
    KILN_RETURN_IF_ERROR(loader.Grpc(*table, config));
  }
  if (const toml::node* mp = top.at_path("worker.oci.max-parallelism").node()) {
    KILN_ASSIGN_OR_RETURN(
        int64_t n, loader.Integer(*mp, "worker.oci.max-parallelism", 1, 1024));
    config.max_parallelism = static_cast<int>(n);
  }
  return Status::Ok();
}

Status LoadDaemonConfig(const std::string& path, DaemonConfig& config) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFoundError("reading config " + path + ": cannot open");
  std::stringstream ss;
  ss << in.rdbuf();
  config.config_path = path;
  return ApplyDaemonConfig(ss.str(), path, config);
}

}  // namespace kiln::kilnd
