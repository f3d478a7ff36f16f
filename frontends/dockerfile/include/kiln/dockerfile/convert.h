// The Dockerfile frontend: parser → instructions → LLB conversion.
//
// Not implemented yet (the Dockerfile frontend issue).
#ifndef KILN_DOCKERFILE_CONVERT_H_
#define KILN_DOCKERFILE_CONVERT_H_

#include "kiln/sdk/frontend.h"

namespace kiln::dockerfile {}  // namespace kiln::dockerfile

#endif  // KILN_DOCKERFILE_CONVERT_H_
