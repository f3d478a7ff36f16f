// The Control.Session tunnel: metadata, registration, health over h2c, close.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "session_harness.h"

namespace kiln::session {
namespace {

using testing::SessionHarness;

TEST(SessionTunnelTest, ClientSessionRegistersAndAnswersHealthChecks) {
  SessionHarness h;
  ASSERT_TRUE(h.ok());
  solver::testing::TempDir ctx;
  auto client = h.Connect({.name = "my-build",
                           .shared_key = "key-1",
                           .dirs = {{"context", ctx.path()}}});
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  EXPECT_EQ((*client)->id().size(), 25u);
  auto session = h.manager().Get((*client)->id());
  ASSERT_TRUE(session.ok()) << session.status().ToString();
  EXPECT_EQ((*session)->id(), (*client)->id());
  EXPECT_EQ((*session)->name(), "my-build");
  EXPECT_EQ((*session)->shared_key(), "key-1");
  EXPECT_TRUE((*session)->Supports(kMethodFileSyncDiffCopy));
  EXPECT_TRUE((*session)->Supports("/MOBY.FILESYNC.V1.FILESYNC/DIFFCOPY"));
  EXPECT_TRUE((*session)->Supports(kMethodHealthCheck));
  EXPECT_FALSE((*session)->Supports(kMethodGetSecret));
  EXPECT_FALSE((*session)->Supports(kMethodFileSendDiffCopy));
  // Real round trips over the reverse HTTP/2 connection.
  for (int i = 0; i < 3; ++i) {
    Status ping = (*session)->Ping(std::chrono::seconds(10));
    EXPECT_TRUE(ping.ok()) << ping.ToString();
  }
  EXPECT_EQ(h.manager().ActiveIds().count((*client)->id()), 1u);

  Status closed = (*client)->Close();
  EXPECT_TRUE(closed.ok()) << closed.ToString();
  // The daemon forgets the session once the call ended.
  for (int i = 0; i < 200 && !h.manager().ActiveIds().empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(h.manager().ActiveIds().empty());
  EXPECT_TRUE((*session)->closed());
  EXPECT_FALSE((*session)->Ping(std::chrono::seconds(2)).ok());
  EXPECT_TRUE((*client)->Close().ok());  // idempotent
}

TEST(SessionTunnelTest, GetWaitsForASessionStillConnecting) {
  SessionHarness h;
  ASSERT_TRUE(h.ok());
  std::unique_ptr<ClientSession> client;
  std::string id;
  std::thread late([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    auto c = h.Connect({});
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    client = std::move(*c);
  });
  // The id is only known once Start returned; wait for any session.
  for (int i = 0; i < 500 && h.manager().ActiveIds().empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  late.join();
  ASSERT_NE(client, nullptr);
  auto session = h.manager().Get(client->id());
  ASSERT_TRUE(session.ok()) << session.status().ToString();
  EXPECT_FALSE(client->shared_key().empty());  // random when not given
  EXPECT_TRUE(client->Close().ok());
}

TEST(SessionTunnelTest, UnknownSessionIsNotFoundAfterTheWait) {
  SessionManager manager({.connect_wait = std::chrono::milliseconds(100)});
  auto start = std::chrono::steady_clock::now();
  auto session = manager.Get("nope");
  ASSERT_FALSE(session.ok());
  EXPECT_EQ(session.status().code(), StatusCode::kNotFound);
  EXPECT_GE(std::chrono::steady_clock::now() - start,
            std::chrono::milliseconds(100));
  std::stop_source stop;
  stop.request_stop();
  SessionManager waiting({.connect_wait = std::chrono::seconds(30)});
  auto cancelled = waiting.Get("nope", stop.get_token());
  ASSERT_FALSE(cancelled.ok());
  EXPECT_EQ(cancelled.status().code(), StatusCode::kCancelled);
}

TEST(SessionTunnelTest, DaemonShutdownEndsTheClientsCall) {
  SessionHarness h;
  ASSERT_TRUE(h.ok());
  auto client = h.Connect({});
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  ASSERT_TRUE(h.manager().Get((*client)->id()).ok());
  h.manager().Shutdown();
  for (int i = 0; i < 500 && !(*client)->done(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE((*client)->done());
  (*client)->Close().IgnoreError();
  auto again = h.Connect({});
  ASSERT_TRUE(again.ok());
  Status refused = (*again)->Close();
  EXPECT_FALSE(refused.ok());
  EXPECT_EQ(refused.code(), StatusCode::kUnavailable) << refused.ToString();
}

}  // namespace
}  // namespace kiln::session

namespace kiln::session {
namespace {

TEST(SessionTunnelTest, UnreachableDaemonFailsWithoutHanging) {
  solver::testing::TempDir tmp;
  auto channel = grpc::CreateChannel("unix:" + tmp.path() + "/none.sock",
                                     grpc::InsecureChannelCredentials());
  auto client = ClientSession::Start(channel, {});
  if (client.ok()) {
    Status closed = (*client)->Close();
    EXPECT_EQ(closed.code(), StatusCode::kUnavailable) << closed.ToString();
  } else {
    EXPECT_EQ(client.status().code(), StatusCode::kUnavailable);
  }
}

}  // namespace
}  // namespace kiln::session
