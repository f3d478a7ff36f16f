#include "kiln/sdk/syntax.h"

#include <string>

#include "kiln/llb/reference.h"

namespace kiln::sdk {

bool IsFrontendVersionRef(std::string_view ref, std::string_view repository,
                          std::string_view version) {
  Result<llb::ImageReference> parsed = llb::ParseImageReference(ref);
  if (!parsed.ok() || parsed->Name() != repository) return false;
  if (!parsed->digest.empty() || parsed->tag.empty()) return false;
  const std::string full(version);
  const size_t dot1 = full.find('.');
  const size_t dot2 =
      dot1 == std::string::npos ? std::string::npos : full.find('.', dot1 + 1);
  const std::string& tag = parsed->tag;
  return tag == full || tag == full.substr(0, dot1) ||
         (dot2 != std::string::npos && tag == full.substr(0, dot2));
}

}  // namespace kiln::sdk
