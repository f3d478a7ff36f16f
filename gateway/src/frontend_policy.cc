// Frontend policy decisions: normalization, pattern matching, remaps, allow
// and deny lists, pins. The TOML loader is in frontend_policy_config.cc.
#include "kiln/gateway/frontend_policy.h"

#include <cctype>
#include <string>
#include <utility>

#include "kiln/llb/reference.h"

namespace kiln::gateway {
namespace {

// Glob match: `**` any run, `*` any run without '/', everything else
// literal.
bool Glob(std::string_view pattern, std::string_view text) {
  if (pattern.empty()) return text.empty();
  if (pattern[0] == '*') {
    bool deep = pattern.size() > 1 && pattern[1] == '*';
    std::string_view rest = pattern.substr(deep ? 2 : 1);
    for (size_t i = 0; i <= text.size(); ++i) {
      if (Glob(rest, text.substr(i))) return true;
      if (i < text.size() && !deep && text[i] == '/') return false;
    }
    return false;
  }
  return !text.empty() && pattern[0] == text[0] &&
         Glob(pattern.substr(1), text.substr(1));
}

// What a normalized reference is matched as: name[:tag][@digest].
std::string MatchString(const llb::ImageReference& ref) { return ref.String(); }

// The leading number of a tag ("1.7.0-labs" → "1"); "latest" when it has
// none, the channel every release also carries.
std::string Major(std::string_view tag) {
  size_t n = 0;
  while (n < tag.size() && std::isdigit(static_cast<unsigned char>(tag[n]))) {
    ++n;
  }
  return n == 0 ? std::string("latest") : std::string(tag.substr(0, n));
}

std::string Expand(std::string_view templ, const llb::ImageReference& ref) {
  std::string out;
  for (size_t i = 0; i < templ.size();) {
    if (templ.substr(i).starts_with("{tag}")) {
      out += ref.tag.empty() ? "latest" : ref.tag;
      i += 5;
    } else if (templ.substr(i).starts_with("{major}")) {
      out += Major(ref.tag);
      i += 7;
    } else if (templ.substr(i).starts_with("{repo}")) {
      out += ref.Name();
      i += 6;
    } else {
      out += templ[i++];
    }
  }
  return out;
}

Result<llb::ImageReference> Normalize(std::string_view ref) {
  KILN_ASSIGN_OR_RETURN(llb::ImageReference parsed,
                        llb::ParseImageReference(ref));
  return llb::TagNameOnly(std::move(parsed));
}

// A pattern is normalized like a reference: the first component is a
// domain when it has a '.' or ':' or is "localhost" (docker's rule), else
// docker.io/ is prefixed; a single component gets library/.
std::string NormalizePattern(std::string_view pattern) {
  std::string p(pattern);
  if (p.empty() || p.starts_with("**")) return p;
  size_t slash = p.find('/');
  std::string first = p.substr(0, slash);
  bool domain =
      slash != std::string::npos &&
      (first.find_first_of(".:") != std::string::npos || first == "localhost");
  if (domain) return p;
  if (slash == std::string::npos) return "docker.io/library/" + p;
  return "docker.io/" + p;
}

}  // namespace

bool FrontendPatternMatches(std::string_view pattern, std::string_view ref) {
  std::string p = NormalizePattern(pattern);
  // The tag part, if any, follows the last ':' after the last '/'.
  size_t slash = p.rfind('/');
  size_t colon = p.rfind(':');
  bool has_tag = colon != std::string::npos &&
                 (slash == std::string::npos || colon > slash);
  if (p.find('@') != std::string::npos) return Glob(p, ref);
  if (has_tag) {
    // Compare without the digest of a name:tag@digest reference.
    std::string_view no_digest = ref.substr(0, ref.find('@'));
    return Glob(p, no_digest);
  }
  // No tag in the pattern: any tag or digest of the matching repository.
  std::string_view name = ref.substr(0, ref.find('@'));
  size_t rslash = name.rfind('/');
  size_t rcolon = name.rfind(':');
  if (rcolon != std::string::npos &&
      (rslash == std::string::npos || rcolon > rslash)) {
    name = name.substr(0, rcolon);
  }
  return Glob(p, name);
}

FrontendPolicy FrontendPolicy::Default() {
  FrontendPolicy policy;
  policy.remaps.push_back(FrontendRemap{.from = "docker/dockerfile:*",
                                        .to = "kiln/dockerfile:{major}",
                                        .installed = true});
  return policy;
}

Result<PolicyDecision> ApplyFrontendPolicy(const FrontendPolicy& policy,
                                           std::string_view ref) {
  Result<llb::ImageReference> requested = Normalize(ref);
  if (!requested.ok()) {
    return InvalidArgumentError("frontend image: " +
                                requested.status().message());
  }
  PolicyDecision decision;
  decision.requested = MatchString(*requested);
  llb::ImageReference final_ref = *requested;
  for (const FrontendRemap& remap : policy.remaps) {
    if (!FrontendPatternMatches(remap.from, decision.requested)) continue;
    std::string target = Expand(remap.to, *requested);
    Result<llb::ImageReference> mapped = Normalize(target);
    if (!mapped.ok()) {
      return InvalidArgumentError("frontend policy remap \"" + remap.from +
                                  "\" → \"" + remap.to + "\" made \"" + target +
                                  "\" from " + decision.requested + ": " +
                                  mapped.status().message());
    }
    final_ref = std::move(*mapped);
    decision.installed_only = remap.installed;
    std::string note = "remap " + decision.requested + " → " +
                       MatchString(final_ref) + " (policy rule \"" +
                       remap.from + "\"";
    note += remap.installed ? ", installed images only)" : ")";
    decision.notes.push_back(std::move(note));
    break;
  }
  decision.ref = MatchString(final_ref);
  for (const std::string& pattern : policy.deny) {
    for (const std::string* r : {&decision.requested, &decision.ref}) {
      if (FrontendPatternMatches(pattern, *r)) {
        return PermissionDeniedError("frontend image " + *r +
                                     " is denied by policy (deny pattern \"" +
                                     pattern + "\")");
      }
    }
  }
  if (!policy.allow.empty()) {
    bool allowed = false;
    for (const std::string& pattern : policy.allow) {
      allowed = allowed || FrontendPatternMatches(pattern, decision.ref);
    }
    if (!allowed) {
      return PermissionDeniedError("frontend image " + decision.ref +
                                   " is not in the policy's allow list");
    }
  }
  llb::ImageReference unpinned = final_ref;
  unpinned.digest.clear();
  auto pin = policy.pins.find(MatchString(unpinned));
  if (pin != policy.pins.end()) {
    decision.pin = pin->second;
    decision.notes.push_back("pin " + MatchString(unpinned) + " to " +
                             pin->second + " (policy)");
  }
  return decision;
}

Status CheckFrontendPin(const PolicyDecision& decision,
                        std::string_view resolved_digest) {
  if (!decision.pin || *decision.pin == resolved_digest) return Status::Ok();
  return FailedPreconditionError(
      "frontend image " + decision.ref + " is pinned to " + *decision.pin +
      " by policy but resolved to " + std::string(resolved_digest));
}

}  // namespace kiln::gateway
