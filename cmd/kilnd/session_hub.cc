// SessionHub over kiln_session: the SessionManager serves Control.Session;
// a build gets the session providers of its SolveRequest.Session.
#include "kilnd/session_hub.h"

#include "kiln/session/file_send.h"
#include "kiln/session/session_manager.h"
#include "kiln/session/session_providers.h"

namespace kiln::kilnd {
namespace {

class ManagedBuildSession : public BuildSession {
 public:
  ManagedBuildSession(session::SessionManager& manager, std::string id,
                      const std::string& runtime_dir)
      : manager_(manager),
        id_(id),
        locals_(manager, id),
        secrets_(manager, id),
        ssh_(manager, id, runtime_dir) {}

  solver::LocalProvider* locals() override { return &locals_; }
  solver::SecretProvider* secrets() override { return &secrets_; }
  solver::SshProvider* ssh() override { return &ssh_; }

  Status SendDir(const std::string& exporter_id, const std::string& dir,
                 std::stop_token stop) override {
    KILN_ASSIGN_OR_RETURN(std::shared_ptr<session::Session> s, Get(stop));
    return session::SendDirToClient(*s, exporter_id, dir, stop).status();
  }
  Status SendFile(const std::string& exporter_id, const std::string& path,
                  std::stop_token stop) override {
    KILN_ASSIGN_OR_RETURN(std::shared_ptr<session::Session> s, Get(stop));
    return session::SendFileToClient(*s, exporter_id, path, {}, stop);
  }

 private:
  Result<std::shared_ptr<session::Session>> Get(std::stop_token stop) {
    if (id_.empty()) {
      return FailedPreconditionError(
          "the exporter sends its output to the client, but the build has "
          "no session");
    }
    return manager_.Get(id_, stop);
  }

  session::SessionManager& manager_;
  std::string id_;
  session::SessionLocalProvider locals_;
  session::SessionSecretProvider secrets_;
  session::SessionSshProvider ssh_;
};

class ManagedSessionHub : public SessionHub {
 public:
  grpc::Status Serve(grpc::ServerContext* context, Stream* stream) override {
    return manager_.Serve(context, stream);
  }
  std::unique_ptr<BuildSession> ForBuild(
      const std::string& session_id, const std::string& runtime_dir) override {
    return std::make_unique<ManagedBuildSession>(manager_, session_id,
                                                 runtime_dir);
  }
  void Shutdown() override { manager_.Shutdown(); }

 private:
  session::SessionManager manager_;
};

}  // namespace

std::unique_ptr<SessionHub> MakeSessionHub() {
  return std::make_unique<ManagedSessionHub>();
}

}  // namespace kiln::kilnd
