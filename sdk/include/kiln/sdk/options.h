// FrontendOptions: the frontend's options as the engine passes them in the
// environment (reference frontend-images.md §5, gateway.md §6.3): one
// BUILDKIT_FRONTEND_OPT_<n>=<key>=<value> variable per opt, plus
// BUILDKIT_SESSION_ID and BUILDKIT_EXPORTEDPRODUCT.
//
// The typed fields cover the keys every frontend shares; `opts` keeps every
// opt verbatim for the rest (cache-imports, attest:*, subrequests' own keys).
// Values are plain copies; no thread-safety concerns.
#ifndef KILN_SDK_OPTIONS_H_
#define KILN_SDK_OPTIONS_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "kiln/llb/platform.h"
#include "kiln/llb/status.h"

namespace kiln::sdk {

struct FrontendOptions {
  // Every opt, key -> value (keys cannot contain '=').
  std::map<std::string, std::string> opts;

  std::map<std::string, std::string> build_args;  // build-arg:NAME
  std::map<std::string, std::string> labels;      // label:NAME
  // context:NAME and context:NAME::PLATFORM, keyed by what follows "context:"
  // (e.g. "alpine", "base::linux/arm64"); values as given
  // ("docker-image://...", "local:ctx", "input:foo").
  std::map<std::string, std::string> named_contexts;

  std::string target;  // target (empty = last stage)
  std::vector<llb::Platform>
      platforms;  // platform, comma list (empty = none asked)
  // multi-platform or build-arg:BUILDKIT_MULTI_PLATFORM; default: more than
  // one platform asked. True means the result is a map keyed by platform.
  bool multi_platform = false;
  // no-cache: present and empty = every stage; else the listed stages.
  bool no_cache_all = false;
  std::vector<std::string> no_cache_stages;

  std::string filename = "Dockerfile";        // filename
  std::string dockerfile_key = "dockerfile";  // dockerfilekey
  std::string context_key = "context";        // contextkey
  std::string image_resolve_mode;             // image-resolve-mode
  std::string request_id;                     // requestid (subrequests)
  std::optional<std::string> cmdline;         // cmdline (set when forwarded)
  std::string source;                         // source (gateway.v0 image)
  std::vector<std::string> frontend_caps;     // frontend.caps, comma list

  std::string session_id;        // BUILDKIT_SESSION_ID
  std::string exported_product;  // BUILDKIT_EXPORTEDPRODUCT

  // The named context for `name`, trying "name::<platform>" first when a
  // platform is given. nullopt when absent.
  std::optional<std::string> NamedContext(
      const std::string& name,
      const std::optional<llb::Platform>& platform = std::nullopt) const;
};

// Parses the options from `envp` (a null-terminated "NAME=value" array like
// `environ`; other variables are ignored). InvalidArgument for an opt
// without '=' in its value, a bad platform, a bad multi-platform bool, or
// multi-platform=false with several platforms.
Result<FrontendOptions> OptionsFromEnv(char** envp);

}  // namespace kiln::sdk

#endif  // KILN_SDK_OPTIONS_H_
