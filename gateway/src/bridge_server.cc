// BridgeServer: Ping, image config resolution, Solve/Evaluate, Return and
// the small RPCs. File RPCs and ref mounting are in bridge_files.cc.
#include "kiln/gateway/bridge_server.h"

#include <array>
#include <random>
#include <utility>

#include "grpc_status.h"
#include "kiln/gateway/rpc_error.h"
#include "kiln/llb/caps.h"
#include "kiln/llb/definition.h"
#include "kiln/solver/graph.h"

namespace kiln::gateway {
namespace {

// Frontend API caps of the RPCs implemented here (reference/gateway.md §3),
// sorted by id. The Go SDK switches behaviour on these: list only what works.
constexpr std::array<std::string_view, 14> kFrontendCaps = {
    "frontend.inputs",
    "gateway.evaluate",
    "gateway.solve.evaluate",
    "gateway.warnings",
    "proto.refarray",
    "readdir",
    "readfile",
    "reference.output",
    "resolveimage",
    "resolveimage.resolvemode",
    "return",
    "returnmap",
    "solve.base",
    "statfile"};

void AddCap(
    std::string_view id,
    google::protobuf::RepeatedPtrField<moby::buildkit::v1::apicaps::APICap>*
        caps) {
  moby::buildkit::v1::apicaps::APICap* cap = caps->Add();
  cap->set_id(std::string(id));
  cap->set_enabled(true);
}

std::string RandomRefId() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id;
  for (int i = 0; i < 2; ++i) {
    uint64_t v = rng();
    for (int j = 0; j < 16; ++j, v >>= 4) id.push_back(kHex[v & 0xf]);
  }
  return id;
}

}  // namespace

BridgeServer::BridgeServer(BuildEnv env) : env_(std::move(env)) {
  activity_.last_call = std::chrono::steady_clock::now();
}

BridgeServer::CallScope::CallScope(const BridgeServer* server)
    : server_(server) {
  std::lock_guard<std::mutex> lock(server_->mu_);
  ++server_->activity_.in_progress;
  server_->activity_.last_call = std::chrono::steady_clock::now();
}

BridgeServer::CallScope::~CallScope() {
  std::lock_guard<std::mutex> lock(server_->mu_);
  --server_->activity_.in_progress;
  server_->activity_.last_call = std::chrono::steady_clock::now();
}

BridgeActivity BridgeServer::activity() const {
  std::lock_guard<std::mutex> lock(mu_);
  return activity_;
}

std::optional<pb::Definition> BridgeServer::definition(
    const std::string& id) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = refs_.find(id);
  if (it == refs_.end()) return std::nullopt;
  return it->second.def;
}

std::string BridgeServer::AddRefLocked(const std::string& snapshot,
                                       const llb::Platform& platform,
                                       const pb::Definition& def) {
  std::string id;
  do {
    id = RandomRefId();
  } while (refs_.contains(id));
  refs_[id] = OwnedRef{.snapshot = snapshot,
                       .platform = platform,
                       .def = def,
                       .mountpoint = "",
                       .root = ""};
  return id;
}

std::optional<FinalResult> BridgeServer::result() const {
  std::lock_guard<std::mutex> lock(mu_);
  return final_;
}

std::vector<Warning> BridgeServer::warnings() const {
  std::lock_guard<std::mutex> lock(mu_);
  return warnings_;
}

std::vector<std::string> BridgeServer::ref_ids() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> ids;
  for (const auto& [id, ref] : refs_) ids.push_back(id);
  return ids;
}

grpc::Status BridgeServer::Ping(grpc::ServerContext*,
                                const bridge_pb::PingRequest*,
                                bridge_pb::PongResponse* resp) {
  CallScope scope(this);
  for (std::string_view id : kFrontendCaps) {
    if (env_.images == nullptr && id.starts_with("resolveimage")) continue;
    AddCap(id, resp->mutable_frontendapicaps());
  }
  for (const std::string& id : llb::caps::AllLlbCaps()) {
    AddCap(id, resp->mutable_llbcaps());
  }
  moby::buildkit::v1::types::WorkerRecord* worker = resp->add_workers();
  worker->set_id("kiln");
  // The engine's native platform (frontends take it as BUILDPLATFORM), not
  // the request's default target platform.
  llb::ToProto(llb::HostPlatform(), worker->add_platforms());
  return grpc::Status::OK;
}

