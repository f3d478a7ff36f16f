// kiln du / kiln prune against kilnd (Control.DiskUsage / Control.Prune).
#include "api/services/control/control.grpc.pb.h"
#include "cache_usage.h"
#include "control/rpc_status.h"
#include "remote.h"

namespace kiln::cli {
namespace {

namespace wire = ::moby::buildkit::v1;

int64_t Ns(const google::protobuf::Timestamp& t) {
  return t.seconds() * 1000000000 + t.nanos();
}

solver::UsageRecord FromWire(const wire::UsageRecord& r) {
  solver::UsageRecord out;
  out.id = r.id();
  out.type = r.recordtype();
  out.description = r.description();
  out.size = r.size();
  out.created_at_ns = r.has_createdat() ? Ns(r.createdat()) : 0;
  out.last_used_at_ns = r.has_lastusedat() ? Ns(r.lastusedat()) : 0;
  out.usage_count = r.usagecount();
  out.in_use = r.inuse();
  out.is_mutable = r.mutable_();
  out.shared = r.shared();
  out.parents.assign(r.parents().begin(), r.parents().end());
  return out;
}

class DaemonCacheUsage : public CacheUsage {
 public:
  explicit DaemonCacheUsage(std::shared_ptr<grpc::Channel> channel)
      : stub_(wire::Control::NewStub(std::move(channel))) {}

  Result<std::vector<solver::UsageRecord>> DiskUsage(
      const std::vector<std::string>& filters) override {
    wire::DiskUsageRequest request;
    for (const std::string& f : filters) request.add_filter(f);
    wire::DiskUsageResponse response;
    grpc::ClientContext context;
    KILN_RETURN_IF_ERROR(control::FromGrpcStatus(
        stub_->DiskUsage(&context, request, &response)));
    std::vector<solver::UsageRecord> out;
    for (const wire::UsageRecord& r : response.record()) {
      out.push_back(FromWire(r));
    }
    return out;
  }

  Result<std::vector<solver::UsageRecord>> Prune(
      const solver::PruneOptions& options) override {
    wire::PruneRequest request;
    for (const std::string& f : options.filters) request.add_filter(f);
    request.set_all(options.all);
    request.set_keepduration(options.keep_duration_ns);
    request.set_reservedspace(options.reserved_space);
    request.set_maxusedspace(options.max_used_space);
    request.set_minfreespace(options.min_free_space);
    grpc::ClientContext context;
    auto reader = stub_->Prune(&context, request);
    std::vector<solver::UsageRecord> out;
    wire::UsageRecord r;
    while (reader->Read(&r)) out.push_back(FromWire(r));
    KILN_RETURN_IF_ERROR(control::FromGrpcStatus(reader->Finish()));
    return out;
  }

  int64_t DiskBytes() override { return 0; }

 private:
  std::unique_ptr<wire::Control::Stub> stub_;
};

}  // namespace

Result<std::unique_ptr<CacheUsage>> RemoteCacheUsage(
    const RemoteOptions& options) {
  KILN_ASSIGN_OR_RETURN(control::Address address,
                        control::ParseAddress(options.addr));
  KILN_ASSIGN_OR_RETURN(std::shared_ptr<grpc::Channel> channel,
                        control::DialDaemon(address, options.tls));
  return std::unique_ptr<CacheUsage>(
      std::make_unique<DaemonCacheUsage>(std::move(channel)));
}

}  // namespace kiln::cli
