#include "kiln/session/session_manager.h"

#include <grpcpp/create_channel_posix.h>
#include <grpcpp/impl/client_unary_call.h>
#include <grpcpp/impl/rpc_method.h>
#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/channel_arguments.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <thread>
#include <utility>
#include <vector>

#include "rpc_util.h"
#include "tunnel.h"

namespace kiln::session {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return out;
}

class SessionImpl final : public Session {
 public:
  SessionImpl(std::string id, std::string name, std::string shared_key,
              std::set<std::string> methods,
              std::shared_ptr<grpc::Channel> channel)
      : id_(std::move(id)),
        name_(std::move(name)),
        shared_key_(std::move(shared_key)),
        methods_(std::move(methods)),
        channel_(std::move(channel)) {}

  const std::string& id() const override { return id_; }
  const std::string& name() const override { return name_; }
  const std::string& shared_key() const override { return shared_key_; }
  bool Supports(std::string_view method) const override {
    return methods_.contains(Lower(method));
  }
  std::shared_ptr<grpc::Channel> channel() const override { return channel_; }
  bool closed() const override { return closed_.load(); }
  void MarkClosed() { closed_.store(true); }

  Status Ping(std::chrono::milliseconds timeout) override {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + timeout);
    // HealthCheckRequest{} encodes to no bytes (but must be a real buffer).
    grpc::Slice empty("", 0);
    grpc::ByteBuffer request(&empty, 1);
    grpc::ByteBuffer response;
    grpc::internal::RpcMethod method(kMethodHealthCheck,
                                     grpc::internal::RpcMethod::NORMAL_RPC);
    grpc::Status st =
        grpc::internal::BlockingUnaryCall<grpc::ByteBuffer, grpc::ByteBuffer>(
            channel_.get(), method, &ctx, request, &response);
    if (!st.ok()) {
      return UnavailableError("session " + id_ +
                              ": health check: " + st.error_message());
    }
    std::vector<grpc::Slice> slices;
    std::string bytes;
    if (response.Dump(&slices).ok()) {
      for (const auto& s : slices) {
        bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
      }
    }
    // HealthCheckResponse{status: SERVING (1)}.
    if (bytes != std::string("\x08\x01", 2)) {
      return UnavailableError("session " + id_ + ": client is not serving");
    }
    return Status::Ok();
  }

 private:
  std::string id_;
  std::string name_;
  std::string shared_key_;
  std::set<std::string> methods_;  // lower-cased
  std::shared_ptr<grpc::Channel> channel_;
  std::atomic<bool> closed_{false};
};

std::string FirstValue(const grpc::ServerContext& ctx, const char* key) {
  auto values = internal::MetadataValues(ctx, key);
  return values.empty() ? std::string() : values.front();
}

}  // namespace

class SessionManager::Impl {
 public:
  explicit Impl(SessionManagerOptions options) : options(options) {}

  SessionManagerOptions options;
  mutable std::mutex mu;
  std::condition_variable_any cv;
  // Guarded by mu:
  std::map<std::string, std::shared_ptr<SessionImpl>> sessions;
  std::set<grpc::ServerContext*> serving;
  int active = 0;
  bool shut_down = false;
  TransferStats stats;
};

SessionManager::SessionManager(SessionManagerOptions options)
    : impl_(std::make_unique<Impl>(options)) {}

SessionManager::~SessionManager() {
  Shutdown();
  std::unique_lock lock(impl_->mu);
  impl_->cv.wait(lock, [&] { return impl_->active == 0; });
}

grpc::Status SessionManager::Serve(grpc::ServerContext* context,
                                   SessionStream* stream) {
  std::string id = FirstValue(*context, kMetaSessionId);
  if (id.empty()) {
    return grpc::Status(
        grpc::StatusCode::INVALID_ARGUMENT,
        std::string("session: missing ") + kMetaSessionId + " metadata");
  }
  std::set<std::string> methods;
  for (const auto& m : internal::MetadataValues(*context, kMetaGrpcMethod)) {
    methods.insert(Lower(m));
  }
  auto tunnel = internal::Tunnel::Create();
  if (!tunnel.ok()) return internal::ToGrpc(tunnel.status());
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(impl_->options.max_message_bytes);
  args.SetMaxSendMessageSize(impl_->options.max_message_bytes);
  std::shared_ptr<grpc::Channel> channel =
      grpc::CreateCustomInsecureChannelFromFd(
          "kiln-session", (*tunnel)->TakeTransportFd(), args);
  auto session = std::make_shared<SessionImpl>(
      id, FirstValue(*context, kMetaSessionName),
      FirstValue(*context, kMetaSharedKey), std::move(methods), channel);
  {
    std::lock_guard lock(impl_->mu);
    if (impl_->shut_down) {
      return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                          "session: the daemon is shutting down");
    }
    if (impl_->sessions.contains(id)) {
      return grpc::Status(grpc::StatusCode::ALREADY_EXISTS,
                          "session " + id + " is already connected");
    }
    impl_->sessions[id] = session;
    impl_->serving.insert(context);
    ++impl_->active;
  }
  impl_->cv.notify_all();

  internal::Tunnel& t = **tunnel;
  std::thread outbound([&] {
    t.RunOutbound(
        [&](const std::string& bytes) {
          moby::buildkit::v1::BytesMessage m;
          m.set_data(bytes);
          return stream->Write(m);
        },
        {});
  });
  t.RunInbound([&](std::string* bytes) {
    moby::buildkit::v1::BytesMessage m;
    if (!stream->Read(&m)) return false;
    *bytes = std::move(*m.mutable_data());
    return true;
  });
  session->MarkClosed();
  {
    std::lock_guard lock(impl_->mu);
    auto it = impl_->sessions.find(id);
    if (it != impl_->sessions.end() && it->second == session) {
      impl_->sessions.erase(it);
    }
    impl_->serving.erase(context);
  }
  t.Stop();
  outbound.join();
  {
    std::lock_guard lock(impl_->mu);
    --impl_->active;
  }
  impl_->cv.notify_all();
  return grpc::Status::OK;
}

Result<std::shared_ptr<Session>> SessionManager::Get(const std::string& id,
                                                     std::stop_token stop) {
  if (id.empty()) {
    return NotFoundError("no session: the build names no client session");
  }
  std::unique_lock lock(impl_->mu);
  auto deadline =
      std::chrono::steady_clock::now() + impl_->options.connect_wait;
  impl_->cv.wait_until(lock, stop, deadline, [&] {
    return impl_->sessions.contains(id) || impl_->shut_down;
  });
  auto it = impl_->sessions.find(id);
  if (it != impl_->sessions.end()) {
    return std::shared_ptr<Session>(it->second);
  }
  if (stop.stop_requested()) {
    return CancelledError("waiting for session " + id + ": cancelled");
  }
  return NotFoundError("no active session " + id);
}

std::set<std::string> SessionManager::ActiveIds() const {
  std::lock_guard lock(impl_->mu);
  std::set<std::string> out;
  for (const auto& [id, s] : impl_->sessions) out.insert(id);
  return out;
}

void SessionManager::Shutdown() {
  {
    std::lock_guard lock(impl_->mu);
    impl_->shut_down = true;
    for (grpc::ServerContext* ctx : impl_->serving) ctx->TryCancel();
  }
  impl_->cv.notify_all();
}

TransferStats SessionManager::transfer_stats() const {
  std::lock_guard lock(impl_->mu);
  return impl_->stats;
}

void SessionManager::AddTransferStats(const TransferStats& delta) {
  std::lock_guard lock(impl_->mu);
  impl_->stats += delta;
}

}  // namespace kiln::session
