// Loading the Dockerfile and its .dockerignore for the frontend's Build
// (upstream dockerui's Client.ReadEntrypoint and the context's
// .dockerignore). Private to frontend*.cc.
#ifndef KILN_DOCKERFILE_SRC_FRONTEND_LOAD_H_
#define KILN_DOCKERFILE_SRC_FRONTEND_LOAD_H_

#include <map>
#include <string>
#include <vector>

#include "kiln/llb/status.h"
#include "kiln/sdk/client.h"
#include "kiln/sdk/options.h"
#include "solver/pb/ops.pb.h"

namespace kiln::dockerfile::internal {

struct LoadedDockerfile {
  std::string text;
  std::vector<std::string> excludes;  // .dockerignore patterns
};

// Reads opts.filename from the input named opts.dockerfile_key when
// `inputs` has it, else from local://<dockerfilekey> (following only the
// file and <filename>.dockerignore). Excludes come from
// <filename>.dockerignore, else from .dockerignore of the local context
// (none when the input named opts.context_key replaces it). NotFound
// "failed to read dockerfile ..." when the file is absent.
Result<LoadedDockerfile> LoadDockerfile(
    sdk::Client& client, const sdk::FrontendOptions& opts,
    const std::map<std::string, pb::Definition>& inputs);

// The patterns of the .dockerignore at the root of local directory `name`
// (loaded alone: a local following only that file); empty when there is
// none.
Result<std::vector<std::string>> LoadLocalExcludes(
    sdk::Client& client, const sdk::FrontendOptions& opts,
    const std::string& name);

}  // namespace kiln::dockerfile::internal

#endif  // KILN_DOCKERFILE_SRC_FRONTEND_LOAD_H_
