// Recipe → LLB Definition plus image config, on the llb builder (state.h).
//
// The target stage (ConvertOptions.target, else Recipe.target, else the
// last stage) and the stages it reaches are converted, each once, bases
// before users. An image base is pinned to its resolved digest
// (docker-image://REF@DIGEST through `resolve_image`) and its config is
// inherited (Env, WorkingDir and User also become the process context of
// later steps), as the Dockerfile frontend's FROM does. The build context is
// `local://<context_name>` following only the paths that copies and bind
// mounts read (all of it when one reads "." or "/"), minus `excludes`.
//
// The image config has the Dockerfile frontend's shape (kiln/dockerfile/
// convert.h): architecture, os[, variant], config{Env, Cmd, Entrypoint,
// WorkingDir, User, Labels, ExposedPorts, Volumes, ArgsEscaped when Cmd is
// set, OnBuild: null}, and history with one entry per step (comment
// "kiln.yaml-recipe.v1"; base image history kept); no rootfs (the
// exporter's) and no `created`.
//
// Errors: NotFound "target stage X could not be found"; the resolver's
// errors and invalid owners/paths, located at the step's line:column.
//
// Thread-safety: reentrant; `resolve_image` is called on the calling thread.
#ifndef KILN_RECIPE_CONVERT_H_
#define KILN_RECIPE_CONVERT_H_

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "kiln/llb/platform.h"
#include "kiln/llb/source.h"
#include "kiln/llb/status.h"
#include "kiln/recipe/recipe.h"
#include "solver/pb/ops.pb.h"

namespace kiln::recipe {

struct ImageMeta {
  std::string ref;     // as resolved
  std::string digest;  // manifest digest; empty = not pinned
  std::string config;  // image config JSON; may be empty
};

// Resolves a normalized, tagged reference ("docker.io/library/busybox:latest")
// for `platform`.
using ImageResolver = std::function<Result<ImageMeta>(
    std::string_view ref, const llb::Platform& platform)>;

struct ConvertOptions {
  std::string target;             // overrides Recipe.target when set
  llb::Platform target_platform;  // empty os = HostPlatform()
  ImageResolver resolve_image;    // required when a stage uses an image
  std::string context_name = "context";
  std::vector<std::string> excludes;  // .dockerignore patterns
  std::string filename = "recipe.yaml";
  bool no_cache = false;
  llb::ResolveMode image_resolve_mode = llb::ResolveMode::kDefault;
};

struct ConvertResult {
  pb::Definition definition;
  std::string image_config;       // JSON
  std::string base_image_config;  // the target's base image config, or ""
};

Result<ConvertResult> Convert(const Recipe& recipe,
                              const ConvertOptions& options);

}  // namespace kiln::recipe

#endif  // KILN_RECIPE_CONVERT_H_
