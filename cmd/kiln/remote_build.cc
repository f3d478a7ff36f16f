// `kiln --addr ADDR build`: the build runs in kilnd. A client session
// carries local contexts, secrets, ssh agents and client-side outputs;
// Status feeds the same progress printers as an embedded build.
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <stop_token>
#include <thread>

#include "api/services/control/control.grpc.pb.h"
#include "build_cache_run.h"
#include "build_flags.h"
#include "build_frontend.h"
#include "build_report.h"
#include "cli_util.h"
#include "commands.h"
#include "control/rpc_status.h"
#include "control/status_wire.h"
#include "kiln/llb/definition.h"
#include "kiln/llb/digest.h"
#include "kiln/session/client_session.h"
#include "kiln/solver/exporter.h"
#include "kiln/solver/secret_providers.h"
#include "progress_printer.h"
#include "random_id.h"
#include "remote.h"

namespace kiln::cli {
namespace {

namespace wire = ::moby::buildkit::v1;

int Usage(const std::string& error) {
  return UsageError(BuildUsage(), "kiln build: " + error);
}

// BuildKit's shared key: the same for the same machine, user and local
// directories, so that a later client's sync of an unchanged context
// reuses the daemon's tree and sends no file contents.
std::string SharedKey(const std::map<std::string, std::string>& dirs) {
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  std::string key = std::string(host) + "\n" + std::to_string(getuid());
  for (const auto& [name, dir] : dirs) {
    std::error_code ec;
    std::filesystem::path abs = std::filesystem::absolute(dir, ec);
    key.append("\n").append(name).append("=").append(
        ec ? dir : abs.lexically_normal().string());
  }
  return std::string(Digest::FromBytes(key).hex().substr(0, 32));
}

// The outputs: what the daemon runs (without dests) and where the session
// puts what it sends back (exporter id = index).
struct Outputs {
  std::vector<solver::ExportRequest> requests;
  std::map<std::string, session::ExportTarget> targets;
};

Result<Outputs> ParseOutputs(const std::vector<std::string>& specs) {
  Outputs out;
  for (const std::string& spec : specs) {
    KILN_ASSIGN_OR_RETURN(solver::ExportRequest request,
                          solver::ParseOutputSpec(spec));
    const std::string id = std::to_string(out.requests.size());
    if (request.type != "image") {
      auto dest = request.attrs.find("dest");
      if (dest == request.attrs.end() || dest->second.empty()) {
        return InvalidArgumentError("type=" + request.type + " needs dest=");
      }
      bool dir = request.type == "local" ||
                 (request.type == "oci" && request.attrs.count("tar") > 0 &&
                  request.attrs.at("tar") == "false");
      session::ExportTarget target;
      if (dir) {
        target = {session::ExportTarget::Kind::kDirectory, dest->second};
      } else if (dest->second == "-") {
        target = {session::ExportTarget::Kind::kStdout, ""};
      } else {
        target = {session::ExportTarget::Kind::kFile, dest->second};
      }
      out.targets[id] = target;
      request.attrs.erase(dest);
    }
    out.requests.push_back(std::move(request));
  }
  return out;
}

// Reads the Status stream of `ref` into the printer until it ends or is
// cancelled; collects the build's warnings.
class StatusReader {
 public:
  StatusReader(wire::Control::Stub& stub, const std::string& ref,
               solver::ProgressSink& sink)
      : thread_([this, &stub, ref, &sink] {
          wire::StatusRequest request;
          request.set_ref(ref);
          auto reader = stub.Status(&context_, request);
          wire::StatusResponse response;
          while (reader->Read(&response)) {
            for (gateway::Warning& w :
                 control::ReplayStatusResponse(response, sink)) {
              warnings_.push_back(std::move(w));
            }
          }
          reader->Finish().IgnoreError();
        }) {}

