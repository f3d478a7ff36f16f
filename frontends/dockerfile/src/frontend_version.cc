// The frontend's version and caps (compiled in from CMake).
#include <string>
#include <string_view>
#include <vector>

#include "kiln/dockerfile/frontend.h"

#ifndef KILN_DOCKERFILE_FRONTEND_VERSION
#error "KILN_DOCKERFILE_FRONTEND_VERSION must be defined by the build"
#endif

namespace kiln::dockerfile {

std::string_view FrontendVersion() { return KILN_DOCKERFILE_FRONTEND_VERSION; }

const std::vector<std::string>& FrontendCaps() {
  static const std::vector<std::string> kCaps = {
      "moby.buildkit.frontend.inputs", "moby.buildkit.frontend.contexts"};
  return kCaps;
}

}  // namespace kiln::dockerfile
