// solver-core: executes LLB Definitions (see DESIGN.md). It depends on llb
// only and knows nothing of Dockerfiles or other frontend languages.
//
// Not implemented yet: the solver issue brings loading, cache keys, the
// scheduler and the executors. Nothing here may be used before then.
#ifndef KILN_SOLVER_SOLVER_H_
#define KILN_SOLVER_SOLVER_H_

#include "kiln/llb/status.h"

namespace kiln::solver {}  // namespace kiln::solver

#endif  // KILN_SOLVER_SOLVER_H_
