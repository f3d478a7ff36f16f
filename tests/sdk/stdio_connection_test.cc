// ConnectStdio: one socket passes through; upstream's two pipes are relayed
// byte for byte, EOF included, and carry a whole Serve run.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "kiln/sdk/serve.h"
#include "kiln/sdk/testing/fake_bridge.h"
#include "support/fake_env.h"

namespace kiln::sdk {
namespace {

using testing::BridgeServer;
using testing::FakeBridge;
using testing::FakeEnv;

std::string ReadSome(int fd) {
  char buf[256];
  ssize_t n = read(fd, buf, sizeof(buf));
  return n <= 0 ? std::string() : std::string(buf, static_cast<size_t>(n));
}

TEST(ConnectStdioTest, OneSocketIsUsedAsIs) {
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  Result<int> fd = internal::ConnectStdio(sv[0], sv[0]);
  ASSERT_TRUE(fd.ok()) << fd.status().ToString();
  EXPECT_EQ(*fd, sv[0]);
  close(sv[0]);
  close(sv[1]);
}

TEST(ConnectStdioTest, RelaysTwoPipesBothWays) {
  int in[2], out[2];  // in: engine -> frontend, out: frontend -> engine
  ASSERT_EQ(pipe2(in, O_CLOEXEC), 0);
  ASSERT_EQ(pipe2(out, O_CLOEXEC), 0);
  Result<int> fd = internal::ConnectStdio(in[0], out[1]);
  ASSERT_TRUE(fd.ok()) << fd.status().ToString();
  close(in[0]);  // the relay holds its own copies
  close(out[1]);

  ASSERT_EQ(write(in[1], "ping", 4), 4);
  EXPECT_EQ(ReadSome(*fd), "ping");
  ASSERT_EQ(write(*fd, "pong", 4), 4);
  EXPECT_EQ(ReadSome(out[0]), "pong");

  close(in[1]);  // engine closes its side: the frontend reads EOF
  char c;
  EXPECT_EQ(read(*fd, &c, 1), 0);
  close(*fd);  // frontend closes: the engine reads EOF
  EXPECT_EQ(read(out[0], &c, 1), 0);
  close(out[0]);
}

TEST(ConnectStdioTest, ServeRunsOverTwoPipes) {
  int in[2], out[2];
  ASSERT_EQ(pipe2(in, O_CLOEXEC), 0);
  ASSERT_EQ(pipe2(out, O_CLOEXEC), 0);
  // The engine side relays its pipe ends to a socket too, as Go's server
  // reads and writes two pipes.
  Result<int> engine_fd = internal::ConnectStdio(out[0], in[1]);
  ASSERT_TRUE(engine_fd.ok()) << engine_fd.status().ToString();
  Result<int> frontend_fd = internal::ConnectStdio(in[0], out[1]);
  ASSERT_TRUE(frontend_fd.ok()) << frontend_fd.status().ToString();
  for (int fd : {in[0], in[1], out[0], out[1]}) close(fd);

  FakeBridge bridge;
  BridgeServer server(&bridge, *engine_fd);
  FakeEnv env({"target=final"});
  int code = internal::ServeOnFd(
      *frontend_fd, env.envp(),
      [](Client&, const FrontendOptions& opts) -> Result<BuildResult> {
        return BuildResult{.ref = Ref{opts.target}, .metadata = {}};
      });
  EXPECT_EQ(code, 0);
  ASSERT_EQ(bridge.returns.size(), 1u);
  EXPECT_EQ(bridge.returns[0].result().ref().id(), "final");
}

}  // namespace
}  // namespace kiln::sdk
