// kilnd: the engine of one state root served over gRPC (control_service.h)
// on the configured addresses — Unix sockets (unix_listener.h) and TCP
// (mutual TLS required, except on loopback where plain TCP is allowed with
// a warning).
//
// Lifecycle: Start() opens the engine and listens; Shutdown() stops taking
// builds (Solve is Unavailable "kilnd is shutting down"), waits up to the
// grace period for running builds, cancels the rest (their execs are
// killed, nothing half-done is cached), ends the sessions and the server
// and removes the sockets.
//
// Thread safety: Start, Shutdown and the accessors from one thread.
#ifndef KILN_CMD_KILND_DAEMON_H_
#define KILN_CMD_KILND_DAEMON_H_

#include <memory>
#include <string>
#include <vector>

#include "kiln/llb/status.h"
#include "kilnd/daemon_config.h"

namespace kiln::kilnd {

class Daemon {
 public:
  // Errors: the engine's (root, stores, config), bad addresses, a TCP
  // address that is not loopback without TLS (InvalidArgument), TLS files
  // that cannot be read, listeners that cannot be created.
  static Result<std::unique_ptr<Daemon>> Start(DaemonConfig config);
  ~Daemon();  // Shutdown()s if needed

  // The addresses served, as URLs (tcp ports resolved when 0 was asked).
  const std::vector<std::string>& addresses() const;

  // See the file comment. Idempotent. Returns the number of builds that had
  // to be cancelled.
  int Shutdown();

  class Impl;

 private:
  explicit Daemon(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace kiln::kilnd

#endif  // KILN_CMD_KILND_DAEMON_H_
