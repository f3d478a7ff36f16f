// The kiln gateway passes frontends one socket as stdin and stdout; upstream
// BuildKit passes two pipes. gRPC needs one bidirectional fd, so pipes are
// relayed to a private socketpair.
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <thread>

#include "kiln/sdk/serve.h"

namespace kiln::sdk::internal {
namespace {

Status Errno(const std::string& what) {
  return InternalError("connecting stdio to the engine: " + what + ": " +
                       std::strerror(errno));
}

bool WriteAll(int fd, const char* data, size_t size) {
  while (size > 0) {
    ssize_t n = write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

// Copies `from` to `to` until EOF or an error, then signals EOF onward (a
// socket `to` is shut down for writing, which its dups see too) and closes
// both fds, which the relay owns.
void Relay(int from, int to, bool to_is_socket) {
  char buf[64 * 1024];
  for (;;) {
    ssize_t n = read(from, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0 || !WriteAll(to, buf, static_cast<size_t>(n))) break;
  }
  if (to_is_socket) shutdown(to, SHUT_WR);
  close(to);
  close(from);
}

}  // namespace

Result<int> ConnectStdio(int in_fd, int out_fd) {
  struct stat st;
  if (fstat(in_fd, &st) != 0) return Errno("fstat of the input fd");
  if (in_fd == out_fd && S_ISSOCK(st.st_mode)) return in_fd;

  // A relay writing to a pipe the engine closed must get EPIPE, not kill the
  // process.
  signal(SIGPIPE, SIG_IGN);
  int in = fcntl(in_fd, F_DUPFD_CLOEXEC, 3);
  if (in < 0) return Errno("dup of the input fd");
  int out = fcntl(out_fd, F_DUPFD_CLOEXEC, 3);
  if (out < 0) {
    close(in);
    return Errno("dup of the output fd");
  }
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    close(in);
    close(out);
    return Errno("socketpair");
  }
  // Each relay owns its own fd of the socket end, so that one closing it
  // cannot make the other write to a reused fd number.
  int sv1 = fcntl(sv[1], F_DUPFD_CLOEXEC, 3);
  if (sv1 < 0) {
    Status error = Errno("dup of the socket");
    for (int fd : {in, out, sv[0], sv[1]}) close(fd);
    return error;
  }
  std::thread(Relay, in, sv1, /*to_is_socket=*/true).detach();
  std::thread(Relay, sv[1], out, /*to_is_socket=*/false).detach();
  return sv[0];
}

}  // namespace kiln::sdk::internal
