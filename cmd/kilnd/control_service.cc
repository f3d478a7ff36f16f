// The Control handlers other than Solve (solve_handler.cc).
#include "kilnd/control_service.h"

#include <unistd.h>

#include <chrono>

#include "control/rpc_status.h"
#include "kiln/llb/platform.h"
#include "kiln/solver/snapshotter.h"

#ifndef KILN_VERSION
#error "KILN_VERSION must be defined by the build"
#endif

namespace kiln::kilnd {
namespace {

void SetTimeNs(int64_t ns, google::protobuf::Timestamp* out) {
  out->set_seconds(ns / 1000000000);
  out->set_nanos(static_cast<int32_t>(ns % 1000000000));
}

void ToWire(const solver::UsageRecord& r, wire::UsageRecord* out) {
  out->set_id(r.id);
  out->set_mutable_(r.is_mutable);
  out->set_inuse(r.in_use);
  out->set_size(r.size);
  if (r.created_at_ns != 0)
    SetTimeNs(r.created_at_ns, out->mutable_createdat());
  if (r.last_used_at_ns != 0) {
    SetTimeNs(r.last_used_at_ns, out->mutable_lastusedat());
  }
  out->set_usagecount(r.usage_count);
  out->set_description(r.description);
  out->set_recordtype(r.type);
  out->set_shared(r.shared);
  for (const std::string& p : r.parents) out->add_parents(p);
}

std::string Hostname() {
  char name[256] = {};
  if (gethostname(name, sizeof name - 1) != 0) return "localhost";
  return name;
}

}  // namespace

ControlService::ControlService(cli::Root& root, BuildRegistry& builds,
                               SessionHub& sessions, const DaemonConfig& config)
    : root_(root), builds_(builds), sessions_(sessions), config_(config) {}

grpc::Status ControlService::Status(
    grpc::ServerContext* context, const wire::StatusRequest* request,
    grpc::ServerWriter<wire::StatusResponse>* writer) {
  if (request->ref().empty()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "status: missing ref");
  }
  std::shared_ptr<ProgressLog> log = builds_.Progress(request->ref());
  size_t next = 0;
  bool done = false;
  grpc::Status result = grpc::Status::OK;
  while (!done) {
    if (context->IsCancelled()) {
      result = grpc::Status(grpc::StatusCode::CANCELLED, "status cancelled");
      break;
    }
    for (const wire::StatusResponse& r :
         log->Read(next, std::chrono::milliseconds(200), done)) {
      if (!writer->Write(r)) {
        done = true;
        result = grpc::Status(grpc::StatusCode::CANCELLED,
                              "status: the client went away");
        break;
      }
    }
  }
  builds_.Release(request->ref());
  return result;
}

grpc::Status ControlService::Session(
    grpc::ServerContext* context,
    grpc::ServerReaderWriter<wire::BytesMessage, wire::BytesMessage>* stream) {
  return sessions_.Serve(context, stream);
}

grpc::Status ControlService::ListWorkers(grpc::ServerContext*,
                                         const wire::ListWorkersRequest*,
                                         wire::ListWorkersResponse* response) {
  auto* worker = response->add_record();
  const std::string host = Hostname();
  worker->set_id(host);
  auto& labels = *worker->mutable_labels();
  labels["org.mobyproject.buildkit.worker.executor"] = "oci";
  labels["org.mobyproject.buildkit.worker.hostname"] = host;
  labels["org.mobyproject.buildkit.worker.network"] = "host";
  if (auto snapshots = root_.Snapshots(); snapshots.ok()) {
    labels["org.mobyproject.buildkit.worker.snapshotter"] =
        std::string(solver::SnapshotterKindName((*snapshots)->kind()));
  }
  if (std::string error = root_.executor_error(); !error.empty()) {
    labels["org.kiln.worker.executor-error"] = error;
  }
  llb::ToProto(llb::HostPlatform(), worker->add_platforms());
  for (const solver::PruneOptions& p : root_.gc_policies()) {
    auto* policy = worker->add_gcpolicy();
    policy->set_all(p.all);
    policy->set_keepduration(p.keep_duration_ns);
    policy->set_reservedspace(p.reserved_space);
    policy->set_maxusedspace(p.max_used_space);
    policy->set_minfreespace(p.min_free_space);
    for (const std::string& f : p.filters) policy->add_filters(f);
  }
  auto* version = worker->mutable_buildkitversion();
  version->set_package("kiln");
  version->set_version(KILN_VERSION);
  return grpc::Status::OK;
}

grpc::Status ControlService::Info(grpc::ServerContext*,
                                  const wire::InfoRequest*,
                                  wire::InfoResponse* response) {
  auto* version = response->mutable_buildkitversion();
  version->set_package("kiln");
  version->set_version(KILN_VERSION);
  return grpc::Status::OK;
}

grpc::Status ControlService::DiskUsage(grpc::ServerContext*,
                                       const wire::DiskUsageRequest* request,
                                       wire::DiskUsageResponse* response) {
  auto solver = root_.Solver();
  if (!solver.ok()) return control::ToGrpcStatus(solver.status());
  std::vector<std::string> filters(request->filter().begin(),
                                   request->filter().end());
  auto records = (*solver)->DiskUsage(filters);
  if (!records.ok()) return control::ToGrpcStatus(records.status());
  for (const solver::UsageRecord& r : *records)
    ToWire(r, response->add_record());
  return grpc::Status::OK;
}

grpc::Status ControlService::Prune(
    grpc::ServerContext*, const wire::PruneRequest* request,
    grpc::ServerWriter<wire::UsageRecord>* writer) {
  auto solver = root_.Solver();
  if (!solver.ok()) return control::ToGrpcStatus(solver.status());
  solver::PruneOptions options{
      .filters = {request->filter().begin(), request->filter().end()},
      .all = request->all(),
      .keep_duration_ns = request->keepduration(),
      .reserved_space = request->reservedspace(),
      .max_used_space = request->maxusedspace(),
      .min_free_space = request->minfreespace()};
  auto removed = (*solver)->Prune(options);
  if (!removed.ok()) return control::ToGrpcStatus(removed.status());
  for (const solver::UsageRecord& r : *removed) {
    wire::UsageRecord record;
    ToWire(r, &record);
    if (!writer->Write(record)) break;
  }
  return grpc::Status::OK;
}

}  // namespace kiln::kilnd
