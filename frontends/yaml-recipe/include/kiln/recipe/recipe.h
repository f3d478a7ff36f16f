// The YAML recipe frontend: a declarative build language on the sdk.
//
// Not implemented yet (the YAML recipe issue).
#ifndef KILN_RECIPE_RECIPE_H_
#define KILN_RECIPE_RECIPE_H_

#include "kiln/sdk/frontend.h"

namespace kiln::recipe {}  // namespace kiln::recipe

#endif  // KILN_RECIPE_RECIPE_H_
