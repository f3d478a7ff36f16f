// The attachable services a ClientSession serves over its tunnel. Private
// to kiln_session.
//
// Thread safety: services are called concurrently by gRPC; ClientState's
// counters are guarded by its mutex, the rest is immutable after Start.
#ifndef KILN_SESSION_SRC_CLIENT_SERVICES_H_
#define KILN_SESSION_SRC_CLIENT_SERVICES_H_

#include <grpcpp/impl/service_type.h>

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "kiln/session/client_session.h"
#include "kiln/session/transfer_stats.h"

namespace kiln::session::internal {

// An export received whole under a temporary name, waiting for the build's
// verdict: ClientSession::CommitExports renames it to `path`,
// DiscardExports removes it.
struct PendingExport {
  std::string temp;
  std::string path;
};

struct ClientState {
  ClientSessionOptions options;
  std::atomic<bool> transport_done{false};  // the Control.Session call ended
  std::mutex mu;
  std::condition_variable idle;        // notified when `receiving` drops to 0
  TransferStats sent;                  // guarded by mu
  TransferStats exported;              // guarded by mu
  int receiving = 0;                   // guarded by mu: FileSend calls running
  std::vector<PendingExport> pending;  // guarded by mu
};

// Each returns the service and appends the methods it serves to `methods`.
std::unique_ptr<grpc::Service> MakeFileSyncService(
    ClientState& state, std::vector<std::string>& methods);
std::unique_ptr<grpc::Service> MakeFileSendService(
    ClientState& state, std::vector<std::string>& methods);
std::unique_ptr<grpc::Service> MakeSecretsService(
    ClientState& state, std::vector<std::string>& methods);
std::unique_ptr<grpc::Service> MakeSshService(
    ClientState& state, std::vector<std::string>& methods);

}  // namespace kiln::session::internal

#endif  // KILN_SESSION_SRC_CLIENT_SERVICES_H_
