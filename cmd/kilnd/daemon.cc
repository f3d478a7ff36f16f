#include "kilnd/daemon.h"

#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>

#include "control/address.h"
#include "kilnd/build_registry.h"
#include "kilnd/control_service.h"
#include "kilnd/session_hub.h"
#include "kilnd/unix_listener.h"
#include "state_root.h"

namespace kiln::kilnd {

class Daemon::Impl {
 public:
  explicit Impl(DaemonConfig config)
      : config(std::move(config)),
        root(this->config.root.empty() ? cli::DefaultRootDir()
                                       : this->config.root,
             this->config.config_path) {}

  Status Open();
  int Shutdown();

  DaemonConfig config;
  cli::Root root;
  BuildRegistry builds;
  std::unique_ptr<SessionHub> sessions = MakeSessionHub();
  std::unique_ptr<ControlService> service;
  std::vector<std::unique_ptr<UnixListener>> unix_listeners;
  std::unique_ptr<grpc::Server> server;
  std::vector<std::string> addresses;
  bool down = false;
};

Status Daemon::Impl::Open() {
  if (config.max_parallelism > 0) root.set_parallelism(config.max_parallelism);
  KILN_RETURN_IF_ERROR(
      root.Solver().status().WithContext("opening " + root.dir()));
  if (std::string e = root.executor_error(); !e.empty()) {
    std::fprintf(stderr, "kilnd: warning: execs will fail: %s\n", e.c_str());
  }
  // Where ssh mounts get their per-build agent sockets (session_hub.h).
  const std::string run_dir = root.dir() + "/run";
  if (mkdir(run_dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return InternalError("creating " + run_dir + ": " + std::strerror(errno));
  }
  if (chmod(run_dir.c_str(), 0700) != 0) {
    return InternalError("making " + run_dir +
                         " private: " + std::strerror(errno));
  }
  service = std::make_unique<ControlService>(root, builds, *sessions, config);

  grpc::ServerBuilder builder;
  builder.RegisterService(service.get());
  builder.SetMaxReceiveMessageSize(64 << 20);
  std::vector<std::string> wanted = config.addresses;
  if (wanted.empty()) wanted.push_back(std::string(control::kDefaultAddress));
  struct TcpPort {
    control::Address address;
    int selected = 0;
  };
  std::vector<std::unique_ptr<TcpPort>> tcp_ports;
  for (const std::string& text : wanted) {
    KILN_ASSIGN_OR_RETURN(control::Address address,
                          control::ParseAddress(text));
    if (address.kind == control::Address::Kind::kUnix) {
      KILN_ASSIGN_OR_RETURN(
          auto listener,
          UnixListener::Bind(address.path,
                             config.socket_uid.value_or(geteuid()),
                             config.socket_gid.value_or(getegid())));
      unix_listeners.push_back(std::move(listener));
      addresses.push_back(address.ToString());
      continue;
    }
    std::shared_ptr<grpc::ServerCredentials> creds;
    if (config.tls.enabled()) {
      KILN_ASSIGN_OR_RETURN(control::TlsPem pem,
                            control::ReadTlsFiles(config.tls, "kilnd TLS"));
      grpc::SslServerCredentialsOptions options(
          GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
      options.pem_root_certs = pem.ca;
      options.pem_key_cert_pairs.push_back({pem.key, pem.cert});
      creds = grpc::SslServerCredentials(options);
    } else if (control::IsLoopbackHost(address.host)) {
      std::fprintf(stderr,
                   "kilnd: warning: %s without TLS: any local user can "
                   "connect to it\n",
                   address.ToString().c_str());
      creds = grpc::InsecureServerCredentials();
    } else {
      return InvalidArgumentError(
          address.ToString() +
          ": a tcp address that is not loopback needs mutual TLS (--tlscert, "
          "--tlskey, --tlscacert)");
    }
    auto port = std::make_unique<TcpPort>();
    port->address = address;
    std::string host = address.host.find(':') != std::string::npos
                           ? "[" + address.host + "]"
                           : address.host;
    builder.AddListeningPort(host + ":" + std::to_string(address.port), creds,
                             &port->selected);
    tcp_ports.push_back(std::move(port));
  }
  server = builder.BuildAndStart();
  if (server == nullptr) {
    return InternalError(
        "starting the gRPC server failed (a tcp address in "
        "use or not local?)");
  }
  for (const auto& port : tcp_ports) {
    if (port->selected == 0) {
      return InternalError("cannot listen on " + port->address.ToString());
    }
    control::Address resolved = port->address;
    resolved.port = port->selected;
    addresses.push_back(resolved.ToString());
  }
  for (auto& listener : unix_listeners) listener->Start(server.get());
  return Status::Ok();
}

int Daemon::Impl::Shutdown() {
  if (down) return 0;
  down = true;
  builds.BeginShutdown();
  for (auto& listener : unix_listeners) listener->Stop();
  int cancelled = 0;
  auto deadline = std::chrono::steady_clock::now() + config.shutdown_grace;
  if (size_t n = builds.active(); n > 0) {
    std::fprintf(stderr,
                 "kilnd: waiting up to %lld ms for %zu running build(s)\n",
                 static_cast<long long>(config.shutdown_grace.count()), n);
  }
  if (!builds.WaitIdle(deadline)) {
    cancelled = static_cast<int>(builds.active());
    std::fprintf(stderr, "kilnd: cancelling %d build(s)\n", cancelled);
    builds.CancelAll();
    // Cancelled builds kill their execs and end promptly.
    builds.WaitIdle(std::chrono::steady_clock::now() +
                    std::chrono::seconds(60));
  }
  sessions->Shutdown();
  if (server) {
    server->Shutdown(std::chrono::system_clock::now() +
                     std::chrono::seconds(2));
    server->Wait();
  }
  unix_listeners.clear();
  return cancelled;
}

Daemon::Daemon(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Daemon::~Daemon() {
  if (impl_) impl_->Shutdown();
}

Result<std::unique_ptr<Daemon>> Daemon::Start(DaemonConfig config) {
  auto impl = std::make_unique<Impl>(std::move(config));
  if (Status s = impl->Open(); !s.ok()) {
    impl->Shutdown();
    return s;
  }
  return std::unique_ptr<Daemon>(new Daemon(std::move(impl)));
}

const std::vector<std::string>& Daemon::addresses() const {
  return impl_->addresses;
}

int Daemon::Shutdown() { return impl_->Shutdown(); }

}  // namespace kiln::kilnd
