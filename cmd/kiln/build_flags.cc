#include "build_flags.h"

#include <map>

#include "build_attest.h"
#include "build_epoch.h"
#include "build_shortcuts.h"
#include "flags.h"

namespace kiln::cli {
namespace {

constexpr std::string_view kBuildUsage =
    R"(Usage: kiln build [DOCKER OPTIONS] [OPTIONS] CONTEXT
       kiln build --llb FILE|- [OPTIONS]
       kiln build --frontend NAME [--opt KEY=VALUE]... [OPTIONS]
       kiln build --frontend-exec PATH [--opt KEY=VALUE]... [OPTIONS]

Builds with the embedded engine and exports the result. The first form is
docker buildx build's: the Dockerfile in CONTEXT (a directory; "-" reads the
Dockerfile from stdin; a git or http(s) URL is fetched by the frontend).
The others are buildctl build's: an LLB Definition (the protobuf buildctl
reads; "-" reads it from stdin), or a frontend that turns a source language
into LLB.

Docker options (with CONTEXT; those marked * also with --frontend):
  -f, --file PATH              The Dockerfile (default CONTEXT/Dockerfile;
                               "-" reads it from stdin)
  -t, --tag NAME               Name the image (repeatable). Without -o the
                               image is stored in kiln's image store under
                               each NAME; with -o the names go to the image,
                               oci and docker outputs that have none
  --build-arg NAME[=VALUE]   * Build argument (repeatable; NAME alone takes
                               $NAME)
  --target STAGE             * The stage to build
  --platform P[,P...]          Target platforms (opt platform=); several give
                               an image index (oci, image) or a directory
                               per platform (local, tar; docker refuses)
  --label NAME=VALUE         * Image label (repeatable)
  --no-cache                 * Do not use the cache for the build's steps
  --pull                     * Check the registry for newer base images
  --build-context NAME=VALUE * A named context (repeatable): a directory,
                               docker-image://REF, oci-layout://DIR@DIGEST,
                               a git or http(s) URL, target:STAGE
  --attest type=provenance[,mode=min|max][,reproducible=true]
                             * SLSA provenance v0.2 for the image (off
                               unless asked for); type=sbom is not
                               supported (exit code 1)
  --provenance true|false    * Shorthand for --attest type=provenance
  --sbom false               * SBOMs need BuildKit's scanner image: any
                               other value fails (exit code 1)
  --cache-from REF|SPEC        Import build cache (repeatable); REF means
                               type=registry,ref=REF
  --cache-to REF|SPEC          Export build cache (repeatable), as
                               --export-cache

Frontends:
  --frontend gateway.v0 --opt source=IMAGE
                        runs the frontend image IMAGE in a container (no
                        network, read-only root) speaking BuildKit's gateway
                        API; the frontend policy of the operator config may
                        pin, remap or refuse IMAGE
  --frontend dockerfile.v0
                        the Dockerfile frontend: the image the policy names
                        (default kiln/dockerfile:1), which honours # syntax=
  --frontend-exec PATH  runs the frontend program PATH as a host process
                        (developing frontends, bootstrapping their images)

