// The CLI's remote mode: `kiln --addr ADDR …` (or KILN_HOST) sends builds to
// kilnd instead of running the embedded engine (docs/daemon.md).
#ifndef KILN_CMD_KILN_REMOTE_H_
#define KILN_CMD_KILN_REMOTE_H_

#include <string>
#include <vector>

#include "control/address.h"

namespace kiln::cli {

struct RemoteOptions {
  std::string addr;        // "" = embedded engine
  control::TlsFiles tls;   // for tcp:// addresses
  bool addr_flag = false;  // addr came from --addr (not KILN_HOST)
};

// Defaults from the environment: KILN_HOST, KILN_TLS_CACERT, KILN_TLS_CERT,
// KILN_TLS_KEY.
RemoteOptions RemoteOptionsFromEnv();

// When args[0] is a global remote flag (--addr, --tlscacert, --tlscert,
// --tlskey, as `--flag VALUE` or `--flag=VALUE`), applies it to `options`,
// removes it from `args` and returns true. A flag without its value sets
// `error`.
bool TakeRemoteFlag(std::vector<std::string>& args, RemoteOptions& options,
                    std::string& error);

// `kiln build ARGS` against the daemon at options.addr: the same flags,
// progress, output and exit codes as the embedded engine. Local contexts,
// secrets, ssh agents and client-side outputs go through a session.
int RunRemoteBuild(const RemoteOptions& options,
                   const std::vector<std::string>& args);

}  // namespace kiln::cli

#endif  // KILN_CMD_KILN_REMOTE_H_
