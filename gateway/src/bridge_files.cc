// BridgeServer: ref ownership and the file RPCs (ReadFile, ReadDir,
// StatFile) over solved snapshots.
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>

#include "grpc_status.h"
#include "kiln/gateway/bridge_server.h"
#include "root_fs.h"

namespace kiln::gateway {
namespace {

// A private mountpoint: <TMPDIR>/kiln-gateway-ref-XXXXXX (mode 0700, so no
// other user can reach what is mounted below it) holding "root".
Result<std::string> MakeMountpoint() {
  const char* tmp = getenv("TMPDIR");
  std::string pattern =
      std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") +
      "/kiln-gateway-ref-XXXXXX";
  if (mkdtemp(pattern.data()) == nullptr) {
    return InternalError("creating a mountpoint: " +
                         std::string(std::strerror(errno)));
  }
  std::string root = pattern + "/root";
  if (mkdir(root.c_str(), 0700) != 0) {
    std::string err = std::strerror(errno);
    rmdir(pattern.c_str());
    return InternalError("creating a mountpoint: " + err);
  }
  return root;
}

void RemoveMountpoint(const std::string& root) {
  rmdir(root.c_str());
  rmdir(root.substr(0, root.rfind('/')).c_str());
}

}  // namespace

Result<std::string> BridgeServer::RefRoot(const std::string& id) {
  if (id.empty()) {
    return InvalidArgumentError("empty ref (scratch) has no files");
  }
  std::lock_guard<std::mutex> lock(mu_);
  auto it = refs_.find(id);
  if (it == refs_.end()) {
    return InvalidArgumentError("unknown ref " + id +
                                " (not a result of this build)");
  }
  OwnedRef& ref = it->second;
  if (!ref.root.empty()) return ref.root;
  KILN_ASSIGN_OR_RETURN(std::vector<solver::Mount> mounts,
                        env_.snapshots->Mounts(ref.snapshot));
  if (mounts.size() != 1) {
    return InternalError("ref " + id + ": snapshot " + ref.snapshot + " has " +
                         std::to_string(mounts.size()) + " mounts, want 1");
  }
  const solver::Mount& m = mounts[0];
  if (m.type == "bind") {
    ref.root = m.source;
    return ref.root;
  }
  KILN_ASSIGN_OR_RETURN(std::string dir, MakeMountpoint());
  std::string options;
  for (const std::string& o : m.options) {
    options += (options.empty() ? "" : ",") + o;
  }
  // Only read here: no setuid programs, devices or execution through it.
  if (mount(m.source.c_str(), dir.c_str(), m.type.c_str(),
            MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
            options.c_str()) != 0) {
    std::string err = std::strerror(errno);
    RemoveMountpoint(dir);
    return InternalError("ref " + id + ": mounting snapshot " + ref.snapshot +
                         " (" + m.type + "): " + err);
  }
  ref.mountpoint = dir;
  ref.root = dir;
  return ref.root;
}

BridgeServer::~BridgeServer() {
  for (auto& [id, ref] : refs_) {
    if (ref.mountpoint.empty()) continue;
    umount2(ref.mountpoint.c_str(), MNT_DETACH);
    RemoveMountpoint(ref.mountpoint);
  }
}

grpc::Status BridgeServer::ReadFile(grpc::ServerContext*,
                                    const bridge_pb::ReadFileRequest* req,
                                    bridge_pb::ReadFileResponse* resp) {
  CallScope scope(this);
  Result<std::string> root = RefRoot(req->ref());
  if (!root.ok()) return ToGrpc(root.status());
  std::optional<ByteRange> range;
  if (req->has_range()) {
    range = ByteRange{req->range().offset(), req->range().length()};
  }
  Result<std::string> data = ReadFileInRoot(*root, req->filepath(), range);
  if (!data.ok()) return ToGrpc(data.status());
  resp->set_data(std::move(*data));
  return grpc::Status::OK;
}

grpc::Status BridgeServer::ReadDir(grpc::ServerContext*,
                                   const bridge_pb::ReadDirRequest* req,
                                   bridge_pb::ReadDirResponse* resp) {
  CallScope scope(this);
  Result<std::string> root = RefRoot(req->ref());
  if (!root.ok()) return ToGrpc(root.status());
  auto entries = ReadDirInRoot(*root, req->dirpath(), req->includepattern());
  if (!entries.ok()) return ToGrpc(entries.status());
  for (fsutil::types::Stat& st : *entries) {
    *resp->add_entries() = std::move(st);
  }
  return grpc::Status::OK;
}

grpc::Status BridgeServer::StatFile(grpc::ServerContext*,
                                    const bridge_pb::StatFileRequest* req,
                                    bridge_pb::StatFileResponse* resp) {
  CallScope scope(this);
  Result<std::string> root = RefRoot(req->ref());
  if (!root.ok()) return ToGrpc(root.status());
  Result<fsutil::types::Stat> st = StatInRoot(*root, req->path());
  if (!st.ok()) return ToGrpc(st.status());
  *resp->mutable_stat() = std::move(*st);
  return grpc::Status::OK;
}

}  // namespace kiln::gateway
