// The Dockerfile frontend's build function: what `kiln-dockerfile-frontend`
// runs under sdk::Serve, and what tests call in-process. It follows
// BuildKit's builder.Build (reference frontend-images.md §3, §5, §6):
//
//  1. checks opt `frontend.caps` against FrontendCaps() (an unknown cap fails
//     with Unimplemented, unless it carries "+forward" and the build is
//     forwarded to a syntax image);
//  2. loads the Dockerfile: the frontend input "dockerfile" when the engine
//     has cap frontend.inputs and passes one, else `local://<dockerfilekey>`
//     following [filename, filename.dockerignore]; its .dockerignore is
//     <filename>.dockerignore, else .dockerignore of the context local;
//  3. without opt `cmdline`, forwards to the image named by
//     build-arg:BUILDKIT_SYNTAX or a `# syntax=` directive (DecideSyntax),
//     returning the nested result unchanged;
//  4. otherwise converts (Convert) once per target platform, solves, and
//     returns the ref (or refs keyed by platform id, with refs.platforms)
//     and containerimage.config[/<platform>], containerimage.base.config
//     [/<platform>] (a base image's config as resolved) and, with
//     build-arg:SOURCE_DATE_EPOCH, source.date.epoch[/<platform>].
//
// Supported opts: filename, dockerfilekey, contextkey, target, build-arg:*,
// label:*, platform, multi-platform, no-cache (a stage list ignores the cache
// of the whole build), image-resolve-mode (on the image ops), context:NAME
// with docker-image://, git, http(s), oci-layout://, local: (a local's
// .dockerignore applies) and input: values (NAME an image or a stage name),
// input-metadata:NAME (an input context's containerimage.config), a remote
// build context (opt <contextkey> = a git URL: its checkout, .git kept with
// build-arg:BUILDKIT_CONTEXT_KEEP_GIT_DIR; or an http(s) URL: a tarball is
// unpacked, any other file is the Dockerfile; the Dockerfile is read from the
// remote context unless opt dockerfilekey or a Dockerfile input is given),
// contextsubdir (scopes a remote or input context; a local context is left
// whole, as upstream), frontend.caps, cmdline, requestid (subrequests:
// frontend.lint, frontend.outline, frontend.targets,
// frontend.subrequests.describe; kiln/dockerfile/subrequests.h); frontend
// inputs (cap frontend.inputs):
// "<dockerfilekey>" holds the Dockerfile, "<contextkey>" replaces the local
// build context, any input is an `input:NAME` named context. Before
// converting, the build checks run (kiln/dockerfile/checks.h): warnings go
// to Client::Warn, and with `error=true` any warning fails the build. RUN-wide
// opts (ParseRunOpts in convert.h): add-hosts, hostname, ulimit, shm-size,
// force-network-mode, cgroup-parent. Not supported (Unimplemented): other
// subrequests, the per-RUN resource opts (memory, cpu…), attest:sbom.
// attest:provenance is the engine's business (accepted, nothing to do here);
// cache-imports/cache-from are hints (results are the same without them).
//
// Errors: the converter's, with their Dockerfile ranges (file:line:column
// and the offending line), so the engine shows where the Dockerfile is
// wrong; the client's for failed RPCs and solves.
//
// Thread-safety: Build may run concurrently on different clients.
#ifndef KILN_DOCKERFILE_FRONTEND_H_
#define KILN_DOCKERFILE_FRONTEND_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kiln/llb/status.h"
#include "kiln/sdk/client.h"
#include "kiln/sdk/options.h"

namespace kiln::dockerfile {

// The frontend's version, KILN_DOCKERFILE_FRONTEND_VERSION at build time
// ("1.0.0").
std::string_view FrontendVersion();

// The frontend caps this frontend implements (label
// moby.buildkit.frontend.caps of its image): moby.buildkit.frontend.inputs,
// moby.buildkit.frontend.contexts and moby.buildkit.frontend.subrequests.
const std::vector<std::string>& FrontendCaps();

// A `syntax` directive found by DetectSyntax.
struct SyntaxDirective {
  std::string source;   // first word of the value: the image reference
  std::string cmdline;  // the whole value
  int line = 0;         // 1-based line of the directive (0 for JSON)
};

// Upstream's DetectSyntax: a UTF-8 BOM and a leading `#!` line are skipped;
// then `# syntax=` in the leading directive block, else `// syntax=`, else a
// JSON document {"syntax": "..."}. nullopt when there is none.
std::optional<SyntaxDirective> DetectSyntax(std::string_view dockerfile);

// True when `ref` names this frontend itself: it normalizes to
// docker.io/kiln/dockerfile, has no digest, and its tag is `version`'s
// major, major.minor or full version ("1", "1.0", "1.0.0" for "1.0.0").
bool IsSelfReference(std::string_view ref, std::string_view version);

// Where a build goes: forwarded to `source` with `cmdline`, or built here.
struct SyntaxDecision {
  bool forward = false;
  std::string source;
  std::string cmdline;
  bool from_build_arg = false;  // BUILDKIT_SYNTAX rather than the directive
  int line = 0;                 // directive line, for errors
};

// Step 3 above for `opts` and the Dockerfile text: no forwarding when opt
// `cmdline` is present, when neither BUILDKIT_SYNTAX nor a directive names
// an image, or when the image is this frontend (IsSelfReference with
// `version`).
SyntaxDecision DecideSyntax(const sdk::FrontendOptions& opts,
                            std::string_view dockerfile,
                            std::string_view version);

// .dockerignore patterns as upstream's dockerignore.ReadAll: comments and
// blank lines dropped, each pattern trimmed and cleaned, a leading "/"
// removed, "!" kept. InvalidArgument for an invalid "!" pattern.
Result<std::vector<std::string>> ParseDockerignore(std::string_view text);

// The frontend's build (see the file comment).
Result<sdk::BuildResult> Build(sdk::Client& client,
                               const sdk::FrontendOptions& opts);

}  // namespace kiln::dockerfile

#endif  // KILN_DOCKERFILE_FRONTEND_H_
