// kilnd's side of client sessions (control-api.md §3), as the Control
// service uses them: serving Control.Session calls, and per build the
// providers that reach the build's session (local sources, secrets, ssh
// agents) and the FileSend of exporter output to the client. Implemented
// over kiln_session (session_hub.cc).
//
// Thread safety: all methods may be called concurrently.
#ifndef KILN_CMD_KILND_SESSION_HUB_H_
#define KILN_CMD_KILND_SESSION_HUB_H_

#include <grpcpp/server_context.h>
#include <grpcpp/support/sync_stream.h>

#include <memory>
#include <stop_token>
#include <string>

#include "api/services/control/control.pb.h"
#include "kiln/llb/status.h"
#include "kiln/solver/secrets.h"
#include "kiln/solver/solver.h"

namespace kiln::kilnd {

// The session of one Solve (SolveRequest.Session; "" = none: its providers
// fail clearly). Owns its providers; destroy it when the build is done.
class BuildSession {
 public:
  virtual ~BuildSession() = default;
  virtual solver::LocalProvider* locals() = 0;
  virtual solver::SecretProvider* secrets() = 0;
  virtual solver::SshProvider* ssh() = 0;
  // Sends the tree `dir` / the file `path` to the client's export target
  // `exporter_id`. FailedPrecondition without a session.
  virtual Status SendDir(const std::string& exporter_id, const std::string& dir,
                         std::stop_token stop) = 0;
  virtual Status SendFile(const std::string& exporter_id,
                          const std::string& path, std::stop_token stop) = 0;
};

class SessionHub {
 public:
  virtual ~SessionHub() = default;
  using Stream = grpc::ServerReaderWriter<moby::buildkit::v1::BytesMessage,
                                          moby::buildkit::v1::BytesMessage>;
  // Serves one Control.Session call until it ends.
  virtual grpc::Status Serve(grpc::ServerContext* context, Stream* stream) = 0;
  // Providers for a build using session `session_id`; ssh agent sockets go
  // in a private directory under `runtime_dir`.
  virtual std::unique_ptr<BuildSession> ForBuild(
      const std::string& session_id, const std::string& runtime_dir) = 0;
  // Ends every session call and refuses new ones.
  virtual void Shutdown() = 0;
};

std::unique_ptr<SessionHub> MakeSessionHub();

}  // namespace kiln::kilnd

#endif  // KILN_CMD_KILND_SESSION_HUB_H_
