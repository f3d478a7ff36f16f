// FrontendRunner: frontend names, the environment contract, the run of an
// image in a container (throw-away rootfs snapshot, metadata mount) or of a
// host binary, and nested solves through the same runner.
#include "kiln/gateway/frontend_runner.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <functional>
#include <random>
#include <utility>

#include "frontend_runner_internal.h"
#include "kiln/llb/reference.h"

extern char** environ;

namespace kiln::gateway {
namespace {

constexpr std::string_view kMetadataDir = "/run/config/buildkit/metadata";

std::string Nonce() {
  static std::atomic<uint64_t> counter{0};
  static const uint64_t seed = std::random_device{}();
  uint64_t v = seed ^ (++counter * 0x9e3779b97f4a7c15ull);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 16; ++i, v >>= 4) out.push_back(kHex[v & 0xf]);
  return out;
}

// The JSON string literal of `s` (the values here are plain identifiers,
// but quote and backslash are escaped all the same).
std::string JsonString(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) >= 0x20) out += c;
  }
  return out + "\"";
}

Status WriteFileMode(const std::string& path, const std::string& data,
                     mode_t mode) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) {
    return InternalError("creating " + path + ": " + std::strerror(errno));
  }
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      close(fd);
      return InternalError("writing " + path + ": " + std::strerror(err));
    }
    done += static_cast<size_t>(n);
  }
  fchmod(fd, mode);
  close(fd);
  return Status::Ok();
}

// Per-run state removed when the run ends: the metadata dir and the rootfs
// snapshot.
struct RunResources {
  solver::Snapshotter* snapshots = nullptr;
  std::string dir;
  std::string snapshot;
  ~RunResources() {
    if (!snapshot.empty()) snapshots->Remove(snapshot).IgnoreError();
    if (!dir.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(dir, ec);
    }
  }
};

// One run's answer to nested solves: the same runner, one level deeper.
class NestedRun final : public NestedFrontends {
 public:
  using RunFn = std::function<Result<FrontendOutput>(
      const FrontendRequest&, const solver::SolveRequest&, std::stop_token,
      int)>;
  NestedRun(RunFn run, const solver::SolveRequest* base, int depth)
      : run_(std::move(run)), base_(base), depth_(depth) {}

  Result<FrontendOutput> SolveFrontend(
      const std::string& frontend,
      const std::map<std::string, std::string>& opts,
      const std::map<std::string, pb::Definition>& inputs,
      std::stop_token stop) override {
    // Each nested frontend is a container: a frontend may not start an
    // unbounded number of them at once.
    if (in_flight_.fetch_add(1) >= kMaxConcurrentNested) {
      in_flight_.fetch_sub(1);
      return ResourceExhaustedError(
          "nested frontend " + frontend + ": more than " +
          std::to_string(kMaxConcurrentNested) +
          " nested frontend solves at once from one frontend");
    }
    Result<FrontendOutput> out =
        run_(FrontendRequest{frontend, opts, inputs}, *base_, stop, depth_ + 1);
    in_flight_.fetch_sub(1);
    return out;
  }

 private:
  static constexpr int kMaxConcurrentNested = 8;
  RunFn run_;
  const solver::SolveRequest* base_;
  int depth_;
  std::atomic<int> in_flight_{0};
};

}  // namespace

namespace internal {

std::vector<std::string> FrontendEnv(
    const std::vector<std::string>& base_env,
    const std::map<std::string, std::string>& opts,
    const std::string& session_id, const llb::Platform& platform) {
  std::vector<std::string> env;
  for (const std::string& e : base_env) {
    if (!e.starts_with("BUILDKIT_")) env.push_back(e);
  }
  int n = 0;
  for (const auto& [key, value] : opts) {
    env.push_back("BUILDKIT_FRONTEND_OPT_" + std::to_string(n++) + "=" + key +
                  "=" + value);
  }
  env.push_back("BUILDKIT_SESSION_ID=" + session_id);
  std::string p = "{\"architecture\":" + JsonString(platform.architecture) +
                  ",\"os\":" + JsonString(platform.os);
  if (!platform.variant.empty()) {
    p += ",\"variant\":" + JsonString(platform.variant);
  }
  p += "}";
  env.push_back(
      "BUILDKIT_WORKERS=[{\"id\":\"kiln\",\"labels\":{},"
      "\"platforms\":[" +
      p + "]}]");
  env.push_back("BUILDKIT_EXPORTEDPRODUCT=kiln");
  return env;
}

}  // namespace internal

