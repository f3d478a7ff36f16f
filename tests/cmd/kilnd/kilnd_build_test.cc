// kilnd over its socket: concurrent builds sharing a stage, cancelling one
// client, graceful shutdown.
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <random>
#include <set>
#include <thread>

#include "kiln/llb/exec.h"
#include "kiln/llb/source.h"
#include "kilnd_fixture.h"

namespace kiln::kilnd_test {
namespace {

std::string Nonce() {
  std::mt19937_64 rng{std::random_device{}()};
  return std::to_string(rng());
}

llb::State Sh(const llb::State& base, const std::string& script) {
  return base.Run({.args = std::vector<std::string>{"/bin/sh", "-c", script}})
      .Root();
}

wire::SolveRequest DefinitionRequest(const pb::Definition& def,
                                     const std::string& image_name) {
  wire::SolveRequest request;
  *request.mutable_definition() = def;
  if (!image_name.empty()) {
    wire::Exporter* e = request.add_exporters();
    e->set_type("image");
    (*e->mutable_attrs())["name"] = image_name;
  }
  return request;
}

TEST_F(KilndTest, EightConcurrentBuildsShareAStageThatRunsOnce) {
  StartDaemon();
  const std::string nonce = Nonce();
  const std::string shared_name = "shared-" + nonce;
  llb::State shared = Sh(llb::Image("busybox:latest"),
                         "echo " + shared_name + " > /shared; sleep 1");
  std::vector<pb::Definition> defs;
  for (int i = 0; i < 8; ++i) {
    defs.push_back(Definition(Sh(shared, "cat /shared > /out; echo build-" +
                                             std::to_string(i) + "-" + nonce +
                                             " >> /out")));
  }
  std::vector<BuildRun> runs(8);
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      runs[i] = Build(DefinitionRequest(defs[i], "docker.io/kiln/concurrent:" +
                                                     std::to_string(i)),
                      "ref-" + std::to_string(i) + "-" + nonce);
    });
  }
  for (std::thread& t : threads) t.join();
  int shared_executed = 0;
  std::set<std::string> digests;
  for (int i = 0; i < 8; ++i) {
    ASSERT_TRUE(runs[i].status.ok())
        << i << ": " << runs[i].status.error_message() << "\n"
        << DaemonLog();
    // Every build saw its own step run, and the shared one complete.
    EXPECT_EQ(runs[i].Executed("build-" + std::to_string(i) + "-" + nonce), 1)
        << i;
    shared_executed += runs[i].Executed(shared_name);
    auto d = runs[i].response.exporterresponse().find("containerimage.digest");
    ASSERT_NE(d, runs[i].response.exporterresponse().end()) << i;
    digests.insert(d->second);
  }
  EXPECT_EQ(shared_executed, 1) << "the shared stage ran more than once";
  EXPECT_EQ(digests.size(), 8u) << "each build exports its own image";
}

TEST_F(KilndTest, CancellingOneClientCancelsOnlyItsBuild) {
  StartDaemon();
  const std::string nonce = Nonce();
  pb::Definition slow = Definition(
      Sh(llb::Image("busybox:latest"), "echo slow-" + nonce + "; sleep 60"));
  grpc::ClientContext slow_context;
  BuildRun slow_run;
  std::thread slow_thread([&] {
    slow_run =
        Build(DefinitionRequest(slow, ""), "slow-" + nonce, &slow_context);
  });
  std::vector<BuildRun> others(2);
  std::vector<std::thread> threads;
  for (int i = 0; i < 2; ++i) {
    threads.emplace_back([&, i] {
      others[i] =
          Build(DefinitionRequest(
                    Definition(Sh(llb::Image("busybox:latest"),
                                  "sleep 2; echo other-" + std::to_string(i) +
                                      "-" + nonce + " > /o")),
                    ""),
                "other-" + std::to_string(i) + "-" + nonce);
    });
  }
  // Cancel once the slow build's exec is running (its log line came).
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  auto stub = Stub();
  bool running = false;
  {
    // A second Status reader for the slow build sees its progress.
    grpc::ClientContext ctx;
    wire::StatusRequest sr;
    sr.set_ref("slow-" + nonce);
    auto reader = stub->Status(&ctx, sr);
    wire::StatusResponse r;
    while (!running && std::chrono::steady_clock::now() < until &&
           reader->Read(&r)) {
      for (const auto& l : r.logs()) {
        running |= l.msg().find("slow-" + nonce) != std::string::npos;
      }
    }
    ctx.TryCancel();
    reader->Finish().ok();
  }
  ASSERT_TRUE(running) << DaemonLog();
  slow_context.TryCancel();
  slow_thread.join();
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(slow_run.status.error_code(), grpc::StatusCode::CANCELLED);
  // The daemon cancelled the build itself: its exec ended with an error.
  EXPECT_TRUE(slow_run.Failed("slow-" + nonce)) << DaemonLog();
  for (int i = 0; i < 2; ++i) {
    EXPECT_TRUE(others[i].status.ok()) << others[i].status.error_message();
    EXPECT_EQ(others[i].Executed("other-" + std::to_string(i)), 1);
  }
}

