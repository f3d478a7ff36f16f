#include "kiln/sdk/client.h"

#include <fcntl.h>
#include <grpcpp/client_context.h>
#include <grpcpp/create_channel_posix.h>
#include <grpcpp/support/channel_arguments.h>

#include <algorithm>
#include <chrono>
#include <utility>

#include "frontend/gateway/pb/gateway.grpc.pb.h"
#include "kiln/sdk/client_grpc.h"
#include "rpc_status.h"

namespace kiln::sdk {

namespace gw = moby::buildkit::v1::frontend;

namespace {

// The message limit both sides configure upstream (gateway.md §6.4).
constexpr int kMaxMessageBytes = 16 << 20;
constexpr auto kPingTimeout = std::chrono::seconds(15);

FileStat FromProto(const fsutil::types::Stat& s) {
  return FileStat{.path = s.path(),
                  .mode = s.mode(),
                  .uid = s.uid(),
                  .gid = s.gid(),
                  .size = s.size(),
                  .mod_time_ns = s.modtime(),
                  .linkname = s.linkname()};
}

// What the Go SDK assumes when the engine's Pong omits a list.
const std::vector<std::string>& DefaultFrontendCaps() {
  static const std::vector<std::string> caps = {
      "solve.base", "solve.inlinereturn", "resolveimage", "readfile"};
  return caps;
}
const std::vector<std::string>& DefaultLLBCaps() {
  static const std::vector<std::string> caps = {
      "source.image",
      "source.local",
      "source.local.unique",
      "source.local.sessionid",
      "source.local.includepatterns",
      "source.local.followpaths",
      "source.local.excludepatterns",
      "source.local.sharedkeyhint",
      "source.git",
      "source.git.keepgitdir",
      "source.git.fullurl",
      "source.http",
      "source.http.checksum",
      "source.http.perm",
      "soruce.http.uidgid",  // sic: upstream's id
      "source.buildop.llbfilename",
      "exec.meta.base",
      "exec.meta.proxyenv",
      "exec.mount.bind",
      "exec.mount.cache",
      "exec.mount.cache.sharing",
      "exec.mount.selector",
      "exec.mount.tmpfs",
      "exec.mount.secret",
      "constraints",
      "platform",
      "meta.ignorecache",
      "meta.description",
      "meta.exportcache"};
  return caps;
}

bool Contains(const std::vector<std::string>& ids, const std::string& id) {
  return std::find(ids.begin(), ids.end(), id) != ids.end();
}

}  // namespace

bool Capabilities::HasFrontendCap(const std::string& id) const {
  return Contains(frontend, id);
}
bool Capabilities::HasLLBCap(const std::string& id) const {
  return Contains(llb, id);
}

class Client::Impl {
 public:
  explicit Impl(std::shared_ptr<grpc::Channel> channel)
      : stub_(gw::LLBBridge::NewStub(std::move(channel))) {}
  gw::LLBBridge::Stub& stub() { return *stub_; }
  std::vector<llb::Platform> worker_platforms;  // from the last Ping