FrontendRunner::FrontendRunner(FrontendRunnerOptions options)
    : options_(std::move(options)) {}

Result<FrontendOutput> FrontendRunner::Run(const FrontendRequest& request,
                                           const solver::SolveRequest& base,
                                           std::stop_token stop) {
  return RunAt(request, base, stop, 0);
}

namespace {

// BuildKit's named-context override of the frontend image (gateway.md §6.1
// step 3): opt context:<source in familiar form, without :latest> (tried
// with ::<platform> first) replaces the image. Only docker-image:// values
// are supported; the replacement goes through the policy like any image.
Result<std::string> NamedContextOverride(
    const std::string& source, const std::map<std::string, std::string>& opts,
    const llb::Platform& platform) {
  Result<llb::ImageReference> parsed = llb::ParseImageReference(source);
  if (!parsed.ok()) return source;  // the policy reports the bad reference
  std::string name = parsed->FamiliarString();
  if (name.ends_with(":latest")) name.resize(name.size() - 7);
  std::string key = "context:" + name;
  auto it = opts.find(key + "::" + llb::FormatPlatform(platform));
  if (it == opts.end()) it = opts.find(key);
  if (it == opts.end()) return source;
  constexpr std::string_view kImage = "docker-image://";
  if (!it->second.starts_with(kImage) || it->second.size() == kImage.size()) {
    return UnimplementedError("frontend image override " + it->first + "=" +
                              it->second +
                              ": only docker-image://REF values are supported");
  }
  return it->second.substr(kImage.size());
}

}  // namespace

