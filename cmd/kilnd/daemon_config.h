// kilnd's settings: defaults, then the operator config file (kiln.toml, the
// file the CLI reads too), then command-line flags (main.cc applies those).
//
// Keys read here (buildkitd.toml's names where it has them):
//   root = "/var/lib/kiln"                      state directory
//   insecure-entitlements = ["network.host", "security.insecure"]
//   [grpc]
//   address = ["unix:///run/kiln/kilnd.sock", "tcp://127.0.0.1:1234"]
//   uid = 0                                     owner of the unix sockets
//   gid = 1000                                  their group (may connect)
//   shutdown-grace = "30s"                      or an integer of seconds
//   [grpc.tls]
//   cert = "…" key = "…" ca = "…"               mutual TLS for tcp
//   [worker.oci]
//   max-parallelism = 4
// The [registry.*] and [frontend] tables are read by the engine (Root); other
// tables and [worker.oci] keys belong to other readers and are ignored here.
// Unknown keys in [grpc] and [grpc.tls] are errors (typos must not silently
// weaken the daemon's security).
#ifndef KILN_CMD_KILND_DAEMON_CONFIG_H_
#define KILN_CMD_KILND_DAEMON_CONFIG_H_

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "control/address.h"
#include "kiln/llb/status.h"

namespace kiln::kilnd {

struct DaemonConfig {
  std::string root;                    // "" = the CLI's DefaultRootDir()
  std::string config_path;             // the file read ("" = none)
  std::vector<std::string> addresses;  // empty = the default socket
  std::optional<uid_t> socket_uid;     // default: the daemon's uid
  std::optional<gid_t> socket_gid;     // default: the daemon's gid
  std::set<std::string> insecure_entitlements;
  std::chrono::milliseconds shutdown_grace{std::chrono::seconds(30)};
  control::TlsFiles tls;
  int max_parallelism = 0;  // 0 = the engine's default
};

// Applies the keys above from the TOML text `text` (named `source` in
// errors) to `config`. Errors: InvalidArgument "source:line:col: what" for a
// parse error, a wrong type, an unknown [grpc] key, a bad duration or
// entitlement.
Status ApplyDaemonConfig(std::string_view text, std::string_view source,
                         DaemonConfig& config);

// Reads `path` and applies it. NotFound when it cannot be read.
Status LoadDaemonConfig(const std::string& path, DaemonConfig& config);

// "30s", "1m30s", "500ms", "2h" or a bare number of seconds.
Result<std::chrono::milliseconds> ParseDuration(std::string_view text);

// The entitlements kilnd knows: network.host, security.insecure.
bool IsKnownEntitlement(std::string_view name);

}  // namespace kiln::kilnd

#endif  // KILN_CMD_KILND_DAEMON_CONFIG_H_
