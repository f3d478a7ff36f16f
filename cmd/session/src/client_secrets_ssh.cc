// Secrets and SSH agent forwarding on the client side.
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include "client_services.h"
#include "fs_at.h"
#include "kiln/session/session_manager.h"
#include "rpc_util.h"
#include "session/secrets/secrets.grpc.pb.h"
#include "session/sshforward/ssh.grpc.pb.h"

namespace kiln::session::internal {
namespace {

class SecretsService final
    : public moby::buildkit::secrets::v1::Secrets::Service {
 public:
  explicit SecretsService(ClientState& state) : state_(state) {}

  grpc::Status GetSecret(
      grpc::ServerContext*,
      const moby::buildkit::secrets::v1::GetSecretRequest* request,
      moby::buildkit::secrets::v1::GetSecretResponse* response) override {
    auto data = state_.options.secrets->GetSecret(request->id());
    if (!data.ok()) return ToGrpc(data.status());
    response->set_data(std::move(*data));
    return grpc::Status::OK;
  }

 private:
  ClientState& state_;
};

Result<Fd> DialUnix(const std::string& path) {
  KILN_ASSIGN_OR_RETURN(UnixSocket s, NewUnixSocket(path));
  if (connect(s.fd.get(), reinterpret_cast<sockaddr*>(&s.addr),
              sizeof(s.addr)) != 0) {
    return ErrnoError("connecting to " + path, errno);
  }
  return std::move(s.fd);
}

class SshService final : public moby::sshforward::v1::SSH::Service {
 public:
  explicit SshService(ClientState& state) : state_(state) {}

  grpc::Status CheckAgent(
      grpc::ServerContext*,
      const moby::sshforward::v1::CheckAgentRequest* request,
      moby::sshforward::v1::CheckAgentResponse*) override {
    std::string id = request->id().empty() ? "default" : request->id();
    if (!state_.options.ssh_agents.contains(id)) {
      return grpc::Status(grpc::StatusCode::NOT_FOUND,
                          "unset ssh forward key " + id);
    }
    return grpc::Status::OK;
  }

  grpc::Status ForwardAgent(
      grpc::ServerContext* ctx,
      grpc::ServerReaderWriter<moby::sshforward::v1::BytesMessage,
                               moby::sshforward::v1::BytesMessage>* stream)
      override {
    auto ids = MetadataValues(*ctx, "buildkit.ssh.id");
    std::string id =
        ids.empty() || ids.front().empty() ? "default" : ids.front();
    auto it = state_.options.ssh_agents.find(id);
    if (it == state_.options.ssh_agents.end()) {
      return grpc::Status(grpc::StatusCode::NOT_FOUND,
                          "unset ssh forward key " + id);
    }
    auto conn = DialUnix(it->second);
    if (!conn.ok()) {
      return grpc::Status(
          grpc::StatusCode::UNAVAILABLE,
          "ssh agent " + id + ": " + std::string(conn.status().message()));
    }
    int fd = conn->get();
    // agent → daemon, until the agent closes (or the call is cancelled).
    std::thread reader([&] {
      std::string buf;
      moby::sshforward::v1::BytesMessage m;
      while (true) {
        pollfd p{fd, POLLIN, 0};
        int r = poll(&p, 1, 200);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) break;
        if (r == 0) {
          if (ctx->IsCancelled()) break;
          continue;
        }
        buf.resize(32 << 10);
        ssize_t n = recv(fd, buf.data(), buf.size(), 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        buf.resize(static_cast<size_t>(n));
        m.set_data(buf);
        if (!stream->Write(m)) break;
      }
    });
    // daemon → agent, until the daemon closes its side.
    moby::sshforward::v1::BytesMessage m;
    RelayStreamToSocket(*stream, m, fd);
    shutdown(fd, ctx->IsCancelled() ? SHUT_RDWR : SHUT_WR);
    reader.join();
    return grpc::Status::OK;
  }

 private:
  ClientState& state_;
};

}  // namespace

std::unique_ptr<grpc::Service> MakeSecretsService(
    ClientState& state, std::vector<std::string>& methods) {
  methods.push_back(kMethodGetSecret);
  return std::make_unique<SecretsService>(state);
}

std::unique_ptr<grpc::Service> MakeSshService(
    ClientState& state, std::vector<std::string>& methods) {
  methods.push_back(kMethodSshCheckAgent);
  methods.push_back(kMethodSshForwardAgent);
  return std::make_unique<SshService>(state);
}

}  // namespace kiln::session::internal
