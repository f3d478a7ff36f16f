// A Unix socket kilnd serves on, with its permissions checked: the socket is
// created mode 0660 owned by (uid, gid), its directory must not be writable
// by others, and every connection's peer (SO_PEERCRED) must be root, the
// daemon's own uid, or a member of the socket's group (primary or
// supplementary, from /proc/PID/status); other peers are logged and closed.
// Accepted connections are handed to a gRPC server with
// grpc::AddInsecureChannelFromFd.
//
// Thread safety: Bind, Start and Stop from one thread; the accept loop runs
// on its own thread.
#ifndef KILN_CMD_KILND_UNIX_LISTENER_H_
#define KILN_CMD_KILND_UNIX_LISTENER_H_

#include <sys/types.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "kiln/llb/status.h"

namespace grpc {
class Server;
}

namespace kiln::kilnd {

class UnixListener {
 public:
  // Creates the socket (and its directory, mode 0755, when missing). A
  // stale socket file is replaced; a live one (a daemon answers) is
  // AlreadyExists. FailedPrecondition for a directory writable by others;
  // Internal for system errors (naming the path).
  static Result<std::unique_ptr<UnixListener>> Bind(const std::string& path,
                                                    uid_t uid, gid_t gid);
  ~UnixListener();  // Stop()s

  // Accepts connections into `server` (borrowed; must outlive Stop()).
  void Start(grpc::Server* server);
  // Stops accepting, closes the socket and removes its file. Idempotent.
  void Stop();

  const std::string& path() const { return path_; }
  // Connections refused by the credential check so far.
  int refused() const { return refused_.load(); }

 private:
  UnixListener(std::string path, int fd, gid_t gid);
  void AcceptLoop(grpc::Server* server);
  bool Allowed(int fd);

  std::string path_;
  int fd_ = -1;
  int wake_[2] = {-1, -1};  // pipe: Stop() wakes the accept loop
  gid_t gid_;
  std::atomic<int> refused_{0};
  std::thread thread_;
};

}  // namespace kiln::kilnd

#endif  // KILN_CMD_KILND_UNIX_LISTENER_H_
