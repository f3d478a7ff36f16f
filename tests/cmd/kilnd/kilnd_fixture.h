// A real kilnd process for the daemon tests: a private temporary directory
// with a state root (busybox:latest imported), a config file and the
// daemon's unix socket; gRPC stubs to it; and helpers that run one build
// (Solve + Status concurrently, as a client does) and keep what came back.
#ifndef KILN_TESTS_CMD_KILND_KILND_FIXTURE_H_
#define KILN_TESTS_CMD_KILND_KILND_FIXTURE_H_

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <sys/types.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "api/services/control/control.grpc.pb.h"
#include "kiln/llb/state.h"

namespace kiln::kilnd_test {

namespace wire = ::moby::buildkit::v1;

// What one build's client saw.
struct BuildRun {
  grpc::Status status;  // Solve's
  wire::SolveResponse response;
  std::vector<wire::StatusResponse> progress;  // the Status stream
  // Vertices named `name_part` that completed without cache (the op ran).
  int Executed(const std::string& name_part) const;
  // Whether a vertex named `name_part` completed with an error.
  bool Failed(const std::string& name_part) const;
  // Whether a vertex named `name_part` started.
  bool Started(const std::string& name_part) const;
};

class KilndTest : public ::testing::Test {
 protected:
  void SetUp() override;     // skips unless root with runc; imports busybox
  void TearDown() override;  // stops kilnd (SIGKILL if needed), removes dir

  // Starts kilnd with `extra_args` and the config text `config`; waits
  // until it listens. Fails the test on error.
  void StartDaemon(const std::vector<std::string>& extra_args = {},
                   const std::string& config = "");
  // SIGTERM; waits up to `timeout` for the exit; returns the exit code (-1
  // when it had to be killed).
  int StopDaemon(std::chrono::seconds timeout = std::chrono::seconds(90));
  // The daemon's stderr so far.
  std::string DaemonLog() const;
  // Waits until the log contains `text` (true) or `timeout` passes.
  bool WaitForLog(const std::string& text, std::chrono::seconds timeout);

  std::unique_ptr<wire::Control::Stub> Stub();
  // A Definition of `state`, as SolveRequest.Definition.
  pb::Definition Definition(const llb::State& state);
  // Solve of `request` (its Ref set to `ref`) with a concurrent Status
  // stream; `context` (optional) lets the caller cancel the Solve.
  BuildRun Build(wire::SolveRequest request, const std::string& ref,
                 grpc::ClientContext* context = nullptr);

  std::string dir_;     // private temporary directory (mode 0700)
  std::string root_;    // dir_/root
  std::string socket_;  // dir_/run/kilnd.sock
  pid_t pid_ = -1;
};

}  // namespace kiln::kilnd_test

#endif  // KILN_TESTS_CMD_KILND_KILND_FIXTURE_H_
