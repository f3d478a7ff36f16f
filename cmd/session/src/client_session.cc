#include "kiln/session/client_session.h"

#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>
#include <grpcpp/server_posix.h>
#include <sys/stat.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "api/services/control/control.grpc.pb.h"
#include "client_services.h"
#include "kiln/session/session_manager.h"
#include "rpc_util.h"
#include "tunnel.h"

namespace kiln::session {

using moby::buildkit::v1::BytesMessage;

class ClientSession::Impl {
 public:
  internal::ClientState state;
  std::vector<std::unique_ptr<grpc::Service>> services;
  std::unique_ptr<grpc::Server> server;
  std::unique_ptr<internal::Tunnel> tunnel;
  std::unique_ptr<moby::buildkit::v1::Control::Stub> stub;
  grpc::ClientContext context;
  std::unique_ptr<grpc::ClientReaderWriter<BytesMessage, BytesMessage>> stream;
  std::thread inbound;
  std::thread outbound;

  std::mutex mu;
  std::condition_variable cv;
  bool inbound_done = false;  // guarded by mu
  bool closed = false;        // guarded by mu
  Status close_status;        // guarded by mu
};

namespace {

Status CheckOptions(const ClientSessionOptions& options) {
  for (const auto& [name, dir] : options.dirs) {
    struct stat st {};
    if (stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
      return InvalidArgumentError("local \"" + name + "\": " + dir +
                                  " is not a directory");
    }
  }
  for (const auto& [id, path] : options.ssh_agents) {
    struct stat st {};
    if (stat(path.c_str(), &st) != 0 || !S_ISSOCK(st.st_mode)) {
      return InvalidArgumentError("ssh \"" + id + "\": " + path +
                                  " is not a socket");
    }
  }
  for (const auto& [id, target] : options.exports) {
    if (target.kind != ExportTarget::Kind::kStdout && target.path.empty()) {
      return InvalidArgumentError("export \"" + id + "\": no destination");
    }
  }
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<ClientSession>> ClientSession::Start(
    std::shared_ptr<grpc::Channel> channel, ClientSessionOptions options) {
  if (channel == nullptr) return InvalidArgumentError("session: no channel");
  KILN_RETURN_IF_ERROR(CheckOptions(options));
  auto impl = std::make_unique<Impl>();
  std::string id = internal::RandomId();
  std::string shared_key =
      options.shared_key.empty() ? internal::RandomId() : options.shared_key;
  impl->state.options = std::move(options);
  const ClientSessionOptions& opts = impl->state.options;

  std::vector<std::string> methods = {kMethodHealthCheck,
                                      "/grpc.health.v1.Health/Watch"};
  // FileSync is always served (a sync service is what makes the gRPC
  // server poll at all); with no dirs it answers NotFound and is not
  // announced.
  {
    std::vector<std::string> filesync_methods;
    impl->services.push_back(
        internal::MakeFileSyncService(impl->state, filesync_methods));
    if (!opts.dirs.empty()) {
      methods.insert(methods.end(), filesync_methods.begin(),
                     filesync_methods.end());
    }
  }
  if (!opts.exports.empty()) {
    impl->services.push_back(
        internal::MakeFileSendService(impl->state, methods));
  }
  if (opts.secrets != nullptr) {
    impl->services.push_back(
        internal::MakeSecretsService(impl->state, methods));
  }
  if (!opts.ssh_agents.empty()) {
    impl->services.push_back(internal::MakeSshService(impl->state, methods));
  }
  // The flag is process-wide and read by BuildAndStart.
  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  for (auto& s : impl->services) builder.RegisterService(s.get());
  builder.SetMaxReceiveMessageSize(opts.max_message_bytes);
  builder.SetMaxSendMessageSize(opts.max_message_bytes);
  impl->server = builder.BuildAndStart();
  if (impl->server == nullptr) {
    return InternalError("session: the local grpc server did not start");
  }
  KILN_ASSIGN_OR_RETURN(impl->tunnel, internal::Tunnel::Create());
  grpc::AddInsecureChannelFromFd(impl->server.get(),
                                 impl->tunnel->TakeTransportFd());

  grpc::ClientContext& ctx = impl->context;
  ctx.AddMetadata(kMetaSessionId, id);
  if (!opts.name.empty())
    internal::AddMetadata(ctx, kMetaSessionName, {opts.name});
  ctx.AddMetadata(kMetaSharedKey, shared_key);
  for (const auto& m : methods) ctx.AddMetadata(kMetaGrpcMethod, m);
  impl->stub = moby::buildkit::v1::Control::NewStub(channel);
  impl->stream = impl->stub->Session(&ctx);
  if (impl->stream == nullptr) {
    impl->server->Shutdown();
    return UnavailableError("session: cannot open Control.Session");
  }
  Impl* p = impl.get();
  p->outbound = std::thread([p] {
    p->tunnel->RunOutbound(
        [p](const std::string& bytes) {
          BytesMessage m;
          m.set_data(bytes);
          return p->stream->Write(m);
        },
        [p] { p->stream->WritesDone(); });
  });
  p->inbound = std::thread([p] {
    p->tunnel->RunInbound([p](std::string* bytes) {
      BytesMessage m;
      if (!p->stream->Read(&m)) return false;
      *bytes = std::move(*m.mutable_data());
      return true;
    });
    p->state.transport_done.store(true);
    std::lock_guard lock(p->mu);
    p->inbound_done = true;
    p->cv.notify_all();
  });
  return std::unique_ptr<ClientSession>(
      new ClientSession(std::move(id), std::move(shared_key), std::move(impl)));
}

ClientSession::ClientSession(std::string id, std::string shared_key,
                             std::unique_ptr<Impl> impl)
    : id_(std::move(id)),
      shared_key_(std::move(shared_key)),
      impl_(std::move(impl)) {}

ClientSession::~ClientSession() {
  Close().IgnoreError();
  DiscardExports();
}

Status ClientSession::CommitExports(std::chrono::milliseconds timeout) {
  internal::ClientState& state = impl_->state;
  std::unique_lock lock(state.mu);
  if (!state.idle.wait_for(lock, timeout,
                           [&] { return state.receiving == 0; })) {
    return DeadlineExceededError("exports still arriving after " +
                                 std::to_string(timeout.count()) +
                                 " ms; nothing was renamed");
  }
  std::vector<internal::PendingExport> pending = std::move(state.pending);
  state.pending.clear();
  lock.unlock();
  Status first;
  for (const internal::PendingExport& p : pending) {
    if (rename(p.temp.c_str(), p.path.c_str()) == 0) continue;
    Status s = internal::ErrnoError("renaming the export into " + p.path, errno);
    internal::RemoveTree(p.temp);
    if (first.ok()) first = s;
  }
  return first;
}

void ClientSession::DiscardExports() {
  internal::ClientState& state = impl_->state;
  std::vector<internal::PendingExport> pending;
  {
    std::lock_guard lock(state.mu);
    pending = std::move(state.pending);
    state.pending.clear();
  }
  for (const internal::PendingExport& p : pending) {
    internal::RemoveTree(p.temp);
  }
}

Status ClientSession::Close() {
  Impl& p = *impl_;
  std::unique_lock lock(p.mu);
  if (p.closed) return p.close_status;
  p.closed = true;
  lock.unlock();
  // Half-close our side; the daemon then ends the call.
  p.tunnel->Stop();
  p.outbound.join();
  lock.lock();
  if (!p.cv.wait_for(lock, std::chrono::seconds(5),
                     [&] { return p.inbound_done; })) {
    p.context.TryCancel();
  }
  lock.unlock();
  p.inbound.join();
  grpc::Status st = p.stream->Finish();
  p.server->Shutdown(std::chrono::system_clock::now() +
                     std::chrono::seconds(2));
  p.server->Wait();
  Status status = internal::FromGrpc(st, "session " + id_);
  lock.lock();
  p.close_status = status;
  return status;
}

bool ClientSession::done() const {
  std::lock_guard lock(impl_->mu);
  return impl_->inbound_done;
}

TransferStats ClientSession::sent_stats() const {
  std::lock_guard lock(impl_->state.mu);
  return impl_->state.sent;
}

TransferStats ClientSession::export_stats() const {
  std::lock_guard lock(impl_->state.mu);
  return impl_->state.exported;
}

}  // namespace kiln::session