TEST_F(KilndTest, ShutdownFinishesRunningBuildsAndRefusesNewOnes) {
  StartDaemon({"--shutdown-grace", "60s"});
  const std::string nonce = Nonce();
  pb::Definition def = Definition(
      Sh(llb::Image("busybox:latest"), "echo grace-" + nonce + "; sleep 4"));
  BuildRun run;
  std::thread t([&] { run = Build(DefinitionRequest(def, ""), "g-" + nonce); });
  // Wait until it runs, then ask the daemon to stop.
  auto stub = Stub();
  {
    grpc::ClientContext ctx;
    wire::StatusRequest sr;
    sr.set_ref("g-" + nonce);
    auto reader = stub->Status(&ctx, sr);
    wire::StatusResponse r;
    bool running = false;
    while (!running && reader->Read(&r)) {
      for (const auto& l : r.logs()) {
        running |= l.msg().find("grace-" + nonce) != std::string::npos;
      }
    }
    ctx.TryCancel();
    reader->Finish().ok();
    ASSERT_TRUE(running);
  }
  kill(pid_, SIGTERM);
  ASSERT_TRUE(WaitForLog("shutting down", std::chrono::seconds(10)));
  wire::SolveRequest late = DefinitionRequest(def, "");
  late.set_ref("late-" + nonce);
  wire::SolveResponse late_response;
  grpc::ClientContext late_context;
  grpc::Status refused = stub->Solve(&late_context, late, &late_response);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_NE(refused.error_message().find("kilnd is shutting down"),
            std::string::npos)
      << refused.error_message();
  t.join();
  EXPECT_TRUE(run.status.ok()) << run.status.error_message();
  EXPECT_EQ(StopDaemon(), 0) << DaemonLog();
  EXPECT_FALSE(std::filesystem::exists(socket_));
}

TEST_F(KilndTest, ShutdownCancelsBuildsAfterTheGracePeriod) {
  StartDaemon({"--shutdown-grace", "1s"});
  const std::string nonce = Nonce();
  pb::Definition def = Definition(
      Sh(llb::Image("busybox:latest"), "echo late-" + nonce + "; sleep 8"));
  BuildRun run;
  std::thread t([&] { run = Build(DefinitionRequest(def, ""), "c-" + nonce); });
  {
    auto stub = Stub();
    grpc::ClientContext ctx;
    wire::StatusRequest sr;
    sr.set_ref("c-" + nonce);
    auto reader = stub->Status(&ctx, sr);
    wire::StatusResponse r;
    bool running = false;
    while (!running && reader->Read(&r)) {
      for (const auto& l : r.logs()) {
        running |= l.msg().find("late-" + nonce) != std::string::npos;
      }
    }
    ctx.TryCancel();
    reader->Finish().ok();
    ASSERT_TRUE(running);
  }
  EXPECT_EQ(StopDaemon(), 0) << DaemonLog();
  t.join();
  EXPECT_FALSE(run.status.ok());
  EXPECT_NE(DaemonLog().find("cancelling 1 build"), std::string::npos)
      << DaemonLog();
  EXPECT_FALSE(std::filesystem::exists(socket_));
  // Nothing half-done was cached: the same build runs its step again.
  StartDaemon();
  BuildRun again = Build(DefinitionRequest(def, ""), "again-" + nonce);
  ASSERT_TRUE(again.status.ok()) << again.status.error_message();
  EXPECT_EQ(again.Executed("late-" + nonce), 1);
}

}  // namespace
}  // namespace kiln::kilnd_test
