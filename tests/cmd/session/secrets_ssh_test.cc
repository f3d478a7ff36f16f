// Secrets and SSH agent forwarding through a session.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <map>
#include <thread>

#include "kiln/session/session_providers.h"
#include "session_harness.h"

namespace kiln::session {
namespace {

using testing::SessionHarness;

class MapSecrets final : public solver::SecretProvider {
 public:
  Result<std::string> GetSecret(std::string_view id) override {
    auto it = secrets.find(std::string(id));
    if (it == secrets.end()) {
      return NotFoundError("secret " + std::string(id) + " not found");
    }
    return it->second;
  }
  std::map<std::string, std::string> secrets;
};

TEST(SessionSecretsTest, PresentMissingAndNotServed) {
  SessionHarness h;
  ASSERT_TRUE(h.ok());
  MapSecrets secrets;
  secrets.secrets["token"] = std::string("s3cr\0et", 7);
  auto client = h.Connect({.secrets = &secrets});
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  SessionSecretProvider provider(h.manager(), (*client)->id());
  auto got = provider.GetSecret("token");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(*got, std::string("s3cr\0et", 7));
  auto missing = provider.GetSecret("other");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("other"), std::string::npos);

  auto plain = h.Connect({});
  ASSERT_TRUE(plain.ok());
  SessionSecretProvider none(h.manager(), (*plain)->id());
  auto not_served = none.GetSecret("token");
  ASSERT_FALSE(not_served.ok());
  EXPECT_EQ(not_served.status().code(), StatusCode::kNotFound);
  EXPECT_TRUE((*client)->Close().ok());
  EXPECT_TRUE((*plain)->Close().ok());
}

// A stand-in agent: echoes what it reads, prefixed, until EOF.
class EchoAgent {
 public:
  explicit EchoAgent(const std::string& path) : path_(path) {
    fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
    ok_ = bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
          listen(fd_, 4) == 0;
    thread_ = std::thread([this] { Serve(); });
  }
  ~EchoAgent() {
    stop_ = true;
    shutdown(fd_, SHUT_RDWR);
    thread_.join();
    close(fd_);
    unlink(path_.c_str());
  }
  bool ok() const { return ok_; }
  int connections() const { return connections_; }

 private:
  void Serve() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 100) <= 0) continue;
      int c = accept(fd_, nullptr, nullptr);
      if (c < 0) continue;
      ++connections_;
      char buf[4096];
      ssize_t n;
      while ((n = read(c, buf, sizeof(buf))) > 0) {
        std::string reply = "echo:" + std::string(buf, n);
        if (write(c, reply.data(), reply.size()) < 0) break;
      }
      close(c);
    }
  }
  std::string path_;
  int fd_ = -1;
  bool ok_ = false;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0};
  std::thread thread_;
};

std::string Exchange(const std::string& socket_path, const std::string& msg) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, socket_path.c_str(), sizeof(addr.sun_path) - 1);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return "connect failed";
  }
  EXPECT_EQ(write(fd, msg.data(), msg.size()),
            static_cast<ssize_t>(msg.size()));
  shutdown(fd, SHUT_WR);
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof(buf))) > 0) out.append(buf, n);
  close(fd);
  return out;
}

TEST(SessionSshTest, ForwardsConnectionsToTheClientsAgent) {
  SessionHarness h;
  ASSERT_TRUE(h.ok());
  std::string agent_path = h.dir() + "/agent.sock";
  EchoAgent agent(agent_path);
  ASSERT_TRUE(agent.ok());
  auto client = h.Connect({.ssh_agents = {{"default", agent_path}}});
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  std::string runtime = h.dir() + "/run";
  ASSERT_EQ(mkdir(runtime.c_str(), 0755), 0);
  std::string socket_dir;
  {
    SessionSshProvider provider(h.manager(), (*client)->id(), runtime);
    auto sock = provider.AgentSocket("default");
    ASSERT_TRUE(sock.ok()) << sock.status().ToString();
    auto again = provider.AgentSocket("");
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(*again, *sock);  // one socket per id
    struct stat st {};
    ASSERT_EQ(stat(sock->c_str(), &st), 0);
    EXPECT_TRUE(S_ISSOCK(st.st_mode));
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    socket_dir = sock->substr(0, sock->rfind('/'));
    ASSERT_EQ(stat(socket_dir.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0700u);

    EXPECT_EQ(Exchange(*sock, "hello agent"), "echo:hello agent");
    std::string large(200000, 'q');
    std::string reply = Exchange(*sock, large);
    // The agent prefixes every chunk it reads; the payload comes back whole.
    EXPECT_EQ(reply.find("echo:"), 0u);
    std::string payload;
    for (size_t i = 0; i < reply.size();) {
      if (reply.compare(i, 5, "echo:") == 0) {
        i += 5;
      } else {
        payload.push_back(reply[i++]);
      }
    }
    EXPECT_EQ(payload, large);
    EXPECT_EQ(agent.connections(), 2);

    auto missing = provider.AgentSocket("work");
    ASSERT_FALSE(missing.ok());
    EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  }
  struct stat st {};
  EXPECT_NE(stat(socket_dir.c_str(), &st), 0);  // removed with the provider
  EXPECT_TRUE((*client)->Close().ok());
}

}  // namespace
}  // namespace kiln::session
