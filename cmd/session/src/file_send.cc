#include "kiln/session/file_send.h"

#include <fcntl.h>
#include <grpcpp/impl/rpc_method.h>
#include <unistd.h>

#include <cerrno>

#include "diff_copy.h"
#include "fs_at.h"
#include "kiln/solver/local_source.h"
#include "packet_stream.h"
#include "rpc_util.h"
#include "session/filesync/filesync.grpc.pb.h"

namespace kiln::session {
namespace {

Status CheckSupported(Session& session) {
  if (!session.Supports(kMethodFileSendDiffCopy)) {
    return FailedPreconditionError(std::string("session ") + session.id() +
                                   ": method " + kMethodFileSendDiffCopy +
                                   " not supported by the client");
  }
  return Status::Ok();
}

void AddExportMetadata(grpc::ClientContext& ctx, const std::string& exporter_id,
                       const std::map<std::string, std::string>& metadata) {
  for (const auto& [k, v] : metadata) {
    internal::AddMetadata(ctx, kMetaExporterPrefix + k, {v});
  }
  ctx.AddMetadata(kMetaExporterId, exporter_id);
}

class ClientFileWriterImpl final : public ClientFileWriter {
 public:
  ClientFileWriterImpl(std::string what, std::shared_ptr<grpc::Channel> channel)
      : what_(std::move(what)), stub_(std::move(channel)) {}
  ~ClientFileWriterImpl() override { Abort(); }

  void Start(const std::string& exporter_id,
             const std::map<std::string, std::string>& metadata) {
    AddExportMetadata(ctx_, exporter_id, metadata);
    stream_ = stub_.DiffCopy(&ctx_);
  }

  Status Write(std::string_view data) override {
    if (done_) return FailedPreconditionError(what_ + ": writer is closed");
    moby::filesync::v1::BytesMessage m;
    constexpr size_t kChunk = 1 << 20;
    while (!data.empty()) {
      size_t n = std::min(kChunk, data.size());
      m.set_data(std::string(data.substr(0, n)));
      if (!stream_->Write(m)) return Fail();
      data.remove_prefix(n);
    }
    return Status::Ok();
  }

  Status Close() override {
    if (done_) return FailedPreconditionError(what_ + ": writer is closed");
    done_ = true;
    stream_->WritesDone();
    moby::filesync::v1::BytesMessage m;
    while (stream_->Read(&m)) {
    }
    return internal::FromGrpc(stream_->Finish(), what_);
  }

  void Abort() override {
    if (done_ || stream_ == nullptr) return;
    done_ = true;
    ctx_.TryCancel();
    moby::filesync::v1::BytesMessage m;
    while (stream_->Read(&m)) {
    }
    (void)stream_->Finish();
  }

 private:
  Status Fail() {
    done_ = true;
    moby::filesync::v1::BytesMessage m;
    while (stream_->Read(&m)) {
    }
    grpc::Status st = stream_->Finish();
    if (st.ok())
      return UnavailableError(what_ + ": the client stopped reading");
    return internal::FromGrpc(st, what_);
  }

  std::string what_;
  moby::filesync::v1::FileSend::Stub stub_;
  grpc::ClientContext ctx_;
  std::unique_ptr<grpc::ClientReaderWriter<moby::filesync::v1::BytesMessage,
                                           moby::filesync::v1::BytesMessage>>
      stream_;
  bool done_ = false;
};

}  // namespace

Result<TransferStats> SendDirToClient(Session& session,
                                      const std::string& exporter_id,
                                      const std::string& dir,
                                      std::stop_token stop) {
  KILN_RETURN_IF_ERROR(CheckSupported(session));
  const std::string what =
      "exporting " + dir + " to the client (exporter " + exporter_id + ")";
  KILN_ASSIGN_OR_RETURN(std::vector<solver::LocalEntry> entries,
                        solver::ListLocal(dir, {}));
  grpc::ClientContext ctx;
  AddExportMetadata(ctx, exporter_id, {});
  internal::CancelOnStop cancel(stop, ctx);
  grpc::internal::RpcMethod method(kMethodFileSendDiffCopy,
                                   grpc::internal::RpcMethod::BIDI_STREAMING);
  std::shared_ptr<grpc::Channel> channel = session.channel();
  std::unique_ptr<grpc::ClientReaderWriter<grpc::ByteBuffer, grpc::ByteBuffer>>
      stream(grpc::internal::ClientReaderWriterFactory<
             grpc::ByteBuffer, grpc::ByteBuffer>::Create(channel.get(), method,
                                                         &ctx));
  internal::RawPacketStream ps(stream.get(), &ctx);
  TransferStats stats;
  Status s = internal::SendDiffCopy(ps, dir, entries, stats);
  if (s.ok()) stream->WritesDone();
  grpc::Status call = stream->Finish();
  if (stop.stop_requested()) return CancelledError(what + ": cancelled");
  if (!call.ok() && call.error_code() != grpc::StatusCode::CANCELLED) {
    return internal::FromGrpc(call, what);
  }
  if (!s.ok()) return s.WithContext(what);
  return stats;
}

Result<std::unique_ptr<ClientFileWriter>> OpenClientFile(
    Session& session, const std::string& exporter_id,
    const std::map<std::string, std::string>& metadata) {
  KILN_RETURN_IF_ERROR(CheckSupported(session));
  auto writer = std::make_unique<ClientFileWriterImpl>(
      "exporting to the client (exporter " + exporter_id + ")",
      session.channel());
  writer->Start(exporter_id, metadata);
  return std::unique_ptr<ClientFileWriter>(std::move(writer));
}

Status SendFileToClient(Session& session, const std::string& exporter_id,
                        const std::string& path,
                        const std::map<std::string, std::string>& metadata,
                        std::stop_token stop) {
  internal::Fd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return internal::ErrnoError("opening " + path, errno);
  KILN_ASSIGN_OR_RETURN(std::unique_ptr<ClientFileWriter> writer,
                        OpenClientFile(session, exporter_id, metadata));
  std::string buf(1 << 20, '\0');
  while (true) {
    if (stop.stop_requested()) {
      writer->Abort();
      return CancelledError("sending " + path + " to the client: cancelled");
    }
    ssize_t n = read(fd.get(), buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      writer->Abort();
      return internal::ErrnoError("reading " + path, err);
    }
    if (n == 0) break;
    KILN_RETURN_IF_ERROR(writer->Write(std::string_view(buf.data(), n)));
  }
  return writer->Close();
}

}  // namespace kiln::session
