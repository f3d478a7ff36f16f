// SessionLocalProvider and SessionSecretProvider: daemon-side callers of
// the client's FileSync and Secrets.
#include <sys/stat.h>

#include <cerrno>

#include "diff_copy.h"
#include "fs_at.h"
#include "kiln/session/session_providers.h"
#include "packet_stream.h"
#include "rpc_util.h"
#include "session/filesync/filesync.grpc.pb.h"
#include "session/secrets/secrets.grpc.pb.h"

namespace kiln::session {
namespace {

Status MakeDirs(const std::string& dir) {
  std::string cur;
  size_t start = 0;
  while (start <= dir.size()) {
    size_t slash = dir.find('/', start);
    if (slash == std::string::npos) slash = dir.size();
    cur = dir.substr(0, slash);
    if (!cur.empty() && mkdir(cur.c_str(), 0755) != 0 && errno != EEXIST) {
      return internal::ErrnoError("creating " + cur, errno);
    }
    start = slash + 1;
  }
  return Status::Ok();
}

}  // namespace

SessionLocalProvider::SessionLocalProvider(SessionManager& manager,
                                           std::string default_session)
    : manager_(manager), default_session_(std::move(default_session)) {}

std::string SessionLocalProvider::SessionFor(
    const std::string& session_id) const {
  return session_id.empty() ? default_session_ : session_id;
}

Result<solver::LocalSyncStats> SessionLocalProvider::Sync(
    const std::string& session_id, const std::string& name,
    const solver::LocalSyncOptions& options, const std::string& dest_dir,
    std::stop_token stop) {
  const std::string sid = SessionFor(session_id);
  const std::string what = "local \"" + name + "\" of session " + sid;
  KILN_ASSIGN_OR_RETURN(std::shared_ptr<Session> session,
                        manager_.Get(sid, stop));
  if (!session->Supports(kMethodFileSyncDiffCopy)) {
    return NotFoundError(what + ": the client shares no local directories");
  }
  KILN_RETURN_IF_ERROR(MakeDirs(dest_dir));
  grpc::ClientContext ctx;
  internal::AddMetadata(ctx, "dir-name", {name});
  if (!options.include_patterns.empty()) {
    internal::AddMetadata(ctx, "include-patterns", options.include_patterns);
  }
  if (!options.exclude_patterns.empty()) {
    internal::AddMetadata(ctx, "exclude-patterns", options.exclude_patterns);
  }
  if (!options.follow_paths.empty()) {
    internal::AddMetadata(ctx, "followpaths", options.follow_paths);
  }
  internal::CancelOnStop cancel(stop, ctx);
  moby::filesync::v1::FileSync::Stub stub(session->channel());
  auto stream = stub.DiffCopy(&ctx);
  internal::TypedPacketStream ps(stream.get(), &ctx);
  internal::ReceiveResult result;
  Status s = internal::ReceiveDiffCopy(ps, dest_dir, {}, result);
  if (s.ok()) stream->WritesDone();
  grpc::Status call = stream->Finish();
  {
    std::lock_guard lock(mu_);
    stats_ += result.stats;
  }
  manager_.AddTransferStats(result.stats);
  if (stop.stop_requested()) return CancelledError(what + ": cancelled");
  if (!s.ok()) {
    // The client refusing (unknown dir…) ends the call before any packet.
    if (!call.ok() &&
        (result.closed_early || s.code() == StatusCode::kUnavailable)) {
      return internal::FromGrpc(call, what);
    }
    return s.WithContext(what);
  }
  solver::LocalSyncStats out;
  out.files_copied = result.stats.files_written;
  out.bytes_copied = result.stats.data_bytes;
  out.files_unchanged = result.stats.files_unchanged;
  out.files_deleted = result.stats.entries_deleted;
  out.dirs = result.dirs;
  return out;
}

std::string SessionLocalProvider::SharedKey(const std::string& session_id,
                                            const std::string& name) {
  const std::string sid = SessionFor(session_id);
  auto session = manager_.Get(sid);
  if (!session.ok() || (*session)->shared_key().empty()) {
    return "session:" + sid + ":" + name;
  }
  return "key:" + (*session)->shared_key() + ":" + name;
}

TransferStats SessionLocalProvider::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

SessionSecretProvider::SessionSecretProvider(SessionManager& manager,
                                             std::string session_id)
    : manager_(manager), session_id_(std::move(session_id)) {}

Result<std::string> SessionSecretProvider::GetSecret(std::string_view id) {
  const std::string sid(id);
  KILN_ASSIGN_OR_RETURN(std::shared_ptr<Session> session,
                        manager_.Get(session_id_));
  if (!session->Supports(kMethodGetSecret)) {
    return NotFoundError("secret " + sid +
                         " not found: the client shares no secrets");
  }
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::minutes(2));
  moby::buildkit::secrets::v1::GetSecretRequest request;
  request.set_id(sid);
  moby::buildkit::secrets::v1::GetSecretResponse response;
  moby::buildkit::secrets::v1::Secrets::Stub stub(session->channel());
  grpc::Status st = stub.GetSecret(&ctx, request, &response);
  if (st.error_code() == grpc::StatusCode::NOT_FOUND ||
      st.error_code() == grpc::StatusCode::UNIMPLEMENTED) {
    return NotFoundError("secret " + sid + " not found");
  }
  if (!st.ok()) return internal::FromGrpc(st, "getting secret " + sid);
  return std::move(*response.mutable_data());
}

}  // namespace kiln::session
