// kilnd's moby.buildkit.v1.Control service (control-api.md §1) over the
// engine of one state root (the CLI's Root: the same stores, solver,
// frontend runner and exporters as `kiln build`).
//
//   Solve        a Definition or a Frontend (+FrontendAttrs, FrontendInputs)
//                for the client's Ref, then its Exporters (field 13, or the
//                deprecated single exporter 3/4). Exporters writing to the
//                client (local, tar, oci, docker) send through the client's
//                session (FileSend, exporter id = the exporter's index);
//                image writes the daemon's image store. Entitlements are
//                granted only when the config's insecure-entitlements allows
//                them (PermissionDenied otherwise). Cache import/export is
//                Unimplemented. A client that cancels its call cancels its
//                build only; during shutdown Solve is Unavailable.
//   Status       the Ref's progress from the start (also before Solve
//                arrives), ended when the build ends.
//   Session      the client's session tunnel (session_hub.h).
//   ListWorkers  one worker: id, labels, platform, GC policies.
//   Info         kiln's version.
//   DiskUsage, Prune  the solver's (gc.h).
//
// Thread safety: gRPC calls the handlers concurrently; the service is
// thread-safe. Borrowed objects must outlive it.
#ifndef KILN_CMD_KILND_CONTROL_SERVICE_H_
#define KILN_CMD_KILND_CONTROL_SERVICE_H_

#include <string>

#include "api/services/control/control.grpc.pb.h"
#include "kilnd/build_registry.h"
#include "kilnd/daemon_config.h"
#include "kilnd/session_hub.h"
#include "state_root.h"

namespace kiln::kilnd {

namespace wire = ::moby::buildkit::v1;

class ControlService final : public wire::Control::Service {
 public:
  ControlService(cli::Root& root, BuildRegistry& builds, SessionHub& sessions,
                 const DaemonConfig& config);

  grpc::Status Solve(grpc::ServerContext* context,
                     const wire::SolveRequest* request,
                     wire::SolveResponse* response) override;
  grpc::Status Status(
      grpc::ServerContext* context, const wire::StatusRequest* request,
      grpc::ServerWriter<wire::StatusResponse>* writer) override;
  grpc::Status Session(
      grpc::ServerContext* context,
      grpc::ServerReaderWriter<wire::BytesMessage, wire::BytesMessage>* stream)
      override;
  grpc::Status ListWorkers(grpc::ServerContext* context,
                           const wire::ListWorkersRequest* request,
                           wire::ListWorkersResponse* response) override;
  grpc::Status Info(grpc::ServerContext* context,
                    const wire::InfoRequest* request,
                    wire::InfoResponse* response) override;
  grpc::Status DiskUsage(grpc::ServerContext* context,
                         const wire::DiskUsageRequest* request,
                         wire::DiskUsageResponse* response) override;
  grpc::Status Prune(grpc::ServerContext* context,
                     const wire::PruneRequest* request,
                     grpc::ServerWriter<wire::UsageRecord>* writer) override;

 private:
  cli::Root& root_;
  BuildRegistry& builds_;
  SessionHub& sessions_;
  const DaemonConfig& config_;
};

}  // namespace kiln::kilnd

#endif  // KILN_CMD_KILND_CONTROL_SERVICE_H_
