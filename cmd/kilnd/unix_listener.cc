#include "kilnd/unix_listener.h"

#include <fcntl.h>
#include <grpcpp/server.h>
#include <grpcpp/server_posix.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace kiln::kilnd {
namespace {

Status Errno(const std::string& what) {
  return InternalError(what + ": " + std::strerror(errno));
}

// Whether process `pid` has `gid` among its supplementary groups.
bool InGroup(pid_t pid, gid_t gid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (!line.starts_with("Groups:")) continue;
    std::istringstream groups(line.substr(7));
    long g;
    while (groups >> g) {
      if (static_cast<gid_t>(g) == gid) return true;
    }
  }
  return false;
}

}  // namespace

UnixListener::UnixListener(std::string path, int fd, gid_t gid)
    : path_(std::move(path)), fd_(fd), gid_(gid) {}

Result<std::unique_ptr<UnixListener>> UnixListener::Bind(
    const std::string& path, uid_t uid, gid_t gid) {
  sockaddr_un addr{};
  if (path.size() >= sizeof addr.sun_path) {
    return InvalidArgumentError("socket path " + path + " is too long");
  }
  std::filesystem::path dir = std::filesystem::path(path).parent_path();
  std::error_code ec;
  if (!std::filesystem::exists(dir, ec)) {
    std::filesystem::create_directories(dir, ec);
    if (ec) {
      return InternalError("creating " + dir.string() + ": " + ec.message());
    }
    chmod(dir.c_str(), 0755);
  }
  struct stat st {};
  if (stat(dir.c_str(), &st) != 0) return Errno("stat " + dir.string());
  if ((st.st_mode & S_IWOTH) != 0) {
    return FailedPreconditionError(
        "socket directory " + dir.string() +
        " is writable by others: anyone could replace the socket");
  }
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  if (lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      return FailedPreconditionError(path + " exists and is not a socket");
    }
    int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    bool live = probe >= 0 && connect(probe, reinterpret_cast<sockaddr*>(&addr),
                                      sizeof addr) == 0;
    if (probe >= 0) close(probe);
    if (live) {
      return AlreadyExistsError("another daemon is serving on " + path);
    }
    unlink(path.c_str());
  }
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Errno("socket for " + path);
  // Created 0660 from the start: no window with looser permissions.
  mode_t old = umask(0117);
  int rc = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  umask(old);
  if (rc != 0) {
    Status s = Errno("binding " + path);
    close(fd);
    return s;
  }
  if (chown(path.c_str(), uid, gid) != 0 || chmod(path.c_str(), 0660) != 0) {
    Status s = Errno("setting the owner and mode of " + path);
    close(fd);
    unlink(path.c_str());
    return s;
  }
  if (listen(fd, 128) != 0) {
    Status s = Errno("listening on " + path);
    close(fd);
    unlink(path.c_str());
    return s;
  }
  auto listener =
      std::unique_ptr<UnixListener>(new UnixListener(path, fd, gid));
  if (pipe2(listener->wake_, O_CLOEXEC) != 0) return Errno("pipe");
  return listener;
}

UnixListener::~UnixListener() {
  Stop();
  for (int& p : wake_) {
    if (p >= 0) close(p);
    p = -1;
  }
}

void UnixListener::Start(grpc::Server* server) {
  thread_ = std::thread([this, server] { AcceptLoop(server); });
}

void UnixListener::Stop() {
  if (fd_ < 0) return;
  if (thread_.joinable()) {
    char c = 0;
    (void)!write(wake_[1], &c, 1);
    thread_.join();
  }
  close(fd_);
  fd_ = -1;
  unlink(path_.c_str());
}

bool UnixListener::Allowed(int fd) {
  ucred cred{};
  socklen_t len = sizeof cred;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
    std::fprintf(stderr, "kilnd: refused a connection on %s: SO_PEERCRED: %s\n",
                 path_.c_str(), std::strerror(errno));
    return false;
  }
  if (cred.uid == 0 || cred.uid == geteuid() || cred.gid == gid_ ||
      InGroup(cred.pid, gid_)) {
    return true;
  }
  std::fprintf(stderr,
               "kilnd: refused a connection on %s from pid %d (uid %u, gid "
               "%u): not root, the daemon's user or in group %u\n",
               path_.c_str(), static_cast<int>(cred.pid), cred.uid, cred.gid,
               gid_);
  return false;
}

void UnixListener::AcceptLoop(grpc::Server* server) {
  for (;;) {
    pollfd fds[2] = {{fd_, POLLIN, 0}, {wake_[0], POLLIN, 0}};
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      std::fprintf(stderr, "kilnd: poll on %s: %s\n", path_.c_str(),
                   std::strerror(errno));
      return;
    }
    if (fds[1].revents != 0) return;
    if ((fds[0].revents & POLLIN) == 0) continue;
    int conn = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (conn < 0) {
      if (errno == EINTR || errno == EAGAIN || errno == ECONNABORTED) continue;
      std::fprintf(stderr, "kilnd: accept on %s: %s\n", path_.c_str(),
                   std::strerror(errno));
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      continue;
    }
    if (!Allowed(conn)) {
      ++refused_;
      close(conn);
      continue;
    }
    // gRPC owns the fd from here (it must be non-blocking: toolchain.md).
    grpc::AddInsecureChannelFromFd(server, conn);
  }
}

}  // namespace kiln::kilnd