  // Waits for the stream's end, at most `timeout` (then cancels it).
  std::vector<gateway::Warning> Finish(std::chrono::milliseconds timeout) {
    std::jthread cancel([this, timeout](std::stop_token stop) {
      auto until = std::chrono::steady_clock::now() + timeout;
      while (!stop.stop_requested() &&
             std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
      if (!stop.stop_requested()) context_.TryCancel();
    });
    thread_.join();
    cancel.request_stop();
    return std::move(warnings_);
  }

 private:
  grpc::ClientContext context_;
  std::vector<gateway::Warning> warnings_;  // the reading thread's
  std::thread thread_;
};

}  // namespace

int RunRemoteBuild(const RemoteOptions& options,
                   const std::vector<std::string>& args) {
  // A Dockerfile on stdin becomes a directory the session sends.
  PreparedBuild prepared;
  if (int rc = PrepareBuild(args, prepared); rc >= 0) return rc;
  BuildFlags& flags = prepared.flags;
  if (!flags.frontend_exec.empty()) {
    return Usage(
        "--frontend-exec runs a program on this machine: it cannot "
        "be used with --addr");
  }
  if (!flags.oci_layouts.empty()) {
    return Usage("--oci-layout is not supported with --addr yet");
  }
  if (flags.platform) {
    return Usage(
        "--platform is not supported with --addr (the daemon builds "
        "for its own platform; a frontend takes --opt platform=…)");
  }
  auto outputs = ParseOutputs(flags.outputs);
  if (!outputs.ok()) return Usage("--output: " + outputs.status().message());
  auto caches = ParseCacheSpecs(flags.cache_exports, flags.cache_imports);
  if (!caches.ok()) return Usage(caches.status().message());
  for (const auto* list : {&caches->exports, &caches->imports}) {
    for (const solver::CacheSpec& spec : *list) {
      if (spec.type == "local") {
        return Usage(
            "a type=local cache is not supported with --addr yet (its "
            "directory is on this machine, the daemon's cache is not): use "
            "type=registry");
      }
    }
  }
  solver::MapSecretProvider secrets;
  for (const std::string& spec : flags.secrets) {
    auto source = solver::ParseSecretSpec(spec);
    if (!source.ok()) return Usage("--secret: " + source.status().message());
    if (Status s = secrets.Add(*std::move(source)); !s.ok()) {
      return Usage("--secret: " + s.message());
    }
  }
  std::map<std::string, std::string> ssh_agents;
  for (const std::string& spec : flags.ssh) {
    auto source = solver::ParseSshSpec(spec);
    if (!source.ok()) return Usage("--ssh: " + source.status().message());
    solver::MapSshProvider ssh;
    if (Status s = ssh.Add(*source); !s.ok()) {
      return ReportError(s.WithContext("--ssh " + spec));
    }
    ssh_agents[source->id] = *ssh.AgentSocket(source->id);
  }
  wire::SolveRequest request;
  if (!flags.llb.empty()) {
    auto bytes = ReadFileOrStdin(flags.llb);
    if (!bytes.ok()) return ReportError(bytes.status());
    auto definition = llb::ParseDefinition(*bytes);
    if (!definition.ok()) {
      return ReportError(definition.status().WithContext(
          flags.llb == "-" ? "stdin" : flags.llb));
    }
    *request.mutable_definition() = *std::move(definition);
  }
  auto address = control::ParseAddress(options.addr);
  if (!address.ok()) return Usage(address.status().message());
  std::stop_source stop;
  InterruptToStop interrupts(stop);  // before gRPC starts threads
  auto channel = control::DialDaemon(*address, options.tls);
  if (!channel.ok()) return ReportError(channel.status());
  auto printer = MakeProgressPrinter(flags.progress, STDERR_FILENO);
  if (!printer.ok()) return Usage(printer.status().message());
  // A session only when it has something to serve (a build without one
  // needs nothing from this machine).
  std::unique_ptr<session::ClientSession> session;
  if (!flags.locals.empty() || !flags.secrets.empty() || !ssh_agents.empty() ||
      !outputs->targets.empty()) {
    auto started = session::ClientSession::Start(
        *channel, {.name = "kiln",
                   .shared_key = SharedKey(flags.locals),
                   .dirs = flags.locals,
                   .secrets = flags.secrets.empty() ? nullptr : &secrets,
                   .ssh_agents = ssh_agents,
                   .exports = outputs->targets});
    if (!started.ok()) {
      return ReportError(
          started.status().WithContext("kilnd at " + options.addr));
    }
    session = *std::move(started);
    request.set_session(session->id());
  }

  const std::string ref = RandomId();
  request.set_ref(ref);
  request.set_frontend(flags.frontend);
  request.mutable_frontendattrs()->insert(flags.opts.begin(), flags.opts.end());
  for (const std::string& e : flags.entitlements) request.add_entitlements(e);
  for (const solver::ExportRequest& e : outputs->requests) {
    wire::Exporter* exporter = request.add_exporters();
    exporter->set_type(e.type);
    exporter->mutable_attrs()->insert(e.attrs.begin(), e.attrs.end());
  }

  // BuildKit's CacheOptions: {Type, Attrs} per export and import.
  for (const solver::CacheSpec& spec : caches->exports) {
    wire::CacheOptionsEntry* entry = request.mutable_cache()->add_exports();
    entry->set_type(spec.type);
    entry->mutable_attrs()->insert(spec.attrs.begin(), spec.attrs.end());
  }
  for (const solver::CacheSpec& spec : caches->imports) {
    wire::CacheOptionsEntry* entry = request.mutable_cache()->add_imports();
    entry->set_type(spec.type);
    entry->mutable_attrs()->insert(spec.attrs.begin(), spec.attrs.end());
  }

  auto stub = wire::Control::NewStub(*channel);
  StatusReader status(*stub, ref, **printer);
  grpc::ClientContext context;
  std::stop_callback cancel(stop.get_token(), [&] { context.TryCancel(); });
  wire::SolveResponse response;
  Status solved =
      control::FromGrpcStatus(stub->Solve(&context, request, &response));
  std::vector<gateway::Warning> warnings =
      status.Finish(std::chrono::seconds(solved.ok() ? 10 : 2));
  (*printer)->Finish();
  // Exported files and new directories appear only for a build that
  // succeeded (the session discards them otherwise).
  if (solved.ok() && session) solved = session->CommitExports();
  Status closed = session ? session->Close() : Status::Ok();
  if (!solved.ok()) {
    std::string logs = (*printer)->ErrorLogs();
    std::fputs(logs.c_str(), stderr);
    if (solved.code() == StatusCode::kUnavailable) {
      solved = solved.WithContext("kilnd at " + options.addr);
    }
    ReportError(solved);
    // Like a shell's 128 + SIGINT, whichever signal asked for it.
    return stop.stop_requested() ? kExitCancelled : kExitFailure;
  }
  PrintWarnings(warnings);
  std::map<std::string, std::string> exporter_response(
      response.exporterresponse().begin(), response.exporterresponse().end());
  if (!flags.call.empty())
    return PrintCallResult(flags.call, exporter_response);
  for (const solver::ExportRequest& e : outputs->requests) {
    PrintExportResponse(
        e.type, e.type == "image" || e.type == "oci" || e.type == "docker"
                    ? exporter_response
                    : std::map<std::string, std::string>{});
  }
  if (!closed.ok() && closed.code() != StatusCode::kCancelled) {
    std::fprintf(stderr, "warning: the session ended with: %s\n",
                 closed.ToString().c_str());
  }
  return kExitOk;
}

}  // namespace kiln::cli
