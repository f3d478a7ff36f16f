// SessionHub when kilnd is built without kiln_session (cmd/session): no
// client sessions. Every use says so; builds that need none still run.
#include "kilnd/session_hub.h"

namespace kiln::kilnd {
namespace {

constexpr char kNoSessions[] =
    "this kilnd was built without client sessions (cmd/session)";

class NoBuildSession : public BuildSession {
 public:
  solver::LocalProvider* locals() override { return nullptr; }
  solver::SecretProvider* secrets() override { return nullptr; }
  solver::SshProvider* ssh() override { return nullptr; }
  Status SendDir(const std::string&, const std::string&,
                 std::stop_token) override {
    return UnimplementedError(std::string("sending output to the client: ") +
                              kNoSessions);
  }
  Status SendFile(const std::string&, const std::string&,
                  std::stop_token) override {
    return UnimplementedError(std::string("sending output to the client: ") +
                              kNoSessions);
  }
};

class NoSessionHub : public SessionHub {
 public:
  grpc::Status Serve(grpc::ServerContext*, Stream*) override {
    return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, kNoSessions);
  }
  std::unique_ptr<BuildSession> ForBuild(const std::string&,
                                         const std::string&) override {
    return std::make_unique<NoBuildSession>();
  }
  void Shutdown() override {}
};

}  // namespace

std::unique_ptr<SessionHub> MakeSessionHub() {
  return std::make_unique<NoSessionHub>();
}

}  // namespace kiln::kilnd