Options:
  --llb FILE|-                 The marshaled Definition to build
  --frontend NAME              Frontend to run (see above)
  --opt KEY=VALUE              Frontend option (repeatable), e.g. source=IMAGE,
                               filename=Dockerfile, target=STAGE,
                               build-arg:NAME=VALUE, platform=linux/amd64,
                               context:NAME=docker-image://REF
  --frontend-exec PATH         Frontend program run on the host (see above)
  --local NAME=DIR             Directory for local://NAME sources (repeatable)
  --oci-layout NAME=DIR        OCI layout for oci-layout://NAME sources
                               (repeatable)
  --secret id=ID,src=PATH      Secret ID from a file, or id=ID,env=VAR from an
                               environment variable (repeatable)
  --ssh ID[=SOCKET|KEY[,KEY]]  SSH agent socket or keys for ssh mounts; "default"
                               uses $SSH_AUTH_SOCK (repeatable)
  -o, --output type=TYPE,...   Export the result (repeatable): type=local,dest=DIR;
                               type=tar,dest=FILE|-; type=oci|docker,dest=FILE,
                               name=NAME; type=image,name=NAME[,push=true]
  --export-cache SPEC          Export the build cache (repeatable):
                               type=registry,ref=HOST/REPO:TAG,
                               type=local,dest=DIR[,tag=TAG] or
                               type=inline (in the image), with
                               mode=min|max (default min: the result's
                               steps; max: every step) and
                               compression=gzip|zstd|uncompressed
  --import-cache SPEC          Reuse an exported cache (repeatable):
                               type=registry,ref=REF or
                               type=local,src=DIR[,tag=TAG] (a registry
                               image: its inline cache); a cache that
                               cannot be read is a warning
  --progress MODE              auto (tty on a terminal, else plain), plain,
                               tty, rawjson or quiet (default auto)
  --allow ENTITLEMENT          Grant network.host or security.insecure
                               (repeatable)
  --platform PLATFORM          Without CONTEXT: platform of ops that carry
                               none (default: this machine's)
  --call check|outline|targets Run a frontend subrequest instead of building:
                               check = the build checks (exit code 1 when
                               any warning), targets = the stages; prints
                               the frontend's text result, exports nothing

Examples:
  kiln build -t hello:1 .
  kiln build -f docker/Dockerfile --build-arg VERSION=2 --target app -o type=oci,dest=app.tar .
  kiln build --frontend dockerfile.v0 --local context=. --local dockerfile=. -o type=local,dest=out

Progress goes to stderr; so do the exporters' results (e.g. the image digest).
Exit codes: 0 built (and exported); 1 the build or an export failed (or,
with --call check, a check warned); 2 the command line was wrong; 130 the
build was cancelled (SIGINT/SIGTERM/SIGHUP).
)";

// "NAME=VALUE" of --local and --oci-layout into `out`.
std::string ParsePairs(std::string_view flag,
                       const std::vector<std::string>& values,
                       std::map<std::string, std::string>& out) {
  for (const std::string& v : values) {
    size_t eq = v.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == v.size()) {
      return "--" + std::string(flag) + " \"" + v + "\": want NAME=DIR";
    }
    if (!out.emplace(v.substr(0, eq), v.substr(eq + 1)).second) {
      return "--" + std::string(flag) + ": " + v.substr(0, eq) + " given twice";
    }
  }
  return "";
}

}  // namespace

std::string_view BuildUsage() { return kBuildUsage; }