 private:
  std::unique_ptr<gw::LLBBridge::Stub> stub_;
};

std::unique_ptr<Client> ClientFromChannel(
    std::shared_ptr<grpc::Channel> channel) {
  return std::make_unique<Client>(
      std::make_unique<Client::Impl>(std::move(channel)));
}

Result<std::unique_ptr<Client>> Client::FromFd(int fd) {
  if (fd < 0 || fcntl(fd, F_GETFD) < 0) {
    return InvalidArgumentError("bridge connection: fd " + std::to_string(fd) +
                                " is not an open descriptor");
  }
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(kMaxMessageBytes);
  args.SetMaxSendMessageSize(kMaxMessageBytes);
  return ClientFromChannel(
      grpc::CreateCustomInsecureChannelFromFd("localhost", fd, args));
}

Client::Client(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Client::~Client() = default;

Result<Capabilities> Client::Ping() {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + kPingTimeout);
  gw::PingRequest req;
  gw::PongResponse resp;
  KILN_RETURN_IF_ERROR(internal::FromGrpcStatus(
      impl_->stub().Ping(&ctx, req, &resp), "bridge Ping"));
  Capabilities caps;
  for (const auto& cap : resp.frontendapicaps()) {
    if (cap.enabled()) caps.frontend.push_back(cap.id());
  }
  for (const auto& cap : resp.llbcaps()) {
    if (cap.enabled()) caps.llb.push_back(cap.id());
  }
  if (resp.workers_size() > 0) {
    for (const auto& p : resp.workers(0).platforms()) {
      caps.worker_platforms.push_back(llb::FromProto(p));
    }
  }
  impl_->worker_platforms = caps.worker_platforms;
  if (resp.frontendapicaps_size() == 0) caps.frontend = DefaultFrontendCaps();
  if (resp.llbcaps_size() == 0) caps.llb = DefaultLLBCaps();
  return caps;
}

const std::vector<llb::Platform>& Client::WorkerPlatforms() const {
  return impl_->worker_platforms;
}

Result<ImageConfig> Client::ResolveImageConfig(
    const std::string& ref, const std::optional<llb::Platform>& platform) {
  grpc::ClientContext ctx;
  gw::ResolveImageConfigRequest req;
  req.set_ref(ref);
  if (platform) llb::ToProto(*platform, req.mutable_platform());
  gw::ResolveImageConfigResponse resp;
  KILN_RETURN_IF_ERROR(internal::FromGrpcStatus(
      impl_->stub().ResolveImageConfig(&ctx, req, &resp),
      "bridge ResolveImageConfig " + ref));
  return ImageConfig{.digest = resp.digest(),
                     .config = resp.config(),
                     .ref = resp.ref().empty() ? ref : resp.ref()};
}

Result<Ref> Client::Solve(const pb::Definition& definition, bool evaluate) {
  grpc::ClientContext ctx;
  gw::SolveRequest req;
  *req.mutable_definition() = definition;
  req.set_allowresultreturn(true);
  req.set_allowresultarrayref(true);
  req.set_evaluate(evaluate);
  gw::SolveResponse resp;
  KILN_RETURN_IF_ERROR(internal::FromGrpcStatus(
      impl_->stub().Solve(&ctx, req, &resp), "bridge Solve"));
  if (!resp.has_result()) return Ref{.id = resp.ref()};
  const gw::Result& result = resp.result();
  switch (result.result_case()) {
    case gw::Result::kRef:
      return Ref{.id = result.ref().id()};
    case gw::Result::kRefDeprecated:
      return Ref{.id = result.refdeprecated()};
    case gw::Result::RESULT_NOT_SET:
      return Ref{};
    default:
      return UnimplementedError(
          "bridge Solve: result holds several refs, expected one");
  }
}

Result<BuildResult> Client::SolveFrontend(
    const std::string& name, const std::map<std::string, std::string>& opts,
    const std::map<std::string, pb::Definition>& inputs) {
  if (name.empty()) {
    return InvalidArgumentError("bridge Solve: empty frontend name");
  }
  grpc::ClientContext ctx;
  gw::SolveRequest req;
  req.set_frontend(name);
  for (const auto& [key, value] : opts)
    (*req.mutable_frontendopt())[key] = value;
  for (const auto& [key, def] : inputs) {
    (*req.mutable_frontendinputs())[key] = def;
  }
  req.set_allowresultreturn(true);
  req.set_allowresultarrayref(true);
  gw::SolveResponse resp;
  // The nested build's error is the user's error: passed on as it came (a
  // source location arrives as a "file:line:col: " message prefix).
  if (grpc::Status s = impl_->stub().Solve(&ctx, req, &resp); !s.ok()) {
    Status nested = internal::FromGrpcStatus(s, "");
    return Status(nested.code(), s.error_message());
  }
  BuildResult out;
  if (!resp.has_result()) {
    out.ref.id = resp.ref();
    return out;
  }
  const gw::Result& result = resp.result();
  switch (result.result_case()) {
    case gw::Result::kRef:
      out.ref.id = result.ref().id();
      break;
    case gw::Result::kRefDeprecated:
      out.ref.id = result.refdeprecated();
      break;
    case gw::Result::kRefs:
      for (const auto& [key, ref] : result.refs().refs()) {
        out.refs[key] = Ref{.id = ref.id()};
      }
      break;
    case gw::Result::kRefsDeprecated:
      for (const auto& [key, id] : result.refsdeprecated().refs()) {
        out.refs[key] = Ref{.id = id};
      }
      break;
    case gw::Result::RESULT_NOT_SET:
      break;
  }
  for (const auto& [key, value] : result.metadata()) out.metadata[key] = value;
  return out;
}

Result<std::string> Client::ReadFile(const Ref& ref, const std::string& path,
                                     std::optional<FileRange> range) {
  grpc::ClientContext ctx;
  gw::ReadFileRequest req;
  req.set_ref(ref.id);
  req.set_filepath(path);
  if (range) {
    req.mutable_range()->set_offset(range->offset);
    req.mutable_range()->set_length(range->length);
  }
  gw::ReadFileResponse resp;
  KILN_RETURN_IF_ERROR(internal::FromGrpcStatus(
      impl_->stub().ReadFile(&ctx, req, &resp), "bridge ReadFile " + path));
  return std::move(*resp.mutable_data());
}

Result<std::vector<FileStat>> Client::ReadDir(
    const Ref& ref, const std::string& dir,
    const std::string& include_pattern) {
  grpc::ClientContext ctx;
  gw::ReadDirRequest req;
  req.set_ref(ref.id);
  req.set_dirpath(dir);
  req.set_includepattern(include_pattern);
  gw::ReadDirResponse resp;
  KILN_RETURN_IF_ERROR(internal::FromGrpcStatus(
      impl_->stub().ReadDir(&ctx, req, &resp), "bridge ReadDir " + dir));
  std::vector<FileStat> entries;
  entries.reserve(resp.entries_size());
  for (const auto& e : resp.entries()) entries.push_back(FromProto(e));
  return entries;
}

Result<FileStat> Client::StatFile(const Ref& ref, const std::string& path) {
  grpc::ClientContext ctx;
  gw::StatFileRequest req;
  req.set_ref(ref.id);
  req.set_path(path);
  gw::StatFileResponse resp;
  KILN_RETURN_IF_ERROR(internal::FromGrpcStatus(
      impl_->stub().StatFile(&ctx, req, &resp), "bridge StatFile " + path));
  return FromProto(resp.stat());
}

Status Client::Evaluate(const Ref& ref) {
  grpc::ClientContext ctx;
  gw::EvaluateRequest req;
  req.set_ref(ref.id);
  gw::EvaluateResponse resp;
  return internal::FromGrpcStatus(impl_->stub().Evaluate(&ctx, req, &resp),
                                  "bridge Evaluate");
}

Result<std::map<std::string, pb::Definition>> Client::Inputs() {
  grpc::ClientContext ctx;
  gw::InputsRequest req;
  gw::InputsResponse resp;
  KILN_RETURN_IF_ERROR(internal::FromGrpcStatus(
      impl_->stub().Inputs(&ctx, req, &resp), "bridge Inputs"));
  std::map<std::string, pb::Definition> inputs;
  for (const auto& [name, def] : resp.definitions()) inputs[name] = def;
  return inputs;
}

Status Client::Warn(const Warning& warning) {
  grpc::ClientContext ctx;
  gw::WarnRequest req;
  req.set_digest(warning.vertex_digest);
  req.set_level(warning.level);
  req.set_short_(warning.short_message);
  for (const std::string& d : warning.detail) req.add_detail(d);
  req.set_url(warning.url);
  if (warning.range) {
    const SourceRange& r = *warning.range;
    req.mutable_info()->set_filename(r.file);
    pb::Range* range = req.add_ranges();
    range->mutable_start()->set_line(r.line);
    range->mutable_start()->set_character(r.column);
    range->mutable_end()->set_line(r.end_line == 0 ? r.line : r.end_line);
    range->mutable_end()->set_character(r.end_line == 0 ? r.column
                                                        : r.end_column);
  }
  gw::WarnResponse resp;
  return internal::FromGrpcStatus(impl_->stub().Warn(&ctx, req, &resp),
                                  "bridge Warn");
}

Status Client::Return(const BuildResult& result) {
  grpc::ClientContext ctx;
  gw::ReturnRequest req;
  gw::Result* out = req.mutable_result();
  if (result.refs.empty()) {
    out->mutable_ref()->set_id(result.ref.id);
  } else {
    auto* refs = out->mutable_refs()->mutable_refs();
    for (const auto& [key, ref] : result.refs) (*refs)[key].set_id(ref.id);
  }
  for (const auto& [key, value] : result.metadata) {
    (*out->mutable_metadata())[key] = value;
  }
  gw::ReturnResponse resp;
  return internal::FromGrpcStatus(impl_->stub().Return(&ctx, req, &resp),
                                  "bridge Return");
}

Status Client::Return(const Status& error) {
  KILN_CHECK(!error.ok(), "Client::Return(Status) needs an error");
  grpc::ClientContext ctx;
  gw::ReturnRequest req;
  *req.mutable_error() = internal::ToRpcStatus(error);
  gw::ReturnResponse resp;
  return internal::FromGrpcStatus(impl_->stub().Return(&ctx, req, &resp),
                                  "bridge Return");
}

}  // namespace kiln::sdk
