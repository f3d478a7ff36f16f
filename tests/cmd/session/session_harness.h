// Test support for kiln_session: an in-process gRPC server on a Unix socket
// in a temporary directory whose Control.Session is SessionManager::Serve —
// the daemon half — and a channel to it for ClientSession, the client half.
#ifndef KILN_TESTS_CMD_SESSION_SESSION_HARNESS_H_
#define KILN_TESTS_CMD_SESSION_SESSION_HARNESS_H_

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>

#include <chrono>
#include <memory>
#include <string>

#include "api/services/control/control.grpc.pb.h"
#include "kiln/session/client_session.h"
#include "kiln/session/session_manager.h"
#include "support/test_util.h"

namespace kiln::session::testing {

class ControlForTest final : public moby::buildkit::v1::Control::Service {
 public:
  explicit ControlForTest(SessionManager& manager) : manager_(manager) {}
  grpc::Status Session(
      grpc::ServerContext* context,
      grpc::ServerReaderWriter<moby::buildkit::v1::BytesMessage,
                               moby::buildkit::v1::BytesMessage>* stream)
      override {
    return manager_.Serve(context, stream);
  }

 private:
  SessionManager& manager_;
};

class SessionHarness {
 public:
  SessionHarness()
      : manager_(
            SessionManagerOptions{.connect_wait = std::chrono::seconds(10)}),
        control_(manager_) {
    socket_ = tmp_.path() + "/control.sock";
    grpc::ServerBuilder builder;
    builder.AddListeningPort("unix:" + socket_,
                             grpc::InsecureServerCredentials());
    builder.RegisterService(&control_);
    server_ = builder.BuildAndStart();
    channel_ = grpc::CreateChannel("unix:" + socket_,
                                   grpc::InsecureChannelCredentials());
  }
  ~SessionHarness() {
    manager_.Shutdown();
    if (server_) {
      server_->Shutdown(std::chrono::system_clock::now() +
                        std::chrono::seconds(5));
    }
  }

  bool ok() const { return server_ != nullptr; }
  SessionManager& manager() { return manager_; }
  std::shared_ptr<grpc::Channel> channel() { return channel_; }
  const std::string& dir() const { return tmp_.path(); }

  Result<std::unique_ptr<ClientSession>> Connect(ClientSessionOptions options) {
    return ClientSession::Start(channel_, std::move(options));
  }

 private:
  solver::testing::TempDir tmp_{"kiln-session-test-"};
  std::string socket_;
  SessionManager manager_;
  ControlForTest control_;
  std::unique_ptr<grpc::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
};

}  // namespace kiln::session::testing

#endif  // KILN_TESTS_CMD_SESSION_SESSION_HARNESS_H_
