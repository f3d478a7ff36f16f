// Control.Solve: one build for one client, through the same engine code as
// `kiln build` (build_frontend.h), then its exporters.
#include <stdlib.h>

#include <filesystem>
#include <optional>

#include "build_cache_run.h"
#include "build_frontend.h"
#include "control/rpc_status.h"
#include "control/status_wire.h"
#include "kiln/llb/definition.h"
#include "kiln/solver/exporter.h"
#include "kiln/solver/graph.h"
#include "kilnd/control_service.h"
#include "random_id.h"

namespace kiln::kilnd {
namespace {

grpc::Status Fail(const kiln::Status& status) {
  return control::ToGrpcStatus(status);
}

// Exporters whose output goes to the client (through FileSend).
bool SendsToClient(const solver::ExportRequest& e) {
  return e.type == "local" || e.type == "tar" || e.type == "oci" ||
         e.type == "docker";
}

// The request's exporters: field 13, else the deprecated single one.
Result<std::vector<solver::ExportRequest>> Exporters(
    const wire::SolveRequest& request) {
  std::vector<solver::ExportRequest> out;
  auto add = [&](const std::string& type,
                 const google::protobuf::Map<std::string, std::string>& attrs)
      -> kiln::Status {
    solver::ExportRequest e{.type = type,
                            .attrs = {attrs.begin(), attrs.end()}};
    if (e.type == "registry") {
      e.type = "image";
      e.attrs["push"] = "true";
    }
    if (e.type != "image" && !SendsToClient(e)) {
      return InvalidArgumentError("unknown exporter type \"" + type +
                                  "\" (known: image, registry, local, tar, "
                                  "oci, docker)");
    }
    if (SendsToClient(e) && e.attrs.count("dest") > 0) {
      // The client keeps where its output goes; a daemon never writes to a
      // path a client names.
      return InvalidArgumentError("exporter " + type +
                                  ": dest is chosen by the client's session, "
                                  "not sent to the daemon");
    }
    out.push_back(std::move(e));
    return kiln::Status::Ok();
  };
  for (const wire::Exporter& e : request.exporters()) {
    KILN_RETURN_IF_ERROR(add(e.type(), e.attrs()));
  }
  if (request.exporters().empty() && !request.exporterdeprecated().empty()) {
    KILN_RETURN_IF_ERROR(
        add(request.exporterdeprecated(), request.exporterattrsdeprecated()));
  }
  return out;
}

// SolveRequest.Cache as BuildKit's control.proto has it: {Type, Attrs}
// per export and import, and the deprecated registry refs.
Result<cli::CacheSpecs> CacheSpecsOf(const wire::SolveRequest& request) {
  const wire::CacheOptions& cache = request.cache();
  cli::CacheSpecs out;
  auto add = [](const std::string& type,
                const google::protobuf::Map<std::string, std::string>& attrs,
                bool is_export,
                std::vector<solver::CacheSpec>& list) -> kiln::Status {
    solver::CacheSpec spec{.type = type, .attrs = {attrs.begin(), attrs.end()}};
    KILN_RETURN_IF_ERROR(is_export ? solver::ValidateCacheExport(spec)
                                   : solver::ValidateCacheImport(spec));
    if (spec.type == "local") {
      return InvalidArgumentError(
          "cache type local names a client directory, which kilnd cannot "
          "reach yet: use type=registry");
    }
    list.push_back(std::move(spec));
    return kiln::Status::Ok();
  };
  for (const wire::CacheOptionsEntry& e : cache.exports()) {
    KILN_RETURN_IF_ERROR(add(e.type(), e.attrs(), true, out.exports));
  }
  if (!cache.exportrefdeprecated().empty()) {
    google::protobuf::Map<std::string, std::string> attrs =
        cache.exportattrsdeprecated();
    attrs["ref"] = cache.exportrefdeprecated();
    KILN_RETURN_IF_ERROR(add("registry", attrs, true, out.exports));
  }
  for (const wire::CacheOptionsEntry& e : cache.imports()) {
    KILN_RETURN_IF_ERROR(add(e.type(), e.attrs(), false, out.imports));
  }
  for (const std::string& ref : cache.importrefsdeprecated()) {
    google::protobuf::Map<std::string, std::string> attrs;
    attrs["ref"] = ref;
    KILN_RETURN_IF_ERROR(add("registry", attrs, false, out.imports));
  }
  return out;
}

kiln::Status CheckUnsupported(const wire::SolveRequest& request) {
  if (request.has_sourcepolicy() && request.sourcepolicy().rules_size() > 0) {
    return UnimplementedError("source policies are not supported by kilnd");
  }
  if (request.enablesessionexporter()) {
    return UnimplementedError(
        "session-chosen exporters are not supported by kilnd");
  }
  if (request.definition().def().empty() && request.frontend().empty()) {
    return InvalidArgumentError(
        "the request has neither a Definition nor a Frontend");
  }
  return kiln::Status::Ok();
}

}  // namespace

grpc::Status ControlService::Solve(grpc::ServerContext* context,
                                   const wire::SolveRequest* request,
                                   wire::SolveResponse* response) {
  if (builds_.shutting_down()) {
    return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                        "kilnd is shutting down");
  }
  if (kiln::Status s = CheckUnsupported(*request); !s.ok()) return Fail(s);
  auto exporters = Exporters(*request);
  if (!exporters.ok()) return Fail(exporters.status());
  auto caches = CacheSpecsOf(*request);
  if (!caches.ok()) return Fail(caches.status());
  if (auto inline_ok = cli::CheckInlineCache(caches->exports, *exporters);
      !inline_ok.ok()) {
    return Fail(inline_ok.status());
  }
  std::set<std::string> entitlements;
  for (const std::string& e : request->entitlements()) {
    if (!IsKnownEntitlement(e)) {
      return Fail(InvalidArgumentError("unknown entitlement \"" + e + "\""));
    }
    if (config_.insecure_entitlements.count(e) == 0) {
      return Fail(
          PermissionDeniedError("granting entitlement " + e +
                                " is not allowed by the daemon's configuration "
                                "(insecure-entitlements)"));
    }
    entitlements.insert(e);
  }
  // A Definition is checked before anything starts.
  std::optional<solver::Graph> graph;
  if (request->frontend().empty()) {
    auto loaded = llb::LoadDefinition(request->definition());
    if (!loaded.ok()) return Fail(loaded.status().WithContext("definition"));
    auto built = solver::BuildGraph(*loaded);
    if (!built.ok()) return Fail(built.status().WithContext("definition"));
    graph = std::move(*built);
  }

