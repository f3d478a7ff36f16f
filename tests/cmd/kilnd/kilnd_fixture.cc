#include "kilnd_fixture.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "kiln/llb/definition.h"
#include "support/engine_setup.h"

extern char** environ;

namespace kiln::kilnd_test {

namespace fs = std::filesystem;

namespace {

bool HasName(const wire::Vertex& v, const std::string& part) {
  return v.name().find(part) != std::string::npos;
}

}  // namespace

int BuildRun::Executed(const std::string& name_part) const {
  int n = 0;
  for (const auto& r : progress) {
    for (const auto& v : r.vertexes()) {
      if (HasName(v, name_part) && v.has_completed() && !v.cached() &&
          v.error().empty()) {
        ++n;
      }
    }
  }
  return n;
}

bool BuildRun::Failed(const std::string& name_part) const {
  for (const auto& r : progress) {
    for (const auto& v : r.vertexes()) {
      if (HasName(v, name_part) && v.has_completed() && !v.error().empty()) {
        return true;
      }
    }
  }
  return false;
}

bool BuildRun::Started(const std::string& name_part) const {
  for (const auto& r : progress) {
    for (const auto& v : r.vertexes()) {
      if (HasName(v, name_part) && v.has_started()) return true;
    }
  }
  return false;
}

void KilndTest::SetUp() {
  if (geteuid() != 0) GTEST_SKIP() << "kilnd tests need root";
  if (std::string missing = solver::testing::RuncRequirementsMissing();
      !missing.empty()) {
    GTEST_SKIP() << missing;
  }
  char tmpl[] = "/tmp/kilnd-test-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  dir_ = tmpl;
  root_ = dir_ + "/root";
  socket_ = dir_ + "/run/kilnd.sock";
  auto stores = solver::testing::OpenStores(root_);
  ASSERT_TRUE(stores.ok()) << stores.status().ToString();
  Status imported =
      solver::testing::ImportBusybox(root_, *stores->content, *stores->images);
  ASSERT_TRUE(imported.ok()) << imported.ToString();
}

void KilndTest::TearDown() {
  if (pid_ > 0) StopDaemon(std::chrono::seconds(30));
  if (!dir_.empty()) {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
}

void KilndTest::StartDaemon(const std::vector<std::string>& extra_args,
                            const std::string& config) {
  { std::ofstream(dir_ + "/kiln.toml") << config; }
  std::vector<std::string> args = {KILND_BINARY, "--root", root_, "--config",
                                   dir_ + "/kiln.toml"};
  bool has_addr = false;
  for (const std::string& a : extra_args) has_addr |= a == "--addr";
  if (!has_addr) {
    args.push_back("--addr");
    args.push_back("unix://" + socket_);
  }
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 2, (dir_ + "/kilnd.log").c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  int rc =
      posix_spawn(&pid_, KILND_BINARY, &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ASSERT_EQ(rc, 0) << "spawning kilnd";
  // Ready once it says so; a daemon that exits early fails the test.
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < until) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      FAIL() << "kilnd exited early:\n" << DaemonLog();
    }
    if (DaemonLog().find("kilnd: listening on") != std::string::npos) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  FAIL() << "kilnd did not start:\n" << DaemonLog();
}

int KilndTest::StopDaemon(std::chrono::seconds timeout) {
  if (pid_ <= 0) return -1;
  kill(pid_, SIGTERM);
  auto until = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  while (std::chrono::steady_clock::now() < until) {
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  kill(pid_, SIGKILL);
  waitpid(pid_, &status, 0);
  pid_ = -1;
  return -1;
}

std::string KilndTest::DaemonLog() const {
  std::ifstream in(dir_ + "/kilnd.log");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool KilndTest::WaitForLog(const std::string& text,
                           std::chrono::seconds timeout) {
  auto until = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < until) {
    if (DaemonLog().find(text) != std::string::npos) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

std::unique_ptr<wire::Control::Stub> KilndTest::Stub() {
  return wire::Control::NewStub(grpc::CreateChannel(
      "unix:" + socket_, grpc::InsecureChannelCredentials()));
}

pb::Definition KilndTest::Definition(const llb::State& state) {
  auto def = state.Marshal();
  EXPECT_TRUE(def.ok()) << def.status().ToString();
  return def.ok() ? *def : pb::Definition();
}

BuildRun KilndTest::Build(wire::SolveRequest request, const std::string& ref,
                          grpc::ClientContext* context) {
  BuildRun run;
  request.set_ref(ref);
  auto stub = Stub();
  grpc::ClientContext status_context;
  std::atomic<bool> status_done{false};
  std::thread status([&] {
    wire::StatusRequest sr;
    sr.set_ref(ref);
    auto reader = stub->Status(&status_context, sr);
    wire::StatusResponse r;
    while (reader->Read(&r)) run.progress.push_back(r);
    reader->Finish().ok();
    status_done = true;
  });
  grpc::ClientContext own;
  run.status =
      stub->Solve(context != nullptr ? context : &own, request, &run.response);
  // The stream ends with the build; one for a build that never started
  // (refused) is cancelled after a while.
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!status_done && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (!status_done) status_context.TryCancel();
  status.join();
  return run;
}

}  // namespace kiln::kilnd_test