Result<FrontendOutput> FrontendRunner::RunAt(const FrontendRequest& request,
                                             const solver::SolveRequest& base,
                                             std::stop_token stop, int depth) {
  if (options_.solver == nullptr || options_.snapshots == nullptr) {
    return FailedPreconditionError("frontend runner: no solver or snapshotter");
  }
  if (depth > options_.max_depth) {
    auto source = request.opts.find("source");
    return FailedPreconditionError(
        "frontend " + request.frontend +
        (source != request.opts.end() ? " (" + source->second + ")" : "") +
        ": frontends nested deeper than " + std::to_string(options_.max_depth) +
        " levels (a frontend forwarding to itself?)");
  }
  std::string image_ref;
  // BuildKit ≥ 0.30: a top-level gateway.v0 with source=dockerfile.v0 (and
  // no named context overriding it) is the Dockerfile frontend.
  const bool dockerfile_alias =
      request.frontend == "dockerfile.v0" ||
      (depth == 0 && request.frontend == "gateway.v0" &&
       request.opts.contains("source") &&
       request.opts.at("source") == "dockerfile.v0" &&
       !request.opts.contains("context:dockerfile.v0"));
  if (dockerfile_alias ? !options_.policy.dockerfile_enabled
                       : request.frontend == "gateway.v0" &&
                             !options_.policy.gateway_enabled) {
    return PermissionDeniedError(
        std::string("frontend ") +
        (dockerfile_alias ? "dockerfile.v0" : "gateway.v0") +
        " is disabled by the operator config (enabled = false)");
  }
  if (dockerfile_alias) {
    image_ref = options_.policy.dockerfile;
  } else if (request.frontend == "gateway.v0") {
    if (request.opts.contains("gateway-devel")) {
      return InvalidArgumentError("development gateway is no longer supported");
    }
    auto it = request.opts.find("source");
    if (it != request.opts.end()) image_ref = it->second;
  } else {
    return InvalidArgumentError("invalid frontend: " + request.frontend);
  }
  const bool exec_mode = depth == 0 && !options_.exec_path.empty();
  if (!exec_mode && image_ref.empty()) {
    return InvalidArgumentError("no source specified for gateway");
  }

  const llb::Platform platform =
      base.platform.os.empty() ? llb::HostPlatform() : base.platform;
  if (!exec_mode && !dockerfile_alias) {
    KILN_ASSIGN_OR_RETURN(
        image_ref, NamedContextOverride(image_ref, request.opts, platform));
  }
  internal::ProcessSpec spec;
  spec.idle_timeout = options_.idle_timeout;
  spec.progress = base.progress;
  RunResources resources;
  resources.snapshots = options_.snapshots;
  if (exec_mode) {
    spec.display = "frontend " + options_.exec_path;
    spec.vertex_name = "[frontend] " + options_.exec_path;
    spec.args = {options_.exec_path};
    std::vector<std::string> host_env;
    if (const char* path = getenv("PATH"); path != nullptr) {
      host_env.push_back(std::string("PATH=") + path);
    }
    spec.env = internal::FrontendEnv(host_env, request.opts,
                                     options_.session_id, platform);
  } else {
    KILN_ASSIGN_OR_RETURN(
        internal::FrontendImage image,
        internal::PrepareFrontendImage(
            options_, image_ref, internal::WantedCaps(request),
            dockerfile_alias && options_.policy.dockerfile_installed, base,
            stop));
    spec.display = "frontend " + image.name;
    spec.vertex_name = "[frontend] " + image.name;
    spec.executor = options_.executor;
    const auto& cfg = image.config.config;
    spec.args = cfg.entrypoint.has_value() && !cfg.entrypoint->empty()
                    ? *cfg.entrypoint
                    : std::vector<std::string>{"/run"};
    spec.cwd = cfg.working_dir.empty() ? "/" : cfg.working_dir;
    spec.env = internal::FrontendEnv(cfg.env, request.opts, options_.session_id,
                                     platform);

    // The metadata mount: frontend.bin = the image's LLB definition.
    if (options_.state_dir.empty() || options_.state_dir[0] != '/') {
      return InvalidArgumentError(
          "frontend runner: state_dir must be an absolute directory");
    }
    const std::string& state_dir = options_.state_dir;
    const std::string run_id = "frontend-" + Nonce();
    resources.dir = state_dir + "/" + run_id;
    std::error_code ec;
    std::filesystem::create_directories(resources.dir + "/metadata", ec);
    if (ec) {
      return InternalError("creating " + resources.dir + ": " + ec.message())
          .WithContext(spec.display);
    }
    std::string bin;
    image.definition.SerializeToString(&bin);
    KILN_RETURN_IF_ERROR(
        WriteFileMode(resources.dir + "/metadata/frontend.bin", bin, 0400)
            .WithContext(spec.display));
    spec.mounts.push_back(solver::ExecMount{
        .dest = std::string(kMetadataDir),
        .mount = solver::Mount{.type = "bind",
                               .source = resources.dir + "/metadata",
                               .options = {"rbind", "ro", "nosuid", "nodev",
                                           "noexec"}},
        .readonly = true});

    // The rootfs: a throw-away active snapshot over the image, mounted
    // read-only by the runtime (writable underneath for mount stubs).
    KILN_RETURN_IF_ERROR(
        options_.snapshots->Prepare("kiln-work/" + run_id, image.snapshot)
            .status()
            .WithContext(spec.display + ": preparing its root filesystem"));
    // Under kiln-work/: Solver::Open removes it after a crash.
    resources.snapshot = "kiln-work/" + run_id;
    KILN_ASSIGN_OR_RETURN(spec.rootfs,
                          options_.snapshots->Mounts(resources.snapshot)
                              .WithContext(spec.display + ": rootfs mounts"));
  }

  NestedRun nested(
      [this](const FrontendRequest& r, const solver::SolveRequest& b,
             std::stop_token s, int d) { return RunAt(r, b, s, d); },
      &base, depth);
  BuildEnv env;
  env.solver = options_.solver;
  env.snapshots = options_.snapshots;
  env.images = options_.images;
  env.base_request = base;
  env.frontend_opts = request.opts;
  env.inputs = request.inputs;
  env.nested = &nested;
  BridgeServer bridge(std::move(env));
  return internal::RunFrontendProcess(spec, bridge, stop);
}

}  // namespace kiln::gateway
