#include "build_flags.h"

#include <map>

#include "flags.h"

namespace kiln::cli {
namespace {

constexpr std::string_view kBuildUsage =
    R"(Usage: kiln build --llb FILE|- [OPTIONS]
       kiln build --frontend NAME [--opt KEY=VALUE]... [OPTIONS]
       kiln build --frontend-exec PATH [--opt KEY=VALUE]... [OPTIONS]

Builds with the embedded engine and exports the result, like buildctl build:
either an LLB Definition (the protobuf that BuildKit's buildctl reads; "-"
reads it from stdin), or a frontend that turns a source language into LLB.

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
  --progress MODE              auto (tty on a terminal, else plain), plain,
                               tty, rawjson or quiet (default auto)
  --allow ENTITLEMENT          Grant network.host or security.insecure
                               (repeatable)
  --platform PLATFORM          Platform of ops that carry none (default: this
                               machine's)
  --call check|outline|targets Run a frontend subrequest instead of building:
                               check = the build checks (exit code 1 when
                               any warning), targets = the stages; prints
                               the frontend's text result, exports nothing

Progress goes to stderr; so do the exporters' results (e.g. the image digest).
Exit codes: 0 built (and exported), 1 the build or an export failed (or,
with --call check, a check warned), 2 the command line was wrong.
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
  BuildFlagsResult result;
  BuildFlags& f = result.flags;
  auto fail = [&](std::string error) {
    result.error = std::move(error);
    return result;
  };
  if (!parser.Parse(args)) return fail(parser.error());
  if (parser.help()) {
    f.help = true;
    return result;
  }
  if (!parser.positional().empty()) {
    return fail("unexpected argument \"" + parser.positional()[0] + "\"");
  }
  for (const char* once : {"llb", "frontend", "frontend-exec", "call"}) {
    if (parser.All(once).size() > 1) {
      return fail("--" + std::string(once) + " given twice");
    }
  }
  f.llb = parser.GetOr("llb", "");
  f.frontend = parser.GetOr("frontend", "");
  f.frontend_exec = parser.GetOr("frontend-exec", "");
  if (!f.frontend_exec.empty() && f.frontend.empty()) f.frontend = "gateway.v0";
  if (f.llb.empty() && f.frontend.empty()) {
    return fail(
        "missing --llb FILE (or - for stdin), --frontend NAME or "
        "--frontend-exec PATH");
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
  if (auto p = parser.Get("platform")) {
    auto platform = llb::ParsePlatform(*p);
    if (!platform.ok())
      return fail("--platform: " + platform.status().message());
    f.platform = *platform;
  }
  return result;
}

}  // namespace kiln::cli
