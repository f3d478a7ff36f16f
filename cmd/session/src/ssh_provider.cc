// SessionSshProvider: a private Unix socket per ssh id, each connection
// relayed through the client's SSH/ForwardAgent.
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <list>

#include "fs_at.h"
#include "kiln/session/session_providers.h"
#include "rpc_util.h"
#include "session/sshforward/ssh.grpc.pb.h"

namespace kiln::session {

using internal::ErrnoError;
using internal::Fd;
using internal::NewUnixSocket;
using internal::UnixSocket;
using moby::sshforward::v1::BytesMessage;

class SessionSshProvider::Impl {
 public:
  Impl(SessionManager& manager, std::string session_id, std::string runtime_dir)
      : manager_(manager),
        session_id_(std::move(session_id)),
        runtime_dir_(std::move(runtime_dir)) {}

  ~Impl() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
      for (auto& r : relays_) {
        r.context.TryCancel();
        shutdown(r.conn.get(), SHUT_RDWR);
      }
    }
    char c = 1;
    if (stop_write_.valid()) {
      ssize_t n = write(stop_write_.get(), &c, 1);
      (void)n;
    }
    for (auto& l : listeners_) {
      if (l.thread.joinable()) l.thread.join();
    }
    std::list<Relay> relays;
    {
      std::lock_guard lock(mu_);
      relays.splice(relays.end(), relays_);
    }
    for (auto& r : relays) {
      if (r.thread.joinable()) r.thread.join();
    }
    for (auto& l : listeners_) unlink(l.path.c_str());
    if (!dir_.empty()) rmdir(dir_.c_str());
  }

  Result<std::string> AgentSocket(std::string_view id_view) {
    std::string id = id_view.empty() ? "default" : std::string(id_view);
    std::lock_guard lock(mu_);
    for (auto& l : listeners_) {
      if (l.id == id) return l.path;
    }
    KILN_ASSIGN_OR_RETURN(std::shared_ptr<Session> session,
                          manager_.Get(session_id_));
    if (!session->Supports(kMethodSshForwardAgent)) {
      return NotFoundError("ssh agent " + id +
                           " not found: the client forwards no ssh agents");
    }
    if (session->Supports(kMethodSshCheckAgent)) {
      grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(30));
      moby::sshforward::v1::CheckAgentRequest req;
      req.set_id(id);
      moby::sshforward::v1::CheckAgentResponse resp;
      moby::sshforward::v1::SSH::Stub stub(session->channel());
      grpc::Status st = stub.CheckAgent(&ctx, req, &resp);
      if (st.error_code() == grpc::StatusCode::NOT_FOUND ||
          st.error_code() == grpc::StatusCode::UNIMPLEMENTED) {
        return NotFoundError("ssh agent " + id + " not found");
      }
      if (!st.ok()) return internal::FromGrpc(st, "checking ssh agent " + id);
    }
    KILN_RETURN_IF_ERROR(EnsureDir());
    std::string path =
        dir_ + "/ssh-" + std::to_string(listeners_.size()) + ".sock";
    KILN_ASSIGN_OR_RETURN(UnixSocket s, NewUnixSocket(path));
    Fd fd = std::move(s.fd);
    if (bind(fd.get(), reinterpret_cast<sockaddr*>(&s.addr), sizeof(s.addr)) !=
        0) {
      return ErrnoError("binding " + path, errno);
    }
    if (chmod(path.c_str(), 0600) != 0 || listen(fd.get(), 16) != 0) {
      int err = errno;
      unlink(path.c_str());
      return ErrnoError("listening on " + path, err);
    }
    Listener& l = listeners_.emplace_back();
    l.id = id;
    l.path = path;
    l.fd = std::move(fd);
    l.thread = std::thread([this, &l] { Accept(l); });
    return path;
  }

 private:
  struct Listener {
    std::string id;
    std::string path;
    Fd fd;
    std::thread thread;
  };
  struct Relay {
    Fd conn;
    grpc::ClientContext context;
    std::thread thread;
  };

  Status EnsureDir() {
    if (!dir_.empty()) return Status::Ok();
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0) return ErrnoError("creating a pipe", errno);
    stop_read_ = Fd(p[0]);
    stop_write_ = Fd(p[1]);
    std::string tmpl = runtime_dir_ + "/kiln-ssh-XXXXXX";
    if (mkdtemp(tmpl.data()) == nullptr) {
      return ErrnoError("creating a directory in " + runtime_dir_, errno);
    }
    chmod(tmpl.c_str(), 0700);
    dir_ = tmpl;
    return Status::Ok();
  }

  void Accept(Listener& l) {
    while (true) {
      pollfd fds[2] = {{l.fd.get(), POLLIN, 0}, {stop_read_.get(), POLLIN, 0}};
      int r = poll(fds, 2, -1);
      if (r < 0 && errno == EINTR) continue;
      if (r < 0 || (fds[1].revents & POLLIN) != 0) return;
      int c = accept4(l.fd.get(), nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      std::lock_guard lock(mu_);
      if (stopping_) {
        close(c);
        return;
      }
      Relay& relay = relays_.emplace_back();
      relay.conn = Fd(c);
      relay.thread =
          std::thread([this, &relay, id = l.id] { Forward(relay, id); });
    }
  }

  // One connection ↔ one ForwardAgent stream.
  void Forward(Relay& relay, const std::string& id) {
    auto session = manager_.Get(session_id_);
    if (!session.ok()) return;
    relay.context.AddMetadata("buildkit.ssh.id", id);
    moby::sshforward::v1::SSH::Stub stub((*session)->channel());
    auto stream = stub.ForwardAgent(&relay.context);
    int fd = relay.conn.get();
    std::thread up([&] {
      std::string buf;
      BytesMessage m;
      while (true) {
        buf.resize(32 << 10);
        ssize_t n = recv(fd, buf.data(), buf.size(), 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        buf.resize(static_cast<size_t>(n));
        m.set_data(buf);
        if (!stream->Write(m)) break;
      }
      stream->WritesDone();
    });
    BytesMessage m;
    internal::RelayStreamToSocket(*stream, m, fd);
    shutdown(fd, SHUT_RDWR);
    up.join();
    (void)stream->Finish();
  }

  SessionManager& manager_;
  std::string session_id_;
  std::string runtime_dir_;
  std::mutex mu_;
  std::string dir_;                // guarded by mu_
  std::list<Listener> listeners_;  // guarded by mu_ (stable addresses)
  std::list<Relay> relays_;        // guarded by mu_
  bool stopping_ = false;          // guarded by mu_
  Fd stop_read_;
  Fd stop_write_;
};

SessionSshProvider::SessionSshProvider(SessionManager& manager,
                                       std::string session_id,
                                       std::string runtime_dir)
    : impl_(std::make_unique<Impl>(manager, std::move(session_id),
                                   std::move(runtime_dir))) {}

SessionSshProvider::~SessionSshProvider() = default;

Result<std::string> SessionSshProvider::AgentSocket(std::string_view id) {
  return impl_->AgentSocket(id);
}

}  // namespace kiln::session