  const std::string ref =
      request->ref().empty() ? cli::RandomId() : request->ref();
  auto build = builds_.Start(ref, [context] { return context->IsCancelled(); });
  if (!build.ok()) return Fail(build.status());
  ProgressLog& log = (*build)->progress();
  control::StatusResponseSink sink(
      [&log](wire::StatusResponse r) { log.Append(std::move(r)); });
  std::unique_ptr<BuildSession> session =
      sessions_.ForBuild(request->session(), root_.dir() + "/run");
  cli::LoadedCaches imported =
      cli::LoadCacheImports(root_, caches->imports, &sink);
  solver::CacheRecorder recorder;
  solver::SolveRequest solve{
      .locals = {},
      .local_provider = session->locals(),
      .oci_layouts = {},
      .secrets = session->secrets(),
      .ssh = session->ssh(),
      .entitlements = entitlements,
      .progress = &sink,
      .platform = llb::HostPlatform(),
      .cache_imports = imported.Pointers(),
      .cache_recorder = caches->exports.empty() ? nullptr : &recorder};
  std::stop_token stop = (*build)->stop();
  Result<cli::BuildOutput> output =
      graph ? cli::SolveGraph(root_, *graph, solve, stop)
            : cli::BuildWithFrontend(
                  root_,
                  {.frontend = request->frontend(),
                   .opts = {request->frontendattrs().begin(),
                            request->frontendattrs().end()},
                   .inputs = {request->frontendinputs().begin(),
                              request->frontendinputs().end()},
                   .exec_path = "",
                   .oci_layouts = {},
                   .session_id = request->session()},
                  solve, stop);
  if (!output.ok()) return Fail(output.status());
  if (!output->warnings.empty()) {
    wire::StatusResponse warnings;
    for (const gateway::Warning& w : output->warnings) {
      *warnings.add_warnings() = control::ToVertexWarning(w);
    }
    log.Append(std::move(warnings));
  }
  if (kiln::Status s = cli::PrepareInlineCache(root_, caches->exports, recorder,
                                               *exporters, *output);
      !s.ok()) {
    return Fail(s);
  }
  auto& exporter_response = *response->mutable_exporterresponse();
  for (const auto& [key, value] : output->metadata) {
    // The frontend's subrequest answers (--call) go back to the client.
    if (key.starts_with("result.")) exporter_response[key] = value;
  }
  for (size_t i = 0; i < exporters->size(); ++i) {
    if (stop.stop_requested()) return Fail(CancelledError("build cancelled"));
    solver::ExportRequest e = (*exporters)[i];
    std::string tmp;
    if (SendsToClient(e)) {
      std::error_code ec;
      std::filesystem::create_directories(root_.dir() + "/tmp", ec);
      tmp = root_.dir() + "/tmp/kilnd-export-XXXXXX";
      if (ec || mkdtemp(tmp.data()) == nullptr) {
        return Fail(InternalError("creating an export directory under " +
                                  root_.dir() + "/tmp failed"));
      }
      bool dir =
          e.type == "local" || (e.type == "oci" && e.attrs.count("tar") > 0 &&
                                e.attrs["tar"] == "false");
      e.attrs["dest"] = tmp + (dir ? "/out" : "/out.tar");
    }
    auto exported = cli::ExportBuildOutput(root_, e, *output);
    kiln::Status sent = exported.status();
    if (exported.ok() && !tmp.empty()) {
      const std::string id = std::to_string(i);
      sent = std::filesystem::is_directory(e.attrs["dest"])
                 ? session->SendDir(id, e.attrs["dest"], stop)
                 : session->SendFile(id, e.attrs["dest"], stop);
    }
    if (!tmp.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(tmp, ec);
    }
    if (!sent.ok()) {
      return Fail(sent.WithContext("exporting to " + (*exporters)[i].type));
    }
    for (const auto& [key, value] : *exported) exporter_response[key] = value;
  }
  if (stop.stop_requested()) return Fail(CancelledError("build cancelled"));
  auto cached = cli::ExportCaches(root_, caches->exports, recorder, *output,
                                  &sink, nullptr);
  if (!cached.ok()) return Fail(cached.status());
  return grpc::Status::OK;
}

}  // namespace kiln::kilnd
