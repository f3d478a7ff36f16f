// FileSync (the client sends its local dirs) and FileSend (the daemon sends
// exporter output) on the client side.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "client_services.h"
#include "diff_copy.h"
#include "fs_at.h"
#include "kiln/session/file_send.h"
#include "kiln/session/session_manager.h"
#include "kiln/solver/local_source.h"
#include "packet_stream.h"
#include "rpc_util.h"
#include "session/filesync/filesync.grpc.pb.h"

namespace kiln::session::internal {
namespace {

using RawStream = grpc::ServerReaderWriter<grpc::ByteBuffer, grpc::ByteBuffer>;

class FileSyncService final : public moby::filesync::v1::FileSync::Service {
 public:
  explicit FileSyncService(ClientState& state) : state_(state) {}

  grpc::Status DiffCopy(
      grpc::ServerContext* ctx,
      grpc::ServerReaderWriter<Packet, Packet>* stream) override {
    auto names = MetadataValues(*ctx, "dir-name");
    std::string name = names.empty() ? std::string() : names.front();
    auto it = state_.options.dirs.find(name);
    if (it == state_.options.dirs.end()) {
      return grpc::Status(grpc::StatusCode::NOT_FOUND,
                          "no access allowed to dir \"" + name + "\"");
    }
    solver::LocalSyncOptions opts;
    opts.include_patterns = MetadataValues(*ctx, "include-patterns");
    opts.exclude_patterns = MetadataValues(*ctx, "exclude-patterns");
    opts.follow_paths = MetadataValues(*ctx, "followpaths");
    TypedPacketStream ps(stream, ctx);
    auto entries = solver::ListLocal(it->second, opts);
    if (!entries.ok()) {
      Packet err;
      err.set_type(fsutil::types::PACKET_ERR);
      err.set_data(entries.status().message());
      ps.Send(err);
      return ToGrpc(entries.status());
    }
    TransferStats stats;
    Status s = SendDiffCopy(ps, it->second, *entries, stats);
    {
      std::lock_guard lock(state_.mu);
      state_.sent += stats;
    }
    return ToGrpc(s);
  }

 private:
  ClientState& state_;
};

// FileSend/DiffCopy with raw messages: a directory target gets serialized
// fsutil Packets, a file target BytesMessages (as BuildKit sends them).
class FileSendService final : public grpc::Service {
 public:
  explicit FileSendService(ClientState& state) : state_(state) {
    AddMethod(new grpc::internal::RpcServiceMethod(
        kMethodFileSendDiffCopy, grpc::internal::RpcMethod::BIDI_STREAMING,
        new grpc::internal::BidiStreamingHandler<
            FileSendService, grpc::ByteBuffer, grpc::ByteBuffer>(
            [](FileSendService* service, grpc::ServerContext* ctx,
               RawStream* stream) { return service->DiffCopy(ctx, stream); },
            this)));
  }

 private:
  grpc::Status DiffCopy(grpc::ServerContext* ctx, RawStream* stream) {
    {
      std::lock_guard lock(state_.mu);
      ++state_.receiving;
    }
    struct Done {
      ClientState& state;
      ~Done() {
        std::lock_guard lock(state.mu);
        if (--state.receiving == 0) state.idle.notify_all();
      }
    } done{state_};
    const auto& exports = state_.options.exports;
    auto ids = MetadataValues(*ctx, kMetaExporterId);
    const ExportTarget* target = nullptr;
    if (!ids.empty()) {
      auto it = exports.find(ids.front());
      if (it != exports.end()) target = &it->second;
    } else if (exports.size() == 1) {
      target = &exports.begin()->second;
    }
    if (target == nullptr) {
      return grpc::Status(grpc::StatusCode::NOT_FOUND,
                          "no export target for exporter id \"" +
                              (ids.empty() ? std::string() : ids.front()) +
                              "\"");
    }
    Status s;
    switch (target->kind) {
      case ExportTarget::Kind::kDirectory:
        s = ReceiveDir(ctx, stream, target->path);
        break;
      case ExportTarget::Kind::kFile:
        s = ReceiveFile(stream, target->path);
        break;
      case ExportTarget::Kind::kStdout:
        s = ReceiveToFd(stream, 1, "stdout");
        break;
    }
    return ToGrpc(s);
  }