grpc::Status BridgeServer::ResolveImageConfig(
    grpc::ServerContext*, const bridge_pb::ResolveImageConfigRequest* req,
    bridge_pb::ResolveImageConfigResponse* resp) {
  CallScope scope(this);
  if (env_.images == nullptr) {
    return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                        "resolve image config " + req->ref() +
                            ": no image source in this build");
  }
  if (req->sourcepolicies_size() > 0) {
    return Unimplemented("source policies in ResolveImageConfig");
  }
  llb::Platform platform = req->has_platform() ? llb::FromProto(req->platform())
                           : env_.base_request.platform.os.empty()
                               ? llb::HostPlatform()
                               : env_.base_request.platform;
  if (req->resolvertype() != 0 && req->resolvertype() != 1) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "resolve image config " + req->ref() +
                            ": unknown resolver type " +
                            std::to_string(req->resolvertype()));
  }
  Result<solver::ResolveMode> mode =
      solver::ParseResolveMode(req->resolvemode());
  if (!mode.ok()) return ToGrpc(mode.status());
  Result<solver::ImageConfigResolution> resolved =
      req->resolvertype() == 1
          ? env_.images->ResolveOciLayoutConfig(req->storeid(), req->ref(),
                                                platform)
          : env_.images->ResolveImageConfig(req->ref(), platform, *mode);
  if (!resolved.ok()) return ToGrpc(resolved.status());
  resp->set_digest(resolved->digest.str());
  resp->set_config(resolved->config);
  resp->set_ref(resolved->ref);
  return grpc::Status::OK;
}

grpc::Status BridgeServer::ResolveSourceMeta(
    grpc::ServerContext*, const bridge_pb::ResolveSourceMetaRequest*,
    bridge_pb::ResolveSourceMetaResponse*) {
  CallScope scope(this);
  return Unimplemented("ResolveSourceMeta");
}

Result<ResultRef> BridgeServer::SolveDefinition(const pb::Definition& def) {
  KILN_ASSIGN_OR_RETURN(llb::LoadedDefinition loaded, llb::LoadDefinition(def));
  // Default options: the graph accepts AllLlbCaps(), what Ping advertises.
  KILN_ASSIGN_OR_RETURN(solver::Graph graph, solver::BuildGraph(loaded));
  KILN_ASSIGN_OR_RETURN(
      solver::SolveResult solved,
      env_.solver->Solve(graph, env_.base_request, stop_.get_token()));
  ResultRef ref;
  ref.snapshot = solved.snapshot;
  ref.platform = solved.platform;
  if (solved.snapshot.empty()) return ref;  // empty result: id ""
  std::lock_guard<std::mutex> lock(mu_);
  ref.id = AddRefLocked(ref.snapshot, ref.platform, def);
  return ref;
}

grpc::Status BridgeServer::Solve(grpc::ServerContext*,
                                 const bridge_pb::SolveRequest* req,
                                 bridge_pb::SolveResponse* resp) {
  CallScope scope(this);
  bool has_def = req->has_definition() && req->definition().def_size() > 0;
  if (has_def && !req->frontend().empty()) {
    return grpc::Status(
        grpc::StatusCode::INVALID_ARGUMENT,
        "cannot solve with both Definition and Frontend specified");
  }
  if (req->final()) {
    return Unimplemented("Solve with Final (inline return; use Return)");
  }
  if (req->sourcepolicies_size() > 0) return Unimplemented("source policies");
  if (!req->frontend().empty()) return SolveNested(*req, resp);
  // CacheImports are hints: results are the same without them.
  ResultRef ref;
  if (has_def) {
    Result<ResultRef> solved = SolveDefinition(req->definition());
    if (!solved.ok()) return ToGrpc(solved.status());
    ref = std::move(*solved);
  }
  // Refs are always evaluated here, so Evaluate needs no extra work.
  if (!req->allowresultreturn()) {
    resp->set_ref(ref.id);
    return grpc::Status::OK;
  }
  bridge_pb::Result* result = resp->mutable_result();
  if (req->allowresultarrayref()) {
    bridge_pb::Ref* out = result->mutable_ref();
    out->set_id(ref.id);
    if (has_def) *out->mutable_def() = req->definition();
  } else {
    result->set_refdeprecated(ref.id);
  }
  return grpc::Status::OK;
}

grpc::Status BridgeServer::Evaluate(grpc::ServerContext*,
                                    const bridge_pb::EvaluateRequest* req,
                                    bridge_pb::EvaluateResponse*) {
  CallScope scope(this);
  if (req->ref().empty()) return grpc::Status::OK;
  std::lock_guard<std::mutex> lock(mu_);
  if (!refs_.contains(req->ref())) {
    return grpc::Status(
        grpc::StatusCode::INVALID_ARGUMENT,
        "unknown ref " + req->ref() + " (not a result of this build)");
  }
  return grpc::Status::OK;
}

