// docker buildx's spelling of `kiln build` (build_flags.h): the flags and the
// CONTEXT argument, turned into the buildctl-style BuildFlags fields as
// `docker buildx build` fills its solve request:
//
//   CONTEXT DIR          --frontend dockerfile.v0, --local context=DIR,
//                        --local dockerfile=DIR (or the directory of -f)
//   CONTEXT -            the Dockerfile from stdin, an empty context
//   CONTEXT URL          --opt context=URL (git or http(s); the frontend
//                        fetches it and finds the Dockerfile in it)
//   -f PATH              --opt filename=<basename>, dockerfile=<dirname>;
//                        "-" reads it from stdin
//   --build-arg K=V      --opt build-arg:K=V (K alone: $K when set)
//   --label K=V          --opt label:K=V
//   --target T           --opt target=T
//   --platform P[,P]     --opt platform=P[,P] (with a CONTEXT)
//   --no-cache           --opt no-cache=
//   --pull               --opt image-resolve-mode=pull
//   --build-context N=V  --opt context:N=V; a local directory V becomes
//                        --local N=V and context:N=local:N, an
//                        oci-layout://DIR[:TAG|@DIGEST] the layout store N
//   -t NAME              without -o: -o type=image,name=NAME[,NAME...];
//                        with -o: name=… added to image/oci/docker outputs
//                        that have none
//
//   --cache-from SPEC    --import-cache SPEC (a bare REF:
//   type=registry,ref=REF)
//   --cache-to SPEC      --export-cache SPEC (likewise)
#ifndef KILN_CMD_KILN_BUILD_SHORTCUTS_H_
#define KILN_CMD_KILN_BUILD_SHORTCUTS_H_

#include <string>

#include "build_flags.h"
#include "flags.h"

namespace kiln::cli::internal {

// Declares the docker-style flags on `parser`.
void DeclareShortcutFlags(Flags& parser);

// An error message and its exit code; empty message = no error.
struct FlagError {
  std::string message;
  int exit_code = 2;
};

// The cache flags (--export-cache/--cache-to, --import-cache/--cache-from)
// into f.cache_exports and f.cache_imports, each checked with
// build_cache.h's parser: a usage error naming the flag otherwise.
FlagError ApplyCacheFlags(const Flags& parser, BuildFlags& f);

// With a CONTEXT argument: the frontend, its locals and opts. Call after
// f.llb, f.frontend and f.frontend_exec are read and before the --local
// values are parsed.
FlagError ApplyContext(const Flags& parser, const std::string& context,
                       BuildFlags& f);

// The frontend opts of the shortcuts (needs f.frontend); call after --opt
// is read (shortcuts override it). `has_context`: --platform is an opt.
FlagError ApplyShortcutOpts(const Flags& parser, bool has_context,
                            BuildFlags& f);

// -t: call after f.outputs and f.call are set.
FlagError ApplyTags(const Flags& parser, BuildFlags& f);

}  // namespace kiln::cli::internal

#endif  // KILN_CMD_KILN_BUILD_SHORTCUTS_H_