  Status ReceiveDir(grpc::ServerContext* ctx, RawStream* stream,
                    const std::string& path) {
    struct stat st {};
    bool existed = stat(path.c_str(), &st) == 0;
    if (existed && !S_ISDIR(st.st_mode)) {
      return FailedPreconditionError("export destination " + path +
                                     " is not a directory");
    }
    auto [parent, base] = SplitPath(path);
    std::string dest = path;
    if (!existed) {
      KILN_RETURN_IF_ERROR(MakeParents(parent));
      dest = parent + "/" + TempName(base);
      if (mkdir(dest.c_str(), 0755) != 0) {
        return ErrnoError("creating " + dest, errno);
      }
    }
    RawPacketStream ps(stream, ctx);
    ReceiveResult result;
    Status s =
        ReceiveDiffCopy(ps, dest, {.merge = true, .keep_owner = false}, result);
    {
      std::lock_guard lock(state_.mu);
      state_.exported += result.stats;
    }
    if (!existed) {
      if (s.ok()) {
        Hold(dest, path);
      } else {
        RemoveTree(dest);
      }
    }
    return s.ok() ? s : s.WithContext("exporting to " + path);
  }

  Status ReceiveFile(RawStream* stream, const std::string& path) {
    auto [parent, base] = SplitPath(path);
    KILN_RETURN_IF_ERROR(MakeParents(parent));
    std::string temp = parent + "/" + TempName(base);
    Fd fd(open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
    if (!fd.valid()) return ErrnoError("creating " + temp, errno);
    Status s = ReceiveToFd(stream, fd.get(), path);
    if (s.ok() && fsync(fd.get()) != 0)
      s = ErrnoError("writing " + path, errno);
    fd.Reset();
    if (s.ok()) {
      Hold(temp, path);
    } else {
      unlink(temp.c_str());
    }
    return s;
  }

  // A complete transfer stays under its temporary name until the build
  // succeeded (ClientSession::CommitExports): a stream that ended early
  // looks complete here, only the Solve's result tells.
  void Hold(const std::string& temp, const std::string& path) {
    std::lock_guard lock(state_.mu);
    state_.pending.push_back({temp, path});
  }

  Status ReceiveToFd(RawStream* stream, int fd, const std::string& where) {
    grpc::ByteBuffer buffer;
    moby::filesync::v1::BytesMessage message;
    uint64_t bytes = 0;
    uint64_t packets = 0;
    Status s;
    while (stream->Read(&buffer)) {
      ++packets;
      if (!grpc::SerializationTraits<
               moby::filesync::v1::BytesMessage>::Deserialize(&buffer, &message)
               .ok()) {
        s = InvalidArgumentError("export to " + where + ": bad message");
        break;
      }
      const std::string& data = message.data();
      size_t off = 0;
      while (off < data.size()) {
        ssize_t n = write(fd, data.data() + off, data.size() - off);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
          s = ErrnoError("writing " + where, errno);
          break;
        }
        off += static_cast<size_t>(n);
      }
      if (!s.ok()) break;
      bytes += data.size();
    }
    std::lock_guard lock(state_.mu);
    state_.exported.packets_received += packets;
    state_.exported.data_bytes += bytes;
    if (s.ok()) ++state_.exported.files_written;
    return s;
  }

  static std::pair<std::string, std::string> SplitPath(std::string path) {
    while (path.size() > 1 && path.back() == '/') path.pop_back();
    size_t slash = path.rfind('/');
    if (slash == std::string::npos) return {".", path};
    if (slash == 0) return {"/", path.substr(1)};
    return {path.substr(0, slash), path.substr(slash + 1)};
  }

  static Status MakeParents(const std::string& dir) {
    std::string cur;
    size_t start = 0;
    while (start <= dir.size()) {
      size_t slash = dir.find('/', start);
      if (slash == std::string::npos) slash = dir.size();
      cur = dir.substr(0, slash);
      if (!cur.empty() && mkdir(cur.c_str(), 0755) != 0 && errno != EEXIST) {
        return ErrnoError("creating " + cur, errno);
      }
      start = slash + 1;
    }
    return Status::Ok();
  }

  ClientState& state_;
};

}  // namespace

std::unique_ptr<grpc::Service> MakeFileSyncService(
    ClientState& state, std::vector<std::string>& methods) {
  methods.push_back(kMethodFileSyncDiffCopy);
  return std::make_unique<FileSyncService>(state);
}

std::unique_ptr<grpc::Service> MakeFileSendService(
    ClientState& state, std::vector<std::string>& methods) {
  methods.push_back(kMethodFileSendDiffCopy);
  return std::make_unique<FileSendService>(state);
}

}  // namespace kiln::session::internal
