// The YAML recipe frontend's build function: what `kiln-yaml-recipe-frontend`
// runs under sdk::Serve, and what tests call in-process.
//
//  1. loads the recipe: opt `filename` (default "recipe.yaml") from the
//     frontend input named by `dockerfilekey` when the engine passes one,
//     else from `local://<dockerfilekey>` following only that file (when
//     forwarded to, with opt cmdline and no opt filename, as the Dockerfile
//     frontend does for a "Dockerfile" whose first line is
//     `# syntax=kiln/yaml-recipe:1`, a missing recipe.yaml falls back to
//     "Dockerfile"); the context's .dockerignore (if any) excludes files
//     from the context;
//  2. without opt `cmdline`, forwards the build to the image named by
//     build-arg:BUILDKIT_SYNTAX or a `# syntax=` first line when it is not
//     this frontend (IsSelfReference), with a nested gateway.v0 solve that
//     gets opt cmdline (which stops a second forwarding), returning its
//     result unchanged;
//  3. otherwise, per target platform (opt `platform`, multi-platform as the
//     Dockerfile frontend), loads the recipe with the build-arg:NAME opts as
//     args, converts the target (opt `target`, else the recipe's), solves
//     it, and returns the ref (or refs keyed by platform id, with
//     refs.platforms) and containerimage.config[/<platform>] (label:NAME
//     opts added to its Labels) and containerimage.base.config[/<platform>].
//
// Also honoured: contextkey, no-cache, image-resolve-mode. Ignored: named
// contexts, attest:*, cache-imports.
//
// Errors: the loader's and converter's, located at line:column of the
// recipe (the engine shows the offending line); the client's for failed
// RPCs and solves.
//
// Thread-safety: Build may run concurrently on different clients.
#ifndef KILN_RECIPE_FRONTEND_H_
#define KILN_RECIPE_FRONTEND_H_

#include <optional>
#include <string>
#include <string_view>

#include "kiln/llb/status.h"
#include "kiln/sdk/client.h"
#include "kiln/sdk/options.h"

namespace kiln::recipe {

// The frontend's version, KILN_YAML_RECIPE_FRONTEND_VERSION ("1.0.0").
std::string_view FrontendVersion();

// The default recipe file name.
inline constexpr char kDefaultFilename[] = "recipe.yaml";

// The `# syntax=VALUE` of the recipe's first line (after a UTF-8 BOM), with
// blanks trimmed; nullopt when the first line is not such a comment.
std::optional<std::string> DetectSyntax(std::string_view recipe);

// True when `ref` names this frontend: it normalizes to
// docker.io/kiln/yaml-recipe, has no digest, and its tag is `version`'s
// major, major.minor or full version.
bool IsSelfReference(std::string_view ref, std::string_view version);

struct SyntaxDecision {
  bool forward = false;
  std::string source;   // the image to forward to
  std::string cmdline;  // the whole syntax value
};

// Step 2 above for `opts` and the recipe text.
SyntaxDecision DecideSyntax(const sdk::FrontendOptions& opts,
                            std::string_view recipe, std::string_view version);

Result<sdk::BuildResult> Build(sdk::Client& client,
                               const sdk::FrontendOptions& opts);

}  // namespace kiln::recipe

#endif  // KILN_RECIPE_FRONTEND_H_