grpc::Status BridgeServer::Return(grpc::ServerContext*,
                                  const bridge_pb::ReturnRequest* req,
                                  bridge_pb::ReturnResponse*) {
  CallScope scope(this);
  FinalResult returned;
  std::lock_guard<std::mutex> lock(mu_);
  if (final_.has_value()) {
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                        "gateway result is already set");
  }
  auto owned = [&](const std::string& id) -> Result<ResultRef> {
    if (id.empty()) return ResultRef{};
    auto it = refs_.find(id);
    if (it == refs_.end()) {
      return InvalidArgumentError("unknown ref " + id +
                                  " (not a result of this build)");
    }
    return ResultRef{id, it->second.snapshot, it->second.platform};
  };
  if (req->has_error()) {
    returned.error = FromRpcStatus(req->error());
  } else {
    const bridge_pb::Result& r = req->result();
    if (r.attestations_size() > 0) {
      return Unimplemented("attestations in a returned result");
    }
    switch (r.result_case()) {
      case bridge_pb::Result::kRef:
      case bridge_pb::Result::kRefDeprecated: {
        const std::string& id = r.result_case() == bridge_pb::Result::kRef
                                    ? r.ref().id()
                                    : r.refdeprecated();
        Result<ResultRef> ref = owned(id);
        if (!ref.ok()) return ToGrpc(ref.status());
        returned.ref = std::move(*ref);
        break;
      }
      case bridge_pb::Result::kRefs:
        for (const auto& [key, value] : r.refs().refs()) {
          Result<ResultRef> ref = owned(value.id());
          if (!ref.ok()) return ToGrpc(ref.status());
          returned.refs[key] = std::move(*ref);
        }
        break;
      case bridge_pb::Result::kRefsDeprecated:
        for (const auto& [key, id] : r.refsdeprecated().refs()) {
          Result<ResultRef> ref = owned(id);
          if (!ref.ok()) return ToGrpc(ref.status());
          returned.refs[key] = std::move(*ref);
        }
        break;
      case bridge_pb::Result::RESULT_NOT_SET:
        break;
    }
    for (const auto& [key, value] : r.metadata())
      returned.metadata[key] = value;
  }
  final_ = std::move(returned);
  return grpc::Status::OK;
}

grpc::Status BridgeServer::Inputs(grpc::ServerContext*,
                                  const bridge_pb::InputsRequest*,
                                  bridge_pb::InputsResponse* resp) {
  CallScope scope(this);
  for (const auto& [name, def] : env_.inputs) {
    (*resp->mutable_definitions())[name] = def;
  }
  return grpc::Status::OK;
}

grpc::Status BridgeServer::Warn(grpc::ServerContext*,
                                const bridge_pb::WarnRequest* req,
                                bridge_pb::WarnResponse*) {
  CallScope scope(this);
  Warning w;
  w.vertex = req->digest();
  w.level = req->level();
  w.short_text = req->short_();
  w.detail.assign(req->detail().begin(), req->detail().end());
  w.url = req->url();
  if (req->has_info()) w.filename = req->info().filename();
  for (const pb::Range& r : req->ranges()) {
    w.ranges.push_back(SourceRange{.file = w.filename,
                                   .line = r.start().line(),
                                   .column = r.start().character(),
                                   .end_line = r.end().line(),
                                   .end_column = r.end().character()});
  }
  std::lock_guard<std::mutex> lock(mu_);
  warnings_.push_back(std::move(w));
  return grpc::Status::OK;
}

grpc::Status BridgeServer::NewContainer(grpc::ServerContext*,
                                        const bridge_pb::NewContainerRequest*,
                                        bridge_pb::NewContainerResponse*) {
  CallScope scope(this);
  return Unimplemented("NewContainer (gateway containers)");
}

grpc::Status BridgeServer::ReleaseContainer(
    grpc::ServerContext*, const bridge_pb::ReleaseContainerRequest*,
    bridge_pb::ReleaseContainerResponse*) {
  CallScope scope(this);
  return Unimplemented("ReleaseContainer (gateway containers)");
}

grpc::Status BridgeServer::ExecProcess(
    grpc::ServerContext*,
    grpc::ServerReaderWriter<bridge_pb::ExecMessage, bridge_pb::ExecMessage>*) {
  CallScope scope(this);
  return Unimplemented("ExecProcess (gateway containers)");
}

grpc::Status BridgeServer::ReadFileContainer(grpc::ServerContext*,
                                             const bridge_pb::ReadFileRequest*,
                                             bridge_pb::ReadFileResponse*) {
  CallScope scope(this);
  return Unimplemented("ReadFileContainer (gateway containers)");
}

grpc::Status BridgeServer::ReadDirContainer(grpc::ServerContext*,
                                            const bridge_pb::ReadDirRequest*,
                                            bridge_pb::ReadDirResponse*) {
  CallScope scope(this);
  return Unimplemented("ReadDirContainer (gateway containers)");
}

grpc::Status BridgeServer::StatFileContainer(grpc::ServerContext*,
                                             const bridge_pb::StatFileRequest*,
                                             bridge_pb::StatFileResponse*) {
  CallScope scope(this);
  return Unimplemented("StatFileContainer (gateway containers)");
}

}  // namespace kiln::gateway
