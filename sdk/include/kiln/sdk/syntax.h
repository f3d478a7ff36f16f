// Helpers for `# syntax=` forwarding, shared by frontends: deciding whether a
// syntax image names this very frontend (then it builds instead of
// forwarding to itself).
#ifndef KILN_SDK_SYNTAX_H_
#define KILN_SDK_SYNTAX_H_

#include <string_view>

namespace kiln::sdk {

// True when the image reference `ref` names `repository` (a normalized
// name, e.g. "docker.io/kiln/dockerfile") with a tag equal to `version`
// ("1.2.3"), its major.minor ("1.2") or its major ("1"): the channels the
// frontend's own image is published under. False for other tags, a digest,
// no tag, or a reference that does not parse.
bool IsFrontendVersionRef(std::string_view ref, std::string_view repository,
                          std::string_view version);

}  // namespace kiln::sdk

#endif  // KILN_SDK_SYNTAX_H_
