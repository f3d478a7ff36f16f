// The daemon side of BuildKit's client sessions (control-api.md §3).
//
// A client opens Control.Session (a stream of BytesMessage both ways) with
// the metadata below. SessionManager::Serve turns that stream into a byte
// connection and runs HTTP/2 (h2c) over it in the reverse direction: the
// CLIENT is the gRPC server (hosting the attachables of §4 and
// grpc.health.v1.Health), the daemon is the gRPC client. While the call
// lasts the session is registered under its id; builds find it with Get()
// (SolveRequest.Session, an op's local.session attribute) and talk to it
// through the providers of session_providers.h and file_send.h.
//
// Thread safety: SessionManager and Session are thread-safe. Session objects
// are shared: one stays usable (calls then fail with Unavailable) after its
// call ended, until the last shared_ptr is dropped.
#ifndef KILN_SESSION_SESSION_MANAGER_H_
#define KILN_SESSION_SESSION_MANAGER_H_

#include <grpcpp/channel.h>
#include <grpcpp/server_context.h>
#include <grpcpp/support/sync_stream.h>

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <stop_token>
#include <string>
#include <string_view>

#include "api/services/control/control.pb.h"
#include "kiln/llb/status.h"
#include "kiln/session/transfer_stats.h"

namespace kiln::session {

// Control.Session request metadata (lower-cased on the wire, as gRPC needs).
inline constexpr char kMetaSessionId[] = "x-docker-expose-session-uuid";
inline constexpr char kMetaSessionName[] = "x-docker-expose-session-name";
inline constexpr char kMetaSharedKey[] = "x-docker-expose-session-sharedkey";
// Repeated: every method the client serves, "/<service>/<method>".
inline constexpr char kMetaGrpcMethod[] = "x-docker-expose-session-grpc-method";

// Attachable methods (compare with Session::Supports, case-insensitively).
inline constexpr char kMethodHealthCheck[] = "/grpc.health.v1.Health/Check";
inline constexpr char kMethodFileSyncDiffCopy[] =
    "/moby.filesync.v1.FileSync/DiffCopy";
inline constexpr char kMethodFileSendDiffCopy[] =
    "/moby.filesync.v1.FileSend/DiffCopy";
inline constexpr char kMethodGetSecret[] =
    "/moby.buildkit.secrets.v1.Secrets/GetSecret";
inline constexpr char kMethodSshCheckAgent[] =
    "/moby.sshforward.v1.SSH/CheckAgent";
inline constexpr char kMethodSshForwardAgent[] =
    "/moby.sshforward.v1.SSH/ForwardAgent";

using SessionStream =
    grpc::ServerReaderWriterInterface<moby::buildkit::v1::BytesMessage,
                                      moby::buildkit::v1::BytesMessage>;

// One connected client session, seen from the daemon.
class Session {
 public:
  virtual ~Session() = default;

  virtual const std::string& id() const = 0;
  virtual const std::string& name() const = 0;
  // The client's shared key ("" when it sent none).
  virtual const std::string& shared_key() const = 0;
  // Whether the client announced `method` ("/<service>/<method>"), compared
  // case-insensitively as BuildKit does. Callers only call supported methods.
  virtual bool Supports(std::string_view method) const = 0;
  // The h2c channel to the client's attachables. Owned by the session.
  virtual std::shared_ptr<grpc::Channel> channel() const = 0;
  // True once the Control.Session call ended (the channel is then broken).
  virtual bool closed() const = 0;
  // grpc.health.v1.Health/Check over the tunnel. Unavailable when the
  // client does not answer within `timeout`.
  virtual Status Ping(std::chrono::milliseconds timeout) = 0;
};

struct SessionManagerOptions {
  // How long Get() waits for a session id that is not (yet) connected:
  // clients open the session and send Solve concurrently.
  std::chrono::milliseconds connect_wait = std::chrono::seconds(5);
  // Largest message either side of the tunnel accepts.
  int max_message_bytes = 64 << 20;
};

class SessionManager {
 public:
  explicit SessionManager(SessionManagerOptions options = {});
  // Ends every session (as Shutdown) and waits for Serve calls to return.
  ~SessionManager();
  SessionManager(const SessionManager&) = delete;
  SessionManager& operator=(const SessionManager&) = delete;

  // Serves one Control.Session call: the daemon's Control service calls it
  // from its Session handler and returns what it returns. Blocks until the
  // client ends the call, the call is cancelled or Shutdown() runs. Errors
  // (as grpc::Status): InvalidArgument for a missing/empty session id,
  // AlreadyExists for an id that is connected already, Unavailable after
  // Shutdown.
  grpc::Status Serve(grpc::ServerContext* context, SessionStream* stream);

  // The connected session `id`, waiting up to connect_wait (or until `stop`)
  // for one still connecting. NotFound ("no active session <id>") after
  // that, and at once for an empty id; Cancelled when `stop` fired.
  Result<std::shared_ptr<Session>> Get(const std::string& id,
                                       std::stop_token stop = {});

  // Ids of the sessions connected now.
  std::set<std::string> ActiveIds() const;

  // Ends every session call and refuses new ones. Idempotent.
  void Shutdown();

  // FileSync transfers (local sources) received through this manager's
  // sessions, summed since construction (session_providers.h adds to it).
  TransferStats transfer_stats() const;
  void AddTransferStats(const TransferStats& delta);

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace kiln::session

#endif  // KILN_SESSION_SESSION_MANAGER_H_
