// SshForwarder: a unix socket proxied to an SSH agent socket by one poll
// thread (exec_mounts.h).
#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <list>
#include <system_error>
#include <thread>
#include <vector>

#include "exec_mounts_internal.h"
#include "fs_util.h"
#include "kiln/solver/exec_mounts.h"

namespace kiln::solver {
namespace {

using internal::UniqueFd;

constexpr size_t kBufferSize = 64 * 1024;

bool MakeAddress(const std::string& path, sockaddr_un* addr) {
  std::memset(addr, 0, sizeof(*addr));
  addr->sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr->sun_path)) return false;
  std::memcpy(addr->sun_path, path.c_str(), path.size() + 1);
  return true;
}

// One direction of a connection: bytes read from `from`, not yet written
// to `to`.
struct Direction {
  std::string buf;
  bool eof = false;   // `from` has no more to give
  bool shut = false;  // `to` was told (shutdown SHUT_WR)
};

struct Connection {
  UniqueFd client;
  UniqueFd agent;
  Direction up;    // client → agent
  Direction down;  // agent → client
  bool dead = false;

  bool Done() const {
    return dead || (up.eof && down.eof && up.buf.empty() && down.buf.empty());
  }
};

// Reads what `from` has into `d`; false on a fatal error.
bool Fill(int from, Direction& d) {
  char buf[kBufferSize];
  ssize_t n = recv(from, buf, sizeof(buf), MSG_DONTWAIT);
  if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
  if (n == 0) {
    d.eof = true;
  } else {
    d.buf.append(buf, static_cast<size_t>(n));
  }
  return true;
}

// Writes what `d` holds to `to`, then passes an EOF on; false on a fatal
// error (the peer went away).
bool Drain(int to, Direction& d) {
  if (!d.buf.empty()) {
    ssize_t n =
        send(to, d.buf.data(), d.buf.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
    d.buf.erase(0, static_cast<size_t>(n));
  }
  if (d.eof && d.buf.empty() && !d.shut) {
    shutdown(to, SHUT_WR);
    d.shut = true;
  }
  return true;
}

short Events(const Direction& in, const Direction& out) {
  short ev = 0;
  if (!in.eof && in.buf.size() < kBufferSize) ev |= POLLIN;
  if (!out.buf.empty()) ev |= POLLOUT;
  return ev;
}

}  // namespace

struct SshForwarder::Impl {
  std::string agent;
  UniqueFd listener;
  UniqueFd wake;  // eventfd: the destructor asks the thread to stop
  std::thread thread;

  void Accept(std::list<Connection>& conns) {
    UniqueFd client(accept4(listener.get(), nullptr, nullptr,
                            SOCK_CLOEXEC | SOCK_NONBLOCK));
    if (!client.valid()) return;
    UniqueFd up(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un addr;
    if (!up.valid() || !MakeAddress(agent, &addr) ||
        connect(up.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) !=
            0) {
      return;  // closing the client tells it the agent is unreachable
    }
    conns.push_back(Connection{std::move(client), std::move(up), {}, {}});
  }

  void Loop() {
    std::list<Connection> conns;
    std::vector<pollfd> fds;
    for (;;) {
      fds.clear();
      fds.push_back({wake.get(), POLLIN, 0});
      fds.push_back({listener.get(), POLLIN, 0});
      for (Connection& c : conns) {
        short ce = Events(c.up, c.down);
        short ae = Events(c.down, c.up);
        // An fd with nothing to wait for is left out: poll would report its
        // hang-up forever.
        fds.push_back({ce ? c.client.get() : -1, ce, 0});
        fds.push_back({ae ? c.agent.get() : -1, ae, 0});
      }
      if (poll(fds.data(), fds.size(), -1) < 0) {
        if (errno == EINTR) continue;
        return;
      }
      if (fds[0].revents != 0) return;
      size_t i = 2;
      for (Connection& c : conns) {
        short cr = fds[i++].revents;
        short ar = fds[i++].revents;
        const short in = POLLIN | POLLHUP | POLLERR;
        if ((cr & in) && !c.up.eof && !Fill(c.client.get(), c.up))
          c.dead = true;
        if ((ar & in) && !c.down.eof && !Fill(c.agent.get(), c.down)) {
          c.dead = true;
        }
        if (!c.dead && !Drain(c.agent.get(), c.up)) c.dead = true;
        if (!c.dead && !Drain(c.client.get(), c.down)) c.dead = true;
      }
      conns.remove_if([](const Connection& c) { return c.Done(); });
      if (fds[1].revents & POLLIN) Accept(conns);
    }
  }
};

SshForwarder::SshForwarder(std::string dir, std::string socket_path,
                           std::unique_ptr<Impl> impl)
    : dir_(std::move(dir)),
      socket_path_(std::move(socket_path)),
      impl_(std::move(impl)) {}

Result<std::unique_ptr<SshForwarder>> SshForwarder::Start(
    const std::string& agent_socket, uint32_t uid, uint32_t gid,
    uint32_t mode) {
  struct stat st {};
  if (stat(agent_socket.c_str(), &st) != 0 || !S_ISSOCK(st.st_mode)) {
    return InvalidArgumentError("ssh agent \"" + agent_socket +
                                "\" is not a socket");
  }
  auto impl = std::make_unique<Impl>();
  impl->agent = agent_socket;
  KILN_ASSIGN_OR_RETURN(std::string dir,
                        internal::MakePrivateTempDir("kiln-ssh-"));
  const std::string path = dir + "/agent.sock";
  auto fail = [&](std::string_view what, int err) {
    unlink(path.c_str());
    rmdir(dir.c_str());
    return internal::ErrnoError(what, path, err);
  };
  impl->listener =
      UniqueFd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!impl->listener.valid()) return fail("creating socket", errno);
  sockaddr_un addr;
  if (!MakeAddress(path, &addr)) return fail("binding", ENAMETOOLONG);
  if (bind(impl->listener.get(), reinterpret_cast<sockaddr*>(&addr),
           sizeof(addr)) != 0) {
    return fail("binding", errno);
  }
  if (chown(path.c_str(), uid, gid) != 0) return fail("chowning", errno);
  if (chmod(path.c_str(), mode & 0777) != 0) return fail("chmodding", errno);
  if (listen(impl->listener.get(), 16) != 0) return fail("listening on", errno);
  impl->wake = UniqueFd(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!impl->wake.valid()) return fail("creating eventfd for", errno);
  Impl* raw = impl.get();
  try {
    impl->thread = std::thread([raw] { raw->Loop(); });
  } catch (const std::system_error& e) {
    return fail("starting forwarder thread for", e.code().value());
  }
  return std::unique_ptr<SshForwarder>(
      new SshForwarder(std::move(dir), path, std::move(impl)));
}

SshForwarder::~SshForwarder() {
  uint64_t one = 1;
  if (write(impl_->wake.get(), &one, sizeof(one)) < 0) {
    // The eventfd cannot be full; nothing else can fail here.
  }
  if (impl_->thread.joinable()) impl_->thread.join();
  impl_.reset();
  unlink(socket_path_.c_str());
  rmdir(dir_.c_str());
}

}  // namespace kiln::solver
