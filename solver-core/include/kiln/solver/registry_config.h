// How kiln talks to OCI distribution registries: per-host transport settings
// (plain http, TLS verification, extra CAs, pull mirrors), where credentials
// come from, retries and download parallelism.
//
// Hosts are keyed exactly as they appear in image references, "host[:port]"
// ("docker.io", "127.0.0.1:5000"). As in buildkitd, nothing is implicitly
// insecure: "localhost" and 127.0.0.1 speak https with verified TLS unless
// their entry says otherwise.
//
// The file format is buildkitd.toml's registry section:
//
//   [registry."docker.io"]
//     mirrors = ["mirror.example.com:5000", "10.0.0.2/hub"]
//   [registry."mirror.example.com:5000"]
//     http = true          # plain http to this host
//   [registry."10.0.0.2"]
//     insecure = true      # https without certificate verification
//     ca = ["/etc/kiln/ca.pem"]
//
// Other top-level tables (worker, grpc, …) are ignored, so a buildkitd.toml can
// be used as is.
//
// Thread safety: plain values.
#ifndef KILN_SOLVER_REGISTRY_CONFIG_H_
#define KILN_SOLVER_REGISTRY_CONFIG_H_

#include <chrono>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "kiln/llb/status.h"

namespace kiln::solver {

struct RegistryHostConfig {
  // Pull mirrors, "host[:port][/path-prefix]", tried in order before the
  // origin for pulls and resolves (never for pushes). A mirror's own transport
  // settings come from its own entry. A path prefix goes after "/v2", as
  // buildkitd does: "m:5000/hub" serves "docker.io/library/alpine" at
  // http(s)://m:5000/v2/hub/library/alpine/...
  std::vector<std::string> mirrors;
  // Plain http is allowed (and used) for this host.
  bool http = false;
  // https without certificate verification.
  bool insecure = false;
  // PEM files of extra CA certificates, trusted in addition to the system's.
  std::vector<std::string> ca_files;
};

struct RegistryConfig {
  // Per-host settings keyed by "host[:port]".
  std::map<std::string, RegistryHostConfig> hosts;
  // Docker CLI config holding credentials; empty means
  // DefaultDockerConfigPath().
  std::string docker_config_path;
  // Attempts per request (1 = no retry) on connection errors, 429 and 5xx.
  int retry_attempts = 4;
  // Delay before the first retry; doubled on every retry (plus jitter).
  std::chrono::milliseconds retry_initial_backoff{250};
  // Upper bound of one retry delay (also for a server's Retry-After).
  std::chrono::milliseconds retry_max_backoff{10000};
  // Blobs downloaded (or uploaded) at the same time by one Pull (Push).
  int max_concurrent_downloads = 4;
  // Seconds to establish a connection, and seconds a transfer may stall
  // (no byte moved) before it fails and is retried.
  int connect_timeout_seconds = 30;
  int stall_timeout_seconds = 60;

  // The entry for `host`, or defaults when it has none.
  const RegistryHostConfig& Host(std::string_view host) const;
};

// $DOCKER_CONFIG/config.json when DOCKER_CONFIG is set, else
// $HOME/.docker/config.json (empty when neither variable is set).
std::string DefaultDockerConfigPath();

// Loads the `[registry."host"]` tables of a buildkitd.toml-style file into a
// RegistryConfig with every other field at its default. Errors:
// NotFound/PermissionDenied when the file cannot be read; InvalidArgument as
// "PATH:LINE:COL: what is wrong" for TOML syntax errors, wrong value types,
// unknown keys in a registry table, a mirror with a scheme or empty host, and
// unsupported buildkitd keys (keypair, tlsconfigdir).
Result<RegistryConfig> LoadRegistryConfig(const std::string& toml_path);

}  // namespace kiln::solver

#endif  // KILN_SOLVER_REGISTRY_CONFIG_H_