BuildFlagsResult ParseBuildFlags(const std::vector<std::string>& args) {
  Flags parser;
  parser.Value("llb")
      .Value("local")
      .Value("oci-layout")
      .Value("secret")
      .Value("ssh")
      .Value("output", 'o')
      .Value("progress")
      .Value("allow")
      .Value("platform")
      .Value("frontend")
      .Value("opt")
      .Value("frontend-exec")
      .Value("call");
  internal::DeclareShortcutFlags(parser);
  internal::DeclareAttestFlags(parser);
  BuildFlagsResult result;
  BuildFlags& f = result.flags;
  auto fail = [&](std::string error) {
    result.error = std::move(error);
    result.exit_code = 2;
    return result;
  };
  auto fail_with = [&](internal::FlagError e) {
    result.error = std::move(e.message);
    result.exit_code = e.exit_code;
    return result;
  };
  if (!parser.Parse(args)) return fail(parser.error());
  if (parser.help()) {
    f.help = true;
    return result;
  }
  if (auto e = internal::ApplyCacheFlags(parser, f); !e.message.empty()) {
    return fail_with(e);
  }
  if (parser.positional().size() > 1) {
    return fail("unexpected argument \"" + parser.positional()[1] +
                "\" (one build CONTEXT at most)");
  }
  for (const char* once :
       {"llb", "frontend", "frontend-exec", "call", "target"}) {
    if (parser.All(once).size() > 1) {
      return fail("--" + std::string(once) + " given twice");
    }
  }
  f.llb = parser.GetOr("llb", "");
  f.frontend = parser.GetOr("frontend", "");
  f.frontend_exec = parser.GetOr("frontend-exec", "");
  const bool has_context = !parser.positional().empty();
  if (has_context) {
    auto e = internal::ApplyContext(parser, parser.positional()[0], f);
    if (!e.message.empty()) return fail_with(e);
  }
  if (!f.frontend_exec.empty() && f.frontend.empty()) f.frontend = "gateway.v0";
  if (f.llb.empty() && f.frontend.empty()) {
    return fail(
        "missing a build CONTEXT, --llb FILE (or - for stdin), --frontend "
        "NAME or --frontend-exec PATH");
  }
  if (!f.llb.empty() && !f.frontend.empty()) {
    return fail("--llb cannot be combined with --frontend or --frontend-exec");
  }
  if (f.frontend.empty() && parser.Has("opt")) {
    return fail("--opt needs --frontend or --frontend-exec");
  }
  for (const std::string& v : parser.All("opt")) {
    size_t eq = v.find('=');
    if (eq == std::string::npos || eq == 0) {
      return fail("--opt \"" + v + "\": want KEY=VALUE");
    }
    // Later values win, as with buildctl's --opt.
    f.opts[v.substr(0, eq)] = v.substr(eq + 1);
  }
  if (auto e = internal::ApplyShortcutOpts(parser, has_context, f);
      !e.message.empty()) {
    return fail_with(e);
  }
  if (auto e = internal::ApplyAttestFlags(parser, f); !e.message.empty()) {
    return fail_with(e);
  }
  if (!f.frontend.empty()) {
    if (Status s = AddSourceDateEpochArg(f.opts); !s.ok()) {
      result.error = s.message();
      result.exit_code = 1;
      return result;
    }
  }
  if (auto call = parser.Get("call"); call && *call != "build") {
    static const std::map<std::string, std::string> kRequests = {
        {"check", "frontend.lint"},
        {"outline", "frontend.outline"},
        {"targets", "frontend.targets"}};
    auto request = kRequests.find(*call);
    if (request == kRequests.end()) {
      return fail("--call \"" + *call +
                  "\": want build, check, outline or targets");
    }
    if (f.frontend.empty()) {
      return fail("--call needs --frontend or --frontend-exec");
    }
    if (parser.Has("output")) {
      return fail("--call " + *call + " exports nothing: drop --output");
    }
    f.call = *call;
    f.opts["requestid"] = request->second;
  }
  if (f.frontend == "gateway.v0" && f.frontend_exec.empty() &&
      !f.opts.contains("source")) {
    return fail("--frontend gateway.v0 needs --opt source=IMAGE");
  }
  if (auto e = ParsePairs("local", parser.All("local"), f.locals); !e.empty()) {
    return fail(e);
  }
  if (auto e =
          ParsePairs("oci-layout", parser.All("oci-layout"), f.oci_layouts);
      !e.empty()) {
    return fail(e);
  }
  // The specs are parsed by ParseSecretSpec, ParseSshSpec and
  // ParseOutputSpec (CSV with quoting) when the command runs.
  auto specs = [&](const char* flag, std::vector<std::string>& out) {
    for (const std::string& s : parser.All(flag)) {
      if (s.empty()) return "--" + std::string(flag) + " needs a value";
      out.push_back(s);
    }
    return std::string();
  };
  for (auto [flag, out] :
       {std::pair{"secret", &f.secrets}, std::pair{"ssh", &f.ssh},
        std::pair{"output", &f.outputs}}) {
    if (auto e = specs(flag, *out); !e.empty()) return fail(e);
  }
  if (auto e = internal::ApplyTags(parser, f); !e.message.empty()) {
    return fail_with(e);
  }
  f.progress = parser.GetOr("progress", "auto");
  if (f.progress != "auto" && f.progress != "plain" && f.progress != "tty" &&
      f.progress != "rawjson" && f.progress != "quiet") {
    return fail("--progress \"" + f.progress +
                "\": want auto, plain, tty, rawjson or quiet");
  }
  for (const std::string& a : parser.All("allow")) {
    if (a != "network.host" && a != "security.insecure") {
      return fail("--allow \"" + a +
                  "\": want network.host or security.insecure");
    }
    f.entitlements.insert(a);
  }
  if (auto p = parser.Get("platform"); p && !has_context) {
    auto platform = llb::ParsePlatform(*p);
    if (!platform.ok())
      return fail("--platform: " + platform.status().message());
    f.platform = *platform;
  }
  return result;
}

}  // namespace kiln::cli
