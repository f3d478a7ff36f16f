// Frontend policy: what the operator allows as frontend images, and how
// references are pinned and remapped before they are resolved.
//
// Applied to every frontend image reference the engine is asked to run: the
// `source` opt of gateway.v0 (top-level or nested, e.g. a Dockerfile's
// `# syntax=` forwarding) and the image that `dockerfile.v0` stands for.
//
// Order (ApplyFrontendPolicy):
//  1. The reference is normalized (docker.io/library/…, tag "latest" when
//     none), as BuildKit does (frontend-images.md §4).
//  2. The first remap rule whose `from` pattern matches rewrites it. `to` may
//     use {tag} (the whole tag), {major} (the tag's leading number: "1" for
//     "1.7.0-labs"; "latest" for a tag with none, such as "latest" or
//     "labs") and {repo} (domain/path). A digest on the requested reference
//     is dropped by a remap (it names the original image, not the target). A
//     rule with `installed = true` resolves its target from the embedded store
//     only (never a registry): it names what the operator installed.
//  3. deny, then allow: a reference (the requested one or the remapped one)
//     matching a deny pattern is refused; with a non-empty allow list, the
//     final reference must match one of its patterns.
//  4. A pin for the final reference (exact normalized match, tag included)
//     fixes the digest it must resolve to; a different digest is refused.
//
// Patterns match normalized references: `*` matches any run of characters
// except '/', `**` any run including '/'; "docker.io/docker/dockerfile:*"
// matches every tag of that repository. A pattern without a tag part matches
// every tag of the repository ("kiln/*" = any repository under kiln/). A
// pattern is normalized like a reference where that is unambiguous
// ("docker/dockerfile:*" means docker.io/docker/dockerfile:*).
//
// Defaults (FrontendPolicy::Default): `dockerfile.v0` means
// kiln/dockerfile:1; docker/dockerfile:<tag> is remapped to the installed
// kiln/dockerfile:{major} (so `# syntax=docker/dockerfile:1.7` runs kiln's
// own major-1 frontend from the embedded store; a tag with no major, such as
// "latest" or "labs", maps to kiln/dockerfile:latest), nothing is pinned or
// denied, and every image is allowed.
//
// Config (operator file, buildkitd.toml style; other tables are ignored):
//
//   [frontend]
//     dockerfile = "kiln/dockerfile:1"        # what dockerfile.v0 means
//     dockerfile_installed = true             # ... from the store only
//     allow = ["kiln/*", "127.0.0.1:5000/**"] # optional allow list
//     deny = ["docker.io/evil/**"]
//     default_remaps = true                   # keep the docker/dockerfile
//     remap
//   [[frontend.remap]]
//     from = "docker/dockerfile:*"
//     to = "kiln/dockerfile:{major}"
//     installed = true
//   [frontend.pin]
//     "kiln/dockerfile:1" = "sha256:…"
//
// buildkitd.toml's own tables are honoured too: [frontend."gateway.v0"]
// `allowedRepositories = ["docker.io/team/fe", …]` adds each repository (all
// its tags) to the allow list, and `enabled = false` in [frontend."gateway.v0"]
// or [frontend."dockerfile.v0"] refuses that frontend. Other keys there are
// errors (nothing is silently ignored).
//
// Operator rules come first; the default remap applies after them unless
// default_remaps = false.
//
// Thread safety: plain values and pure functions.
#ifndef KILN_GATEWAY_FRONTEND_POLICY_H_
#define KILN_GATEWAY_FRONTEND_POLICY_H_

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kiln/llb/status.h"

namespace kiln::gateway {

struct FrontendRemap {
  std::string from;        // pattern (see the file comment)
  std::string to;          // template: {tag}, {major}, {repo}
  bool installed = false;  // resolve the target from the embedded store only
};

struct FrontendPolicy {
  // What `dockerfile.v0` runs (before remaps and pins apply to it).
  std::string dockerfile = "kiln/dockerfile:1";
  // dockerfile.v0's image comes from the embedded store only (images/build
  // installs it), never from a registry: a missing image is an error, not a
  // pull of whatever docker.io serves under that name.
  bool dockerfile_installed = true;
  // buildkitd's [frontend."NAME"] enabled = false: the frontend is refused.
  bool gateway_enabled = true;
  bool dockerfile_enabled = true;
  std::vector<FrontendRemap> remaps;  // first match wins
  std::vector<std::string> allow;     // empty: everything not denied
  std::vector<std::string> deny;
  // Normalized reference → "sha256:<hex>" it must resolve to.
  std::map<std::string, std::string> pins;

  // The built-in defaults described in the file comment.
  static FrontendPolicy Default();
};

// Parses the [frontend] table of an operator config (TOML). A file without
// one gives Default(). InvalidArgument naming the key (and line) for a
// wrong type, an unknown key in [frontend], a bad pattern or template, or a
// pin that is not a sha256 digest.
Result<FrontendPolicy> ParseFrontendPolicy(std::string_view toml,
                                           std::string_view source_name);
// The same for a file (NotFound when it does not exist).
Result<FrontendPolicy> LoadFrontendPolicy(const std::string& path);

struct PolicyDecision {
  std::string requested;           // normalized requested reference
  std::string ref;                 // normalized reference to resolve
  bool installed_only = false;     // resolve from the embedded store only
  std::optional<std::string> pin;  // digest the resolution must give
  // Human-readable lines for the progress output, e.g.
  // "remap docker.io/docker/dockerfile:1 → docker.io/kiln/dockerfile:1
  // (policy)"; one per decision taken (remap, pin).
  std::vector<std::string> notes;
};

// Applies `policy` to the frontend image reference `ref`. Errors:
// InvalidArgument for a malformed reference (or one a template made
// malformed); PermissionDenied "frontend image R is denied by policy
// (deny pattern P)" or "… is not in the policy's allow list".
Result<PolicyDecision> ApplyFrontendPolicy(const FrontendPolicy& policy,
                                           std::string_view ref);

// FailedPrecondition "frontend image R is pinned to D by policy but resolved
// to E" when the decision has a pin that `resolved_digest` does not equal.
Status CheckFrontendPin(const PolicyDecision& decision,
                        std::string_view resolved_digest);

// True when the normalized reference `ref` matches `pattern`.
bool FrontendPatternMatches(std::string_view pattern, std::string_view ref);

}  // namespace kiln::gateway

#endif  // KILN_GATEWAY_FRONTEND_POLICY_H_
