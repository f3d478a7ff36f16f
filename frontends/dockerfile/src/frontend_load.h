// Loading the Dockerfile and its .dockerignore for the frontend's Build
// (upstream dockerui's Client.ReadEntrypoint and the context's
// .dockerignore). Private to frontend*.cc.
#ifndef KILN_DOCKERFILE_SRC_FRONTEND_LOAD_H_
#define KILN_DOCKERFILE_SRC_FRONTEND_LOAD_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "kiln/llb/state.h"
#include "kiln/llb/status.h"
#include "kiln/sdk/client.h"
#include "kiln/sdk/options.h"
#include "solver/pb/ops.pb.h"

namespace kiln::dockerfile::internal {

struct LoadedDockerfile {
  std::string text;
  std::vector<std::string> excludes;  // .dockerignore patterns
  // Digest of the op that loaded the Dockerfile (the local source op, or
  // the input's last op): the vertex build-check warnings attach to.
  std::string vertex;
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

// A remote build context (opt <contextkey> = a git or http(s) URL).
struct RemoteContext {
  llb::State context;     // the context source
  llb::State dockerfile;  // where the Dockerfile is read from
  std::string filename;   // replaces opts.filename when not empty
};

// Upstream dockerui's DetectGitContext/DetectHTTPContext: for a git URL
// (Dockerfile git-ref syntax, .git removed unless
// build-arg:BUILDKIT_CONTEXT_KEEP_GIT_DIR or ?keep-git-dir says otherwise)
// the checkout is both the context and the Dockerfile's source; for an
// http(s) URL the download (file "context", solved here to look at its first
// 1 KiB) is unpacked into the context when it is an archive (gzip, bzip2, xz,
// zstd, tar), else it is the Dockerfile itself (filename "context").
// nullopt when opt <contextkey> is absent or names no remote source. Errors:
// InvalidArgument for a malformed git URL; the client's for the download.
Result<std::optional<RemoteContext>> DetectRemoteContext(
    sdk::Client& client, const sdk::FrontendOptions& opts);

// `dir` of `context` as the root of a new state (opt contextsubdir, as
// upstream's scopeToSubDir).
llb::State ScopeToSubdir(const llb::State& context, const std::string& dir);

// The image configs of frontend inputs, by input name, from the opts
// input-metadata:<input> (a JSON map of base64 bytes, as Go marshals
// map[string][]byte): each one's "containerimage.config". InvalidArgument for
// malformed JSON or base64.
Result<std::map<std::string, std::string>> InputConfigs(
    const sdk::FrontendOptions& opts);

}  // namespace kiln::dockerfile::internal

#endif  // KILN_DOCKERFILE_SRC_FRONTEND_LOAD_H_
