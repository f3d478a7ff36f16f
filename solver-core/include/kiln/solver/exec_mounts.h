// Host-side objects behind an exec's secret and SSH mounts (LLB MountType
// SECRET and SSH): the solver makes one per mount for the duration of one
// exec and bind-mounts its path into the container (an ExecMount of type
// "bind"; read-only for a secret).
//
// Both live in a fresh private directory (mkdtemp, mode 0700, root-owned)
// under /run when it is writable, else /tmp — never under $KILN_ROOT, so
// secrets never reach a snapshot, an export or a backup of the engine's
// state. The container sees only the bind-mounted file or socket, whose
// own owner and mode apply.
//
// After an engine crash the directories stay behind (named
// kiln-secret-* and kiln-ssh-*; a secret's tmpfs stays mounted until
// reboot or a manual umount).
//
// Thread safety: each object is confined to its owner; SshForwarder runs
// its own thread internally.
#ifndef KILN_SOLVER_EXEC_MOUNTS_H_
#define KILN_SOLVER_EXEC_MOUNTS_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "kiln/llb/status.h"

namespace kiln::solver {

// A secret's bytes in a file on a private tmpfs (never on disk). Needs
// root (mount(2)).
class SecretFile {
 public:
  // Mounts a small tmpfs (mode 0700, nosuid, nodev, noexec) on a fresh
  // directory and writes `data` to a file there owned by uid:gid with
  // permission bits `mode & 0777` (BuildKit's default is 0400).
  // Errors: PermissionDenied/Internal when the tmpfs cannot be mounted or the
  // file written; nothing is left behind then. Messages never contain the
  // data.
  static Result<std::unique_ptr<SecretFile>> Create(std::string_view data,
                                                    uint32_t uid, uint32_t gid,
                                                    uint32_t mode);

  // Unlinks the file, unmounts the tmpfs (lazily when busy) and removes the
  // directory. Best effort; never logs the data.
  ~SecretFile();
  SecretFile(const SecretFile&) = delete;
  SecretFile& operator=(const SecretFile&) = delete;

  // The secret file (absolute), for a read-only bind mount.
  const std::string& path() const { return path_; }

 private:
  SecretFile(std::string dir, std::string path)
      : dir_(std::move(dir)), path_(std::move(path)) {}
  std::string dir_;   // the tmpfs mountpoint
  std::string path_;  // dir_ + "/secret"
};

// A unix socket that forwards every connection to an SSH agent's socket
// (bidirectional byte copy, half-closes passed on), so the container gets a
// socket with its own owner and mode without touching the agent's.
class SshForwarder {
 public:
  // Listens on a new socket owned by uid:gid with permission bits
  // `mode & 0777` (BuildKit's default is 0600) and starts the forwarding
  // thread. The agent socket is connected per incoming connection; when it
  // cannot be, that connection is closed. Errors: InvalidArgument when
  // `agent_socket` is not a socket; Internal for socket or thread failures.
  static Result<std::unique_ptr<SshForwarder>> Start(
      const std::string& agent_socket, uint32_t uid, uint32_t gid,
      uint32_t mode);

  // Stops the thread, closes every connection, removes the socket and its
  // directory.
  ~SshForwarder();
  SshForwarder(const SshForwarder&) = delete;
  SshForwarder& operator=(const SshForwarder&) = delete;

  // The listening socket (absolute), for a bind mount at the mount's dest
  // (default /run/buildkit/ssh_agent.0).
  const std::string& socket_path() const { return socket_path_; }

 private:
  struct Impl;
  SshForwarder(std::string dir, std::string socket_path,
               std::unique_ptr<Impl> impl);
  std::string dir_;
  std::string socket_path_;
  std::unique_ptr<Impl> impl_;
};

// Removes the secret and ssh directories (and a secret's tmpfs) left under
// /run or /tmp by engines that died without cleaning up: their names carry
// the owner's pid, and only those whose pid no longer exists are touched.
// Solver::Open calls it. Errors: the first removal failure.
Status RemoveStaleExecMountDirs();

}  // namespace kiln::solver

#endif  // KILN_SOLVER_EXEC_MOUNTS_H_
