// The client side of a BuildKit session (control-api.md §3–4): what
// `kiln build --addr …` runs next to its Solve call.
//
// ClientSession::Start opens Control.Session on the daemon's channel with the
// X-Docker-Expose-Session-* metadata (a random id, the shared key and every
// method served), and serves over that tunnel, as the gRPC server:
//   grpc.health.v1.Health
//   moby.filesync.v1.FileSync/DiffCopy   the `dirs` (local sources), honouring
//        the daemon's include-patterns / exclude-patterns / followpaths
//        metadata as solver::SyncLocal does
//   moby.filesync.v1.FileSend/DiffCopy   exporter output into `exports`
//   moby.buildkit.secrets.v1.Secrets     from `secrets` (if set)
//   moby.sshforward.v1.SSH               relaying to `ssh_agents` sockets
// Only the services with something to serve are announced (FileSync is
// always registered; without dirs it answers NotFound).
//
// Thread safety: methods may be called from any thread; Close() once.
#ifndef KILN_SESSION_CLIENT_SESSION_H_
#define KILN_SESSION_CLIENT_SESSION_H_

#include <grpcpp/channel.h>

#include <chrono>
#include <map>
#include <memory>
#include <string>

#include "kiln/llb/status.h"
#include "kiln/session/transfer_stats.h"
#include "kiln/solver/secrets.h"

namespace kiln::session {

// Where the output of one exporter goes (FileSend, selected by the
// buildkit-attachable-exporter-id metadata).
struct ExportTarget {
  enum class Kind {
    kDirectory,  // `path` receives the tree (local exporter), merged into
                 // what is there; a new directory appears only when
                 // committed (ClientSession::CommitExports)
    kFile,       // `path` receives the bytes (tar, oci, docker exporters);
                 // written to a temporary file, renamed when committed
    kStdout,     // the bytes go to fd 1
  };
  Kind kind = Kind::kDirectory;
  std::string path;
};

struct ClientSessionOptions {
  std::string name;        // optional session name
  std::string shared_key;  // "" = a random one (no reuse across clients)
  // local source name → directory (the CLI's --local name=dir).
  std::map<std::string, std::string> dirs;
  // Borrowed; must outlive the session. Null: Secrets is not served.
  solver::SecretProvider* secrets = nullptr;
  // ssh id ("default" …) → agent socket path (the CLI's --ssh).
  std::map<std::string, std::string> ssh_agents;
  // exporter id (BuildKit: the exporter's index, "0", "1"…) → target.
  std::map<std::string, ExportTarget> exports;
  int max_message_bytes = 64 << 20;
};

class ClientSession {
 public:
  // Opens the session on `channel` (kilnd's Control service) and starts
  // serving. Returns once the call is started; the daemon registers it
  // concurrently (its Get() waits for it). Errors: InvalidArgument for a dir
  // or agent socket that does not exist, Internal when the local server
  // cannot start. A daemon that cannot be reached (or refuses the session)
  // ends the call: done() turns true and Close() returns its status
  // (Unavailable, AlreadyExists…).
  static Result<std::unique_ptr<ClientSession>> Start(
      std::shared_ptr<grpc::Channel> channel, ClientSessionOptions options);

  // Close()s if still open.
  ~ClientSession();
  ClientSession(const ClientSession&) = delete;
  ClientSession& operator=(const ClientSession&) = delete;

  // Put this in SolveRequest.Session.
  const std::string& id() const { return id_; }
  const std::string& shared_key() const { return shared_key_; }

  // Exports to a file, or to a directory that did not exist, are received
  // under a temporary name next to their destination and appear only here,
  // once the caller knows the build succeeded (a transfer the daemon ended
  // early looks complete to the receiver; only the Solve's result tells).
  // Waits up to `timeout` for FileSend calls still running, then renames
  // each into place. Errors: DeadlineExceeded when transfers are still
  // running (nothing is renamed), the first failed rename (naming the
  // path; the rest are still tried). Exports into an existing directory are
  // merged in place as they arrive and need no commit.
  Status CommitExports(
      std::chrono::milliseconds timeout = std::chrono::seconds(30));
  // Removes every export received and not committed (the build failed or
  // was cancelled). The destructor does this too.
  void DiscardExports();

  // Ends the Control.Session call and stops serving (in-flight attachable
  // calls are cancelled). Returns the call's status: OK when it ended
  // cleanly. Further calls return the same status. Uncommitted exports stay
  // pending (CommitExports / DiscardExports may follow).
  Status Close();

  // Whether the daemon ended the call (or it broke) before Close().
  bool done() const;

  // What the FileSync sender sent and the FileSend receiver wrote so far.
  TransferStats sent_stats() const;
  TransferStats export_stats() const;

  class Impl;

 private:
  ClientSession(std::string id, std::string shared_key,
                std::unique_ptr<Impl> impl);
  std::string id_;
  std::string shared_key_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace kiln::session

#endif  // KILN_SESSION_CLIENT_SESSION_H_
