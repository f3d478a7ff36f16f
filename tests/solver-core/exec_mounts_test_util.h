// Test helpers for secret and SSH mounts: a fake SSH agent (a unix socket
// echo server) and a client that sends bytes and reads the reply.
#ifndef KILN_TESTS_SOLVER_CORE_EXEC_MOUNTS_TEST_UTIL_H_
#define KILN_TESTS_SOLVER_CORE_EXEC_MOUNTS_TEST_UTIL_H_

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace kiln::solver::testing {

inline bool FillAddress(const std::string& path, sockaddr_un* addr) {
  std::memset(addr, 0, sizeof(*addr));
  addr->sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr->sun_path)) return false;
  std::memcpy(addr->sun_path, path.c_str(), path.size() + 1);
  return true;
}

// Listens on `path`; every connection gets back what it sends, and is
// closed after the client's EOF. Stops in the destructor.
class EchoAgent {
 public:
  explicit EchoAgent(const std::string& path) {
    fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr;
    ok_ = fd_ >= 0 && FillAddress(path, &addr) &&
          bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
          listen(fd_, 16) == 0;
    thread_ = std::thread([this] { Loop(); });
  }
  ~EchoAgent() {
    stop_ = true;
    thread_.join();
    for (std::thread& t : conns_) t.join();
    close(fd_);
  }
  bool ok() const { return ok_; }
  int connections() const { return count_; }

 private:
  void Loop() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 50) <= 0) continue;
      int c = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      ++count_;
      conns_.emplace_back([c] {
        char buf[65536];
        for (;;) {
          ssize_t n = read(c, buf, sizeof(buf));
          if (n <= 0) break;
          for (ssize_t off = 0; off < n;) {
            ssize_t w =
                send(c, buf + off, static_cast<size_t>(n - off), MSG_NOSIGNAL);
            if (w <= 0) {
              close(c);
              return;
            }
            off += w;
          }
        }
        close(c);
      });
    }
  }

  int fd_ = -1;
  bool ok_ = false;
  std::atomic<bool> stop_{false};
  std::atomic<int> count_{0};
  std::thread thread_;
  std::vector<std::thread> conns_;
};

// Connects to `path`, sends `data` (from a thread, so large data cannot
// deadlock), half-closes and returns everything read until EOF; "<error>"
// when the connection fails.
inline std::string Exchange(const std::string& path, const std::string& data) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr;
  if (fd < 0 || !FillAddress(path, &addr) ||
      connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    if (fd >= 0) close(fd);
    return "<error>";
  }
  std::thread writer([&] {
    for (size_t off = 0; off < data.size();) {
      ssize_t w = send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
      if (w <= 0) break;
      off += static_cast<size_t>(w);
    }
    shutdown(fd, SHUT_WR);
  });
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  writer.join();
  close(fd);
  return out;
}

// The same client as a C program, for containers (busybox has none).
inline const char* kSockClientSource = R"(
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
int main(int argc, char** argv) {
  if (argc != 3) return 2;
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un a;
  memset(&a, 0, sizeof(a));
  a.sun_family = AF_UNIX;
  strncpy(a.sun_path, argv[1], sizeof(a.sun_path) - 1);
  if (connect(fd, (struct sockaddr*)&a, sizeof(a)) != 0) return 3;
  if (write(fd, argv[2], strlen(argv[2])) < 0) return 4;
  shutdown(fd, SHUT_WR);
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof(buf))) > 0) {
    if (write(1, buf, n) != n) return 5;
  }
  return 0;
}
)";

}  // namespace kiln::solver::testing

#endif  // KILN_TESTS_SOLVER_CORE_EXEC_MOUNTS_TEST_UTIL_H_
