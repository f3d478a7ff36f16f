#include "tunnel.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

namespace kiln::session::internal {

Result<std::unique_ptr<Tunnel>> Tunnel::Create() {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    return ErrnoError("session tunnel: socketpair", errno);
  }
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) {
    int err = errno;
    close(sv[0]);
    close(sv[1]);
    return ErrnoError("session tunnel: pipe", err);
  }
  int flags = fcntl(sv[1], F_GETFL);
  if (flags < 0 || fcntl(sv[1], F_SETFL, flags | O_NONBLOCK) != 0) {
    int err = errno;
    close(sv[0]);
    close(sv[1]);
    close(p[0]);
    close(p[1]);
    return ErrnoError("session tunnel: setting O_NONBLOCK", err);
  }
  return std::unique_ptr<Tunnel>(
      new Tunnel(Fd(sv[0]), sv[1], Fd(p[0]), Fd(p[1])));
}

Tunnel::~Tunnel() {
  if (far_ >= 0) close(far_);
}

int Tunnel::TakeTransportFd() {
  int fd = far_;
  far_ = -1;
  return fd;
}

void Tunnel::RunInbound(const std::function<bool(std::string*)>& read) {
  std::string data;
  while (read(&data)) {
    size_t off = 0;
    bool broken = false;
    while (off < data.size()) {
      ssize_t n =
          send(near_.get(), data.data() + off, data.size() - off, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        broken = true;
        break;
      }
      off += static_cast<size_t>(n);
    }
    if (broken) break;
    data.clear();
  }
  shutdown(near_.get(), SHUT_WR);
}

void Tunnel::RunOutbound(const std::function<bool(const std::string&)>& write,
                         const std::function<void()>& done) {
  std::string buf;
  while (true) {
    pollfd fds[2] = {{near_.get(), POLLIN, 0}, {stop_read_.get(), POLLIN, 0}};
    int r = poll(fds, 2, -1);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 || (fds[1].revents & POLLIN) != 0) break;
    buf.resize(64 << 10);
    ssize_t n = recv(near_.get(), buf.data(), buf.size(), 0);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) break;
    buf.resize(static_cast<size_t>(n));
    if (!write(buf)) break;
  }
  if (done) done();
}

void Tunnel::Stop() {
  char c = 1;
  ssize_t n = ::write(stop_write_.get(), &c, 1);
  (void)n;
}

}  // namespace kiln::session::internal
