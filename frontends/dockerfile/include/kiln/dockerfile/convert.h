// The Dockerfile frontend's conversion: Dockerfile text → LLB Definition plus
// the image config, as BuildKit's dockerfile2llb (convert.go,
// convert_runmount.go, v0.11 semantics).
//
// Supported: global (meta) ARGs and FROM expansion with the predefined
// platform args; stages by name or index, `target` (default: last stage) with
// unreachable stages pruned; FROM scratch / image (pinned to
// `docker-image://REF@DIGEST` through `resolve_image`, its config inherited) /
// earlier stage; ARG, ENV, RUN (shell/exec form, SHELL, --mount of every
// type, --network, --security), WORKDIR, USER, LABEL, EXPOSE, VOLUME, CMD,
// ENTRYPOINT, SHELL, HEALTHCHECK, STOPSIGNAL, MAINTAINER, ONBUILD (recorded
// in the config; the base's triggers — base image config OnBuild, or the
// base stage's ONBUILD instructions — run right after FROM, their --from and
// mounts counting as stage dependencies, and are then cleared);
// COPY/ADD from the build context (`local://<context_name>` with followpaths
// and `excludes`) or `--from` a stage/image, with --chown, --chmod, --link,
// --exclude, --parents (COPY: source parents kept below the root or a `/./`
// pivot, as a FileOp copy with include patterns), wildcards and ADD's
// archive unpacking; ADD of http(s) URLs
// (with --checksum), downloaded and copied without unpacking; ADD of git
// repositories (URL#ref[:subdir] or the query form, --keep-git-dir); heredocs
// in RUN (lone body run by the shell, or as a script file when it starts with
// #!) and COPY/ADD (inline files).
//
// Named contexts (reference frontend-images.md §6) replace an image that
// FROM, COPY --from or RUN --mount=from names, or a whole stage by its name
// (the stage's base and instructions are then not converted): values
// docker-image://REF (resolved, its config applied; docker-image://scratch
// is empty), git (git://, git@, ssh://, http(s)://….git; #ref[:subdir] or
// the query form; .git kept unless ?keep-git-dir=false), http(s):// (one
// file named `context`), oci-layout://STORE@sha256:… (oci.store=STORE; its
// config cannot be resolved through the SDK, so it is empty), local:NAME (a
// client directory, empty config) and input:NAME (a frontend input, config
// from `input_configs`, else empty).
//
// Not supported (Unimplemented, naming the instruction and file:line:column):
// named contexts of other forms.
//
// Errors: InvalidArgument for malformed Dockerfiles (parse/instruction
// errors keep their ranges) and bad values; NotFound for an unknown target
// or --from stage; the resolver's error for an image it cannot resolve.
//
// Thread-safety: Convert is reentrant; `resolve_image` is called on the
// calling thread only.
#ifndef KILN_DOCKERFILE_CONVERT_H_
#define KILN_DOCKERFILE_CONVERT_H_

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kiln/llb/platform.h"
#include "kiln/llb/source.h"
#include "kiln/llb/state.h"
#include "kiln/llb/status.h"
#include "solver/pb/ops.pb.h"

namespace kiln::dockerfile {

// A resolved base image.
struct ImageMeta {
  std::string ref;     // the reference as resolved
  std::string digest;  // manifest digest, "sha256:…"; empty = not pinned
  std::string config;  // the image config JSON (OCI/Docker); may be empty
};

// Resolves `ref` (normalized, tag added: "docker.io/library/alpine:latest")
// for `platform`.
using ImageResolver = std::function<Result<ImageMeta>(
    std::string_view ref, const llb::Platform& platform)>;

struct ConvertOptions {
  std::map<std::string, std::string> build_args;
  std::string target;             // stage name; empty = the last stage
  llb::Platform target_platform;  // empty os = HostPlatform()
  llb::Platform build_platform;   // empty os = HostPlatform()
  // Required when a stage or COPY --from names an image.
  ImageResolver resolve_image;
  std::string context_name = "context";
  std::vector<std::string> excludes;  // .dockerignore patterns
  std::string filename = "Dockerfile";
  // Named contexts for this platform: name (familiar form without
  // ":latest", e.g. "busybox", "base") or stage name -> value
  // ("docker-image://…", "local:NAME", …; see above).
  std::map<std::string, std::string> named_contexts;
  // Exclude patterns for the local: named contexts, by local name (their
  // .dockerignore, which the caller reads).
  std::map<std::string, std::vector<std::string>> local_excludes;
  // Frontend inputs (Client::Inputs(), as llb::State::FromDefinition), by
  // name: the one named `context_name` replaces the local build context
  // (no followpaths or excludes apply); every input is reachable as an
  // `input:NAME` named context (with an empty image config).
  std::map<std::string, llb::State> inputs;
  // The image config JSON of an input (opt input-metadata:NAME's
  // containerimage.config), by input name: applied as the image config of
  // an `input:NAME` named context.
  std::map<std::string, std::string> input_configs;
  bool no_cache = false;  // ignore_cache on every op
  // Settings of every RUN, from the frontend opts (ParseRunOpts): add-hosts,
  // hostname, ulimit, shm-size (a tmpfs of that size on /dev/shm),
  // force-network-mode (the network of a RUN without --network),
  // cgroup-parent.
  struct RunDefaults {
    std::vector<llb::HostIP> extra_hosts;
    std::optional<std::string> hostname;
    std::vector<llb::Ulimit> ulimits;
    int64_t shm_size = 0;
    std::optional<llb::NetMode> network;
    std::optional<std::string> cgroup_parent;
  } run;
  // image.resolvemode of the image source ops.
  llb::ResolveMode image_resolve_mode = llb::ResolveMode::kDefault;
};

struct ConvertResult {
  pb::Definition definition;
  std::string image_config;  // JSON, without rootfs (the exporter's)
  // The target stage's base image config as resolved (empty for scratch or
  // a named local context): exporter metadata containerimage.base.config.
  std::string base_image_config;
  std::vector<std::string> warnings;
};

Result<ConvertResult> Convert(std::string_view dockerfile,
                              const ConvertOptions& options);

// The RUN-wide settings of the frontend opts `opts` (upstream dockerui's
// keys): add-hosts (CSV of host=ip), hostname (also
// build-arg:BUILDKIT_SANDBOX_HOSTNAME), ulimit (CSV of name=soft[:hard]),
// shm-size (bytes), force-network-mode (sandbox|host|none), cgroup-parent.
// InvalidArgument naming the opt for a malformed value; Unimplemented for
// the per-RUN resource opts (memory, memswap, cpushares, cpuperiod,
// cpuquota, cpusetcpus, cpusetmems), which kiln does not apply yet, and for
// attest:sbom (no SBOM scanner).
Result<ConvertOptions::RunDefaults> ParseRunOpts(
    const std::map<std::string, std::string>& opts);

}  // namespace kiln::dockerfile

#endif  // KILN_DOCKERFILE_CONVERT_H_
